"""The run history: every recorded run, in a SQL database through SQLAlchemy 2.

SQLite by default (one file), PostgreSQL by URL; the tables are in ``schema.py``. A run is
written in one transaction (a run killed mid-write leaves nothing), and two processes
writing at once are both recorded: SQLite takes the write lock at the start of the
transaction (``BEGIN IMMEDIATE``) and waits up to ``BUSY_SECONDS`` for it; PostgreSQL
writes rows no other run writes, and a snapshot's files (shared by runs) are inserted with
``ON CONFLICT DO NOTHING``. Opening a database creates its tables, or upgrades an older
schema in place (``schema.MIGRATIONS``), under the same lock (PostgreSQL: an advisory lock),
so two runs opening a new database at once create it once.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
import socket
import tomllib
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

import optimiser.history.schema as schema
from optimiser.data.database import shown
from optimiser.history.schema import CURRENT, MIGRATIONS, VERSION_1
from optimiser.simulate.results import versions

BUSY_SECONDS = 60.0  # how long a SQLite writer waits for another's lock
CONNECT_SECONDS = 10  # how long to wait for a PostgreSQL server to answer
ENVIRONMENT = "OPTIMISER_DB"
CONFIG_ENVIRONMENT = "OPTIMISER_CONFIG"
ADVISORY_LOCK = 0x6F707469  # PostgreSQL advisory lock key for schema changes ("opti")


class HistoryError(Exception):
    """A history problem a person can act on (no such run, a newer schema, a bad URL)."""


def config_path() -> Path:
    """The config file: $OPTIMISER_CONFIG, else $XDG_CONFIG_HOME/optimiser/config.toml
    (default ~/.config/optimiser/config.toml)."""
    if os.environ.get(CONFIG_ENVIRONMENT):
        return Path(os.environ[CONFIG_ENVIRONMENT])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "optimiser" / "config.toml"


def default_path() -> Path:
    """$XDG_DATA_HOME/optimiser/history.db (default ~/.local/share/optimiser/history.db)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "optimiser" / "history.db"


def history_url(given: str | None = None) -> str:
    """Where the history is: ``given`` (``--db``), else $OPTIMISER_DB, else ``db`` in the
    config file's ``[history]`` table, else the per-user SQLite file. A path without a scheme
    is a SQLite file; ``postgresql://`` uses the psycopg driver."""
    url = given or os.environ.get(ENVIRONMENT)
    if not url:
        path = config_path()
        if path.is_file():
            try:
                url = tomllib.loads(path.read_text(encoding="utf-8")).get("history", {}).get("db")
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise HistoryError(f"{path}: cannot be read as TOML ({error})") from None
    if not url:
        url = str(default_path())
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass
class RunRecord:
    """What a command hands the history: the run as it happened."""

    command: str
    options: dict
    started_at: dt.datetime
    ended_at: dt.datetime
    files: dict[str, bytes]  # the files the run wrote, by name
    snapshot_hash: str | None = None
    snapshot_source: str | None = None
    snapshot_files: dict[str, bytes] = field(default_factory=dict)
    out_dir: str | None = None
    status: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    placed: int | None = None
    unplaced: int | None = None
    placements: pd.DataFrame | None = None  # patient_id, service_id, start_date, stage, wait_days, cost
    unplaced_rows: pd.DataFrame | None = None  # patient_id, reason


