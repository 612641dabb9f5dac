"""The SQLite store's floors: its own SQL through bare APSW or the stdlib ``sqlite3`` module.

A floor runs the statements ``SqliteSessionRepository`` runs, in the same transactions - the
text comes from ``ait42_session.sql`` and the parameters from ``ait42_session.sqlite_rows``,
as the store's own - with every parameter prepared beforehand (``Prepared``) and every answer
left as tuples. What the store spends above its floor is its Python layer: argument checks,
workspace hashing, parameter building (compressing outputs among it) and model construction.
``tests/test_benchmarks.py`` checks, with APSW's statement tracer, that a floor executes exactly
the store's statements.

Both floor connections are configured as the store configures its own (WAL, synchronous
NORMAL, foreign keys, secure delete, a 256-statement cache, the ``ait42_text_matches`` and
``ait42_unpack`` functions). The stdlib module links the system's SQLite, which may be too old
for parts of the schema (FTS5 ``contentless_delete`` needs 3.43, ``secure-delete`` 3.44): such
a scenario fails on that floor with the SQLite error, and the report shows it as not
measurable there.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Callable

import apsw

from ait42_session import WorktreeSession, sql
from ait42_session.queries import joined_agent_names
from ait42_session.workspace import spelled_hashes
from ait42_session.stored_text import StoredPiece, register_functions, stored_pieces, unpack
from ait42_session.sqlite_rows import (
    append_output,
    stored_text_matches,
    instance_params,
    piece_params,
    search_rows,
    message_params,
    session_params,
    stored_piece_digests,
    touch_params,
    trigram_params,
    upsert_rows,
)

__all__ = ["FLOORS", "NOW", "SqlFloor", "Prepared", "open_floor"]

FLOORS = ("apsw", "sqlite3")
NOW = "2030-01-01T00:00:00.000000+00:00"  # the floors' fixed "now" (the stores read the clock)
_PRAGMAS = (
    ("synchronous", "NORMAL"),
    ("foreign_keys", "ON"),
    ("secure_delete", "ON"),
    ("trusted_schema", "OFF"),
)

Rows = list[tuple[Any, ...]]


class Prepared:
    """A session's statement parameters, made beforehand; its pk is filled in at run time."""

    def __init__(self, session: WorktreeSession, ws: str) -> None:
        self.id = session.id
        self.session = session_params(session, ws)
        self.keep = sql.pk_list(i.instance_id for i in session.instances)
        self.instances = [instance_params(0, i) for i in session.instances]
        self.pieces: dict[int, list[StoredPiece]] = {
            i.instance_id: list(stored_pieces(i.output)) for i in session.instances if i.output
        }
        self.messages = [
            message_params(0, n, m) for n, m in enumerate(session.chat_history)
        ]
        self.message_count = len(session.chat_history)
        self.trigrams = trigram_params(
            0, session.task, session.id, joined_agent_names(session)
        )


