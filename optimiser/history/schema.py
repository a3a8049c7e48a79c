"""The history database's tables, by schema version, and the steps that upgrade an older one.

Version 2 (current):

- ``optimiser_schema(version)``: one row, the schema version of the database;
- ``runs``: one row per run: ``run_id``, ``started_at`` and ``ended_at`` (UTC, ISO 8601),
  ``command``, ``options`` (JSON), ``snapshot_hash`` (sha256 of the snapshot's files as
  read), ``snapshot_source`` (the folder, workbook or database it was read from, the
  password of a URL hidden), ``out_dir``, ``versions`` (JSON: Python, optimiser, solvers),
  ``status``, ``objective``, ``bound``, ``gap``, ``placed``, ``unplaced``, and (version 2)
  ``user_name`` and ``host`` (who ran it, where);
- ``run_files``: the files the run wrote (``name``, ``content`` zlib-compressed bytes), so
  ``history export`` gives them back byte for byte;
- ``snapshot_files``: the snapshot's files as read (``content_hash``, ``name``,
  ``content`` zlib-compressed), stored once per content hash however many runs read it;
- ``placements`` and ``unplaced``: the plan's rows (``patient_id``, ``service_id``,
  ``start_date``, ``stage``, ``wait_days``, ``cost``; ``patient_id``, ``reason``), for
  ``history diff`` and queries.

Version 1 had no ``user_name``, ``host`` or index on ``started_at``. ``MIGRATIONS[v]``
takes a database from version v to v + 1; the statements of version 1 are kept
(``VERSION_1``) so that the upgrade is tested on a database made by them.
"""

from __future__ import annotations

import sqlalchemy as sa

CURRENT = 2

metadata = sa.MetaData()

schema_version = sa.Table("optimiser_schema", metadata, sa.Column("version", sa.Integer, nullable=False))

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("ended_at", sa.String(32), nullable=False),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("snapshot_hash", sa.String(64)),
    sa.Column("snapshot_source", sa.Text),
    sa.Column("out_dir", sa.Text),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("status", sa.String(32)),
    sa.Column("objective", sa.Float),
    sa.Column("bound", sa.Float),
    sa.Column("gap", sa.Float),
    sa.Column("placed", sa.Integer),
    sa.Column("unplaced", sa.Integer),
    sa.Column("user_name", sa.Text),  # version 2
    sa.Column("host", sa.Text),  # version 2
    sa.Index("runs_started_at", "started_at"),  # version 2
)

run_files = sa.Table(
    "run_files",
    metadata,
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

snapshot_files = sa.Table(
    "snapshot_files",
    metadata,
    sa.Column("content_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

placements = sa.Table(
    "placements",
    metadata,
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("patient_id", sa.Text, nullable=False),
    sa.Column("service_id", sa.Text, nullable=False),
    sa.Column("start_date", sa.String(10), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("wait_days", sa.Integer),
    sa.Column("cost", sa.Float),
)

unplaced = sa.Table(
    "unplaced",
    metadata,
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("patient_id", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
)

# version 1, as it was created (kept to test the upgrade on a database made by it)
VERSION_1 = (
    "CREATE TABLE optimiser_schema (version INTEGER NOT NULL)",
    "CREATE TABLE runs (run_id VARCHAR(40) NOT NULL PRIMARY KEY, started_at VARCHAR(32) NOT NULL, "
    "ended_at VARCHAR(32) NOT NULL, command VARCHAR(32) NOT NULL, options TEXT NOT NULL, snapshot_hash VARCHAR(64), "
    "snapshot_source TEXT, out_dir TEXT, versions TEXT NOT NULL, status VARCHAR(32), objective FLOAT, bound FLOAT, "
    "gap FLOAT, placed INTEGER, unplaced INTEGER)",
    "CREATE TABLE run_files (run_id VARCHAR(40) NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE, "
    "name VARCHAR(200) NOT NULL, content {blob} NOT NULL, PRIMARY KEY (run_id, name))",
    "CREATE TABLE snapshot_files (content_hash VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, "
    "content {blob} NOT NULL, PRIMARY KEY (content_hash, name))",
    "CREATE TABLE placements (run_id VARCHAR(40) NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE, "
    "patient_id TEXT NOT NULL, service_id TEXT NOT NULL, start_date VARCHAR(10) NOT NULL, stage VARCHAR(16) NOT NULL, "
    "wait_days INTEGER, cost FLOAT)",
    "CREATE INDEX ix_placements_run_id ON placements (run_id)",
    "CREATE TABLE unplaced (run_id VARCHAR(40) NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE, "
    "patient_id TEXT NOT NULL, reason TEXT)",
    "CREATE INDEX ix_unplaced_run_id ON unplaced (run_id)",
    "INSERT INTO optimiser_schema (version) VALUES (1)",
)


def blob_type(dialect: str) -> str:
    return "BYTEA" if dialect == "postgresql" else "BLOB"


def _to_version_2(connection: sa.Connection) -> None:
    """Who ran it and where; runs listed by start time through an index."""
    connection.exec_driver_sql("ALTER TABLE runs ADD COLUMN user_name TEXT")
    connection.exec_driver_sql("ALTER TABLE runs ADD COLUMN host TEXT")
    connection.exec_driver_sql("CREATE INDEX runs_started_at ON runs (started_at)")


MIGRATIONS = {1: _to_version_2}
