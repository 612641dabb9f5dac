"""Migration from the editor's JSON files to SQLite, and back (the public entry points; the
code is in the ``from_json`` subpackage).

The move runs in phases, each recorded in ``migration_metadata.migration_status``:

1. ``import_json`` the existing files (re-runnable at any time; see ``from_json.importer``);
2. ``DualWriteRepository(json_store, sqlite_store)``: writes go to both, reads to JSON;
   ``verify_consistency`` lists every difference;
3. ``FallbackRepository(sqlite_store, json_store, backup_writes=True)``: SQLite first, the
   JSON files as fallback and still written;
4. SQLite alone (``record_migration_phase(repo, "sqlite_only")``).

``export_json`` writes the database back as the editor's files at any point: the way back.
"""

from __future__ import annotations

from . import from_json
from .from_json import *  # noqa: F401,F403 - the public entry points, re-exported

__all__ = from_json.__all__
