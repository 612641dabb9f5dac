"""Checks and figures of a PostgreSQL store: what ``health`` reports of a SQLite one, in the
same reports (``VerifyReport``, ``StoreStats``), so ``ait42-session verify`` and ``stats``
work on either.

What differs: the integrity check is amcheck's B-tree check of every index when that
extension is installed in the database (otherwise ``integrity`` says it was not run, and the
report is still ok); the "full-text indexes" are the word columns, checked to be present for
every row that has text; sizes are the database's as the server counts them.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..from_json.phases import migration_status
from ..from_json.sql import COUNT_IMPORT_SOURCES
from ..health import ORPHANS, WORKSPACE_STATS, StoreStats, VerifyReport, WorkspaceStats
from . import sql
from .repository import PostgresSessionRepository

__all__ = ["postgres_stats", "verify_postgres"]

NO_AMCHECK = "ok (indexes not checked: CREATE EXTENSION amcheck to check them)"


def _row(con: psycopg.Connection[Any], statement: str) -> tuple[Any, ...]:
    row = con.execute(statement).fetchone()
    assert row is not None  # aggregate queries always return one row
    return tuple(row)


def verify_postgres(repo: PostgresSessionRepository) -> VerifyReport:
    """Check the whole store: indexes (amcheck), constraints, word columns, counts, orphans."""
    report = VerifyReport()

    def work(con: psycopg.Connection[Any]) -> None:
        if _row(con, sql.AMCHECK_INSTALLED)[0]:
            try:
                with con.transaction():
                    con.execute(sql.CHECK_INDEXES).fetchall()
                report.integrity = ["ok"]
            except psycopg.errors.IndexCorrupted as exc:
                report.integrity = [str(exc).strip()]
        else:
            report.integrity = ["ok"]
            report.notes.append(NO_AMCHECK)
        report.foreign_key_violations = _row(con, sql.UNVALIDATED_CONSTRAINTS)[0]
        workspaces, sessions, instances, messages = _row(con, sql.COUNTS)
        report.counts = {"workspaces": workspaces, "sessions": sessions,
                         "instances": instances, "messages": messages}  # fmt: skip
        tasks, outputs, contents = _row(con, sql.UNSEARCHABLE)
        report.fts = {"task words": tasks == 0, "output words": outputs == 0,
                      "message words": contents == 0}  # fmt: skip
        report.trigram_rows = sessions - tasks
        no_ws, no_session_i, no_session_m = _row(con, ORPHANS)
        report.orphans = {
            "sessions": no_ws,
            "instances": no_session_i,
            "messages": no_session_m,
        }

    repo.database.read(work)
    return report


def postgres_stats(repo: PostgresSessionRepository) -> StoreStats:
    """Per-workspace counts, the database's size (``db_bytes``; its write-ahead log is the
    server's, shared by every database, so ``wal_bytes`` and ``shm_bytes`` are 0)."""
    db = repo.database
    status = migration_status(repo)

    def work(con: psycopg.Connection[Any]) -> tuple[Any, ...]:
        workspaces = [WorkspaceStats(*row) for row in con.execute(WORKSPACE_STATS)]
        imported, troubled = _row(con, COUNT_IMPORT_SOURCES)
        size, block = _row(con, sql.DATABASE_SIZE)
        return workspaces, imported, troubled, size, block

    workspaces, imported, troubled, size, block = db.read(work)
    return StoreStats(
        path=db.name, schema_version=db.schema_version,
        migration_status=status.status, json_backup_path=status.json_backup_path,
        db_bytes=size, wal_bytes=0, shm_bytes=0, page_size=block, page_count=size // block,
        freelist_pages=0, imported_files=imported, workspaces=workspaces,
        files_with_problems=troubled,
    )  # fmt: skip
