"""The one error hierarchy of the public API.

Driver and parser exceptions are translated at the boundary and kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "SessionError",
    "NotFoundError",
    "AlreadyExistsError",
    "ValidationError",
    "MigrationError",
    "StoreCorruptedError",
    "DatabaseError",
]


class SessionError(Exception):
    """Base of every error raised by ait42_session."""


class NotFoundError(SessionError):
    """No such session or instance in that workspace."""


class AlreadyExistsError(SessionError):
    """A session with that id is already stored in the workspace."""


class ValidationError(SessionError, ValueError):
    """A value breaks the contract's rules; nothing was written."""


class MigrationError(SessionError):
    """The schema is newer than this code, a migration failed, or an import failed."""


class StoreCorruptedError(SessionError):
    """A damaged database or JSON file; the message names the file."""


class DatabaseError(SessionError):
    """Any other storage failure: busy past the timeout, disk full, read-only, I/O error."""
