"""Bulk-load sessions into a SQLite store, many sessions per transaction.

``SqliteSessionRepository.create_sessions`` stores a batch in one transaction with the very
statements ``create_session`` runs, so rows, search indexes and trigram index are the same;
``tests/test_benchmarks.py`` checks that a loaded store reads back exactly like one written
through ``create_session``. ``bulk_settings`` speeds up the connection that builds.
"""

from __future__ import annotations

from typing import Iterable

from ait42_session import SqliteSessionRepository, WorktreeSession

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
    return repo.create_sessions(workspace_path, sessions)
