"""Where the move from JSON writes and reads: one ``Target`` per database engine.

Import, export and the recorded phase need a few things of the database beside the repository
protocol: the bookkeeping of imported files, the migration metadata row, the sessions of a
workspace known only by its hash (in stored order), and a session stored or replaced inside
the file's transaction, refused alone when the database refuses it. ``target_of(repo)`` gives
the SQLite store's (``SqliteTarget``, below) or the PostgreSQL store's
(``ait42_session.postgres.migration.PostgresTarget``); anything else is a ValidationError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

import apsw

from .. import sql, sqlite_rows
from ..backup import backup
from ..errors import MigrationError, SessionError, ValidationError
from ..models import WorktreeSession
from ..sqlite_repo import SqliteSessionRepository
from ..timestamps import now_rfc3339
from . import sql as msql

__all__ = [
    "Refused",
    "FileTransaction",
    "Snapshot",
    "Target",
    "SqliteTarget",
    "target_of",
]

T = TypeVar("T")


class Refused(Exception):
    """The database refused one session (a constraint, a value it cannot hold)."""


class FileTransaction(Protocol):
    """What importing one file does inside its transaction."""

    def stored(self, file: str) -> list[tuple[int, WorktreeSession]]:
        """(pk, session) of each stored session that came from the editor file of hash
        ``file``, in stored order."""
        ...

    def ensure_workspace(self, file: str) -> bool:
        """Make the file's hash a known workspace; True when it was not one before."""
        ...

    def store(self, file: str, session: WorktreeSession, pk: int | None) -> None:
        """Replace session ``pk``; when ``pk`` is None, insert it as the next copy of its id
        in the file's workspace (the one its hash joined, if it did)."""
        ...

    def put_source(self, params: dict[str, Any]) -> None: ...


class Snapshot(Protocol):
    """One consistent read of the whole database, for export: the editor files its sessions
    came from (by hash), and each file's sessions in stored order."""

    def files(self) -> list[str]: ...
    def sessions(self, file: str) -> list[WorktreeSession]: ...


class Target(Protocol):
    name: str

    def source_state(self, key: str) -> tuple[str, int, int, int] | None: ...
    def needs_backup(self) -> bool: ...
    def take_backup(self) -> str | None: ...
    def import_file(self, work: Callable[[FileTransaction], T]) -> T: ...
    def mark_imported(self) -> None: ...
    def get_metadata(self) -> tuple[Any, ...] | None: ...
    def set_phase(self, phase: str) -> None: ...
    def export(self, work: Callable[[Snapshot], T]) -> T: ...


def target_of(repo: object) -> Target:
    """The target of a SQLite or PostgreSQL store; ValidationError for anything else (of a
    migration wrapper, pass its primary or secondary store)."""
    if isinstance(repo, SqliteSessionRepository):
        return SqliteTarget(repo)
    from ..postgres import PostgresSessionRepository

    if isinstance(repo, PostgresSessionRepository):
        from ..postgres.migration import PostgresTarget

        return PostgresTarget(repo)
    raise ValidationError(
        f"a SqliteSessionRepository or PostgresSessionRepository is required, "
        f"got {type(repo).__name__}"
    )


# What SQLite can refuse of one session: it is reported and the rest of the file imports.
_REFUSED = (apsw.ConstraintError, apsw.TooBigError, apsw.MismatchError, OverflowError,
            UnicodeError)  # fmt: skip


