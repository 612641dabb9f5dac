"""The recorded phase of the move from the editor's JSON files to a database store.

The phases, in order: ``pending`` (nothing imported), ``imported`` (``import_json`` ran),
``dual_write`` (``DualWriteRepository``: writes to both), ``sqlite_primary``
(``FallbackRepository``: SQLite first, JSON as fallback), ``sqlite_only``. The current one
is kept in the database's ``migration_metadata`` row (SQLite or PostgreSQL alike; the phase
names say "sqlite" for the database store, whichever it is).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from .targets import target_of

__all__ = [
    "MIGRATION_PHASES",
    "MigrationStatus",
    "migration_status",
    "record_migration_phase",
]

MIGRATION_PHASES = (
    "pending",
    "imported",
    "dual_write",
    "sqlite_primary",
    "sqlite_only",
)


@dataclass(frozen=True)
class MigrationStatus:
    """The single row of ``migration_metadata``."""

    status: str
    json_backup_path: str | None
    migrated_at: str | None
    last_updated_at: str | None


def record_migration_phase(repo: object, phase: str) -> None:
    """Record ``phase`` (one of MIGRATION_PHASES) in the store's migration_metadata
    (a SqliteSessionRepository or PostgresSessionRepository)."""
    if phase not in MIGRATION_PHASES:
        raise ValidationError(
            f"phase must be one of {', '.join(MIGRATION_PHASES)}; got {phase!r}"
        )
    target_of(repo).set_phase(phase)


def migration_status(repo: object) -> MigrationStatus:
    """The recorded phase, backup path and dates of the store."""
    row = target_of(repo).get_metadata()
    if row is None:
        return MigrationStatus("pending", None, None, None)
    return MigrationStatus(*row)
