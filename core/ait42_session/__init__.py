"""ait42-session: the AIT42 editor's session store on SQLite (APSW), beside the editor's
original JSON store, with the same repository contract for both."""

from __future__ import annotations

from .db import Database, DbPool
from .duplicates import DuplicateGroup
from .errors import (
    AlreadyExistsError,
    DatabaseError,
    MigrationError,
    NotFoundError,
    SessionError,
    StoreCorruptedError,
    ValidationError,
)
from .models import ChatMessage, WorktreeInstance, WorktreeSession
from .queries import PruneReport, SearchHit, SessionFilters, SessionSort, SessionSummary
from .queries import WorkspaceInfo
from .repository import SessionRepository
from .sqlite_repo import SqliteSessionRepository
from .workspace import compute_workspace_hash

from .json_repo import JsonSessionRepository
from .postgres import PostgresSessionRepository
from .migration import (
    DualWriteRepository,
    ExportReport,
    FallbackRepository,
    ImportIssue,
    ImportReport,
    export_json,
    import_json,
)

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "ChatMessage",
    "DatabaseError",
    "Database",
    "DbPool",
    "DualWriteRepository",
    "DuplicateGroup",
    "ExportReport",
    "FallbackRepository",
    "ImportIssue",
    "ImportReport",
    "JsonSessionRepository",
    "MigrationError",
    "PruneReport",
    "NotFoundError",
    "PostgresSessionRepository",
    "SearchHit",
    "SessionError",
    "SessionFilters",
    "SessionRepository",
    "SessionSort",
    "SessionSummary",
    "SqliteSessionRepository",
    "StoreCorruptedError",
    "ValidationError",
    "WorktreeInstance",
    "WorkspaceInfo",
    "WorktreeSession",
    "compute_workspace_hash",
    "export_json",
    "import_json",
]
