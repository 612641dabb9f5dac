"""The writes: planned deterministically per worker, and applied one at a time through the
repository's public API, on either store (``open_store``)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any, Iterator

STORES = ("json", "sqlite")
INSTANCES = 3
TIMESTAMP = "2025-01-13T10:00:00Z"
STATUSES = ("idle", "running", "completed", "failed", "paused", "archived")
WORDS = (
    "refactor parser module tests fail because fixture path changed agent retries build with "
    "cache cleared then rewrites imports and updates snapshot files for the new layout"
).split()


def plan_ops(seed: int, worker: int, writes: int, prefix: str) -> list[dict[str, Any]]:
    """The first ``writes`` writes of ``iter_ops`` (a longer plan starts with the same ones)."""
    return list(itertools.islice(iter_ops(seed, worker, prefix), writes))


def iter_ops(seed: int, worker: int, prefix: str) -> Iterator[dict[str, Any]]:
    """Mixed writes of one worker on its own sessions (``<prefix>w<worker>-s<n>``), endless.

    About 20% create a session (three instances, one message), 40% add a message, 20% change an
    instance's status and 20% update a session (read it, change its task, write it whole).
    """
    rng = random.Random(f"{seed}:{worker}:{prefix}")
    sessions: list[str] = []
    for i in itertools.count():
        roll = rng.random()
        if not sessions or roll < 0.2:
            sid = f"{prefix}w{worker}-s{len(sessions)}"
            sessions.append(sid)
            op = {"op": "create", "sid": sid, "text": _text(rng, 40)}
        elif roll < 0.6:
            sid = rng.choice(sessions)
            op = {
                "op": "message",
                "sid": sid,
                "mid": f"{sid}-m{i}",
                "text": _text(rng, 30),
            }
        elif roll < 0.8:
            op = {"op": "status", "sid": rng.choice(sessions), "instance": rng.randrange(INSTANCES),
                  "status": rng.choice(STATUSES)}  # fmt: skip
        else:
            sid = rng.choice(sessions)
            op = {
                "op": "update",
                "sid": sid,
                "task": f"task of {sid}, version {i}",
                "files": i,
            }
        op["i"] = i
        yield op


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def new_session(op: dict[str, Any]) -> Any:
    from ait42_session import ChatMessage, WorktreeInstance, WorktreeSession

    sid = op["sid"]
    return WorktreeSession(
        id=sid, type="competition", task=f"task of {sid}", status="running",
        created_at=TIMESTAMP, updated_at=TIMESTAMP, model="sonnet",
        instances=[
            WorktreeInstance(n, f"/work/.worktrees/{sid}-{n}", f"agent/{sid}-{n}", f"agent-{n}",
                             "running", f"ait42-{sid}-{n}", output=op["text"])
            for n in range(INSTANCES)
        ],
        chat_history=[ChatMessage(f"{sid}-m", "user", op["text"], TIMESTAMP)],
    )  # fmt: skip


def apply_op(repo: Any, workspace: str, op: dict[str, Any]) -> None:
    """Make one planned write through the repository's public methods."""
    from ait42_session import ChatMessage

    kind, sid = op["op"], op["sid"]
    if kind == "create":
        repo.create_session(workspace, new_session(op))
    elif kind == "message":
        message = ChatMessage(op["mid"], "assistant", op["text"], TIMESTAMP)
        repo.add_chat_message(workspace, sid, message)
    elif kind == "status":
        repo.update_instance_status(workspace, sid, op["instance"], op["status"])
    elif kind == "update":
        session = repo.get_session(workspace, sid)
        session.task = op["task"]
        session.total_files_changed = op["files"]
        repo.update_session(workspace, session)
    else:
        raise ValueError(f"unknown op {kind!r}")


def open_store(store: str, path: str | Path) -> Any:
    """The store a run writes: ``path`` is the SQLite file, the JSON store's folder, or (for
    ``postgres``) the server's DSN."""
    from ait42_session import (
        JsonSessionRepository,
        PostgresSessionRepository,
        SqliteSessionRepository,
    )

    if store == "sqlite":
        return SqliteSessionRepository.with_path(path)
    if store == "json":
        return JsonSessionRepository(path)
    if store == "postgres":
        return PostgresSessionRepository.connect(str(path), max_size=2)
    raise ValueError(f"unknown store {store!r}")
