"""Reliability figures: what the editor's JSON store and the SQLite store lose, side by side.

Two scenarios, each run on both stores with the same deterministic writes:

1. **Concurrent processes** — ``--processes`` processes each make ``--writes`` mixed writes
   (create a session, add a chat message, change an instance's status, update a session) on one
   store at once, as several editor windows do. Each process writes only its own sessions, so
   every write that is acknowledged (returned without an error) must be visible at the end.
2. **Killed writers** — one process makes the same kind of writes and is killed with SIGKILL at
   a random moment, ``--kills`` times, on the same store. The writer acknowledges each write
   that returned by appending a line to a file with flush + fsync; after each kill the store is
   opened again (SQLite: ``verify_integrity()``) and every acknowledged write must be there.

Counted per store: writes attempted, acknowledged, errors that reached the caller, writes lost
(acknowledged but not visible, and not overwritten by a later write of the same field) and the
sessions among them, sessions left half written, files left empty and files or databases left
unreadable. The Markdown table is printed and saved with the raw figures under
``results/reliability/`` (``report.md``, ``results.json``).

``python -m bench reliability [--processes 8] [--writes 500] [--kills 100] [--quick]``; this
module also runs alone (``python bench/reliability.py ...``). Exit status 1 when the SQLite
store lost, damaged or refused anything, else 0. Self-contained: it imports only
``ait42_session`` and the standard library, and starts its worker processes from this file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

STORES = ("json", "sqlite")
OPS = ("create", "message", "status", "update")
INSTANCES = 3
FULL = {"processes": 8, "writes": 500, "kills": 100, "max_delay": 1.0}
QUICK = {"processes": 4, "writes": 60, "kills": 10, "max_delay": 0.3}
TIMESTAMP = "2025-01-13T10:00:00Z"
STATUSES = ("idle", "running", "completed", "failed", "paused", "archived")
WORDS = (
    "refactor parser module tests fail because fixture path changed agent retries build with "
    "cache cleared then rewrites imports and updates snapshot files for the new layout"
).split()

# --- the writes: planned deterministically, applied through the public API ---------------------


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
            op = {"op": "message", "sid": sid, "mid": f"{sid}-m{i}", "text": _text(rng, 30)}
        elif roll < 0.8:
            op = {"op": "status", "sid": rng.choice(sessions), "instance": rng.randrange(INSTANCES),
                  "status": rng.choice(STATUSES)}  # fmt: skip
        else:
            sid = rng.choice(sessions)
            op = {"op": "update", "sid": sid, "task": f"task of {sid}, version {i}", "files": i}
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
    from ait42_session import JsonSessionRepository, SqliteSessionRepository

    if store == "sqlite":
        return SqliteSessionRepository.with_path(path)
    if store == "json":
        return JsonSessionRepository(path)
    raise ValueError(f"unknown store {store!r}")


# --- the worker process -------------------------------------------------------------------------


def run_worker(spec: dict[str, Any]) -> int:
    """Apply the planned writes in order; append one line per write to the ack file.

    Lines: ``ready``; ``<i>`` when write i returned (acknowledged); ``<i> !<Error>`` when it
    raised a SessionError; ``<i> !!<Error>`` when it raised anything else; ``done``.
    With ``fsync`` each line is flushed and fsynced before the next write starts.
    ``writes`` None: write until killed.
    """
    from ait42_session import SessionError

    ops = itertools.islice(iter_ops(spec["seed"], spec["worker"], spec["prefix"]), spec["writes"])
    fd = os.open(spec["ack"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def say(line: str) -> None:
        os.write(fd, (line + "\n").encode())
        if spec["fsync"]:
            os.fsync(fd)

    try:
        repo = open_store(spec["store"], spec["path"])
    except SessionError as exc:
        say(f"-1 !{type(exc).__name__}")
        return 1
    say("ready")
    go = spec.get("go")
    while go and not os.path.exists(go):  # start together with the other workers
        time.sleep(0.002)
    for op in ops:
        try:
            apply_op(repo, spec["workspace"], op)
        except SessionError as exc:
            say(f"{op['i']} !{type(exc).__name__}")
            continue
        except Exception as exc:  # a raw exception: the contract says it must never happen
            say(f"{op['i']} !!{type(exc).__name__}")
            continue
        say(str(op["i"]))
    repo.close()
    say("done")
    os.close(fd)
    return 0


@dataclass
class Acks:
    ready: bool = False
    done: bool = False
    acked: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # write index -> error type
    raw: dict[int, str] = field(default_factory=dict)  # write index -> raw exception type

    @property
    def processed(self) -> int:
        return len(self.acked) + len(self.errors) + len(self.raw)


def read_acks(path: Path) -> Acks:
    acks = Acks()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return acks
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if line == "ready":
            acks.ready = True
        elif line == "done":
            acks.done = True
        elif word.lstrip("-").isdigit():
            index = int(word)
            if rest.startswith("!!"):
                acks.raw[index] = rest[2:]
            elif rest.startswith("!"):
                acks.errors[index] = rest[1:]
            elif not rest:
                acks.acked.append(index)
    return acks


_WORKER_CODE = (
    "import runpy, sys; sys.argv = [sys.argv[1], '_worker', sys.argv[2]]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def start_worker(spec: dict[str, Any], folder: Path) -> subprocess.Popen[bytes]:
    """This file in a new Python process (not ``python -m bench``: nothing else is imported,
    and no folder of this project is put first on the import path)."""
    name = f"{spec['prefix']}{spec['worker']}"
    spec_path = folder / f"spec-{name}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    with open(folder / f"stderr-{name}.txt", "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, str(Path(__file__).resolve()), str(spec_path)],
            cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


# --- checking what a store holds against what was acknowledged -------------------------------


def read_state(store: str, path: Path, workspace: str) -> tuple[dict[str, Any] | None, str]:
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
    later: dict[tuple[Any, ...], list[Any]] = {}  # field -> values of later attempted writes
    lost = []
    for op in reversed(ops):
        key, value = _value(op)
        if op["i"] in acked_set and _seen(sessions, key) not in (value, *later.get(key, ())):
            lost.append(op["i"])
        if op["i"] in attempted_set:
            later.setdefault(key, []).append(value)
    return sorted(lost)


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


# --- results --------------------------------------------------------------------------------


@dataclass
class Figures:
    scenario: str
    store: str
    attempted: int = 0
    acknowledged: int = 0
    errors: int = 0  # SessionError raised to the caller
    raw_errors: int = 0  # any other exception (must be 0 on both stores)
    lost: int = 0
    sessions_lost: int = 0  # sessions whose creation was acknowledged, missing afterwards
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


def _workspace(root: Path) -> str:
    folder = root / "workspace"
    folder.mkdir(exist_ok=True)
    return str(folder)


def _store_path(store: str, root: Path) -> Path:
    return root / ("sessions.db" if store == "sqlite" else "sessions")


def _stderr_note(folder: Path, spec_name: str) -> str:
    """The last line the worker wrote to stderr (its exception, if it died of one)."""
    try:
        lines = (folder / f"stderr-{spec_name}.txt").read_text("utf-8", "replace").split("\n")
    except OSError:
        return ""
    lines = [line for line in lines if line.strip()]
    return lines[-1] if lines else "(nothing on stderr)"


def run_concurrent(store: str, processes: int, writes: int, root: Path, seed: int = 1) -> Figures:
    """``processes`` workers × ``writes`` mixed writes on one store at once."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    workspace, path = _workspace(root), _store_path(store, root)
    open_store(store, path).close()  # the editor has its store before windows open
    go = root / "go"
    procs, acks_paths = [], []
    for worker in range(processes):
        ack = root / f"acks-{worker}.txt"
        spec = {"store": store, "path": str(path), "workspace": workspace, "worker": worker,
                "writes": writes, "seed": seed, "prefix": "c-", "ack": str(ack), "fsync": False,
                "go": str(go)}  # fmt: skip
        procs.append(start_worker(spec, root))
        acks_paths.append(ack)
    _wait_until(lambda: all(read_acks(a).ready or p.poll() is not None
                            for a, p in zip(acks_paths, procs)), 120)  # fmt: skip
    go.touch()
    figures = Figures("concurrent processes", store)
    for worker, proc in enumerate(procs):
        try:
            proc.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            figures.notes.append(f"worker {worker} hung and was killed after an hour")
        if proc.returncode != 0:
            note = _stderr_note(root, f"c-{worker}")
            figures.notes.append(f"worker {worker} exited with {proc.returncode}: {note}")
    sessions, reason = read_state(store, path, workspace)
    if sessions is None:
        figures.unreadable = 1
        figures.notes.append(f"unreadable afterwards: {reason}")
    figures.emptied = int(_emptied(store, path))
    for worker, ack in enumerate(acks_paths):
        ops = plan_ops(seed, worker, writes, "c-")
        acks = read_acks(ack)
        _count(figures, acks)
        figures.attempted += acks.processed
        attempted = [*acks.acked, *acks.errors, *acks.raw]
        lost = acks.acked if sessions is None else lost_writes(ops, acks.acked, attempted, sessions)
        figures.lost += len(lost)
        figures.sessions_lost += len(_created(ops, lost))
        if sessions is not None:
            figures.half_written += len(half_written(ops, sessions))
    figures.seconds = round(time.perf_counter() - started, 2)
    return figures


