"""Bulk-load sessions into a SQLite store, many sessions per transaction.

``SqliteSessionRepository.create_session`` opens one transaction per session (and cannot be
nested inside ``pool.write``), which makes a 100,000-session store take minutes of commits.
This loader runs, for each session, exactly the statements ``create_session`` runs - through
the repository's own private helpers, so rows, search indexes and trigram index are the same -
but commits a batch of sessions at a time. The unique-id check is skipped: workload ids are
unique by construction, and the UNIQUE constraint still rejects a duplicate.

A public bulk insert in core (e.g. ``SqliteSessionRepository.create_sessions(workspace_path,
sessions)``) would remove this coupling to private names; ``tests/test_benchmarks.py`` checks
that a loaded store reads back exactly like one written through ``create_session``.
"""

from __future__ import annotations

from typing import Iterable

import apsw

from ait42_session import SqliteSessionRepository, WorktreeSession
from ait42_session import sql
from ait42_session.sqlite_repo import _session_params, _workspace
from ait42_session.timestamps import now_rfc3339

__all__ = ["load_sessions", "bulk_settings"]

# Per-connection settings for the duration of a build only (they are not stored in the file):
# a bigger page cache, and no fsync - a build that dies is thrown away, not recovered.
BULK_PRAGMAS = (("cache_size", -262_144), ("synchronous", "OFF"))


def bulk_settings(repo: SqliteSessionRepository) -> None:
    """Speed up loading on this thread's connection of ``repo`` (use on a store being built)."""
    con = repo.pool.connection()
    for name, value in BULK_PRAGMAS:
        con.pragma(name, value)


def load_sessions(
    repo: SqliteSessionRepository,
    workspace_path: str,
    sessions: Iterable[WorktreeSession],
) -> int:
    """Insert ``sessions`` (validated) into ``workspace_path`` in one transaction; the count."""
    ws, real_path = _workspace(workspace_path)
    batch = list(sessions)
    for session in batch:
        session.validate()

    def work(con: apsw.Connection) -> None:
        con.execute(sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": now_rfc3339()})
        for session in batch:
            con.execute(sql.INSERT_SESSION, _session_params(session, ws))
            pk = con.last_insert_rowid()
            SqliteSessionRepository._write_children(con, pk, session)
            SqliteSessionRepository._index_text(con, pk, session)

    repo.pool.write(work)
    return len(batch)
