"""The read scenarios: each one object, with its case on a repository and on both floors.

Reads never change the store. On the SQL floors a read runs the SQLite store's statements and
keeps the rows; on the JSON floor every read is the same: the whole file decoded (the editor
reads it whole for anything), so the JSON store's filtering, ordering, paging and scanning
show as its work above that floor.
"""

from __future__ import annotations

from typing import Any, Callable

from ait42_session import WorktreeSession, sql
from ait42_session.fulltext import query_terms
from ait42_session.queries import check_query
from ait42_session.sqlite_rows import count_statement, search_params, select_statement

from ..floors import SqlFloor
from ..json_floor import JsonFloor
from ..text import SEARCH_WORD
from .base import Case, Context, Scenario, expect

__all__ = ["READS"]


# --- answers ----------------------------------------------------------------------------------


def _sessions(
    fact: dict[str, Any], whole: bool, limit: int | None = None
) -> Callable[[Any], None]:
    """The sessions (or summaries) a query must return: how many, in which order."""
    want = fact["count"] if limit is None else min(limit, fact["count"])

    def check(result: list[Any]) -> None:
        expect(len(result) == want, f"expected {want} sessions, got {len(result)}")
        ids = [s.id for s in result[: len(fact["ids"])]]
        expect(ids == fact["ids"][: len(ids)], "sessions came back in the wrong order")
        if whole and result:
            expect(isinstance(result[0], WorktreeSession), "whole sessions expected")

    return check


def _rows(want: int) -> Callable[[Any], None]:
    """A floor's answer: its first list holds ``want`` session rows."""
    return lambda got: expect(
        len(got[0]) == want, f"expected {want} rows, got {len(got[0])}"
    )


def _whole_file(floor: JsonFloor, ctx: Context) -> Case:
    """Every read on the JSON floor: the file decoded whole."""
    n = ctx.data["n"]
    return Case(
        floor.models, lambda got: expect(len(got) == n, f"{len(got)} sessions != {n}")
    )


def _query(name: str, fact: str, columns: str = sql.SESSION_COLUMNS) -> tuple[Any, Any]:
    """The repository and SQL-floor cases of the query ``ctx.plan[fact]``."""

    def on_repository(repo: Any, ctx: Context) -> Case:
        filters, sort, limit = ctx.plan[fact]
        if columns == sql.SUMMARY_COLUMNS:
            return Case(
                lambda: repo.list_sessions(ctx.workspace, filters, sort, limit),
                _sessions(ctx.facts[fact], whole=False, limit=limit),
            )
        return Case(
            lambda: repo.query_sessions(ctx.workspace, filters, sort, limit),
            _sessions(ctx.facts[fact], whole=True, limit=limit),
        )

    def on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
        filters, sort, limit = ctx.plan[fact]
        statement, params = select_statement(
            columns, floor.ws, check_query(filters, sort), limit, 0
        )
        count = ctx.facts[fact]["count"]
        want = count if limit is None else min(limit, count)
        if columns == sql.SUMMARY_COLUMNS:  # one statement: no transaction, no children
            return Case(lambda: (floor.listed(statement, params),), _rows(want))
        return Case(lambda: floor.select(statement, params), _rows(want))

    return on_repository, on_sql_floor


# --- the scenarios ----------------------------------------------------------------------------


def _get_all_on_repository(repo: Any, ctx: Context) -> Case:
    return Case(
        lambda: repo.get_all_sessions(ctx.workspace), _sessions(ctx.facts["all"], True)
    )


GET_ALL_SESSIONS = Scenario(
    "get_all_sessions", "read", "get_all_sessions(ws)",
    on_repository=_get_all_on_repository,
    on_sql_floor=_query("get_all_sessions", "all")[1],
    on_json_floor=_whole_file,
    trace_ops=("get_all_sessions",),
    seed_row="Get all sessions (100)", target_ratio=25, target_ms=2.0,
)  # fmt: skip

TYPE_FILTER_QUERY = Scenario(
    "type_filter_query", "read", "query_sessions(ws, types=[competition])",
    *_query("type_filter_query", "by_type"),
    on_json_floor=_whole_file,
    seed_row="Search by type", target_ratio=50, target_ms=1.0,
)  # fmt: skip

