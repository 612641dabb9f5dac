"""The move from the editor's JSON files into PostgreSQL: ``PostgresTarget``, what
``from_json``'s import, export and recorded phase need of this store (see
``from_json.targets``).

One difference from SQLite: no backup is taken before the first import into a database that
already holds sessions; a server's backups (``pg_dump``, base backups) are its operator's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from ..from_json.targets import FileTransaction, Refused, Snapshot
from ..models import WorktreeSession
from ..timestamps import now_rfc3339
from . import rows, sql
from .repository import PostgresSessionRepository

__all__ = ["PostgresTarget"]

T = TypeVar("T")

# What PostgreSQL can refuse of one session (a NUL in text, a number out of range, a value too
# large): it is reported and the rest of the file imports.
_REFUSED = (psycopg.errors.IntegrityError, psycopg.errors.DataError,
            psycopg.errors.ProgramLimitExceeded)  # fmt: skip


class _PostgresFile:
    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.con = con

    def stored(self, file: str) -> list[tuple[int, WorktreeSession]]:
        found: list[Any] = self.con.execute(
            sql.SESSIONS_OF_FILE, {"file": file}
        ).fetchall()
        sessions = rows.sessions_from_rows(self.con, found, file)
        return [(int(row[0]), s) for row, s in zip(found, sessions, strict=True)]

    def ensure_workspace(self, file: str) -> bool:
        return self.con.execute(sql.ENSURE_HASH_WORKSPACE, {"hash": file}).rowcount == 1

    def store(self, file: str, session: WorktreeSession, pk: int | None) -> None:
        try:
            with (
                self.con.transaction()
            ):  # a savepoint: a refusal undoes this session only
                joined = self.con.execute(sql.JOINED_TO, {"hash": file}).fetchone()
                ws = (joined and joined[0]) or file
                if pk is None:
                    copy_number = self.con.execute(
                        sql.NEXT_COPY_NUMBER, {"ws": ws, "id": session.id}
                    ).fetchone()[0]  # type: ignore[index]
                    origin = None if ws == file else file
                    rows.insert_session(self.con, ws, session, copy_number, origin)
                else:
                    rows.replace_session(self.con, pk, ws, session)
        except _REFUSED as exc:
            raise Refused(str(exc).strip()) from exc

    def put_source(self, params: dict[str, Any]) -> None:
        self.con.execute(sql.PUT_IMPORT_SOURCE, params)


class _PostgresSnapshot:
    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.con = con

    def files(self) -> list[str]:
        return [
            str(file) for (file,) in self.con.execute(sql.FILES_WITH_SESSIONS).fetchall()
        ]

    def sessions(self, file: str) -> list[WorktreeSession]:
        found: list[Any] = self.con.execute(
            sql.SESSIONS_OF_FILE, {"file": file}
        ).fetchall()
        return rows.sessions_from_rows(self.con, found, file)


class PostgresTarget:
    """The PostgreSQL store as import, export and the phase record see it."""

    def __init__(self, repo: PostgresSessionRepository) -> None:
        self.db = repo.database
        self.name = self.db.name

    def source_state(self, key: str) -> tuple[str, int, int, int] | None:
        row = self.db.read(
            lambda con: con.execute(sql.GET_IMPORT_SOURCE, {"path": key}).fetchone()
        )
        return None if row is None else tuple(row)  # type: ignore[return-value]

    def needs_backup(self) -> bool:
        return False

    def take_backup(self) -> str | None:
        return None

    def import_file(self, work: Callable[[FileTransaction], T]) -> T:
        return self.db.write(lambda con: work(_PostgresFile(con)))

    def mark_imported(self) -> None:
        self.db.write(
            lambda con: con.execute(sql.MARK_IMPORTED, {"now": now_rfc3339()})
        )

    def get_metadata(self) -> tuple[Any, ...] | None:
        row = self.db.read(lambda con: con.execute(sql.GET_METADATA).fetchone())
        return None if row is None else tuple(row)

    def set_phase(self, phase: str) -> None:
        params = {"status": phase, "now": now_rfc3339()}
        self.db.write(lambda con: con.execute(sql.SET_MIGRATION_STATUS, params))

    def export(self, work: Callable[[Snapshot], T]) -> T:
        def snapshot(con: psycopg.Connection[Any]) -> T:
            con.execute(sql.REPEATABLE_READ)
            return work(_PostgresSnapshot(con))

        return self.db.read(snapshot)