class _SqliteFile:
    def __init__(self, con: apsw.Connection) -> None:
        self.con = con

    def stored(self, file: str) -> list[tuple[int, WorktreeSession]]:
        rows: list[Any] = self.con.execute(
            msql.SESSIONS_OF_FILE, {"file": file}
        ).fetchall()
        sessions = sqlite_rows.sessions_from_rows(self.con, rows, file)
        return [(int(row[0]), s) for row, s in zip(rows, sessions, strict=True)]

    def ensure_workspace(self, file: str) -> bool:
        self.con.execute(msql.ENSURE_HASH_WORKSPACE, {"hash": file})
        return self.con.changes() == 1

    def store(self, file: str, session: WorktreeSession, pk: int | None) -> None:
        self.con.execute(msql.SAVEPOINT)
        try:
            ws = self.con.execute(sql.JOINED_TO, {"hash": file}).get or file
            if pk is None:
                copy_number = self.con.execute(
                    sql.NEXT_COPY_NUMBER, {"ws": ws, "id": session.id}
                ).get
                origin = None if ws == file else file
                sqlite_rows.insert_session(self.con, ws, session, copy_number, origin)
            else:
                sqlite_rows.replace_session(self.con, pk, ws, session)
        except _REFUSED as exc:
            self.con.execute(msql.ROLLBACK_TO)
            self.con.execute(msql.RELEASE)
            raise Refused(str(exc)) from exc
        self.con.execute(msql.RELEASE)

    def put_source(self, params: dict[str, Any]) -> None:
        self.con.execute(msql.PUT_IMPORT_SOURCE, params)


class _SqliteSnapshot:
    def __init__(self, con: apsw.Connection) -> None:
        self.con = con

    def files(self) -> list[str]:
        return [
            str(file)
            for (file,) in self.con.execute(msql.FILES_WITH_SESSIONS).fetchall()
        ]

    def sessions(self, file: str) -> list[WorktreeSession]:
        rows: list[Any] = self.con.execute(
            msql.SESSIONS_OF_FILE, {"file": file}
        ).fetchall()
        return sqlite_rows.sessions_from_rows(self.con, rows, file)


class SqliteTarget:
    """The SQLite store as import, export and the phase record see it."""

    def __init__(self, repo: SqliteSessionRepository) -> None:
        self.pool = repo.pool
        self.name = str(self.pool.path)

    def source_state(self, key: str) -> tuple[str, int, int, int] | None:
        row = self.pool.read(
            lambda con: con.execute(msql.GET_IMPORT_SOURCE, {"path": key}).fetchone()
        )
        return None if row is None else tuple(row)  # type: ignore[return-value]

    def needs_backup(self) -> bool:
        return bool(self.pool.read(lambda con: con.execute(msql.NEEDS_BACKUP).get))

    def take_backup(self) -> str | None:
        """An online backup next to the database, owner-only; its path is recorded."""
        path = self.pool.path
        names = [_backup_name(path)] + [
            _backup_name(path).with_suffix(f".{n}.bak") for n in range(1, 1000)
        ]
        target = next((name for name in names if not name.exists()), None)
        if target is None:
            raise MigrationError(f"no free backup file name next to {path}")
        try:
            backup(self.pool, target)
        except SessionError as exc:
            raise MigrationError(
                f"cannot back up {path} before importing: {exc}"
            ) from exc
        params = {"path": str(target), "now": now_rfc3339()}
        self.pool.write(lambda con: con.execute(msql.SET_BACKUP_PATH, params))
        return str(target)

    def import_file(self, work: Callable[[FileTransaction], T]) -> T:
        return self.pool.write(lambda con: work(_SqliteFile(con)))

    def mark_imported(self) -> None:
        self.pool.write(
            lambda con: con.execute(msql.MARK_IMPORTED, {"now": now_rfc3339()})
        )

    def get_metadata(self) -> tuple[Any, ...] | None:
        row = self.pool.read(lambda con: con.execute(msql.GET_METADATA).fetchone())
        return None if row is None else tuple(row)

    def set_phase(self, phase: str) -> None:
        params = {"status": phase, "now": now_rfc3339()}
        self.pool.write(lambda con: con.execute(msql.SET_MIGRATION_STATUS, params))

    def export(self, work: Callable[[Snapshot], T]) -> T:
        return self.pool.read(lambda con: work(_SqliteSnapshot(con)))


def _backup_name(db: Path) -> Path:
    import datetime as _dt

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return db.with_name(f"{db.name}.pre-import-{stamp}.bak")