TYPE_FILTER_LIST = Scenario(
    "type_filter_list", "read", "list_sessions(ws, types=[competition])",
    *_query("type_filter_list", "by_type", sql.SUMMARY_COLUMNS),
    on_json_floor=_whole_file,
    trace_ops=("list_sessions",),
    seed_row="Search by type", target_ratio=50, target_ms=1.0,
)  # fmt: skip

COMPLEX_QUERY = Scenario(
    "complex_query", "read",
    "query_sessions(ws, 2 types + 2 statuses + date range + 'auth', by duration, limit 50)",
    *_query("complex_query", "complex"),
    on_json_floor=_whole_file,
    trace_ops=("query_sessions",),  # the trace's queries filter and page, as this one does
    seed_row="Complex query", target_ratio=17, target_ms=3.0,
)  # fmt: skip


def _get_on_repository(repo: Any, ctx: Context) -> Case:
    target = ctx.data["get"]

    def check(session: WorktreeSession) -> None:
        expect(session.id == target["id"], "wrong session")
        expect(len(session.chat_history) == len(target["chatHistory"]), "lost messages")

    return Case(lambda: repo.get_session(ctx.workspace, target["id"]), check)


def _get_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    session_id = ctx.data["get"]["id"]
    return Case(lambda: floor.get(session_id), _rows(1))


GET_SESSION = Scenario(
    "get_session", "read", "get_session(ws, id)",
    _get_on_repository, _get_on_sql_floor, _whole_file,
    trace_ops=("get_session",),
)  # fmt: skip


def _count_on_repository(repo: Any, ctx: Context) -> Case:
    filters, want = ctx.plan["running"][0], ctx.facts["running"]["count"]
    return Case(
        lambda: repo.count_sessions(ctx.workspace, filters),
        lambda got: expect(got == want, f"count {got} != {want}"),
    )


def _count_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    statement, params = count_statement(
        floor.ws, check_query(ctx.plan["running"][0], None)
    )
    want = ctx.facts["running"]["count"]
    return Case(
        lambda: floor.counted(statement, params),
        lambda got: expect(got == want, f"count {got} != {want}"),
    )


COUNT_SESSIONS = Scenario(
    "count_sessions", "read", "count_sessions(ws, statuses=[running])",
    _count_on_repository, _count_on_sql_floor, _whole_file,
    trace_ops=("count_sessions",),
)  # fmt: skip


def _hits_at_least(ctx: Context) -> int:
    return min(ctx.data["search"]["limit"], ctx.facts.get("tasks_with_word", 0))


def _search_on_repository(repo: Any, ctx: Context) -> Case:
    text, limit = ctx.data["search"]["text"], ctx.data["search"]["limit"]
    at_least = _hits_at_least(ctx)

    def check(hits: list[Any]) -> None:
        expect(len(hits) <= limit, "more hits than the limit")
        expect(
            len(hits) >= at_least, f"expected at least {at_least} hits, got {len(hits)}"
        )
        for hit in hits:
            expect(
                f"[{text}" in hit.snippet.casefold(),
                f"snippet without the match: {hit.snippet!r}",
            )

    return Case(lambda: repo.search(ctx.workspace, text, limit), check)


def _search_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    search = ctx.data["search"]
    params = search_params(floor.ws, query_terms(search["text"]), search["limit"])
    at_least = _hits_at_least(ctx)
    return Case(
        lambda: floor.search(params),
        lambda got: expect(len(got) >= at_least, "too few hits"),
    )


SEARCH = Scenario(
    "search", "read", f"search(ws, {SEARCH_WORD!r}, limit=50)",
    _search_on_repository, _search_on_sql_floor, _whole_file,
    trace_ops=("search",),
)  # fmt: skip

READS = (
    GET_ALL_SESSIONS,
    TYPE_FILTER_QUERY,
    TYPE_FILTER_LIST,
    COMPLEX_QUERY,
    GET_SESSION,
    COUNT_SESSIONS,
    SEARCH,
)
