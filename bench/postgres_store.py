"""The harness's ``postgres`` backend: the workload in a PostgreSQL database on a local socket.

A run that asks for ``postgres`` gets a server (``server_for``): the one named by ``--postgres``
(or ``AIT42_BENCH_POSTGRES``), an admin DSN allowed to create databases, or else a throwaway
``postgres_server`` started for the run, with the same durability as the SQLite store. Each
workload is loaded once per server into a template database the way a team would move in:
``export_json`` of the SQLite working copy, then ``import_json`` into PostgreSQL, then VACUUM
(ANALYZE) (as the SQLite store is ``optimize``d after its build). Each size then works on its
own copy (``CREATE DATABASE ... TEMPLATE``), named in the working folder's ``postgres.dsn``
and dropped with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from typing import Protocol

from .postgres_server import INSTALL, PostgresServer, server_binaries
from .stores import StorePaths, schema_version
from .workloads import Workload

__all__ = [
    "ENV", "Server", "database_bytes", "drop_working_copy", "main_workspace_sessions",
    "prepare", "server_for",
]  # fmt: skip

ENV = "AIT42_BENCH_POSTGRES"


class Server(Protocol):
    def dsn(self, database: str = "postgres") -> str: ...
    def execute(self, statement: str) -> None: ...
    def has_database(self, name: str) -> bool: ...


class _ExistingServer:
    """A server given by an admin DSN (its database is where CREATE DATABASE runs)."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn

    def dsn(self, database: str = "postgres") -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.admin_dsn, dbname=database)

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as con:
            con.execute(statement)

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as con:
            found = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None


@contextlib.contextmanager
def server_for(admin_dsn: str | None) -> Iterator[Server]:
    """The given server, or a throwaway one for the length of the block."""
    admin_dsn = admin_dsn or os.environ.get(ENV)
    if admin_dsn:
        yield _ExistingServer(admin_dsn)
        return
    bin_dir = server_binaries()
    if bin_dir is None:
        raise RuntimeError(f"backend postgres: {INSTALL}; or pass --postgres DSN")
    server = PostgresServer(bin_dir, durable=True).start()
    try:
        yield server
    finally:
        server.stop()


def _name(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:20]


def _load(server: Server, database: str, work: StorePaths) -> None:
    from ait42_session import PostgresSessionRepository, SqliteSessionRepository
    from ait42_session.migration import export_json, import_json

    with tempfile.TemporaryDirectory(prefix="ait42-bench-pg-") as scratch:
        with SqliteSessionRepository.with_path(work.db) as sqlite:
            export_json(sqlite, scratch)
        with PostgresSessionRepository.connect(
            server.dsn(database), max_size=1
        ) as repo:
            report = import_json(scratch, repo)
            if not report.ok:
                raise RuntimeError(f"loading PostgreSQL: {report.errors[:3]}")
            repo.database.optimize()


def prepare(server: Server, work: StorePaths, workload: Workload) -> str:
    """The DSN of a fresh copy of ``workload`` for ``work`` (loading the template first if
    this server has not got it); written to ``work``'s ``postgres.dsn``."""
    template = _name("b_", f"{workload.key}:schema{schema_version()}")
    if not server.has_database(template):
        building = _name("building_", template)
        server.execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {building}")
        _load(server, building, work)
        server.execute(f"ALTER DATABASE {building} RENAME TO {template}")
    working = _name("w_", str(work.root))
    server.execute(f"DROP DATABASE IF EXISTS {working} WITH (FORCE)")
    server.execute(f"CREATE DATABASE {working} TEMPLATE {template}")
    dsn = server.dsn(working)
    work.postgres_dsn_file.write_text(dsn)
    return dsn


def drop_working_copy(server: Server, work: StorePaths) -> None:
    server.execute(
        f"DROP DATABASE IF EXISTS {_name('w_', str(work.root))} WITH (FORCE)"
    )


def database_bytes(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as con:
        return int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]


def main_workspace_sessions(dsn: str, workspace_hash: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as con:
        row = con.execute(
            "SELECT count(*) FROM sessions WHERE workspace_hash = %s", (workspace_hash,)
        ).fetchone()
        return int(row[0])  # type: ignore[index]
