"""The loss accounting: a store read back and checked against what its writers acknowledged
(writes lost, sessions half written, a file left empty), and the figures counted per scenario
and store (``Figures``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .workers import Acks
from .writes import INSTANCES, open_store


@dataclass
class Figures:
    scenario: str
    store: str
    attempted: int = 0
    acknowledged: int = 0
    errors: int = 0  # SessionError raised to the caller
    raw_errors: int = 0  # any other exception (must be 0 on both stores)
    lost: int = 0
    sessions_lost: int = (
        0  # sessions whose creation was acknowledged, missing afterwards
    )
    half_written: int = 0
    emptied: int = 0  # times the store's file was found empty after acknowledged writes
    unreadable: int = 0
    kills_mid_run: int = 0  # kills that found the writer still writing (not yet done)
    error_types: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def sqlite_promise_kept(self) -> bool:
        return self.store != "sqlite" or (
            self.attempted > 0 and self.errors == self.raw_errors == self.lost
            == self.half_written == self.emptied == self.unreadable == 0
        )  # fmt: skip


def count_acks(figures: Figures, acks: Acks) -> None:
    """Add a worker's acknowledged writes and errors (by type) to ``figures``."""
    figures.acknowledged += len(acks.acked)
    figures.errors += len(acks.errors)
    figures.raw_errors += len(acks.raw)
    types = Counter(figures.error_types)
    types.update(acks.errors.values())
    types.update(f"raw {name}" for name in acks.raw.values())
    figures.error_types = dict(types)


def read_state(
    store: str, path: Path, workspace: str
) -> tuple[dict[str, Any] | None, str]:
    """(sessions by id, "") when the store opens and reads; (None, reason) when it does not.

    SQLite must also pass ``verify_integrity()``.
    """
    from ait42_session import SessionError

    try:
        repo = open_store(store, path)
    except SessionError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    try:
        if store == "sqlite" and not repo.pool.verify_integrity():
            return None, "verify_integrity() is False"
        return {s.id: s for s in repo.get_all_sessions(workspace)}, ""
    except SessionError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        repo.close()


def _value(op: dict[str, Any]) -> tuple[tuple[Any, ...], Any]:
    """(field, value) a write sets; a later write of the same field overwrites it."""
    kind, sid = op["op"], op["sid"]
    if kind == "create":
        return (sid, "exists"), True
    if kind == "message":
        return (sid, "message", op["mid"]), True
    if kind == "status":
        return (sid, "status", op["instance"]), op["status"]
    return (sid, "task"), op["task"]


def _seen(sessions: dict[str, Any], key: tuple[Any, ...]) -> Any:
    session = sessions.get(key[0])
    if session is None:
        return None
    if key[1] == "exists":
        return True
    if key[1] == "message":
        return True if any(m.id == key[2] for m in session.chat_history) else None
    if key[1] == "status":
        found = [i.status for i in session.instances if i.instance_id == key[2]]
        return found[0] if found else None
    return session.task


def lost_writes(
    ops: list[dict[str, Any]],
    acked: Iterable[int],
    attempted: Iterable[int],
    sessions: dict[str, Any],
) -> list[int]:
    """Indexes of acknowledged writes whose effect is not in ``sessions``.

    A write counts as kept when its field shows its value or the value of any later write of
    the same field that was attempted (acknowledged, failed, or in flight at a kill).
    """
    attempted_set, acked_set = set(attempted), set(acked)
    later: dict[tuple[Any, ...], list[Any]] = (
        {}
    )  # field -> values of later attempted writes
    lost = []
    for op in reversed(ops):
        key, value = _value(op)
        if op["i"] in acked_set and _seen(sessions, key) not in (
            value,
            *later.get(key, ()),
        ):
            lost.append(op["i"])
        if op["i"] in attempted_set:
            later.setdefault(key, []).append(value)
    return sorted(lost)


def created_sessions(ops: list[dict[str, Any]], indexes: Iterable[int]) -> set[str]:
    """Ids of the sessions created by the writes at ``indexes``."""
    return {ops[i]["sid"] for i in indexes if ops[i]["op"] == "create"}


def half_written(ops: list[dict[str, Any]], sessions: dict[str, Any]) -> list[str]:
    """Ids of this plan's sessions that no sequence of its writes could have produced: missing
    instances or the first message, unknown or reordered messages, an unplanned task."""
    planned_messages: dict[str, list[str]] = {}
    tasks: dict[str, set[str]] = {}
    for op in ops:
        if op["op"] == "create":
            planned_messages[op["sid"]] = [f"{op['sid']}-m"]
            tasks[op["sid"]] = {f"task of {op['sid']}"}
        elif op["op"] == "message":
            planned_messages[op["sid"]].append(op["mid"])
        elif op["op"] == "update":
            tasks[op["sid"]].add(op["task"])
    damaged = []
    for sid, plan in planned_messages.items():
        session = sessions.get(sid)
        if session is None:
            continue
        ids = [m.id for m in session.chat_history]
        order = {mid: n for n, mid in enumerate(plan)}
        positions = [order.get(mid, -1) for mid in ids]
        if (
            [i.instance_id for i in session.instances] != list(range(INSTANCES))
            or not ids or ids[0] != plan[0]
            or -1 in positions or positions != sorted(positions) or len(set(ids)) != len(ids)
            or session.task not in tasks[sid]
        ):  # fmt: skip
            damaged.append(sid)
    return damaged


def left_empty(store: str, path: Path) -> bool:
    """True when the store's file exists and holds nothing (SIGKILL after a truncation)."""
    if store == "postgres":
        return False  # a server's tables, no file of ours
    files = list(Path(path).glob("*.json")) if store == "json" else [Path(path)]
    return any(f.is_file() and not f.read_bytes().strip() for f in files)
