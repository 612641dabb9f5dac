"""The floors: the core's own SQL, run through bare APSW or the stdlib ``sqlite3`` module.

A floor runs, for each scenario, the same statements in the same transactions as
``SqliteSessionRepository`` - the text comes from ``ait42_session.sql`` and from the core's own
query builder - with every parameter prepared beforehand and every answer left as tuples. What
the core spends above its floor is its Python layer: validation, workspace hashing, parameter
building and model construction. ``tests/test_benchmarks.py`` checks, with APSW's statement
tracer, that a floor executes exactly the statements the core executes.

Both floor connections are configured as the core configures its own (WAL, synchronous NORMAL,
foreign keys, secure delete, a 256-statement cache, the ``ait42_text_matches`` function).
The stdlib module links the system's SQLite, which may be too old for parts of the schema
(FTS5 ``contentless_delete`` needs 3.43, ``secure-delete`` 3.44): such a scenario fails on that
floor with the SQLite error, and the report shows it as not measurable there, with the reason.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable

import apsw

from ait42_session import ChatMessage, SessionFilters, SessionSort, WorktreeSession, sql
from ait42_session.fulltext import fts5_expression, query_terms
from ait42_session.queries import check_query, joined_agent_names, text_matches
from ait42_session.sqlite_rows import (
    count_statement,
    instance_params,
    message_params,
    select_statement,
    session_params,
    touch_params,
    trigram_params,
)
from ait42_session.workspace import workspace_identity

from .scenarios import Case, expect, query_plan
from .workloads import Workload

__all__ = ["FLOORS", "open_floor", "floor_case"]

FLOORS = ("apsw", "sqlite3")
_NOW = "2030-01-01T00:00:00.000000+00:00"  # the floors' fixed "now" (the core reads the clock)
_PRAGMAS = (
    ("synchronous", "NORMAL"),
    ("foreign_keys", "ON"),
    ("secure_delete", "ON"),
    ("trusted_schema", "OFF"),
)


class Floor:
    """One connection and the two transaction shapes the core uses."""

    def __init__(self, con: Any, driver: str) -> None:
        self.con = con
        self.driver = driver

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

    def rows(self, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.con.execute(statement, params or {}).fetchall()

    def scalar(self, statement: str, params: Any) -> Any:
        row = self.con.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def insert(self, statement: str, params: Any) -> int:
        """Run an INSERT; the new rowid (each driver's own call, no extra statement)."""
        cursor = self.con.execute(statement, params)
        return self.con.last_insert_rowid() if self.driver == "apsw" else cursor.lastrowid

    def change(self, statement: str, params: Any) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        cursor = self.con.execute(statement, params)
        return self.con.changes() if self.driver == "apsw" else cursor.rowcount

    def close(self) -> None:
        self.con.close()


def open_floor(driver: str, path: Path) -> Floor:
    if driver == "apsw":
        con = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE, statementcachesize=256)
        con.set_busy_timeout(5000)
        con.create_scalar_function("ait42_text_matches", text_matches, 4, deterministic=True)
        con.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
        con.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)
        con.pragma("journal_mode", "wal")
        for name, value in _PRAGMAS:
            con.pragma(name, value)
        return Floor(con, "apsw")
    if driver == "sqlite3":
        con = sqlite3.connect(str(path), timeout=5.0, isolation_level=None, cached_statements=256)
        con.create_function("ait42_text_matches", 4, text_matches, deterministic=True)
        con.execute("PRAGMA journal_mode = wal")
        for name, value in _PRAGMAS:
            con.execute(f"PRAGMA {name} = {value}")
        return Floor(con, "sqlite3")
    raise ValueError(f"unknown floor {driver!r}")


# --- prepared statements and parameters, as the core builds them ------------------------------


def _select(
    ws: str,
    columns: str,
    filters: SessionFilters | None,
    sort: SessionSort | None,
    limit: int | None,
) -> tuple[str, dict[str, Any]]:
    return select_statement(columns, ws, check_query(filters, sort), limit, 0)


