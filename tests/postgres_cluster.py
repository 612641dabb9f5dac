"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` of the installed
server, run as an unprivileged user (tests run as root here), on a Unix socket in a temporary
folder, no TCP port. Started on first use, stopped when the test process ends.

Each test gets its own database, copied from a template that already holds the schema
(``database_for``), and dropped after the test (``drop_databases``). Where the server's
binaries are absent the tests that need them skip, saying how to install them; with
``AIT42_REQUIRE_POSTGRES=1`` (``.ci/run``) they fail instead.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL = (
    "PostgreSQL's server is not installed: apt install postgresql (initdb and pg_ctl are "
    "looked for in /usr/lib/postgresql/*/bin and on PATH)"
)
TEMPLATE = "ait42_template"


def _binaries() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="ait42-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.user = (
            "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        )
        if os.geteuid() == 0:  # the server refuses to run as root
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.socket):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.databases: dict[str, str] = {}

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        options = (f"-k {self.socket} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.socket} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        """The database as a postgresql:// URL (the command line's ``--db``)."""
        from urllib.parse import quote

        return (
            f"postgresql://postgres@/{database}?host={quote(str(self.socket), safe='')}"
        )

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(statement)

    def make_template(self) -> None:
        from ait42_session import PostgresSessionRepository

        self.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresSessionRepository.connect(self.dsn(TEMPLATE), max_size=1).close()


_cluster: Cluster | None = None


def cluster() -> Cluster:
    """The test process's cluster, started (with the schema in its template) on first use."""
    global _cluster
    if _cluster is None:
        bin_dir = _binaries()
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
