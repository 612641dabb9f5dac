"""The four backends a scenario runs on, opened by name in a worker process.

``json``: the editor's JSON store; ``core``: ``SqliteSessionRepository``; ``apsw`` and
``sqlite3``: the floors (``floors.py``) on the same database file as the core.
"""

from __future__ import annotations

from typing import Any, Callable

from ait42_session import JsonSessionRepository, SqliteSessionRepository

from .floors import floor_case, open_floor
from .scenarios import Case, repo_case
from .stores import StorePaths
from .workloads import Workload

__all__ = ["BACKENDS", "STORES", "LABELS", "open_case"]

BACKENDS = ("json", "core", "apsw", "sqlite3")
STORES = ("json", "core")  # the two stores the seed compares; the rest are floors
LABELS = {
    "json": "JSON store",
    "core": "SQLite core",
    "apsw": "APSW floor",
    "sqlite3": "sqlite3 floor",
}


def open_case(
    backend: str, scenario: str, paths: StorePaths, workload: Workload
) -> tuple[Case, Callable[[], None]]:
    """(case, close) of ``scenario`` on ``backend`` over the stores at ``paths``."""
    data, facts = paths.data(), paths.facts()
    store: Any
    if backend == "json":
        store = JsonSessionRepository(paths.sessions_dir)
        return repo_case(scenario, store, workload, data, facts), store.close
    if backend == "core":
        store = SqliteSessionRepository.with_path(paths.db)
        return repo_case(scenario, store, workload, data, facts), store.close
    store = open_floor(backend, paths.db)
    try:
        return floor_case(scenario, store, workload, data, facts), store.close
    except BaseException:
        store.close()
        raise