def run_kills(
    store: str, kills: int, root: Path, seed: int = 1, max_delay: float = 1.0,
    writes: int | None = None,
) -> Figures:
    """One writer killed with SIGKILL at a random moment, ``kills`` times, on one store.

    Each round's writer writes new sessions (``r<round>-...``), ``writes`` of them or (None)
    until it is killed, between 0 and ``max_delay`` seconds after it started writing. After
    each kill the store is read back
    and every acknowledged write of every round since the store was last found unreadable is
    checked. An unreadable store counts once, all its acknowledged writes count as lost, and
    it is moved aside so that the next round starts a new one (as a user would have to).
    """
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    workspace, path = _workspace(root), _store_path(store, root)
    figures = Figures("writer killed (SIGKILL)", store)
    history: list[tuple[int, list[dict[str, Any]], Acks, list[int]]] = []
    lost: set[tuple[int, int]] = set()
    lost_sessions: set[str] = set()
    damaged: set[str] = set()
    for round_ in range(kills):
        prefix = f"r{round_}-"
        ack = root / f"acks-r{round_}.txt"
        spec = {"store": store, "path": str(path), "workspace": workspace, "worker": 0,
                "writes": writes, "seed": seed, "prefix": prefix, "ack": str(ack), "fsync": True}  # fmt: skip
        proc = start_worker(spec, root)
        _wait_until(lambda: read_acks(ack).ready or proc.poll() is not None, 120)
        time.sleep(rng.uniform(0.0, max_delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        acks = read_acks(ack)
        if not acks.ready:
            note = _stderr_note(root, f"{prefix}0")
            figures.notes.append(f"round {round_}: the writer did not start: {note}")
        planned = acks.processed + 1 if writes is None else min(writes, acks.processed + 1)
        ops = plan_ops(seed, 0, planned, prefix)  # those it made, and the next one
        attempted = [*acks.acked, *acks.errors, *acks.raw]
        if not acks.done and acks.ready and acks.processed < len(ops):
            attempted.append(acks.processed)  # the write in flight at the kill (writes go in order)
        _count(figures, acks)
        figures.attempted += len(attempted)
        figures.kills_mid_run += int(acks.ready and not acks.done)
        history.append((round_, ops, acks, attempted))
        if _emptied(store, path) and any(h_acks.acked for _, _, h_acks, _ in history):
            figures.emptied += 1
            figures.notes.append(f"round {round_}: the store's file was left empty by the kill")
        sessions, reason = read_state(store, path, workspace)
        if sessions is None:
            figures.unreadable += 1
            figures.notes.append(f"round {round_}: unreadable after the kill: {reason}")
            for r, r_ops, r_acks, _ in history:
                lost.update((r, i) for i in r_acks.acked)
                lost_sessions.update(_created(r_ops, r_acks.acked))
            _move_aside(store, path, root / f"unreadable-{round_}")
            history = []
            continue
        for r, r_ops, r_acks, r_attempted in history:
            lost_now = lost_writes(r_ops, r_acks.acked, r_attempted, sessions)
            lost.update((r, i) for i in lost_now)
            lost_sessions.update(_created(r_ops, lost_now))
            damaged.update(half_written(r_ops, sessions))
    figures.lost = len(lost)
    figures.sessions_lost = len(lost_sessions)
    figures.half_written = len(damaged)
    figures.seconds = round(time.perf_counter() - started, 2)
    return figures


def _created(ops: list[dict[str, Any]], indexes: Iterable[int]) -> set[str]:
    """Ids of the sessions created by the writes at ``indexes``."""
    return {ops[i]["sid"] for i in indexes if ops[i]["op"] == "create"}


def _emptied(store: str, path: Path) -> bool:
    """True when the store's file exists and holds nothing (SIGKILL after a truncation)."""
    files = list(path.glob("*.json")) if store == "json" else [path]
    return any(f.is_file() and not f.read_bytes().strip() for f in files)


def _count(figures: Figures, acks: Acks) -> None:
    figures.acknowledged += len(acks.acked)
    figures.errors += len(acks.errors)
    figures.raw_errors += len(acks.raw)
    types = Counter(figures.error_types)
    types.update(acks.errors.values())
    types.update(f"raw {name}" for name in acks.raw.values())
    figures.error_types = dict(types)


def _move_aside(store: str, path: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if store == "json":
        if path.exists():
            shutil.move(str(path), target / path.name)
        return
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            shutil.move(str(part), target / part.name)


def _wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("a worker did not start in time")
        time.sleep(0.005)


# --- the report -----------------------------------------------------------------------------

COLUMNS = (
    ("Scenario", "scenario"), ("Store", "store"), ("Writes attempted", "attempted"),
    ("Acknowledged", "acknowledged"), ("Errors raised to the caller", "errors"),
    ("Writes lost", "lost"), ("Sessions lost", "sessions_lost"),
    ("Sessions half written", "half_written"), ("Files left empty", "emptied"),
    ("Files or databases left unreadable", "unreadable"),
)  # fmt: skip


def markdown(results: list[Figures], params: dict[str, Any], env: dict[str, Any]) -> str:
    lines = [
        "# Reliability: the JSON store and the SQLite store under the same load",
        "",
        f"{params['processes']} processes × {params['writes']} mixed writes at once on one "
        f"store; one writer, writing until killed, killed with SIGKILL {params['kills']} times "
        f"at a random moment up to {params['max_delay']} s after it started. Seed "
        f"{params['seed']}. Python {env['python']}, SQLite {env['sqlite']}, {env['cpus']} CPUs.",
        "",
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|" + "|".join("---" if key in ("scenario", "store") else "---:" for _, key in COLUMNS)
        + "|",
    ]
    for fig in results:
        row = asdict(fig)
        lines.append("| " + " | ".join(str(row[key]) for _, key in COLUMNS) + " |")
    lines += [
        "",
        "A write is *acknowledged* when the call returned without an error; it is *lost* when it "
        "is acknowledged but not in the store afterwards (and no later write of the same field "
        "replaced it); *sessions lost* counts acknowledged creations among them. For killed "
        "writers, *attempted* includes the write in flight at each kill. *Half written*: a "
        "session that no sequence of its writes could have produced. *Left empty*: the store's "
        "file found empty after acknowledged writes (the JSON store then reads no sessions at "
        "all, without an error). An unreadable store counts all its acknowledged writes as "
        "lost, and is moved aside so that the next round starts afresh.",
        "",
    ]
    for fig in results:
        extra = []
        if fig.error_types:
            counts = sorted(fig.error_types.items())
            extra.append("errors: " + ", ".join(f"{name} {n}" for name, n in counts))
        if fig.raw_errors:
            extra.append(f"raw exceptions (outside the contract): {fig.raw_errors}")
        if fig.scenario.startswith("writer killed"):
            kills = f"{fig.kills_mid_run} of {params['kills']}"
            extra.append(f"{kills} kills landed while it was writing")
        extra.append(f"{fig.seconds} s")
        lines.append(f"- {fig.scenario}, {fig.store}: " + "; ".join(extra))
        lines += [f"  - {note}" for note in fig.notes[:10]]
        if len(fig.notes) > 10:
            lines.append(f"  - ... and {len(fig.notes) - 10} more notes in results.json")
    return "\n".join(lines) + "\n"


def environment() -> dict[str, Any]:
    import apsw

    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "sqlite": apsw.sqlite_lib_version(),
        "apsw": apsw.apsw_version(), "loadavg": load,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip


def run(params: dict[str, Any], work_dir: Path) -> list[Figures]:
    """Both scenarios on both stores (JSON first), in ``work_dir``."""
    results = []
    for store in STORES:
        results.append(run_concurrent(store, params["processes"], params["writes"],
                                      work_dir / f"concurrent-{store}", params["seed"]))  # fmt: skip
    for store in STORES:
        results.append(run_kills(store, params["kills"], work_dir / f"kills-{store}",
                                 params["seed"], params["max_delay"]))  # fmt: skip
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench reliability",
        description="Concurrent writers and killed writers on the JSON store and on SQLite: "
        "what each loses. Prints a Markdown table; saves report.md and results.json.",
    )
    parser.add_argument("--processes", type=int, help=f"concurrent writer processes (default {FULL['processes']}, quick {QUICK['processes']})")  # fmt: skip
    parser.add_argument("--writes", type=int, help=f"writes per concurrent process (default {FULL['writes']}, quick {QUICK['writes']}); a killed writer writes until killed")  # fmt: skip
    parser.add_argument("--kills", type=int, help=f"times the writer is killed, per store (default {FULL['kills']}, quick {QUICK['kills']})")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small counts, for a quick look")
    parser.add_argument("--seed", type=int, default=1, help="seed of the writes and kill times")
    parser.add_argument("--max-delay", type=float, help=f"longest wait before a kill, in seconds (default {FULL['max_delay']}, quick {QUICK['max_delay']})")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("results") / "reliability", help="folder for report.md and results.json (default results/reliability)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the stores and ack files (printed path)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        return run_worker(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    args = _parser().parse_args(argv)
    base = QUICK if args.quick else FULL
    params = {key: getattr(args, key) or base[key] for key in ("processes", "writes", "kills")}
    for key, value in params.items():
        if value < 1:
            _parser().error(f"--{key} must be at least 1")
    max_delay = base["max_delay"] if args.max_delay is None else args.max_delay
    if max_delay < 0:
        _parser().error("--max-delay must not be negative")
    params.update(seed=args.seed, max_delay=max_delay, quick=args.quick)
    work_dir = Path(tempfile.mkdtemp(prefix="ait42-reliability-"))
    try:
        results = run(params, work_dir)
    finally:
        if args.keep:
            print(f"stores and ack files kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    from bench.environment import scrub  # here: the workers load this file on its own

    env = environment()
    # The scratch folder is this machine's; the saved figures name files relative to it.
    report = scrub(markdown(results, params, env).replace(str(work_dir), "<work>"))
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(report, encoding="utf-8")
    payload = {"params": params, "environment": env, "results": [asdict(r) for r in results]}
    text = scrub(json.dumps(payload, indent=2).replace(str(work_dir), "<work>"))
    (args.out / "results.json").write_text(text + "\n", encoding="utf-8")
    print(f"saved {args.out / 'report.md'} and {args.out / 'results.json'}", file=sys.stderr)
    return 0 if all(fig.sqlite_promise_kept() for fig in results) else 1


if __name__ == "__main__":
    sys.exit(main())