class _Prepared:
    """A session's statement parameters, with the session's pk filled in at run time."""

    def __init__(self, session: WorktreeSession, ws: str) -> None:
        self.id = session.id
        self.session = session_params(session, ws)
        self.keep = sql.pk_list(i.instance_id for i in session.instances)
        self.instances = [instance_params(0, i) for i in session.instances]
        self.messages = [message_params(0, n, m) for n, m in enumerate(session.chat_history)]
        self.message_count = len(session.chat_history)
        self.trigrams = trigram_params(0, session.task, session.id, joined_agent_names(session))

    def write_children(self, floor: Floor, pk: int) -> None:
        """The statements of ``sqlite_rows.write_children``."""
        floor.con.execute(sql.DELETE_INSTANCES_NOT_IN, {"session_pk": pk, "keep": self.keep})
        if self.instances:
            for params in self.instances:
                params["session_pk"] = pk
            floor.con.executemany(sql.UPSERT_INSTANCE, self.instances)
        floor.con.execute(sql.DELETE_MESSAGES_FROM, {"session_pk": pk, "count": self.message_count})
        if self.messages:
            for params in self.messages:
                params["session_pk"] = pk
            floor.con.executemany(sql.UPSERT_MESSAGE, self.messages)

    def index_text(self, floor: Floor, pk: int) -> None:
        floor.con.execute(sql.INSERT_TRIGRAMS, {**self.trigrams, "pk": pk})


def _pk(floor: Floor, ws: str, session_id: str) -> int:
    pk = floor.scalar(sql.SESSION_PK, {"ws": ws, "id": session_id})
    expect(pk is not None, f"session {session_id!r} is not stored")
    return pk


