"""A PostgreSQL database for the session store: a connection pool, its schema, transactions.

Opening applies the numbered scripts of ``migrations/postgres/`` that the database lacks,
inside one transaction holding an advisory lock, so two processes starting at once migrate one
after the other; a database whose schema is newer than this code raises ``MigrationError`` and
is left as it is. ``read`` and ``write`` run a piece of work in one transaction on a pooled
connection; ``write`` retries it (bounded, with jittered backoff) when PostgreSQL reports a
serialization failure or a deadlock, or the connection drops, so the work must be re-runnable.
Driver errors leave as the package's errors.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..db import migration_scripts
from ..errors import (
    AlreadyExistsError,
    DatabaseError,
    MigrationError,
    SessionError,
    ValidationError,
)
from . import sql

__all__ = ["PostgresDatabase", "WRITE_ATTEMPTS"]

T = TypeVar("T")
WRITE_ATTEMPTS = 8
# Worth trying again: the transaction lost a race, or the connection went away.
_RETRY = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    psycopg.OperationalError,
)


def _error_for(exc: psycopg.Error, where: str) -> SessionError:
    if isinstance(exc, pg_errors.UniqueViolation):
        return AlreadyExistsError(
            f"{where}: already stored ({exc.diag.message_primary})"
        )
    if isinstance(exc, (pg_errors.DataException, pg_errors.IntegrityError)):
        return ValidationError(f"{where}: a value cannot be stored: {exc}")
    return DatabaseError(f"{where}: {type(exc).__name__}: {exc}")


def _safe_dsn(dsn: str) -> str:
    """The DSN to name in messages, without a password."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the PostgreSQL database"
    params.pop("password", None)
    return "postgresql " + " ".join(f"{k}={v}" for k, v in sorted(params.items()))


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database holding the session store."""

    def __init__(
        self, dsn: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0
    ):
        self.dsn = dsn
        self.name = _safe_dsn(dsn)
        try:  # one plain connection first: a server that is not there fails now, not at timeout
            psycopg.connect(dsn, autocommit=True, connect_timeout=int(timeout)).close()
            self.pool = ConnectionPool(
                dsn, min_size=min_size, max_size=max_size, timeout=timeout, open=False,
                kwargs={"autocommit": False},
            )  # fmt: skip
            self.pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            raise DatabaseError(f"cannot connect to {self.name}: {exc}") from exc
        try:
            self.schema_version = self._migrate()
        except BaseException:
            self.pool.close()
            raise

    # --- the schema ----------------------------------------------------------------------------

    def _migrate(self) -> int:
        scripts = migration_scripts("postgres")
        latest = scripts[-1][0]

        def work(con: psycopg.Connection[Any]) -> int:
            con.execute(sql.MIGRATION_LOCK)
            con.execute(sql.CREATE_VERSION_TABLE)
            row = con.execute(sql.GET_VERSION).fetchone()
            version = 0 if row is None else row[0]
            if version > latest:
                raise MigrationError(
                    f"{self.name}: schema version {version} is newer than this code "
                    f"(knows up to {latest}); upgrade ait42-session"
                )
            for number, name, script in scripts:
                if number > version:
                    try:
                        con.execute(script)
                    except psycopg.Error as exc:
                        raise MigrationError(
                            f"{self.name}: migration {name} failed: {exc}"
                        ) from exc
                    con.execute(sql.SET_VERSION, {"version": number})
                    version = number
            return version

        return self.write(work)

    # --- transactions --------------------------------------------------------------------------

    def read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``work`` in one transaction (a consistent view for several statements)."""
        return self._run(work, attempts=2)

    def write(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``work`` in one transaction: all of it commits, or none; tried again (bounded)
        when it loses a race or the connection drops."""
        return self._run(work, attempts=WRITE_ATTEMPTS)

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], attempts: int) -> T:
        for attempt in range(1, attempts + 1):
            try:
                with self.pool.connection() as con:
                    with con.transaction():
                        return work(con)
            except SessionError:
                raise
            except _RETRY as exc:
                if attempt == attempts:
                    raise _error_for(exc, self.name) from exc
                time.sleep(random.uniform(0.002, 0.02) * attempt)
            except (UnicodeEncodeError, OverflowError) as exc:
                # psycopg cannot send it: text with a lone surrogate (as for SQLite).
                raise ValidationError(
                    f"{self.name}: a value cannot be stored: {exc}"
                ) from exc
            except PoolTimeout as exc:
                raise DatabaseError(f"{self.name}: no connection free: {exc}") from exc
            except psycopg.Error as exc:
                raise _error_for(exc, self.name) from exc
        raise AssertionError("unreachable")

    def optimize(self) -> int:
        """VACUUM (ANALYZE) the store's tables: dead rows' space is kept for reuse and the
        planner's figures refreshed. How many bytes the database shrank by (often 0: a plain
        VACUUM gives space back to the system only from a table's end)."""
        try:
            with psycopg.connect(
                self.dsn, autocommit=True
            ) as con:  # VACUUM runs outside a transaction
                before = con.execute(sql.DATABASE_SIZE).fetchone()[0]  # type: ignore[index]
                for statement in sql.VACUUM_TABLES:
                    con.execute(statement)
                after = con.execute(sql.DATABASE_SIZE).fetchone()[0]  # type: ignore[index]
        except psycopg.Error as exc:
            raise _error_for(exc, self.name) from exc
        return max(0, int(before) - int(after))

    def close(self) -> None:
        self.pool.close()