@dataclass(frozen=True)
class Run:
    """A recorded run (a row of ``runs``)."""

    run_id: str
    started_at: str
    ended_at: str
    command: str
    options: dict
    snapshot_hash: str | None
    snapshot_source: str | None
    out_dir: str | None
    versions: dict
    status: str | None
    objective: float | None
    bound: float | None
    gap: float | None
    placed: int | None
    unplaced: int | None
    user_name: str | None
    host: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def new_run_id(started: dt.datetime) -> str:
    """Sortable by start time, unique: ``20261201-071502-3fa9c1``."""
    return f"{started.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class History:
    """A history database, opened (and created or upgraded) by ``History(url)``."""

    def __init__(self, url: str | None = None) -> None:
        self.url = history_url(url)
        try:
            self.engine = _engine(self.url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
            raise HistoryError(f"{shown(self.url)}: not a database URL this machine can open ({error})") from None
        self.version = self._prepare()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    def _prepare(self) -> int:
        """Create the tables, or upgrade an older schema in place; the version found."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
            names = set(sa.inspect(connection).get_table_names())
            if "optimiser_schema" not in names:
                if "runs" in names:
                    raise HistoryError(f"{shown(self.url)}: has a 'runs' table but no optimiser_schema; not an optimiser history")
                schema.metadata.create_all(connection)
                connection.execute(schema.schema_version.insert().values(version=CURRENT))
                return CURRENT
            version = connection.execute(sa.select(schema.schema_version.c.version)).scalar_one()
            if version > CURRENT:
                raise HistoryError(
                    f"{shown(self.url)}: written by a newer optimiser (history schema {version}, this one reads up to "
                    f"{CURRENT}); upgrade optimiser"
                )
            for step in range(version, CURRENT):
                MIGRATIONS[step](connection)
                connection.execute(schema.schema_version.update().values(version=step + 1))
            return version

    @staticmethod
    def create_version_1(url: str) -> None:
        """A new, empty database of schema version 1 (what tests upgrade)."""
        engine = _engine(history_url(url))
        with engine.begin() as connection:
            blob = schema.blob_type(connection.dialect.name)
            for statement in VERSION_1:
                connection.exec_driver_sql(statement.format(blob=blob))
        engine.dispose()

    # -- writing --------------------------------------------------------------------
    def record(self, record: RunRecord, run_id: str | None = None) -> str:
        """Write the run in one transaction; its run id."""
        run_id = run_id or new_run_id(record.started_at)
        row = {
            "run_id": run_id,
            "started_at": _iso(record.started_at),
            "ended_at": _iso(record.ended_at),
            "command": record.command,
            "options": json.dumps(record.options, sort_keys=True, default=str),
            "snapshot_hash": record.snapshot_hash,
            "snapshot_source": record.snapshot_source,
            "out_dir": record.out_dir,
            "versions": json.dumps(versions(("pyomo", "sqlalchemy")), sort_keys=True),
            "status": record.status,
            "objective": record.objective,
            "bound": record.bound,
            "gap": record.gap,
            "placed": record.placed,
            "unplaced": record.unplaced,
            "user_name": _user(),
            "host": socket.gethostname(),
        }
        with self.engine.begin() as connection:
            if record.snapshot_hash and record.snapshot_files:
                rows = [
                    {"content_hash": record.snapshot_hash, "name": name, "content": zlib.compress(content)}
                    for name, content in sorted(record.snapshot_files.items())
                ]
                connection.execute(_insert_ignoring_duplicates(connection, schema.snapshot_files), rows)
            connection.execute(sa.insert(schema.runs).values(**row))
            if record.files:
                connection.execute(
                    sa.insert(schema.run_files),
                    [
                        {"run_id": run_id, "name": name, "content": zlib.compress(content)}
                        for name, content in sorted(record.files.items())
                    ],
                )
            if record.placements is not None and len(record.placements):
                frame = record.placements.assign(run_id=run_id)
                connection.execute(sa.insert(schema.placements), _records(frame, schema.placements))
            if record.unplaced_rows is not None and len(record.unplaced_rows):
                frame = record.unplaced_rows.assign(run_id=run_id)
                connection.execute(sa.insert(schema.unplaced), _records(frame, schema.unplaced))
        return run_id

    # -- reading --------------------------------------------------------------------
    def runs(
        self,
        since: dt.date | None = None,
        until: dt.date | None = None,
        command: str | None = None,
        snapshot: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Recorded runs, newest first: started on ``since`` or later, on ``until`` or
        earlier (UTC dates), of one command, of a snapshot whose hash starts so."""
        query = sa.select(schema.runs).order_by(schema.runs.c.started_at.desc(), schema.runs.c.run_id.desc())
        if since is not None:
            query = query.where(schema.runs.c.started_at >= since.isoformat())
        if until is not None:
            query = query.where(schema.runs.c.started_at < (until + dt.timedelta(days=1)).isoformat())
        if command is not None:
            query = query.where(schema.runs.c.command == command)
        if snapshot:
            query = query.where(schema.runs.c.snapshot_hash.startswith(snapshot.lower(), autoescape=True))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [_run(row) for row in connection.execute(query).mappings()]

    def run(self, reference: str, command: str | None = None) -> Run:
        """The run a reference names: ``last`` (the newest, of ``command`` if given), a run
        id, or the start or the end (four characters or more) of exactly one run id."""
        if reference == "last":
            found = self.runs(command=command, limit=1)
            if not found:
                what = f"{command} run" if command else "run"
                raise HistoryError(f"no {what} is recorded in {shown(self.url)}")
            return found[0]
        column = schema.runs.c.run_id
        matches = column.startswith(reference, autoescape=True)
        if len(reference) >= 4:  # or its random end, as printed: ``3fa9c1``
            matches = matches | column.endswith(reference, autoescape=True)
        query = sa.select(schema.runs).where(matches).limit(2)
        with self.engine.connect() as connection:
            rows = [_run(row) for row in connection.execute(query).mappings()]
        exact = [run for run in rows if run.run_id == reference]
        if exact:
            return exact[0]
        if not rows:
            raise HistoryError(f"no run '{reference}' in {shown(self.url)}; `optimiser history list` shows the run ids")
        if len(rows) > 1:
            raise HistoryError(f"'{reference}' starts more than one run id; give more of it")
        return rows[0]

    def files(self, run_id: str) -> dict[str, bytes]:
        """The files the run wrote, as it wrote them."""
        query = sa.select(schema.run_files.c.name, schema.run_files.c.content).where(schema.run_files.c.run_id == run_id)
        with self.engine.connect() as connection:
            return {name: zlib.decompress(content) for name, content in connection.execute(query.order_by("name"))}

    def snapshot_files(self, content_hash: str) -> dict[str, bytes]:
        """The snapshot's files as the run read them."""
        table = schema.snapshot_files
        query = sa.select(table.c.name, table.c.content).where(table.c.content_hash == content_hash).order_by(table.c.name)
        with self.engine.connect() as connection:
            return {name: zlib.decompress(content) for name, content in connection.execute(query)}

    def placements(self, run_id: str) -> pd.DataFrame:
        table = schema.placements
        columns = [c for c in table.c if c.name != "run_id"]
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*columns).where(table.c.run_id == run_id)).all()
        return pd.DataFrame(rows, columns=[c.name for c in columns])

    def unplaced(self, run_id: str) -> pd.DataFrame:
        table = schema.unplaced
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table.c.patient_id, table.c.reason).where(table.c.run_id == run_id)).all()
        return pd.DataFrame(rows, columns=["patient_id", "reason"])


def _engine(url: str) -> sa.Engine:
    """An engine; SQLite: the file's folder made, a busy timeout, and ``BEGIN IMMEDIATE`` so
    a transaction takes the write lock when it starts (no lock upgrade to deadlock on)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":  # a server that does not answer: give up, and warn, in 10 s
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_SECONDS})
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS}, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _insert_ignoring_duplicates(connection: sa.Connection, table: sa.Table):
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return sa.insert(table).prefix_with("IGNORE")


def _records(frame: pd.DataFrame, table: sa.Table) -> list[dict]:
    columns = [c.name for c in table.c]
    frame = frame.reindex(columns=columns)
    out = []
    for row in frame.itertuples(index=False):
        out.append({name: (None if pd.isna(value) else value) for name, value in zip(columns, row)})
    return out


def _run(row) -> Run:
    values = dict(row)
    values["options"] = json.loads(values["options"] or "{}")
    values["versions"] = json.loads(values["versions"] or "{}")
    values.setdefault("user_name", None)
    values.setdefault("host", None)
    return Run(**{name: values.get(name) for name in Run.__dataclass_fields__})


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
