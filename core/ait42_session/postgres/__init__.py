"""The session repository on PostgreSQL: ``PostgresSessionRepository.connect(dsn)``.

Needs the ``postgres`` extra (``pip install 'ait42-session[postgres]'``: psycopg 3 and
psycopg_pool). Without it this package still imports, and using the class raises ImportError
naming the extra. Modules: ``database`` (the pool, the schema, transactions and retries),
``repository`` (the repository), ``rows`` (one session as rows), ``migration`` (import,
export and the recorded phase, as for SQLite), ``sql`` (the statements).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PostgresSessionRepository", "EXTRA_MISSING"]

EXTRA_MISSING = (
    "PostgreSQL support needs the postgres extra: pip install 'ait42-session[postgres]' "
    "(psycopg 3 and psycopg_pool)"
)

try:
    from .repository import PostgresSessionRepository
except ImportError as _missing:  # psycopg is not installed
    _cause = _missing

    class PostgresSessionRepository:  # type: ignore[no-redef]
        """Stands in for the repository when psycopg is missing: using it says what to install."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError(EXTRA_MISSING) from _cause

        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            raise ImportError(EXTRA_MISSING) from _cause
