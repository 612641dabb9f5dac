"""The two runs, each on one store in a scratch folder: ``run_concurrent`` (processes writing at
once) and ``run_kills`` (a writer killed with SIGKILL, again and again); ``run`` makes both on
both stores."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from .losses import (
    Figures,
    count_acks,
    created_sessions,
    half_written,
    left_empty,
    lost_writes,
    read_state,
)
from .workers import Acks, read_acks, start_worker, stderr_note, wait_until
from .writes import STORES, open_store, plan_ops


def make_workspace(root: Path) -> str:
    """The workspace folder the writers write to (``root/workspace``, created)."""
    folder = root / "workspace"
    folder.mkdir(exist_ok=True)
    return str(folder)


def store_path(store: str, root: Path) -> Path:
    """Where a run keeps its store: the SQLite database file, or the JSON store's folder."""
    return root / ("sessions.db" if store == "sqlite" else "sessions")


def run_concurrent(
    store: str,
    processes: int,
    writes: int,
    root: Path,
    seed: int = 1,
    dsn: str | None = None,
) -> Figures:
    """``processes`` workers × ``writes`` mixed writes on one store at once (``dsn``: the
    PostgreSQL database, for ``store="postgres"``)."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    workspace = make_workspace(root)
    path: Any = dsn if store == "postgres" else store_path(store, root)
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
    wait_until(lambda: all(read_acks(a).ready or p.poll() is not None
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
            note = stderr_note(root, f"c-{worker}")
            figures.notes.append(
                f"worker {worker} exited with {proc.returncode}: {note}"
            )
    sessions, reason = read_state(store, path, workspace)
    if sessions is None:
        figures.unreadable = 1
        figures.notes.append(f"unreadable afterwards: {reason}")
    figures.emptied = int(left_empty(store, path))
    for worker, ack in enumerate(acks_paths):
        ops = plan_ops(seed, worker, writes, "c-")
        acks = read_acks(ack)
        count_acks(figures, acks)
        figures.attempted += acks.processed
        attempted = [*acks.acked, *acks.errors, *acks.raw]
        lost = (
            acks.acked
            if sessions is None
            else lost_writes(ops, acks.acked, attempted, sessions)
        )
        figures.lost += len(lost)
        figures.sessions_lost += len(created_sessions(ops, lost))
        if sessions is not None:
            figures.half_written += len(half_written(ops, sessions))
    figures.seconds = round(time.perf_counter() - started, 2)
    return figures


def run_kills(
    store: str,
    kills: int,
    root: Path,
    seed: int = 1,
    max_delay: float = 1.0,
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
    workspace, path = make_workspace(root), store_path(store, root)
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
        wait_until(lambda: read_acks(ack).ready or proc.poll() is not None, 120)
        time.sleep(rng.uniform(0.0, max_delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        acks = read_acks(ack)
        if not acks.ready:
            note = stderr_note(root, f"{prefix}0")
            figures.notes.append(f"round {round_}: the writer did not start: {note}")
        planned = (
            acks.processed + 1 if writes is None else min(writes, acks.processed + 1)
        )
        ops = plan_ops(seed, 0, planned, prefix)  # those it made, and the next one
        attempted = [*acks.acked, *acks.errors, *acks.raw]
        if not acks.done and acks.ready and acks.processed < len(ops):
            attempted.append(
                acks.processed
            )  # the write in flight at the kill (writes go in order)
        count_acks(figures, acks)
        figures.attempted += len(attempted)
        figures.kills_mid_run += int(acks.ready and not acks.done)
        history.append((round_, ops, acks, attempted))
        if left_empty(store, path) and any(h_acks.acked for _, _, h_acks, _ in history):
            figures.emptied += 1
            figures.notes.append(
                f"round {round_}: the store's file was left empty by the kill"
            )
        sessions, reason = read_state(store, path, workspace)
        if sessions is None:
            figures.unreadable += 1
            figures.notes.append(f"round {round_}: unreadable after the kill: {reason}")
            for r, r_ops, r_acks, _ in history:
                lost.update((r, i) for i in r_acks.acked)
                lost_sessions.update(created_sessions(r_ops, r_acks.acked))
            _move_aside(store, path, root / f"unreadable-{round_}")
            history = []
            continue
        for r, r_ops, r_acks, r_attempted in history:
            lost_now = lost_writes(r_ops, r_acks.acked, r_attempted, sessions)
            lost.update((r, i) for i in lost_now)
            lost_sessions.update(created_sessions(r_ops, lost_now))
            damaged.update(half_written(r_ops, sessions))
    figures.lost = len(lost)
    figures.sessions_lost = len(lost_sessions)
    figures.half_written = len(damaged)
    figures.seconds = round(time.perf_counter() - started, 2)
    return figures


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
