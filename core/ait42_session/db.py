"""Connections, pragmas, migrations and transactions for the SQLite store (APSW).

One connection per thread, each opened with the same settings: WAL, ``synchronous=NORMAL``
(or FULL on request), foreign keys on, a 5 s busy timeout, secure delete, and a statement cache
large enough to keep every statement the repository runs prepared. Writes run in
``BEGIN IMMEDIATE`` transactions, retried a bounded number of times when the database stays busy.
Every driver error leaves here as the package's own error, with the original as its cause.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import apsw
import msgspec

from . import sql
from .errors import DatabaseError, MigrationError, SessionError, StoreCorruptedError
from .errors import ValidationError
from .paths import PRIVATE_FILE_MODE, default_db_path, make_private_dirs
from .sqlite_rows import stored_text_matches
from .stored_text import DamagedOutput, register_functions

__all__ = ["Database", "DbPool", "SYNCHRONOUS_MODES"]

T = TypeVar("T")

SYNCHRONOUS_MODES = ("NORMAL", "FULL")
BUSY_TIMEOUT_MS = 5_000
WRITE_ATTEMPTS = 5
STATEMENT_CACHE_SIZE = 256
APPLICATION_ID = 0x41493432  # 'AI42', set by migration 0004
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SQLITE_HEADER = b"SQLite format 3\x00"


def migration_scripts(engine: str = "sqlite") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every shipped migration of ``engine`` (``sqlite`` or
    ``postgres``), in order; versions run 1, 2, ..."""
    folder = resources.files("ait42_session.migrations").joinpath(engine)
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(
                (int(match.group(1)), entry.name, entry.read_text(encoding="utf-8"))
            )
    found.sort()
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise MigrationError(
            f"migrations are not numbered 0001 onward without gaps: {found!r}"
        )
    return found