class SqlFloor:
    """One connection to the store's database, and the store's operations as bare SQL."""

    def __init__(self, con: Any, driver: str, ws: str, real_path: str) -> None:
        self.con = con
        self.driver = driver
        self.ws = ws
        self.real_path = real_path
        # What the store asks before it lists or creates: other spellings of the path to join.
        self.spellings = {"hashes": json.dumps(spelled_hashes(real_path)), "ws": ws}

    # --- the two transaction shapes the store uses ------------------------------------------

    def read(self, work: Callable[[], Any]) -> Any:
        self.con.execute("BEGIN")
        try:
            return work()
        finally:
            self.con.execute("COMMIT")

    def write(self, work: Callable[[], Any]) -> Any:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self.con.execute("COMMIT")
            return result
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # --- statements -------------------------------------------------------------------------

    def rows(self, statement: str, params: Any = None) -> Rows:
        return self.con.execute(statement, params or {}).fetchall()

    def scalar(self, statement: str, params: Any) -> Any:
        row = self.con.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def _insert(self, statement: str, params: Any) -> int:
        """Run an INSERT; the new rowid (each driver's own call, no extra statement)."""
        cursor = self.con.execute(statement, params)
        return (
            self.con.last_insert_rowid() if self.driver == "apsw" else cursor.lastrowid
        )

    def _change(self, statement: str, params: Any) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        cursor = self.con.execute(statement, params)
        return self.con.changes() if self.driver == "apsw" else cursor.rowcount

    def pk(self, session_id: str) -> int:
        pk = self.scalar(sql.SESSION_PK, {"ws": self.ws, "id": session_id})
        if pk is None:
            raise AssertionError(f"session {session_id!r} is not stored")
        return pk

    def with_children(self, rows: Rows) -> tuple[Rows, Rows, Rows]:
        """The statements of ``sqlite_rows.sessions_from_rows``: rows of both children."""
        if not rows:
            return rows, [], []
        pks = sql.pk_list(row[0] for row in rows)
        return (
            rows,
            self.rows(sql.INSTANCES_OF, {"pks": pks}),
            self.rows(sql.MESSAGES_OF, {"pks": pks}),
        )

    def _instance_pks(self, pk: int) -> dict[int, int]:
        rows = self.rows(sql.INSTANCE_PKS, {"pks": sql.pk_list([pk])})
        return {instance_id: instance_pk for _, instance_id, instance_pk in rows}

    def _insert_pieces(self, pk: int, prepared: Prepared) -> None:
        """The pieces of a new session's outputs (``sqlite_rows._insert_children``)."""
        if not prepared.pieces:
            return
        pks = self._instance_pks(pk)
        upsert_rows(self.con, sql.PIECES, [
            piece_params(pks[instance_id], piece)
            for instance_id, pieces in prepared.pieces.items() for piece in pieces
        ])  # fmt: skip

    def _write_pieces(
        self, pk: int, prepared: Prepared, stored: dict[int, list[tuple[int, bytes]]]
    ) -> None:
        """The statements of ``sqlite_rows._write_pieces``: each output rewritten from its
        first changed piece (compared by the prepared digests), the rest past its end gone."""
        pks: dict[int, int] | None = None
        rows = []
        for params in prepared.instances:
            instance_id = params["instance_id"]
            new = prepared.pieces.get(instance_id, [])
            before = stored.get(instance_id, [])
            first = 0
            while (
                first < min(len(new), len(before))
                and (new[first].size, new[first].digest) == before[first]
            ):
                first += 1
            if first == len(new) and first >= len(before):
                continue
            if pks is None:
                pks = self._instance_pks(pk)
            rows += [piece_params(pks[instance_id], piece) for piece in new[first:]]
            if len(new) < len(before):
                base = pks[instance_id] * sql.PIECES_PER_OUTPUT
                self.con.execute(sql.DELETE_PIECES_FROM, {
                    "first_pk": base + len(new), "last_pk": base + sql.PIECES_PER_OUTPUT - 1,
                })  # fmt: skip
        upsert_rows(self.con, sql.PIECES, rows)

    def _write_children(
        self, pk: int, prepared: Prepared, stored: dict[int, list[tuple[int, bytes]]]
    ) -> None:
        """The statements of ``sqlite_rows.write_children``."""
        self.con.execute(
            sql.DELETE_INSTANCES_NOT_IN, {"session_pk": pk, "keep": prepared.keep}
        )
        self._upsert(sql.INSTANCES, pk, prepared.instances)
        self._write_pieces(pk, prepared, stored)
        count = prepared.message_count
        self.con.execute(sql.DELETE_MESSAGES_FROM, {"session_pk": pk, "count": count})
        self._upsert(sql.MESSAGES, pk, prepared.messages)

    def _upsert(self, statements: sql.Staged, pk: int, rows: list[Any]) -> None:
        """``sqlite_rows.upsert_rows`` for the prepared rows, their pk filled in."""
        for params in rows:
            params["session_pk"] = pk
        upsert_rows(self.con, statements, rows)

    # --- the store's operations -------------------------------------------------------------

    def opened(self) -> None:
        """The store's look for other spellings of the workspace to join (none here)."""
        self.rows(sql.UNJOINED_SPELLINGS, self.spellings)

    def listed(self, statement: str, params: Any) -> Rows:
        """``list_sessions``: one statement, no transaction, no children."""
        self.opened()
        return self.rows(statement, params)

    def counted(self, statement: str, params: Any) -> Any:
        """``count_sessions``: one statement."""
        self.opened()
        return self.scalar(statement, params)

    def select(self, statement: str, params: Any) -> tuple[Rows, Rows, Rows]:
        """``query_sessions``: the page's rows and their children's."""
        self.opened()
        return self.read(lambda: self.with_children(self.rows(statement, params)))

    def get(self, session_id: str) -> tuple[Rows, Rows, Rows]:
        params = {"ws": self.ws, "id": session_id}

        def work() -> tuple[Rows, Rows, Rows]:
            row = self.con.execute(sql.GET_SESSION, params).fetchone()
            if row is None:
                raise AssertionError("session not found")
            return self.with_children([row])

        return self.read(work)

    def search(self, params: Any) -> Rows:
        """``(kind, row, snippet)`` of the best hits, by the store's own statements and merge."""
        self.opened()
        return self.read(lambda: search_rows(self.con, params))

    def create(self, prepared: Prepared) -> int:
        self.opened()

        def work() -> int:
            ensure = {"hash": self.ws, "path": self.real_path, "now": NOW}
            self.con.execute(sql.ENSURE_WORKSPACE, ensure)
            if (
                self.scalar(sql.SESSION_PK, {"ws": self.ws, "id": prepared.id})
                is not None
            ):
                raise AssertionError(f"session {prepared.id!r} exists already")
            # the statements of sqlite_rows.insert_sessions
            pk = self._insert(sql.INSERT_SESSION, prepared.session)
            self.con.execute(sql.INSERT_TRIGRAMS, {**prepared.trigrams, "pk": pk})
            self._upsert(sql.INSTANCES, pk, prepared.instances)
            self._upsert(sql.MESSAGES, pk, prepared.messages)
            self._insert_pieces(pk, prepared)
            return pk

        return self.write(work)

    def replace(self, prepared: Prepared) -> None:
        def work() -> None:
            pk = self.pk(prepared.id)
            self.con.execute(sql.UPDATE_SESSION, {**prepared.session, "pk": pk})
            stored = stored_piece_digests(self.con, pk)
            self._write_children(pk, prepared, stored)
            self.con.execute(sql.DELETE_TRIGRAMS, {"pk": pk})
            self.con.execute(sql.INSERT_TRIGRAMS, {**prepared.trigrams, "pk": pk})

        self.write(work)

    def delete(self, session_id: str) -> None:
        self.write(
            lambda: self.con.execute(
                sql.DELETE_SESSION_COPIES, {"ws": self.ws, "id": session_id}
            )
        )

    def add_message(self, session_id: str, message: dict[str, Any]) -> None:
        def work() -> None:
            pk = self.pk(session_id)
            position = self.scalar(sql.NEXT_MESSAGE_POSITION, {"session_pk": pk})
            self.con.execute(
                sql.UPSERT_MESSAGE, {**message, "session_pk": pk, "position": position}
            )
            self.con.execute(sql.TOUCH_SESSION, touch_params(pk, NOW))

        self.write(work)

    def cut_messages(self, session_id: str, count: int) -> None:
        """Keep the first ``count`` messages of the session (a restore, not timed)."""
        self.write(
            lambda: self.con.execute(
                sql.DELETE_MESSAGES_FROM,
                {"session_pk": self.pk(session_id), "count": count},
            )
        )

    def append_output(self, session_id: str, instance_id: int, text: str) -> None:
        """The statements of ``append_instance_output``: the last piece and what follows."""

        def work() -> None:
            pk = self.pk(session_id)
            params = {"session_pk": pk, "instance_id": instance_id}
            instance_pk = self.scalar(sql.INSTANCE_PK, params)
            if instance_pk is None:
                raise AssertionError("instance not found")
            append_output(self.con, instance_pk, text)
            self.con.execute(sql.TOUCH_SESSION, touch_params(pk, NOW))

        self.write(work)

    def set_status(self, session_id: str, instance_id: int, status: str) -> None:
        def work() -> None:
            pk = self.pk(session_id)
            params = {"status": status, "session_pk": pk, "instance_id": instance_id}
            if self._change(sql.SET_INSTANCE_STATUS, params) != 1:
                raise AssertionError("instance not found")
            self.con.execute(sql.TOUCH_SESSION, touch_params(pk, NOW))

        self.write(work)

    def close(self) -> None:
        self.con.close()


