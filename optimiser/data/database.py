"""A snapshot kept in a SQL database, by URL (``sqlite:///hub.db``, ``postgresql://...``).

One table per snapshot file, named as the file without ``.csv`` (``patients``, ...; the
optional ones may be absent), with the file's columns, and a table ``snapshot`` of
``key`` / ``value`` rows for ``snapshot.toml``, as in a workbook (``data/workbook.py``).
Each table is read into the text its file would have, in the order of its rows, and
checked by the same code as a folder; a problem names the table and the row (1 is the
header, so row 2 is the table's first). The content hash is of the tables as read.
Read through SQLAlchemy; the URL's password never appears in a message.
"""

from __future__ import annotations

import csv
import hashlib
import io

import pandas as pd

from optimiser.data import schema
from optimiser.data.problems import ProblemList
from optimiser.data.workbook import SETTINGS_SHEET, _cell_text, _toml_value, sheet_of


def is_database_url(source) -> bool:
    return isinstance(source, str) and "://" in source


def shown(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    import sqlalchemy  # deferred here and below: a folder snapshot never needs it

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy knows: show only its scheme
        return url.split("://", 1)[0] + "://..."


def database_texts(url: str, problems: ProblemList) -> tuple[str | None, dict[str, str], str]:
    """(``snapshot.toml``'s text or None, each present file's CSV text, a sha256 of them)."""
    import sqlalchemy

    label = shown(url)
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            names = set(sqlalchemy.inspect(connection).get_table_names())
            frames = {
                name: pd.read_sql_table(name, connection)
                for name in [sheet_of(t.file) for t in schema.TABLES] + [SETTINGS_SHEET]
                if name in names
            }
        engine.dispose()
    except Exception as error:  # no driver, no server, no such database, no permission...
        problems.add(label, None, None, None, f"cannot be read as a snapshot database ({type(error).__name__}); check the URL")
        return None, {}, ""
    texts, digest = {}, hashlib.sha256()
    for table in schema.TABLES:
        name = sheet_of(table.file)
        if name not in frames:
            continue
        frame = frames[name]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([str(column) for column in frame.columns])
        for row in frame.itertuples(index=False):
            writer.writerow(["" if pd.isna(value) else _cell_text(value) for value in row])
        texts[table.file] = out.getvalue()
        digest.update(name.encode() + b"\0" + texts[table.file].encode() + b"\0")
    settings = None
    if SETTINGS_SHEET in frames:
        lines = ["# the database's snapshot table"]
        for key, value in frames[SETTINGS_SHEET].iloc[:, :2].itertuples(index=False):
            if key is None or pd.isna(key) or not str(key).strip() or value is None or pd.isna(value):
                lines.append("")
                continue
            lines.append(f"{str(key).strip()} = {_toml_value(str(key).strip(), value)}")
        settings = "\n".join(lines) + "\n"
        digest.update(settings.encode())
    return settings, texts, digest.hexdigest()
