"""A day of editor use as an operation log, and its replay on both stores.

``generate`` writes ``bench/traces/day-v1.jsonl``: one JSON object per line, each one call of
the ``SessionRepository`` protocol as the editor makes it during a working day - open the
board and count its badges, start sessions with several instances, stream their status changes
and chat messages, finish them (``update_session`` with outputs and totals), open sessions,
filter, search, and delete a few old ones. Calls that name a session of the base store give
its index (``base_index``: 0 is the oldest; ``base_fraction``: a share of N), so the trace
replays on a store of any size.

``replay_both`` copies the base store of a workload, then replays every operation on the JSON
store and on the SQLite store, in a random order per operation so that drift hits both, and
reports the total time and p50/p95/p99 latency per operation kind. Answers are compared
(lengths of every read but ``search``, whose ranking legitimately differs).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ait42_session import (
    AlreadyExistsError,
    ChatMessage,
    JsonSessionRepository,
    SessionFilters,
    SessionSort,
    SqliteSessionRepository,
    WorktreeSession,
)

from .sidecar_store import SidecarStore
from .stores import build, working_copy
from .text import AGENT_NAMES, SEARCH_WORD, TASK_TEMPLATES, corpus
from .workloads import MAIN_WORKSPACE, Workload, format_time

__all__ = ["TRACE_FILE", "TRACES", "generate", "ensure", "load", "replay_both"]

TRACE_FILE = Path(__file__).parent / "traces" / "day-v1.jsonl"
_DAY = dt.datetime(2030, 1, 7, 8, 30, tzinfo=dt.timezone.utc)


def _filters(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(4)
    if choice == 0:
        return {"types": [rng.choice(["competition", "ensemble", "debate"])]}
    if choice == 1:
        return {"statuses": [rng.choice(["completed", "failed", "running"])]}
    if choice == 2:
        return {"search_query": rng.choice(["auth", "database", "test", "api", "fix"])}
    return {
        "types": ["competition", "ensemble"],
        "statuses": ["completed", "failed"],
        "search_query": rng.choice(["auth", "refactor"]),
    }


class _Day:
    """Generates the day's operations in time order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"trace:{seed}")
        self.text = corpus(seed)
        self.clock = _DAY
        self.ops: list[dict[str, Any]] = []
        self.live: dict[str, dict[str, Any]] = {}  # today's sessions, as stored
        self.counter = 0

    def tick(self, low: int = 5, high: int = 120) -> str:
        self.clock += dt.timedelta(seconds=self.rng.randrange(low, high))
        return format_time(self.clock, "backend", self.rng)

    def emit(self, op: str, **args: Any) -> None:
        self.ops.append({"op": op, **args})

    def board(self) -> None:
        self.emit("get_all_sessions")
        for status in ("running", "completed"):
            self.emit("count_sessions", filters={"statuses": [status]})
        self.emit(
            "list_sessions",
            filters={},
            sort={"field": "updated_at", "direction": "desc"},
            limit=50,
        )

    def browse(self) -> None:
        rng = self.rng
        action = rng.random()
        if action < 0.35:
            self.emit("get_session", base_fraction=round(rng.uniform(0.8, 1.0), 3))
        elif action < 0.55 and self.live:
            self.emit("get_session", id=rng.choice(list(self.live)))
        elif action < 0.75:
            self.emit(
                "query_sessions",
                filters=_filters(rng),
                sort={
                    "field": rng.choice(["updated_at", "duration", "created_at"]),
                    "direction": "desc",
                },
                limit=50,
            )
        elif action < 0.9:
            self.emit(
                "list_sessions",
                filters=_filters(rng),
                sort={"field": "updated_at", "direction": "desc"},
                limit=None,
            )
        else:
            self.emit(
                "search",
                text=rng.choice(
                    [
                        SEARCH_WORD,
                        "authentication",
                        "migration schema",
                        "retry timeout",
                        "tmux pane",
                    ]
                ),
                limit=50,
            )

    def start(self) -> str:
        rng = self.rng
        self.counter += 1
        sid = f"trace-session-{self.counter:03d}"
        now = self.tick()
        kind = rng.choice(["competition", "competition", "ensemble", "debate"])
        instances = []
        for n in range(rng.randint(2, 6)):
            runtime = rng.choice(["claude", "codex", "gemini"])
            instances.append(
                {
                    "instanceId": n,
                    "worktreePath": f"/home/dev/project/.worktrees/{sid}-{n}",
                    "branch": f"ait42/{sid}/agent-{n}",
                    "agentName": rng.choice(AGENT_NAMES),
                    "status": "idle",
                    "tmuxSessionId": f"ait42-{sid}-{n}",
                    "output": None,
                    "startTime": now,
                    "endTime": None,
                    "filesChanged": None,
                    "linesAdded": None,
                    "linesDeleted": None,
                    "runtime": runtime,
                    "model": "claude-sonnet-4-5",
                    "runtimeLabel": runtime.title(),
                }
            )
        session = {
            "id": sid,
            "type": kind,
            "task": rng.choice(TASK_TEMPLATES),
            "status": "running",
            "createdAt": now,
            "updatedAt": now,
            "completedAt": None,
            "model": "claude-sonnet-4-5",
            "timeoutSeconds": 3600,
            "preserveWorktrees": False,
            "winnerId": None,
            "runtimeMix": sorted({i["runtime"] for i in instances}),
            "totalDuration": None,
            "totalFilesChanged": None,
            "totalLinesAdded": None,
            "totalLinesDeleted": None,
            "instances": instances,
            "chatHistory": [],
        }
        self.live[sid] = session
        self.emit("create_session", session=json.loads(json.dumps(session)))
        self.message(sid, "user")
        return sid

    def message(self, sid: str, role: str) -> None:
        rng = self.rng
        session = self.live[sid]
        size = max(20, int(rng.lognormvariate(np.log(600), 0.6)))
        message = {
            "id": f"{sid}-msg-{len(session['chatHistory'])}",
            "role": role,
            "content": self.text.message(rng, size),
            "timestamp": format_time(self.clock, "frontend", rng),
            "instanceId": (
                rng.randrange(len(session["instances"]))
                if role == "assistant"
                else None
            ),
        }
        session["chatHistory"].append(message)
        session["updatedAt"] = self.tick(1, 30)
        self.emit("add_chat_message", id=sid, message=message)

    def status(self, sid: str, instance: int, status: str) -> None:
        self.live[sid]["instances"][instance]["status"] = status
        self.live[sid]["updatedAt"] = self.tick(1, 60)
        self.emit("update_instance_status", id=sid, instance_id=instance, status=status)

    def finish(self, sid: str) -> None:
        rng = self.rng
        session = self.live[sid]
        now = self.tick()
        for instance in session["instances"]:
            done = rng.random() < 0.85
            instance.update(
                status="completed" if done else "failed",
                endTime=now,
                output=self.text.output(
                    rng, int(min(256 * 1024, rng.lognormvariate(np.log(8192), 1.0)))
                ),
                filesChanged=rng.randrange(30),
                linesAdded=rng.randrange(900),
                linesDeleted=rng.randrange(300),
            )
        session.update(
            status="completed",
            updatedAt=now,
            completedAt=now,
            totalDuration=rng.randrange(600, 7200),
            totalFilesChanged=sum(i["filesChanged"] for i in session["instances"]),
            totalLinesAdded=sum(i["linesAdded"] for i in session["instances"]),
            totalLinesDeleted=sum(i["linesDeleted"] for i in session["instances"]),
        )
        if session["type"] == "competition":
            session["winnerId"] = rng.randrange(len(session["instances"]))
        self.emit("update_session", session=json.loads(json.dumps(session)))

    def run(self) -> list[dict[str, Any]]:
        rng = self.rng
        self.board()
        deleted = 0
        for _hour in range(9):
            self.board()
            for _ in range(rng.randint(1, 2)):  # sessions started this hour
                sid = self.start()
                instances = len(self.live[sid]["instances"])
                for n in range(instances):
                    self.status(sid, n, "running")
                for _step in range(
                    rng.randint(6, 16)
                ):  # work streams in; the user looks around
                    kind = rng.random()
                    if kind < 0.45:
                        self.message(
                            sid,
                            rng.choice(["assistant", "assistant", "system", "user"]),
                        )
                    elif kind < 0.65:
                        self.status(
                            sid,
                            rng.randrange(instances),
                            rng.choice(["running", "paused", "running"]),
                        )
                    else:
                        self.browse()
                for n in range(instances):
                    self.status(sid, n, "completed")
                self.finish(sid)
                self.board()
            for _ in range(rng.randint(3, 6)):
                self.browse()
            if rng.random() < 0.6:  # tidy up: delete one of the oldest sessions
                self.emit("delete_session", base_index=deleted)
                deleted += 1
                self.board()
        return self.ops


