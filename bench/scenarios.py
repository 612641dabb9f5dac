"""The measured operations: each one call through the ``SessionRepository`` protocol, the same
on the JSON store and the SQLite core (the floors run the same SQL in ``floors.py``).

A ``Case`` binds a scenario to an open store: ``run`` is the timed call; ``before``/``after``
(untimed, around every call) put the store back to its stated size - a created session is
deleted, a deleted one re-created, an added message removed - and updates alternate between two
versions so every timed call really changes something. ``check`` asserts that an answer is the
one the workload says it must be (``facts.json``), so a fast wrong answer cannot pass.

The seed's targets (``target_ratio``: JSON time / SQLite time; ``target_ms``: SQLite time at 100
sessions) are attached to the scenario that measures that row of its table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from ait42_session import (
    ChatMessage,
    SessionFilters,
    SessionSort,
    WorktreeSession,
)

from .text import SEARCH_WORD, SUBSTRING, corpus
from .workloads import MAIN_WORKSPACE, Workload, format_time

__all__ = [
    "Scenario",
    "SCENARIOS",
    "SCENARIOS_VERSION",
    "Case",
    "query_plan",
    "scenario_data",
    "repo_case",
]

# Bump when query_plan or scenario_data change: cached facts and scenario data are redone.
SCENARIOS_VERSION = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "read" | "write"
    call: str  # the call, as the report shows it
    seed_row: str | None = None
    target_ratio: float | None = None
    target_ms: float | None = None  # SQLite median at 100 sessions


# fmt: off
_TABLE = [
    # name, kind, the call, seed README row, seed ratio (JSON/SQLite), seed SQLite ms at 100
    ("get_all_sessions", "read", "get_all_sessions(ws)", "Get all sessions (100)", 25, 2.0),
    ("type_filter_query", "read", "query_sessions(ws, types=[competition])",
     "Search by type", 50, 1.0),
    ("type_filter_list", "read", "list_sessions(ws, types=[competition])",
     "Search by type", 50, 1.0),
    ("complex_query", "read", "query_sessions(ws, 2 types + 2 statuses + date range + 'auth', "
     "by duration, limit 50)", "Complex query", 17, 3.0),
    ("get_session", "read", "get_session(ws, id)", None, None, None),
    ("count_sessions", "read", "count_sessions(ws, statuses=[running])", None, None, None),
    ("search", "read", f"search(ws, {SEARCH_WORD!r}, limit=50)", None, None, None),
    ("create_session", "write", "create_session(ws, new session)", "Insert session", 12, 5.0),
    ("update_session", "write", "update_session(ws, changed session)",
     "Update session", 15, 4.0),
    ("delete_session", "write", "delete_session(ws, id)",
     "Delete session (appendix; no absolute target given)", 29, None),
    ("add_chat_message", "write", "add_chat_message(ws, id, message)", None, None, None),
    ("update_instance_status", "write", "update_instance_status(ws, id, 0, status)",
     None, None, None),
]
# fmt: on
SCENARIOS: dict[str, Scenario] = {row[0]: Scenario(*row) for row in _TABLE}


@dataclass
class Case:
    """One scenario on one open store."""

    run: Callable[[], Any]
    check: Callable[[Any], None]
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None


# --- what the scenarios ask, as a function of the workload ------------------------------------


def query_plan(
    workload: Workload,
) -> dict[str, tuple[SessionFilters | None, SessionSort | None, int | None]]:
    """(filters, sort, limit) of each query the scenarios run, by fact name."""
    low, high = workload.date_range()
    return {
        "all": (None, None, None),
        "by_type": (SessionFilters(types=["competition"]), None, None),
        "complex": (
            SessionFilters(
                types=["competition", "ensemble"],
                statuses=["completed", "failed"],
                date_from=low,
                date_to=high,
                search_query=SUBSTRING,
            ),
            SessionSort("duration", "desc"),
            50,
        ),
        "running": (SessionFilters(statuses=["running"]), None, None),
    }


def _size(data: dict[str, Any]) -> int:
    """Characters of text in a session (task, outputs, messages)."""
    return (
        len(data["task"])
        + sum(len(i.get("output") or "") for i in data["instances"])
        + sum(len(m["content"]) for m in data["chatHistory"])
    )


def _typical(
    workload: Workload, start: int, need_instances: bool = True, *, stored: bool = True
) -> int:
    """Of 15 sessions from ``start`` (stored ones only, unless ``stored`` is False), the index
    of the one of median size, so a write touches a typical session, not a lucky one."""
    end = min(start + 15, workload.n) if stored else start + 15
    candidates = []
    for k in range(start, end):
        data = workload.session_json(k)
        if need_instances and not data["instances"]:
            continue
        candidates.append((_size(data), k))
    if not candidates:
        return start
    candidates.sort()
    return candidates[len(candidates) // 2][1]


def _changed(data: dict[str, Any], workload: Workload) -> dict[str, Any]:
    """``data`` as the editor writes it when the session finishes: new status, totals, times,
    and the first instance completed with a line added to its output."""
    changed = {**data, "instances": [dict(i) for i in data["instances"]]}
    status = "completed" if data["status"] != "completed" else "failed"
    changed.update(
        status=status,
        totalDuration=(data["totalDuration"] or 0) + 600,
        totalFilesChanged=(data["totalFilesChanged"] or 0) + 3,
    )
    when = workload.created(workload.n + 1)
    changed["updatedAt"] = format_time(when, "backend", random.Random(0))
    changed["completedAt"] = changed["updatedAt"]
    if changed["instances"]:
        first = changed["instances"][0]
        first["status"] = "completed" if first["status"] != "completed" else "archived"
        if first.get("output") is not None:
            first["output"] += "\n[done] all checks passed"
    return changed


def scenario_data(workload: Workload) -> dict[str, Any]:
    """Everything a worker needs besides the store: targets, new and changed sessions."""
    n = workload.n
    realistic = workload.profile == "realistic"
    text = corpus(workload.seed)
    rng = random.Random(f"scenario:{workload.seed}")
    message_target = workload.session_json(_typical(workload, n // 5, need_instances=False))
    size = 600 if realistic else 90
    message = {
        "id": "bench-message",
        "role": "assistant",
        "content": text.message(rng, size),
        "timestamp": format_time(workload.created(n + 1), "frontend", rng),
        "instanceId": 0 if message_target["instances"] else None,
    }
    update = workload.session_json(_typical(workload, n // 3))
    status = workload.session_json(_typical(workload, n // 6))
    first = status["instances"][0]["status"] if status["instances"] else "running"
    targets = {
        "get": workload.session_json(_typical(workload, n // 2, need_instances=False)),
        # indexes from n on are not in the store
        "create": workload.session_json(_typical(workload, n, need_instances=False, stored=False)),
        "update": update,
        "delete": workload.session_json(_typical(workload, n // 4, need_instances=False)),
        "message": message_target,
        "status": status,
    }
    return {
        "workspace": MAIN_WORKSPACE,
        "n": n,
        "sizes": {
            name: {
                "instances": len(d["instances"]),
                "messages": len(d["chatHistory"]),
                "text_chars": _size(d),
            }
            for name, d in targets.items()
        },
        "get": targets["get"],
        "create": targets["create"],
        "update": {"a": update, "b": _changed(update, workload)},
        "delete": targets["delete"],
        "message": {"session": message_target, "message": message},
        "status": {
            "session": status,
            "statuses": ["running" if first != "running" else "completed", first],
        },
        "search": {"text": SEARCH_WORD, "limit": 50},
    }


# --- checks -----------------------------------------------------------------------------------


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _check_sessions(
    fact: dict[str, Any], whole: bool, limit: int | None = None
) -> Callable[[Any], None]:
    want = fact["count"] if limit is None else min(limit, fact["count"])

    def check(result: list[Any]) -> None:
        expect(len(result) == want, f"expected {want} sessions, got {len(result)}")
        ids = [s.id for s in result[: len(fact["ids"])]]
        expect(ids == fact["ids"][: len(ids)], "sessions came back in the wrong order")
        if whole and result:
            expect(isinstance(result[0], WorktreeSession), "whole sessions expected")

    return check


def _check_search(word: str, at_least: int) -> Callable[[Any], None]:
    def check(hits: list[Any]) -> None:
        expect(len(hits) <= 50, "more hits than the limit")
        expect(len(hits) >= at_least, f"expected at least {at_least} hits, got {len(hits)}")
        for hit in hits:
            expect(
                f"[{word}" in hit.snippet.casefold(), f"snippet without the match: {hit.snippet!r}"
            )

    return check


# --- cases on a repository (JSON store or SQLite core) ----------------------------------------


def repo_case(
    name: str, repo: Any, workload: Workload, data: dict[str, Any], facts: dict[str, Any]
) -> Case:
    """The Case of scenario ``name`` on a ``SessionRepository``."""
    ws = data["workspace"]
    plan = query_plan(workload)
    if name == "get_all_sessions":
        return Case(lambda: repo.get_all_sessions(ws), _check_sessions(facts["all"], True))
    if name in ("type_filter_query", "type_filter_list"):
        filters = plan["by_type"][0]
        call = repo.query_sessions if name == "type_filter_query" else repo.list_sessions
        return Case(
            lambda: call(ws, filters), _check_sessions(facts["by_type"], name.endswith("query"))
        )
    if name == "complex_query":
        filters, sort, limit = plan["complex"]
        return Case(
            lambda: repo.query_sessions(ws, filters, sort, limit),
            _check_sessions(facts["complex"], True, limit),
        )
    if name == "get_session":
        sid = data["get"]["id"]

        def check_get(session: WorktreeSession) -> None:
            expect(session.id == sid, "wrong session")
            expect(len(session.chat_history) == len(data["get"]["chatHistory"]), "lost messages")

        return Case(lambda: repo.get_session(ws, sid), check_get)
    if name == "count_sessions":
        filters = plan["running"][0]
        want = facts["running"]["count"]
        return Case(
            lambda: repo.count_sessions(ws, filters),
            lambda got: expect(got == want, f"count {got} != {want}"),
        )
    if name == "search":
        text, limit = data["search"]["text"], data["search"]["limit"]
        at_least = min(limit, facts.get("tasks_with_word", 0))
        return Case(lambda: repo.search(ws, text, limit), _check_search(text, at_least))
    return _write_case(name, repo, data)


def _write_case(name: str, repo: Any, data: dict[str, Any]) -> Case:
    ws = data["workspace"]
    returned_session = lambda sid: lambda got: expect(
        got.id == sid, "wrong session returned"
    )  # noqa: E731
    nothing = lambda got: expect(got is None, "expected None")  # noqa: E731
    if name == "create_session":
        new = WorktreeSession.from_json(data["create"])
        return Case(
            lambda: repo.create_session(ws, new),
            returned_session(new.id),
            after=lambda: repo.delete_session(ws, new.id),
        )
    if name == "delete_session":
        old = WorktreeSession.from_json(data["delete"])
        return Case(
            lambda: repo.delete_session(ws, old.id),
            nothing,
            after=lambda: repo.create_session(ws, old),
        )
    if name == "update_session":
        versions = [WorktreeSession.from_json(data["update"][v]) for v in ("a", "b")]
        repo.update_session(ws, versions[0])  # start from the stored original
        turn = [0]

        def update() -> WorktreeSession:
            turn[0] ^= 1
            return repo.update_session(ws, versions[turn[0]])

        return Case(update, returned_session(versions[0].id))
    if name == "add_chat_message":
        original = WorktreeSession.from_json(data["message"]["session"])
        message = ChatMessage.from_json(data["message"]["message"])
        return Case(
            lambda: repo.add_chat_message(ws, original.id, message),
            nothing,
            after=lambda: repo.update_session(ws, original),
        )
    if name == "update_instance_status":
        session = data["status"]["session"]
        sid, statuses = session["id"], data["status"]["statuses"]
        repo.update_instance_status(ws, sid, 0, statuses[1])  # the stored status
        turn = [1]

        def toggle() -> None:
            turn[0] ^= 1
            return repo.update_instance_status(ws, sid, 0, statuses[turn[0]])

        return Case(toggle, nothing)
    raise KeyError(f"unknown scenario {name!r}")