def open_floor(driver: str, path: Path, ws: str, real_path: str) -> SqlFloor:
    """A floor on the database at ``path``, for the workspace ``ws`` (hash) at ``real_path``."""
    if driver == "apsw":
        con = apsw.Connection(
            str(path), flags=apsw.SQLITE_OPEN_READWRITE, statementcachesize=256
        )
        con.set_busy_timeout(5000)
        con.create_scalar_function(
            "ait42_text_matches", stored_text_matches, 4, deterministic=True
        )
        register_functions(con)
        con.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
        con.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)
        con.pragma("journal_mode", "wal")
        for name, value in _PRAGMAS:
            con.pragma(name, value)
        return SqlFloor(con, "apsw", ws, real_path)
    if driver == "sqlite3":
        con = sqlite3.connect(
            str(path), timeout=5.0, isolation_level=None, cached_statements=256
        )
        con.create_function(
            "ait42_text_matches", 4, stored_text_matches, deterministic=True
        )
        con.create_function("ait42_unpack", 1, unpack, deterministic=True)
        con.execute("PRAGMA journal_mode = wal")
        for name, value in _PRAGMAS:
            con.execute(f"PRAGMA {name} = {value}")
        return SqlFloor(con, "sqlite3", ws, real_path)
    raise ValueError(f"unknown floor {driver!r}")
