"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` of the installed
server, run as an unprivileged user (tests run as root here), on a Unix socket in a temporary
folder, no TCP port (``bench.postgres_server``). Started on first use, stopped when the test
process ends.

Each test gets its own database, copied from a template that already holds the schema
(``database_for``), and dropped after the test (``drop_databases``). Where the server's
binaries are absent the tests that need them skip, saying how to install them; with
``AIT42_REQUIRE_POSTGRES=1`` (``.ci/run``) they fail instead.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.postgres_server import INSTALL, PostgresServer, server_binaries  # noqa: E402

TEMPLATE = "ait42_template"


class Cluster(PostgresServer):
    """The tests' server: fsync off, a template with the schema, the databases it made."""

    def __init__(self, bin_dir: Path) -> None:
        super().__init__(bin_dir, durable=False)
        self.databases: dict[str, str] = {}

    def make_template(self) -> None:
        from ait42_session import PostgresSessionRepository

        self.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresSessionRepository.connect(self.dsn(TEMPLATE), max_size=1).close()


_cluster: Cluster | None = None


def cluster() -> Cluster:
    """The test process's cluster, started (with the schema in its template) on first use."""
    global _cluster
    if _cluster is None:
        bin_dir = server_binaries()
        if bin_dir is None:
            if os.environ.get("AIT42_REQUIRE_POSTGRES"):
                raise RuntimeError(INSTALL)
            pytest.skip(INSTALL)
        started = Cluster(bin_dir)
        started.start()
        atexit.register(started.stop)
        started.make_template()
        _cluster = started
    return _cluster


def database_for(key: Path) -> str:
    """The DSN of the database belonging to ``key`` (a test's folder), created on first use."""
    server = cluster()
    name = "t_" + hashlib.sha256(str(key).encode()).hexdigest()[:20]
    if name not in server.databases:
        server.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        server.databases[name] = str(key)
    return server.dsn(name)


def url_for(key: Path) -> str:
    """``database_for(key)`` as a postgresql:// URL."""
    dsn = database_for(key)
    return cluster().url(dsn.rsplit("dbname=", 1)[1])


def drop_databases(key: Path) -> None:
    """Drop the databases made for ``key`` (a test's folder)."""
    if _cluster is None:
        return
    for name, owner in list(_cluster.databases.items()):
        if owner == str(key):
            _cluster.execute(f"DROP DATABASE {name} WITH (FORCE)")
            del _cluster.databases[name]