def generate(path: Path = TRACE_FILE, seed: int = 7) -> Path:
    """Write the day's trace as JSON Lines; the path."""
    ops = _Day(seed).run()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for op in ops:
            out.write(json.dumps(op, ensure_ascii=False) + "\n")
    return path


def ensure(path: Path = TRACE_FILE) -> Path:
    """The trace file, generated first if it is missing."""
    return path if path.exists() else generate(path)


def _editor_ensure(path: Path) -> Path:
    from . import editor_trace

    return editor_trace.ensure(path)


def _editor_file() -> Path:
    from .editor_trace import EDITOR_TRACE_FILE

    return EDITOR_TRACE_FILE


# The traces the harness replays: name -> (its file, the function that makes it if missing).
# ``day``: a model of a working day over the whole protocol; ``editor``: the shipping
# editor's own calls (``editor_trace``).
TRACES = {
    "day": (lambda: TRACE_FILE, ensure),
    "editor": (_editor_file, _editor_ensure),
}


def trace_ops(name: str) -> list[dict[str, Any]]:
    """The operations of the trace ``name`` (made first if its file is missing)."""
    file, made = TRACES[name]
    return load(made(file()))


def load(path: Path = TRACE_FILE) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# --- replay -----------------------------------------------------------------------------------


def _call(repo: Any, op: dict[str, Any], workload: Workload) -> Any:
    ws = MAIN_WORKSPACE
    kind = op["op"]

    def sid() -> str:
        if "id" in op:
            return op["id"]
        if "base_index" in op:
            return workload.session_id(op["base_index"])
        return workload.session_id(
            min(workload.n - 1, int(op["base_fraction"] * workload.n))
        )

    def query_args() -> tuple[SessionFilters, SessionSort | None]:
        sort = SessionSort(**op["sort"]) if op.get("sort") else None
        return SessionFilters(**op.get("filters", {})), sort

    if kind == "get_all_sessions":
        return repo.get_all_sessions(ws)
    if kind == "count_sessions":
        return repo.count_sessions(ws, SessionFilters(**op.get("filters", {})))
    if kind == "list_sessions":
        return repo.list_sessions(ws, *query_args(), op.get("limit"))
    if kind == "query_sessions":
        return repo.query_sessions(ws, *query_args(), op.get("limit"))
    if kind == "get_session":
        return repo.get_session(ws, sid())
    if kind == "search":
        return repo.search(ws, op["text"], op.get("limit", 50))
    if kind == "create_session" and op.get("expect") == "AlreadyExistsError":
        # the editor's second create of one id: the contract refuses it, every store alike
        try:
            repo.create_session(ws, WorktreeSession.from_json(op["session"]))
        except AlreadyExistsError:
            return "refused"
        return "stored (expected a refusal)"
    if kind == "create_session":
        return repo.create_session(ws, WorktreeSession.from_json(op["session"]))
    if kind == "upsert_session":
        return repo.upsert_session(ws, WorktreeSession.from_json(op["session"]))
    if kind == "update_session":
        return repo.update_session(ws, WorktreeSession.from_json(op["session"]))
    if kind == "add_chat_message":
        return repo.add_chat_message(ws, sid(), ChatMessage.from_json(op["message"]))
    if kind == "update_instance_status":
        return repo.update_instance_status(ws, sid(), op["instance_id"], op["status"])
    if kind == "delete_session":
        return repo.delete_session(ws, sid())
    raise ValueError(f"unknown operation {kind!r}")


