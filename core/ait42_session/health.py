"""Checks and figures of a store, for ``ait42-session verify`` and ``stats``: a SQLite store's
here, a PostgreSQL store's in ``postgres.health`` (the same reports)."""

from __future__ import annotations

import itertools
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import apsw

from . import sql
from .errors import ValidationError
from .from_json.phases import migration_status
from .from_json.sql import COUNT_IMPORT_SOURCES
from .sqlite_repo import SqliteSessionRepository

__all__ = [
    "StoreStats",
    "VerifyReport",
    "WorkspaceStats",
    "store_stats",
    "verify_store",
]

MAX_INTEGRITY_LINES = 20

# ORPHANS and WORKSPACE_STATS are plain SQL that PostgreSQL runs as they are (postgres.health).
COUNTS = """
SELECT (SELECT count(*) FROM workspaces), (SELECT count(*) FROM sessions),
    (SELECT count(*) FROM instances), (SELECT count(*) FROM chat_messages),
    (SELECT count(*) FROM session_trigrams_docsize)"""

ORPHANS = """
SELECT
    (SELECT count(*) FROM sessions AS s
        WHERE NOT EXISTS (SELECT 1 FROM workspaces AS w WHERE w.hash = s.workspace_hash)),
    (SELECT count(*) FROM instances AS i
        WHERE NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.pk = i.session_pk)),
    (SELECT count(*) FROM chat_messages AS m
        WHERE NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.pk = m.session_pk))"""

WORKSPACE_STATS = """
SELECT w.hash, w.path,
    (SELECT count(*) FROM sessions AS s WHERE s.workspace_hash = w.hash),
    (SELECT count(*) FROM instances AS i JOIN sessions AS s ON s.pk = i.session_pk
        WHERE s.workspace_hash = w.hash),
    (SELECT count(*) FROM chat_messages AS m JOIN sessions AS s ON s.pk = m.session_pk
        WHERE s.workspace_hash = w.hash)
FROM workspaces AS w
ORDER BY 3 DESC, w.hash"""


@dataclass
class VerifyReport:
    """SQLite's integrity check, foreign keys, every full-text index, and row counts.

    ``orphans``: sessions without their workspace, instances and messages without their
    session. ``trigram_rows`` should equal ``counts["sessions"]`` (one substring-index row per
    session).
    """

    integrity: list[str] = field(default_factory=list)  # "ok", or SQLite's complaints
    foreign_key_violations: int = 0
    fts: dict[str, bool] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)
    trigram_rows: int = 0
    notes: list[str] = field(default_factory=list)  # what was not checked, and why

    @property
    def ok(self) -> bool:
        return (
            self.integrity == ["ok"]
            and self.foreign_key_violations == 0
            and all(self.fts.values())
            and not any(self.orphans.values())
            and self.trigram_rows == self.counts.get("sessions", 0)
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _row(con: apsw.Connection, statement: str) -> tuple[Any, ...]:
    row = con.execute(statement).fetchone()
    assert row is not None  # aggregate queries always return one row
    return tuple(row)


def verify_store(repo: object) -> VerifyReport:
    """Check the whole database (a SqliteSessionRepository or PostgresSessionRepository). A
    SQLite file too damaged to read raises StoreCorruptedError."""
    if not isinstance(repo, SqliteSessionRepository):
        from .postgres.health import verify_postgres

        return verify_postgres(_postgres_store(repo))
    report = VerifyReport()

    def work(con: apsw.Connection) -> None:
        rows = itertools.islice(con.execute(sql.INTEGRITY_CHECK), MAX_INTEGRITY_LINES)
        report.integrity = [row[0] for row in rows]
        report.foreign_key_violations = len(
            con.execute(sql.FOREIGN_KEY_CHECK).fetchall()
        )
        for table, statement in sql.FTS_INTEGRITY_CHECKS.items():
            try:
                con.execute(statement)
                report.fts[table] = True
            except apsw.CorruptError:
                report.fts[table] = False
        workspaces, sessions, instances, messages, trigrams = _row(con, COUNTS)
        report.counts = {"workspaces": workspaces, "sessions": sessions,
                         "instances": instances, "messages": messages}  # fmt: skip
        report.trigram_rows = trigrams
        no_ws, no_session_i, no_session_m = _row(con, ORPHANS)
        report.orphans = {
            "sessions": no_ws,
            "instances": no_session_i,
            "messages": no_session_m,
        }

    # FTS5 runs its check as an INSERT, so this is a (write-locked, no-op) write transaction.
    repo.pool.write(work)
    return report


@dataclass
class WorkspaceStats:
    hash: str
    path: str | None  # None until the workspace is opened by path (imported by hash)
    sessions: int
    instances: int
    messages: int


@dataclass
class StoreStats:
    """Sizes and counts of a store; sizes in bytes, a missing file as 0."""

    path: str
    schema_version: int
    migration_status: str
    json_backup_path: str | None
    db_bytes: int
    wal_bytes: int
    shm_bytes: int
    page_size: int
    page_count: int
    freelist_pages: int
    imported_files: int  # JSON files that brought in at least one session
    workspaces: list[WorkspaceStats]
    files_with_problems: int = 0  # JSON files with a session (or more) that was refused

    @property
    def totals(self) -> dict[str, int]:
        return {
            name: sum(getattr(w, name) for w in self.workspaces)
            for name in ("sessions", "instances", "messages")
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals}


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _postgres_store(repo: object) -> Any:
    from .postgres import PostgresSessionRepository

    if not isinstance(repo, PostgresSessionRepository):
        raise ValidationError(
            f"a SqliteSessionRepository or PostgresSessionRepository is required, "
            f"got {type(repo).__name__}"
        )
    return repo


def store_stats(repo: object) -> StoreStats:
    """Per-workspace counts, file sizes (database, WAL, shared memory) and page figures (of a
    PostgreSQL store: see ``postgres.health.postgres_stats``)."""
    if not isinstance(repo, SqliteSessionRepository):
        from .postgres.health import postgres_stats

        return postgres_stats(_postgres_store(repo))
    pool = repo.pool
    status = migration_status(repo)

    def work(
        con: apsw.Connection,
    ) -> tuple[list[WorkspaceStats], int, int, int, int, int]:
        workspaces = [WorkspaceStats(*row) for row in con.execute(WORKSPACE_STATS)]
        pages = [
            int(con.pragma(name))
            for name in ("page_size", "page_count", "freelist_count")
        ]
        imported, troubled = con.execute(COUNT_IMPORT_SOURCES).fetchone()
        return workspaces, imported, troubled, *pages

    workspaces, imported, troubled, page_size, page_count, freelist = pool.read(work)
    path = pool.path
    return StoreStats(
        path=str(path), schema_version=pool.schema_version,
        migration_status=status.status, json_backup_path=status.json_backup_path,
        db_bytes=_size(path), wal_bytes=_size(Path(f"{path}-wal")),
        shm_bytes=_size(Path(f"{path}-shm")), page_size=page_size, page_count=page_count,
        freelist_pages=freelist, imported_files=imported, workspaces=workspaces,
        files_with_problems=troubled,
    )  # fmt: skip
