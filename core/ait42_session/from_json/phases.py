"""The recorded phase of the move from the editor's JSON files to SQLite.

The phases, in order: ``pending`` (nothing imported), ``imported`` (``import_json`` ran),
``dual_write`` (``DualWriteRepository``: writes to both), ``sqlite_primary``
(``FallbackRepository``: SQLite first, JSON as fallback), ``sqlite_only``. The current one
is kept in the database's ``migration_metadata`` row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from ..sqlite_repo import SqliteSessionRepository
from ..timestamps import now_rfc3339
from . import sql as msql

__all__ = [
    "MIGRATION_PHASES",
    "MigrationStatus",
    "migration_status",
    "record_migration_phase",
    "require_sqlite_store",
]

MIGRATION_PHASES = ("pending", "imported", "dual_write", "sqlite_primary", "sqlite_only")


@dataclass(frozen=True)
class MigrationStatus:
    """The single row of ``migration_metadata``."""

    status: str
    json_backup_path: str | None
    migrated_at: str | None
    last_updated_at: str | None


def require_sqlite_store(repo: object) -> SqliteSessionRepository:
    """``repo`` when it is a SqliteSessionRepository (pass a wrapper's ``primary`` or
    ``secondary`` yourself); ValidationError otherwise."""
    if not isinstance(repo, SqliteSessionRepository):
        raise ValidationError(f"a SqliteSessionRepository is required, got {type(repo).__name__}")
    return repo


def record_migration_phase(repo: SqliteSessionRepository, phase: str) -> None:
    """Record ``phase`` (one of MIGRATION_PHASES) in the SQLite store's migration_metadata."""
    if phase not in MIGRATION_PHASES:
        raise ValidationError(f"phase must be one of {', '.join(MIGRATION_PHASES)}; got {phase!r}")
    params = {"status": phase, "now": now_rfc3339()}
    store = require_sqlite_store(repo)
    store.pool.write(lambda con: con.execute(msql.SET_MIGRATION_STATUS, params))


def migration_status(repo: SqliteSessionRepository) -> MigrationStatus:
    """The recorded phase, backup path and dates of the SQLite store."""
    store = require_sqlite_store(repo)
    row = store.pool.read(lambda con: con.execute(msql.GET_METADATA).fetchone())
    if row is None:
        return MigrationStatus("pending", None, None, None)
    return MigrationStatus(*row)
