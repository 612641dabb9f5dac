"""The move from the editor's JSON files to a database store (SQLite or PostgreSQL), and back.

- ``importer``: ``import_json``, as often as needed (a changed file brings its changes);
- ``exporter``: ``export_json``, the editor's files again, byte for byte;
- ``wrappers``: ``DualWriteRepository`` and ``FallbackRepository``, the phases in between;
- ``diff``: what differs between the two stores' copies of a session;
- ``phases``: the phase recorded in the database;
- ``targets``: what these need of each database engine (``SqliteTarget``; PostgreSQL's is
  ``ait42_session.postgres.migration``);
- ``sql``: the SQLite statements.

(Schema migrations of the database itself are another thing: ``migrations/`` and ``db``.)
The public entry points are re-exported by ``ait42_session.migration`` and the package.
"""

from __future__ import annotations

from .diff import Difference, diff_sessions
from .exporter import ExportReport, editor_json, export_json
from .importer import ImportIssue, ImportReport, ProgressHook, import_json
from .phases import (
    MIGRATION_PHASES,
    MigrationStatus,
    migration_status,
    record_migration_phase,
)
from .wrappers import DualWriteRepository, FallbackRepository

__all__ = [
    "MIGRATION_PHASES",
    "Difference",
    "DualWriteRepository",
    "ExportReport",
    "FallbackRepository",
    "ImportIssue",
    "ImportReport",
    "MigrationStatus",
    "ProgressHook",
    "diff_sessions",
    "editor_json",
    "export_json",
    "import_json",
    "migration_status",
    "record_migration_phase",
]