def _not_sqlite(path: Path) -> bool:
    """True when the file has content that does not begin with SQLite's header string."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except OSError:
        return False  # SQLite reports what it finds (a folder, no permission, ...)
    return bool(head) and head != _SQLITE_HEADER


def _error_for(exc: apsw.Error, path: str) -> SessionError:
    if isinstance(exc, (apsw.NotADBError, apsw.CorruptError)):
        return StoreCorruptedError(
            f"{path}: the database file is damaged or not SQLite ({exc})"
        )
    if isinstance(exc, apsw.BusyError):
        return DatabaseError(
            f"{path}: the database stayed busy past the timeout ({exc})"
        )
    if isinstance(exc, apsw.FullError):
        return DatabaseError(f"{path}: the disk is full ({exc})")
    if isinstance(exc, apsw.ReadOnlyError):
        return DatabaseError(f"{path}: the database is read-only ({exc})")
    return DatabaseError(f"{path}: {type(exc).__name__}: {exc}")


class _ErrorTranslation:
    """``Database.translate_errors``: one reusable object per database (a class, not a
    generator context manager: it wraps every call, so its cost is paid on every read).
    """

    def __init__(self, database: "Database") -> None:
        self._pool = database

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> bool:
        if exc is None or isinstance(exc, SessionError):
            return False
        path = str(self._pool._path)
        if isinstance(exc, apsw.Error):
            if isinstance(exc, (apsw.IOError, apsw.NotADBError, apsw.CorruptError)):
                self._pool._discard_connection()
            raise _error_for(exc, path) from exc
        if isinstance(
            exc,
            (
                UnicodeDecodeError,
                json.JSONDecodeError,
                msgspec.DecodeError,
                RecursionError,
                DamagedOutput,
            ),
        ):
            # Stored text or JSON that does not decode was not written by this code: damage.
            raise StoreCorruptedError(
                f"{path}: a stored value is damaged ({exc})"
            ) from exc
        if isinstance(exc, (OverflowError, UnicodeEncodeError)):
            # APSW cannot bind it: an integer beyond 64 bits, or text with a lone surrogate.
            raise ValidationError(f"a value cannot be stored in SQLite: {exc}") from exc
        return False


class Database:
    """The database file and its per-thread connections.

    ``synchronous="FULL"`` makes every commit durable across power loss at the cost of an
    fsync per commit; the default NORMAL can lose the last commits on power loss, never on a
    process crash, and cannot corrupt the database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        vfs: str | None = None,
    ) -> None:
        text = os.fspath(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise DatabaseError(f"a database file path is required, got {text!r}")
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}")
        self._path = Path(text).expanduser().absolute()
        self._synchronous = synchronous.upper()
        self._vfs = vfs  # an apsw.VFS name; None: SQLite's default (tests inject faults with one)
        self._local = threading.local()
        self._translation = _ErrorTranslation(self)
        self._connections: list[apsw.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        make_private_dirs(self._path.parent)
        try:
            self._schema_version = self._migrate(self.connection())
        except BaseException:
            self.close()  # not left for the garbage collector to close (and checkpoint) later
            raise

    @classmethod
    def with_path(
        cls, path: str | os.PathLike[str], *, synchronous: str = "NORMAL"
    ) -> "Database":
        return cls(path, synchronous=synchronous)

    @classmethod
    def new_default(cls, *, synchronous: str = "NORMAL") -> "Database":
        """The pool at ``$AIT42_HOME/sessions.db`` (``~/.ait42/sessions.db``)."""
        return cls(default_db_path(), synchronous=synchronous)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        return self._schema_version

    # --- connections ----------------------------------------------------------------------

    def connection(self) -> apsw.Connection:
        """This thread's connection, opened on first use."""
        if self._closed:
            raise DatabaseError(f"{self._path}: the store is closed")
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._open()
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def _open(self) -> apsw.Connection:
        path = str(self._path)
        if not self._path.exists():
            # Create the file owner-only before SQLite does; -wal and -shm inherit its mode.
            try:
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create database file {path}: {exc}"
                ) from exc
        elif _not_sqlite(self._path):
            # SQLite would take a file shorter than its header for a new database and write it.
            raise StoreCorruptedError(
                f"{path}: the database file is damaged or not SQLite (no SQLite header)"
            )
        with self.translate_errors():
            try:
                os.chmod(path, PRIVATE_FILE_MODE)
            except OSError:
                pass  # not ours to change (e.g. a read-only share); opening decides what works
            con = apsw.Connection(
                path,
                flags=apsw.SQLITE_OPEN_READWRITE,
                statementcachesize=STATEMENT_CACHE_SIZE,
                vfs=self._vfs,
            )
            try:
                con.set_busy_timeout(BUSY_TIMEOUT_MS)
                # Reading the header first: a damaged or foreign file fails here, untouched.
                con.execute("SELECT count(*) FROM sqlite_schema").get
                con.create_scalar_function(
                    "ait42_text_matches", stored_text_matches, 4, deterministic=True
                )
                register_functions(con)
                con.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
                con.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)
            except BaseException:
                con.close()
                raise
        return con

    def _configure(self, con: apsw.Connection) -> None:
        mode = self._switch_to_wal(con)
        if str(mode).lower() != "wal":
            raise DatabaseError(
                f"{self._path}: cannot switch to WAL (journal_mode is {mode})"
            )
        con.pragma("synchronous", self._synchronous)
        con.pragma("foreign_keys", "ON")
        con.pragma("secure_delete", "ON")
        con.pragma("trusted_schema", "OFF")

    @staticmethod
    def _switch_to_wal(con: apsw.Connection) -> Any:
        """``PRAGMA journal_mode=wal``, waiting out another process that is switching the same
        new file: the switch needs the file to itself, and SQLite answers busy at once instead
        of calling the busy handler (two sidecars started together on a new database)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return con.pragma("journal_mode", "wal")
            except apsw.BusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.02))

    # --- schema ---------------------------------------------------------------------------

    def _migrate(self, con: apsw.Connection) -> int:
        scripts = migration_scripts()
        latest = scripts[-1][0]
        with self.translate_errors():
            version = int(con.pragma("user_version"))
            if version > latest:
                raise MigrationError(
                    f"{self._path}: schema version {version} is newer than this code "
                    f"(knows up to {latest}); upgrade ait42-session"
                )
            self._refuse_foreign(con, version)
            self._configure(con)
            for number, name, script in scripts:
                if number <= version:
                    continue
                self._apply(con, number, name, script)
            version = int(con.pragma("user_version"))
        self._local.configured = True
        return version

    def _refuse_foreign(self, con: apsw.Connection, version: int) -> None:
        """MigrationError, touching nothing, for another application's SQLite database."""
        application_id = int(con.pragma("application_id"))
        has_tables = con.execute("SELECT count(*) FROM sqlite_schema").get > 0
        if application_id not in (0, APPLICATION_ID) or (version == 0 and has_tables):
            raise MigrationError(
                f"{self._path}: not an ait42-session database (it holds another application's "
                f"tables, application_id {application_id}); left untouched"
            )

    def _apply(self, con: apsw.Connection, number: int, name: str, script: str) -> None:
        # Foreign keys are off while a migration runs (SQLite's procedure for rebuilding a
        # table: dropping a parent would otherwise delete its children), and checked before
        # it commits. The pragma has no effect inside a transaction, hence here.
        con.pragma("foreign_keys", "OFF")
        con.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if int(con.pragma("user_version")) < number:
                con.execute(script)
                broken = con.execute(sql.FOREIGN_KEY_CHECK).fetchall()
                if broken:
                    raise MigrationError(
                        f"{self._path}: migration {name} left rows without their parent: "
                        f"{broken[:5]!r}"
                    )
                con.pragma("user_version", number)
            con.execute("COMMIT")
        except (apsw.Error, MigrationError) as exc:
            if (
                not con.get_autocommit()
            ):  # an I/O error or a full disk has rolled back already
                con.execute("ROLLBACK")
            if isinstance(exc, MigrationError):
                raise
            raise MigrationError(
                f"{self._path}: migration {name} failed: {exc}"
            ) from exc
        finally:
            con.pragma("foreign_keys", "ON")

    # --- transactions ---------------------------------------------------------------------

    def translate_errors(self) -> "_ErrorTranslation":
        """A context that re-raises driver errors as the package's errors, naming the file."""
        return self._translation

    def _discard_connection(self) -> None:
        """Close this thread's connection: after an I/O error or a damaged read its page cache
        may hold pages that do not match the file (seen: a read error while a write rolled back
        left the next write reporting corruption), so the next call opens a fresh one.
        """
        con = getattr(self._local, "con", None)
        self._local.con = None
        self._local.configured = False
        if con is None:
            return
        with self._lock:
            if con in self._connections:
                self._connections.remove(con)
        try:
            con.close()
        except apsw.Error:
            pass

    def _connection_ready(self) -> apsw.Connection:
        con = self.connection()
        if not getattr(self._local, "configured", False):
            with self.translate_errors():
                self._configure(con)
            self._local.configured = True
        return con

    def read(self, work: Callable[[apsw.Connection], T]) -> T:
        """Run ``work`` in one read transaction, so all its statements see one snapshot."""
        con = self._connection_ready()
        with self.translate_errors():
            con.execute("BEGIN")
            try:
                result = work(con)
            except BaseException:
                if not con.get_autocommit():  # an I/O error may have ended it already
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            return result

    def read_rows(
        self,
        statement: str,
        params: Mapping[str, Any],
        build: Callable[[tuple[Any, ...]], Any] | None = None,
    ) -> list[Any]:
        """Every row of one statement, each made into ``build(row)`` when given (inside the
        error translation, so a stored value that does not decode is reported as damage). A
        single statement reads one snapshot by itself, so this skips the BEGIN and COMMIT
        that ``read`` needs for several."""
        con = self._connection_ready()
        with self.translate_errors():
            rows = con.execute(statement, params)
            return rows.fetchall() if build is None else list(map(build, rows))

    def write(self, work: Callable[[apsw.Connection], T]) -> T:
        """Run ``work`` in a ``BEGIN IMMEDIATE`` transaction: all of it commits, or none.

        ``work`` must be re-runnable: when the database stays busy past the busy timeout the
        whole transaction is tried again (bounded, with jittered backoff).
        """
        con = self._connection_ready()
        with self.translate_errors():
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    con.execute("BEGIN IMMEDIATE")
                except apsw.BusyError:
                    if attempt == WRITE_ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0.005, 0.05) * attempt)
                    continue
                try:
                    result = work(con)
                    con.execute("COMMIT")
                    return result
                except BaseException:
                    if not con.get_autocommit():
                        con.execute("ROLLBACK")
                    raise
        raise AssertionError("unreachable")

    # --- maintenance ----------------------------------------------------------------------

    def verify_integrity(self) -> bool:
        """True when SQLite's integrity check, the foreign keys and every FTS index are sound."""
        con = self._connection_ready()
        with self.translate_errors():
            if con.execute(sql.INTEGRITY_CHECK).get != "ok":
                return False
            if con.execute(sql.FOREIGN_KEY_CHECK).fetchall():
                return False
            for statement in sql.FTS_INTEGRITY_CHECKS.values():
                try:
                    con.execute(statement)
                except apsw.CorruptError:
                    return False
        return True

    def purge(self) -> None:
        """Make deleted and replaced text unrecoverable from the files: merge each full-text
        index into one segment (which drops the words of deleted text; until then they are
        unreachable through the API but still in the file) and truncate the WAL. Its cost grows
        with the size of the indexes; ``optimize`` runs it first."""
        con = self._connection_ready()
        self.write(lambda c: [c.execute(statement) for statement in sql.PURGE_FTS])
        with self.translate_errors():
            con.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)

    def checkpoint(self) -> tuple[int, int]:
        """A passive WAL checkpoint: copy into the database what the log holds, as far as no
        reader still needs it, without waiting for anyone (other windows' readers and writers
        go on). (frames in the log, frames checkpointed); (-1, -1) when another connection is
        checkpointing. What a long-lived caller runs while idle, so that the writes rarely
        pay the automatic checkpoint (which stays, as the bound for a busy store)."""
        con = self._connection_ready()
        with self.translate_errors():
            try:
                return con.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
            except apsw.BusyError:
                return (-1, -1)

    def optimize(self) -> int:
        """``purge``; PRAGMA optimize; VACUUM when pages are free (deleted sessions and the
        purge leave them); then a truncating WAL checkpoint. How many bytes the database and
        its WAL shrank by."""
        before = self._bytes_on_disk()
        self.purge()
        con = self._connection_ready()
        with self.translate_errors():
            con.pragma("optimize")
            if int(con.pragma("freelist_count")) > 0:
                con.execute("VACUUM")
            con.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
        return max(0, before - self._bytes_on_disk())

    def _bytes_on_disk(self) -> int:
        total = 0
        for name in (str(self._path), f"{self._path}-wal"):
            try:
                total += os.stat(name).st_size
            except OSError:
                pass
        return total

    def reopen(self) -> None:
        """Close this thread's connection; the next call opens (and migrates) afresh."""
        self._discard_connection()

    def data_version(self) -> int:
        """A number that changes whenever anyone commits to the database: another process or
        connection (SQLite's ``data_version``) or this thread's own connection (its count of
        changes). Cheap enough to poll; compare it with the last one seen, nothing more.
        """
        con = self._connection_ready()
        with self.translate_errors():
            return int(con.pragma("data_version")) + con.total_changes()

    def cache_stats(self) -> dict[str, int]:
        """This thread's prepared-statement cache counters (``hits``, ``misses``, ...)."""
        return dict(self.connection().cache_stats())

    def close(self) -> None:
        """Close every connection this pool opened. Further use raises DatabaseError."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for con in connections:
            try:
                con.close()
            except apsw.Error:
                pass

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# The contract's name, the Rust crate's: it holds one connection per thread, not a pool.
DbPool = Database
