"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, started on a free
port on 127.0.0.1, stopped at the end. As root, the server runs as the ``postgres`` user
(PostgreSQL refuses root). ``server_or_skip`` says why it cannot when it cannot: no
binaries (``.ci/run`` installs them with apt), no psycopg driver, no user to run as."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A running server; ``url(database)`` gives its SQLAlchemy URL."""

    def __init__(self) -> None:
        self.bin = _binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="optimiser-pg-"))
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            account = pwd.getpwnam(self.user)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        data = self.folder / "data"
        self._run([self.bin / "initdb", "-D", data, "-A", "trust", "-U", "optimiser", "--no-sync", "-E", "UTF8"])
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40"
        self._run([self.bin / "pg_ctl", "-D", data, "-o", options, "-l", self.folder / "log", "-w", "-t", "60", "start"])
        self.data = data

    def _run(self, command) -> None:
        subprocess.run([str(c) for c in command], check=True, capture_output=True, user=self.user, cwd=self.folder)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://optimiser@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run([self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def server_or_skip() -> Server:
    """A started server, or the test skipped with the reason."""
    if _binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): .ci/run installs them with apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("no psycopg driver: pip install '.[test]' installs it")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
    try:
        return Server()
    except subprocess.CalledProcessError as error:  # binaries there but no server: a failure, not a skip
        pytest.fail(f"could not start PostgreSQL: {error.stderr.decode(errors='replace')[-300:]}")
