"""The backends a scenario runs on, opened by name in a worker process.

Each store beside its own floor: ``json``, the editor's JSON store, and ``msgspec``, its floor
(``json_floor``) on the same file; ``sqlite``, the SQLite store (``SqliteSessionRepository``),
and ``apsw`` and ``sqlite3``, its floors (``floors``) on the same database file. Asked for by
name only: ``sidecar``, the SQLite store behind ``ait42-session serve`` (``sidecar_store``), and
``postgres``, the PostgreSQL store on a local socket (``postgres_store``).
"""

from __future__ import annotations

from typing import Any, Callable

from ait42_session import JsonSessionRepository, SqliteSessionRepository
from ait42_session.workspace import workspace_identity

from .floors import open_floor
from .json_floor import JsonFloor
from .scenarios import SCENARIOS, Case, Context
from .sidecar_store import SidecarStore
from .stores import StorePaths
from .workloads import Workload

__all__ = [
    "BACKENDS", "OPTIONAL_BACKENDS", "KNOWN_BACKENDS", "STORES", "FLOOR_OF",
    "JSON_FILE_BACKENDS", "LABELS", "open_case",
]  # fmt: skip

BACKENDS = ("json", "msgspec", "sqlite", "apsw", "sqlite3")  # a run's default
OPTIONAL_BACKENDS = (
    "sidecar",
    "postgres",
)  # the SQLite store behind `serve`; PostgreSQL
KNOWN_BACKENDS = BACKENDS + OPTIONAL_BACKENDS
STORES = ("json", "sqlite")  # the two stores the seed compares; the rest are floors
FLOOR_OF = {"json": "msgspec", "sqlite": "apsw"}  # each store beside its own floor
JSON_FILE_BACKENDS = ("json", "msgspec")  # run only where the JSON files are built
LABELS = {
    "json": "JSON store",
    "msgspec": "msgspec floor",
    "sqlite": "SQLite store",
    "apsw": "APSW floor",
    "sqlite3": "sqlite3 floor",
    "sidecar": "SQLite via the sidecar",
    "postgres": "PostgreSQL store",
}


def open_case(
    backend: str, scenario: str, paths: StorePaths, workload: Workload
) -> tuple[Case, Callable[[], None]]:
    """(case, close) of ``scenario`` on ``backend`` over the stores at ``paths``."""
    chosen = SCENARIOS[scenario]
    ctx = Context(workload, paths.data(), paths.facts())
    store: Any
    if backend == "json":
        store = JsonSessionRepository(paths.sessions_dir)
        make = lambda: chosen.on_repository(store, ctx)  # noqa: E731
    elif backend == "sqlite":
        store = SqliteSessionRepository.with_path(paths.db)
        make = lambda: chosen.on_repository(store, ctx)  # noqa: E731
    elif backend == "sidecar":
        store = SidecarStore(paths.db)
        make = lambda: chosen.on_repository(store, ctx)  # noqa: E731
    elif backend == "postgres":
        from ait42_session import PostgresSessionRepository

        store = PostgresSessionRepository.connect(paths.postgres_dsn(), max_size=2)
        make = lambda: chosen.on_repository(store, ctx)  # noqa: E731
    elif backend == "msgspec":
        store = JsonFloor(paths.json_file(ctx.workspace))
        make = lambda: chosen.on_json_floor(store, ctx)  # noqa: E731
    else:
        store = open_floor(backend, paths.db, *workspace_identity(ctx.workspace))
        make = lambda: chosen.on_sql_floor(store, ctx)  # noqa: E731
    try:
        return make(), store.close
    except BaseException:
        store.close()
        raise
