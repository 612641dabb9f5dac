"""Copies of the database: an online backup to a new file, and a restore from one.

``backup`` copies the live database with SQLite's online backup API: one read snapshot, so the
copy is consistent while other processes write (WAL readers do not block writers). The file
is created owner-only and never replaces an existing one unless asked.

``restore`` copies a backup into the live database the same way, after checking it: a SQLite
file, an ait42-session database (its ``application_id``), sound (``integrity_check``), of a
schema this code knows. It refuses to replace a store that holds sessions unless forced.
Other processes with the store open see the restored content on their next read.
"""

from __future__ import annotations

import os
from pathlib import Path

import apsw

from .db import APPLICATION_ID, Database, migration_scripts
from .errors import DatabaseError, MigrationError, SessionError, StoreCorruptedError
from .paths import PRIVATE_FILE_MODE

__all__ = ["backup", "restore", "check_backup"]

_SQLITE_HEADER = b"SQLite format 3\x00"


def _copy(dest: apsw.Connection, source: apsw.Connection) -> None:
    with dest.backup("main", source, "main") as step:
        while not step.done:
            step.step(-1)


def backup(
    database: Database, target: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Copy the live database to ``target`` (0600); DatabaseError when ``target`` exists (and
    ``overwrite`` is False) or cannot be written. A failed copy leaves no file behind.
    """
    path = Path(target).expanduser().absolute()
    if path == database.path:
        raise DatabaseError(f"{path} is the database itself")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        os.close(os.open(path, flags, PRIVATE_FILE_MODE))
    except FileExistsError as exc:
        raise DatabaseError(
            f"{path} exists; choose another name or overwrite it"
        ) from exc
    except OSError as exc:
        raise DatabaseError(f"cannot create {path}: {exc.strerror or exc}") from exc
    try:
        dest = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE)
        try:
            dest.pragma("journal_mode", "delete")  # one self-contained file
            _copy(dest, database.connection())
        finally:
            dest.close()
        os.chmod(path, PRIVATE_FILE_MODE)
    except (apsw.Error, OSError, SessionError) as exc:
        for leftover in (path, Path(f"{path}-journal"), Path(f"{path}-wal")):
            leftover.unlink(missing_ok=True)
        raise DatabaseError(f"cannot back up {database.path} to {path}: {exc}") from exc
    return path


def check_backup(source: str | os.PathLike[str]) -> int:
    """The schema version of a backup file after checking that it can be restored: a SQLite
    file, an ait42-session database, sound, of a schema this code knows. StoreCorruptedError
    or MigrationError saying what is wrong, otherwise."""
    path = Path(source).expanduser()
    try:
        with open(path, "rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head != _SQLITE_HEADER:
        raise StoreCorruptedError(f"{path} is not a SQLite database")
    try:
        con = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            if int(con.pragma("application_id")) != APPLICATION_ID:
                raise MigrationError(f"{path} is not an ait42-session database")
            version = int(con.pragma("user_version"))
            latest = migration_scripts()[-1][0]
            if version > latest:
                raise MigrationError(
                    f"{path} has schema version {version}, newer than this code ({latest})"
                )
            problems = [row[0] for row in con.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise StoreCorruptedError(
                    f"{path} is damaged: {'; '.join(problems[:3])}"
                )
        finally:
            con.close()
    except apsw.Error as exc:
        raise StoreCorruptedError(
            f"{path} cannot be read as a database: {exc}"
        ) from exc
    return version


def restore(
    database: Database, source: str | os.PathLike[str], *, force: bool = False
) -> int:
    """Replace the live database's content with the backup at ``source``, checked first
    (``check_backup``). Without ``force``, a store that holds sessions is not replaced
    (DatabaseError). The number of sessions restored."""
    check_backup(source)
    path = Path(source).expanduser()
    if path.absolute() == database.path:
        raise DatabaseError(f"{path} is the database itself")
    held = database.read(lambda con: con.execute("SELECT count(*) FROM sessions").get)
    if held and not force:
        raise DatabaseError(
            f"{database.path} holds {held} sessions; restoring would replace them (force it)"
        )
    source_con = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        with database.translate_errors():
            _copy(database.connection(), source_con)
    finally:
        source_con.close()
    database.reopen()  # the next call opens afresh and applies any newer migrations
    return database.read(lambda con: con.execute("SELECT count(*) FROM sessions").get)