def _kind(op: dict[str, Any]) -> str:
    """The operation's kind as reported: a create the trace expects refused apart."""
    return op["op"] + (" (refused)" if op.get("expect") else "")


def _shape(kind: str, answer: Any) -> Any:
    if kind == "search" or answer is None:
        return None
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, (int, str)):
        return answer
    return getattr(answer, "id", None)


def _latencies(samples: dict[str, list[float]]) -> dict[str, Any]:
    out = {}
    for kind, values in sorted(samples.items()):
        data = np.asarray(values)
        p50, p95, p99 = np.percentile(data, [50, 95, 99])
        out[kind] = {
            "count": int(data.size),
            "total": float(data.sum()),
            "p50": float(p50),
            "p95": float(p95),
            "p99": float(p99),
            "max": float(data.max()),
        }
    return out


def replay_both(
    workload: Workload,
    cache_dir: Path,
    *,
    box: float = 1800.0,
    trace: str = "day",
    json_store: bool = True,
    sidecar: bool = False,
) -> dict[str, Any]:
    """Replay the trace ``trace`` (a name of ``TRACES``) on copies of the workload's stores;
    timings per store and kind. With ``sidecar``, also on the SQLite store behind
    ``ait42-session serve`` (its own copy).
    """
    ops = trace_ops(trace)
    trace_path = TRACES[trace][0]()
    paths = build(workload, cache_dir, json_store=json_store)
    work = working_copy(
        paths,
        cache_dir / "work" / f"trace-{trace}-{workload.key}",
        json_store=json_store,
        sqlite_store=True,
    )
    stores: dict[str, Any] = {"sqlite": SqliteSessionRepository.with_path(work.db)}
    if json_store:
        stores["json"] = JsonSessionRepository(work.sessions_dir)
    if sidecar:
        served = working_copy(
            paths, cache_dir / "work" / f"trace-{trace}-sidecar-{workload.key}",
            json_store=False, sqlite_store=True,
        )  # fmt: skip
        stores["sidecar"] = SidecarStore(served.db)
    samples: dict[str, dict[str, list[float]]] = {
        name: defaultdict(list) for name in stores
    }
    rng = random.Random(f"replay:{workload.key}")
    mismatches: list[str] = []
    started = time.perf_counter()
    done = 0
    try:
        for index, op in enumerate(ops):
            order = list(stores)
            rng.shuffle(order)
            shapes = {}
            for name in order:
                t0 = time.perf_counter()
                answer = _call(stores[name], op, workload)
                samples[name][_kind(op)].append(time.perf_counter() - t0)
                shapes[name] = _shape(op["op"], answer)
            if len(set(map(repr, shapes.values()))) > 1:
                mismatches.append(f"op {index} {op['op']}: {shapes}")
            done += 1
            if time.perf_counter() - started > box:
                break
    finally:
        for store in stores.values():
            store.close()
        shutil.rmtree(work.root, ignore_errors=True)
        if sidecar:
            shutil.rmtree(served.root, ignore_errors=True)
    return {
        "trace": trace_path.name,
        "operations": len(ops),
        "replayed": done,
        "box_seconds": box,
        "complete": done == len(ops),
        "mismatches": mismatches[:20],
        "stores": {
            name: {
                "total": float(sum(sum(v) for v in kinds.values())),
                "kinds": _latencies(kinds),
            }
            for name, kinds in samples.items()
        },
    }