def _create(floor: Floor, ws: str, real_path: str, prepared: _Prepared) -> int:
    def work() -> int:
        floor.con.execute(sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": _NOW})
        expect(floor.scalar(sql.SESSION_PK, {"ws": ws, "id": prepared.id}) is None, "exists")
        pk = floor.insert(sql.INSERT_SESSION, prepared.session)
        prepared.write_children(floor, pk)
        prepared.index_text(floor, pk)
        return pk

    return floor.write(work)


def _delete(floor: Floor, ws: str, session_id: str) -> None:
    floor.write(lambda: floor.con.execute(sql.DELETE_SESSION, {"pk": _pk(floor, ws, session_id)}))


def _touch() -> dict[str, Any]:
    return touch_params(0, _NOW)


def _with_children(
    floor: Floor, rows: list[tuple[Any, ...]]
) -> tuple[list[Any], list[Any], list[Any]]:
    """The statements of ``sqlite_rows.sessions_from_rows``: rows of both children."""
    if not rows:
        return rows, [], []
    pks = sql.pk_list(row[0] for row in rows)
    return (
        rows,
        floor.rows(sql.INSTANCES_OF, {"pks": pks}),
        floor.rows(sql.MESSAGES_OF, {"pks": pks}),
    )


# --- the cases --------------------------------------------------------------------------------


def floor_case(
    name: str, floor: Floor, workload: Workload, data: dict[str, Any], facts: dict[str, Any]
) -> Case:
    """The Case of scenario ``name`` on a floor: the core's statements, tuples out."""
    ws, real_path = workspace_identity(data["workspace"])
    plan = query_plan(workload)

    def count_is(want: int) -> Callable[[Any], None]:
        return lambda got: expect(len(got[0]) == want, f"expected {want} rows, got {len(got[0])}")

    if name in ("get_all_sessions", "type_filter_query", "complex_query"):
        fact, (filters, sort, limit) = {
            "get_all_sessions": ("all", plan["all"]),
            "type_filter_query": ("by_type", plan["by_type"]),
            "complex_query": ("complex", plan["complex"]),
        }[name]
        statement, params = _select(ws, sql.SESSION_COLUMNS, filters, sort, limit)
        want = facts[fact]["count"] if limit is None else min(limit, facts[fact]["count"])
        run = lambda: floor.read(
            lambda: _with_children(floor, floor.rows(statement, params))
        )  # noqa: E731
        return Case(run, count_is(want))
    if name == "type_filter_list":
        statement, params = _select(ws, sql.SUMMARY_COLUMNS, plan["by_type"][0], None, None)
        return Case(
            lambda: (floor.rows(statement, params),),
            count_is(facts["by_type"]["count"]),
        )
    if name == "get_session":
        params = {"ws": ws, "id": data["get"]["id"]}

        def get() -> Any:
            def work() -> Any:
                row = floor.con.execute(sql.GET_SESSION, params).fetchone()
                expect(row is not None, "session not found")
                return _with_children(floor, [row])

            return floor.read(work)

        return Case(get, count_is(1))
    if name == "count_sessions":
        statement, params = count_statement(ws, check_query(plan["running"][0], None))
        want = facts["running"]["count"]
        return Case(
            lambda: floor.scalar(statement, params),
            lambda got: expect(got == want, f"count {got} != {want}"),
        )
    if name == "search":
        params = {
            "query": fts5_expression(query_terms(data["search"]["text"])),
            "ws": ws,
            "limit": data["search"]["limit"],
        }
        statements = (sql.SEARCH_TASKS, sql.SEARCH_MESSAGES, sql.SEARCH_OUTPUTS)
        at_least = min(data["search"]["limit"], facts.get("tasks_with_word", 0))
        return Case(
            lambda: floor.read(lambda: [floor.rows(s, params) for s in statements]),
            lambda got: expect(sum(map(len, got)) >= at_least, "too few hits"),
        )
    return _write_case(name, floor, ws, real_path, data)


def _write_case(name: str, floor: Floor, ws: str, real_path: str, data: dict[str, Any]) -> Case:
    nothing = lambda got: None  # noqa: E731 - writes answer nothing on the floor
    if name == "create_session":
        new = _Prepared(WorktreeSession.from_json(data["create"]), ws)
        return Case(
            lambda: _create(floor, ws, real_path, new),
            nothing,
            after=lambda: _delete(floor, ws, new.id),
        )
    if name == "delete_session":
        old = _Prepared(WorktreeSession.from_json(data["delete"]), ws)
        return Case(
            lambda: _delete(floor, ws, old.id),
            nothing,
            after=lambda: _create(floor, ws, real_path, old),
        )
    if name == "update_session":
        versions = [_Prepared(WorktreeSession.from_json(data["update"][v]), ws) for v in "ab"]
        turn = [1]

        def update() -> None:
            turn[0] ^= 1
            version = versions[turn[0]]

            def work() -> None:
                pk = _pk(floor, ws, version.id)
                floor.con.execute(sql.UPDATE_SESSION, {**version.session, "pk": pk})
                version.write_children(floor, pk)
                floor.con.execute(sql.DELETE_TRIGRAMS, {"pk": pk})
                version.index_text(floor, pk)

            floor.write(work)

        update()  # start from the stored original, as the repository cases do
        return Case(update, nothing)
    if name == "add_chat_message":
        session = WorktreeSession.from_json(data["message"]["session"])
        message = message_params(0, 0, ChatMessage.from_json(data["message"]["message"]))
        touch = _touch()
        count = len(session.chat_history)

        def add() -> None:
            def work() -> None:
                pk = _pk(floor, ws, session.id)
                position = floor.scalar(sql.NEXT_MESSAGE_POSITION, {"session_pk": pk})
                floor.con.execute(
                    sql.UPSERT_MESSAGE, {**message, "session_pk": pk, "position": position}
                )
                floor.con.execute(sql.TOUCH_SESSION, {**touch, "pk": pk})

            floor.write(work)

        def remove() -> None:
            floor.write(
                lambda: floor.con.execute(
                    sql.DELETE_MESSAGES_FROM,
                    {"session_pk": _pk(floor, ws, session.id), "count": count},
                )
            )

        return Case(add, nothing, after=remove)
    if name == "update_instance_status":
        sid, statuses = data["status"]["session"]["id"], data["status"]["statuses"]
        touch = _touch()
        turn = [0]

        def toggle() -> None:
            turn[0] ^= 1

            def work() -> None:
                pk = _pk(floor, ws, sid)
                changed = floor.change(
                    sql.SET_INSTANCE_STATUS,
                    {"status": statuses[turn[0]], "session_pk": pk, "instance_id": 0},
                )
                expect(changed == 1, "instance not found")
                floor.con.execute(sql.TOUCH_SESSION, {**touch, "pk": pk})

            floor.write(work)

        toggle()  # the stored status, as the repository cases start
        return Case(toggle, nothing)
    raise KeyError(f"unknown scenario {name!r}")
