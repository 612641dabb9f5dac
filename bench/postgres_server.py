"""A throwaway PostgreSQL server: ``initdb`` and ``pg_ctl`` of the installed PostgreSQL, run as
an unprivileged user (the server refuses root), on a Unix socket in a temporary folder, no TCP
port; removed when stopped. The tests' cluster (``tests/postgres_cluster.py``) and the
harness's ``postgres`` backend (``postgres_store``) both run on one.

``durable=True`` (the harness) keeps fsync on and turns synchronous_commit off: a commit is
acknowledged before its WAL reaches the disk, so a power loss can lose the last commits but
never corrupts — the promise the SQLite store makes with ``synchronous=NORMAL``, so both pay
for the same durability. ``durable=False`` (the tests) turns fsync off too.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

__all__ = ["INSTALL", "PostgresServer", "server_binaries"]

INSTALL = (
    "PostgreSQL's server is not installed: apt install postgresql (initdb and pg_ctl are "
    "looked for in /usr/lib/postgresql/*/bin and on PATH)"
)


def server_binaries() -> Path | None:
    """The folder of the newest installed ``initdb`` and ``pg_ctl``, or None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


class PostgresServer:
    """One server in its own temporary folder; ``start()``, then ``stop()`` removes it all."""

    def __init__(self, bin_dir: Path, *, durable: bool) -> None:
        self.bin_dir = bin_dir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="ait42-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.user = (
            "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        )
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.socket):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr or done.stdout}")

    def start(self) -> "PostgresServer":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", *([] if self.durable else ["--no-sync"]))  # fmt: skip
        settings = "-c synchronous_commit=off -c max_connections=200"
        if not self.durable:
            settings += " -c fsync=off -c full_page_writes=off"
        options = f"-k {self.socket} -c listen_addresses='' {settings}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.socket} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        """The database as a postgresql:// URL (the command line's ``--db``)."""
        return (
            f"postgresql://postgres@/{database}?host={quote(str(self.socket), safe='')}"
        )

    def execute(self, statement: str) -> None:
        """Run one statement outside a transaction (CREATE and DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(statement)

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as con:
            found = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None
