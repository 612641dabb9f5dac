"""What the scenarios ask, as a function of the workload: queries, target sessions, texts.

Everything a worker needs besides the store (``scenario_data``, saved beside the built stores
as ``scenario-data.json``) and the queries the read scenarios run (``query_plan``). The
single-session scenarios touch a typical session, the one of median size among 15
candidates, not a lucky one.
"""

from __future__ import annotations

import random
from typing import Any

from ait42_session import SessionFilters, SessionSort

from ..text import SEARCH_WORD, SUBSTRING, corpus
from ..workloads import MAIN_WORKSPACE, Workload, format_time

__all__ = [
    "SCENARIOS_VERSION",
    "QueryPlan",
    "STREAM_HUGE_CHARS",
    "STREAM_LARGE_CHARS",
    "largest_versions",
    "query_plan",
    "scenario_data",
    "streaming_versions",
]

# Bump when query_plan or scenario_data change: cached facts and scenario data are redone.
SCENARIOS_VERSION = 5

QueryPlan = dict[str, tuple[SessionFilters | None, SessionSort | None, int | None]]


def query_plan(workload: Workload) -> QueryPlan:
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


def largest_versions(workload: Workload, index: int) -> dict[str, dict[str, Any]]:
    """The two versions ``update_largest`` alternates between: session ``index`` as stored
    (``a``, the store's largest, found while building) and as the editor writes it when it
    finishes (``b``)."""
    data = workload.session_json(index)
    return {"a": data, "b": _changed(data, workload)}


STREAM_OUTPUT_CHARS, STREAM_STEP_CHARS = 200_000, 1_000
STREAM_LARGE_CHARS, STREAM_HUGE_CHARS = 2_000_000, 20_000_000


def streaming_versions(
    data: dict[str, Any], workload: Workload, size: int = STREAM_OUTPUT_CHARS
) -> dict[str, dict[str, Any]]:
    """``data`` while its agent runs: the first instance's output at ``size`` characters
    (``a``) and the same output grown by 1 KB (``b``), as the editor saves it between two
    reads of the pane. The large sizes are made by each worker (never saved with the
    scenario data): they are cheap to make and would make that file tens of MB."""
    seed = f"stream:{workload.seed}" + ("" if size == STREAM_OUTPUT_CHARS else f":{size}")
    rng = random.Random(seed)
    text = corpus(workload.seed)
    output = text.output(rng, size)
    grown = output + text.output(rng, STREAM_STEP_CHARS)
    versions = {}
    for name, value in (("a", output), ("b", grown)):
        version = {
            **data,
            "status": "running",
            "instances": [dict(i) for i in data["instances"]],
        }
        version["instances"][0].update(status="running", output=value)
        versions[name] = version
    return versions


def scenario_data(workload: Workload) -> dict[str, Any]:
    """Everything a worker needs besides the store: targets, new and changed sessions."""
    n = workload.n
    realistic = workload.profile == "realistic"
    text = corpus(workload.seed)
    rng = random.Random(f"scenario:{workload.seed}")
    message_target = workload.session_json(
        _typical(workload, n // 5, need_instances=False)
    )
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
    # The last 15 sessions: no other scenario's target is among them, so the 200 KB output
    # that stream_output leaves behind changes no other scenario's session.
    streaming = workload.session_json(_typical(workload, max(0, n - 15)))
    first = status["instances"][0]["status"] if status["instances"] else "running"
    targets = {
        "get": workload.session_json(_typical(workload, n // 2, need_instances=False)),
        # indexes from n on are not in the store
        "create": workload.session_json(
            _typical(workload, n, need_instances=False, stored=False)
        ),
        "update": update,
        "delete": workload.session_json(
            _typical(workload, n // 4, need_instances=False)
        ),
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
        "stream": streaming_versions(streaming, workload),
        "delete": targets["delete"],
        "message": {"session": message_target, "message": message},
        "status": {
            "session": status,
            "statuses": ["running" if first != "running" else "completed", first],
        },
        "search": {"text": SEARCH_WORD, "limit": 50},
    }
