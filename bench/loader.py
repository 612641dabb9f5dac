"""Bulk-load sessions into a SQLite store, many sessions per transaction.

``SqliteSessionRepository.create_sessions`` stores a batch in one transaction with the very
statements ``create_session`` runs, so rows, search indexes and trigram index are the same;
``tests/test_benchmarks.py`` checks that a loaded store reads back exactly like one written
through ``create_session``. ``bulk_loading`` speeds up the connection that builds, and ends
the build with the store's own ``optimize``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from ait42_session import SqliteSessionRepository, WorktreeSession, sql

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

# FTS5 settings of the message and output indexes while loading, as (loading, the schema's
# set back after: FTS5's default automerge, migration 0011's crisismerge): each batch adds one segment to each (their rows are written as one set),
# and instead of merging segments as they come, rewriting each a few times over, the build's
# optimize merges them all once. (Tasks and trigrams, written a session at a time, get a
# segment per session and keep merging.) FTS5 stores these settings in the index.
BULK_FTS_TABLES = ("fts_messages", "fts_outputs")
BULK_FTS_SETTINGS = {"automerge": (0, 4), "crisismerge": (1999, 64)}


@contextmanager
def bulk_loading(repo: SqliteSessionRepository) -> Iterator[None]:
    """Load faster on this thread's connection of ``repo`` (a store being built) inside the
    block; when it completes, FTS5's usual merging is set back, the store is ``optimize``d
    (as ``ait42-session optimize`` leaves it) and in WAL mode again. (A block that raises
    leaves the settings: its build is thrown away.)"""
    con = repo.pool.connection()
    for name, value in BULK_PRAGMAS:
        con.pragma(name, value)
    _set_fts(repo, {name: loading for name, (loading, _) in BULK_FTS_SETTINGS.items()})
    yield
    _set_fts(repo, {name: usual for name, (_, usual) in BULK_FTS_SETTINGS.items()})
    # No journal at all for optimize: its index merge and VACUUM rewrite the whole file, which
    # the WAL would take twice as long to write and a memory journal would hold in memory.
    con.pragma("journal_mode", "off")
    repo.pool.optimize()
    mode = con.pragma("journal_mode", "wal")
    if str(mode).lower() != "wal":
        raise RuntimeError(f"the built store stayed in journal mode {mode!r}")


def _set_fts(repo: SqliteSessionRepository, settings: dict[str, int]) -> None:
    def work(con: Any) -> None:
        for table in BULK_FTS_TABLES:
            for name, value in settings.items():
                con.execute(sql.fts_setting(table, name), {"value": value})

    repo.pool.write(work)


def load_sessions(
    repo: SqliteSessionRepository,
    workspace_path: str,
    sessions: Iterable[WorktreeSession],
) -> int:
    """Insert ``sessions`` (validated) into ``workspace_path`` in one transaction; the count."""
    return repo.create_sessions(workspace_path, sessions)
