"""Bulk-load sessions into a SQLite store, many sessions per transaction.

``SqliteSessionRepository.create_sessions`` stores a batch in one transaction with the very
statements ``create_session`` runs, so rows, search indexes and trigram index are the same;
``tests/test_benchmarks.py`` checks that a loaded store reads back exactly like one written
through ``create_session``. ``bulk_loading`` speeds up the connection that builds.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

from ait42_session import SqliteSessionRepository, WorktreeSession

__all__ = ["load_sessions", "bulk_loading"]

# Per-connection settings while a store is built (none is left in the file): a bigger page
# cache; no fsync; and the rollback journal kept in memory instead of the WAL, so that each
# page is written once instead of to the WAL and again at every checkpoint (a quarter of
# the build's time). A build that dies is thrown away, never recovered.
BULK_PRAGMAS = (
    ("cache_size", -262_144),
    ("synchronous", "OFF"),
    ("journal_mode", "MEMORY"),
)


@contextmanager
def bulk_loading(repo: SqliteSessionRepository) -> Iterator[None]:
    """Load faster on this thread's connection of ``repo`` (a store being built) inside the
    block; the store is in WAL mode again after it."""
    con = repo.pool.connection()
    for name, value in BULK_PRAGMAS:
        con.pragma(name, value)
    try:
        yield
    finally:
        mode = con.pragma("journal_mode", "wal")
        if str(mode).lower() != "wal":
            raise RuntimeError(f"the built store stayed in journal mode {mode!r}")


def load_sessions(
    repo: SqliteSessionRepository,
    workspace_path: str,
    sessions: Iterable[WorktreeSession],
) -> int:
    """Insert ``sessions`` (validated) into ``workspace_path`` in one transaction; the count."""
    return repo.create_sessions(workspace_path, sessions)
