"""The backends a scenario runs on, opened by name in a worker process.

``json``: the editor's JSON store, and ``msgspec``, its floor (``json_floor.py``) on the same
file; ``core``: ``SqliteSessionRepository``, and ``apsw`` and ``sqlite3``, its floors
(``floors.py``) on the same database file.
"""

from __future__ import annotations

from typing import Any, Callable

from ait42_session import JsonSessionRepository, SqliteSessionRepository

from .floors import floor_case, open_floor
from .json_floor import json_floor_case, open_json_floor
from .scenarios import Case, repo_case
from .stores import StorePaths
from .workloads import Workload

__all__ = ["BACKENDS", "STORES", "FLOOR_OF", "JSON_FILE_BACKENDS", "LABELS", "open_case"]

BACKENDS = ("json", "msgspec", "core", "apsw", "sqlite3")
STORES = ("json", "core")  # the two stores the seed compares; the rest are floors
FLOOR_OF = {"json": "msgspec", "core": "apsw"}  # each store beside its own floor
JSON_FILE_BACKENDS = ("json", "msgspec")  # run only where the JSON files are built
LABELS = {
    "json": "JSON store",
    "msgspec": "msgspec floor",
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
    if backend == "msgspec":
        floor = open_json_floor(paths, data["workspace"])
        return json_floor_case(scenario, floor, data), floor.close
    if backend == "core":
        store = SqliteSessionRepository.with_path(paths.db)
        return repo_case(scenario, store, workload, data, facts), store.close
    store = open_floor(backend, paths.db)
    try:
        return floor_case(scenario, store, workload, data, facts), store.close
    except BaseException:
        store.close()
        raise
