"""Processes writing at once, and writers killed with SIGKILL: SQLite loses nothing.

The same workload runs on the editor's JSON store for comparison. The workload, the worker
processes and the loss accounting are ``bench/reliability/``'s (which runs them at full count);
here they run at a reduced count. Killed writers acknowledge each write that returned with a
line in a file (flush + fsync) before starting the next one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ait42_session import (
    JsonSessionRepository,
    SqliteSessionRepository,
    StoreCorruptedError,
)
from faultvfs import FaultVFS, crash_sessions

ROOT = Path(__file__).resolve().parents[1]
if (
    str(ROOT) not in sys.path
):  # bench/ is not installed: plain `pytest` needs the repo root
    sys.path.insert(0, str(ROOT))  # (these tests then run from any folder)

from bench import reliability  # noqa: E402

FAULTVFS = Path(__file__).resolve().parent / "faultvfs.py"
PROCESSES, WRITES = 4, 50
KILLS = 8


# --- processes writing at once -------------------------------------------------------------------


def test_processes_writing_one_sqlite_file_at_once_lose_nothing_and_see_no_error(
    tmp_path,
):
    figures = reliability.run_concurrent("sqlite", PROCESSES, WRITES, tmp_path)
    assert figures.notes == []
    assert figures.attempted == PROCESSES * WRITES
    assert (
        figures.acknowledged == PROCESSES * WRITES
    )  # busy was absorbed: no error reached one
    assert (figures.errors, figures.raw_errors) == (0, 0)
    assert (figures.lost, figures.half_written, figures.unreadable) == (0, 0, 0)


def test_the_json_store_under_the_same_load_loses_writes_and_reports_only_contract_errors(
    tmp_path,
):
    figures = reliability.run_concurrent("json", PROCESSES, WRITES, tmp_path)
    assert figures.attempted == PROCESSES * WRITES
    assert (
        figures.raw_errors == 0
    )  # its failures are SessionErrors (e.g. StoreCorruptedError)
    assert set(figures.error_types) <= {
        "NotFoundError",
        "StoreCorruptedError",
        "DatabaseError",
    }
    # No lock and an in-place rewrite: writers overwrite each other (lost updates, files that
    # interleave two writes). With 4 processes on one file this has never come out clean.
    assert figures.lost + figures.errors + figures.unreadable > 0


# --- writers killed at random moments ------------------------------------------------------------


def project(session: Any) -> dict[str, Any]:
    return {
        "task": session.task,
        "files": session.total_files_changed,
        "statuses": [i.status for i in session.instances],
        "messages": [m.id for m in session.chat_history],
    }


def planned_state(ops: list[dict[str, Any]], count: int) -> dict[str, dict[str, Any]]:
    """What the first ``count`` planned writes leave, projected like ``project``."""
    state: dict[str, dict[str, Any]] = {}
    for op in ops[:count]:
        sid = op["sid"]
        if op["op"] == "create":
            state[sid] = {"task": f"task of {sid}", "files": None,
                          "statuses": ["running"] * reliability.INSTANCES, "messages": [f"{sid}-m"]}  # fmt: skip
        elif op["op"] == "message":
            state[sid]["messages"].append(op["mid"])
        elif op["op"] == "status":
            state[sid]["statuses"][op["instance"]] = op["status"]
        else:
            state[sid].update(task=op["task"], files=op["files"])
    return state


def test_a_sqlite_writer_killed_mid_write_leaves_exactly_its_acknowledged_writes(
    tmp_path,
):
    """After each kill the database holds the acknowledged writes of every round, and the write
    in flight either whole or not at all: never part of it, never anything else."""
    rng = random.Random(3)
    workspace, db = reliability.make_workspace(tmp_path), tmp_path / "sessions.db"
    rounds = []
    for round_ in range(KILLS):
        prefix, ack = f"r{round_}-", tmp_path / f"acks-{round_}.txt"
        spec = {"store": "sqlite", "path": str(db), "workspace": workspace, "worker": 0,
                "writes": None, "seed": 5, "prefix": prefix, "ack": str(ack), "fsync": True}  # fmt: skip
        proc = reliability.start_worker(spec, tmp_path)

        def started() -> bool:
            return reliability.read_acks(ack).ready or proc.poll() is not None

        reliability.wait_until(started, 60)
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        acks = reliability.read_acks(ack)
        assert (
            acks.ready and not acks.done
        ), "the kill should land while the writer writes"
        assert (
            acks.acked == list(range(len(acks.acked)))
            and not acks.errors
            and not acks.raw
        )
        acked = len(acks.acked)
        rounds.append((prefix, reliability.plan_ops(5, 0, acked + 1, prefix), acked))
        with SqliteSessionRepository.with_path(db) as repo:
            assert repo.pool.verify_integrity()
            sessions = repo.get_all_sessions(workspace)
        for prefix_, ops, acked in rounds:
            stored = {s.id: project(s) for s in sessions if s.id.startswith(prefix_)}
            assert stored in (
                planned_state(ops, acked),
                planned_state(ops, acked + 1),
            ), prefix_
        assert len(sessions) == sum(len({s.id for s in sessions if s.id.startswith(p)})
                                    for p, _, _ in rounds)  # fmt: skip


def test_a_sqlite_writer_killed_at_random_many_times_loses_no_acknowledged_write(
    tmp_path,
):
    figures = reliability.run_kills("sqlite", KILLS, tmp_path, seed=11, max_delay=0.4)
    assert figures.notes == []
    assert figures.kills_mid_run == KILLS
    assert figures.acknowledged > 0
    assert (figures.errors, figures.raw_errors) == (0, 0)
    assert (figures.lost, figures.half_written, figures.unreadable) == (0, 0, 0)


def test_a_json_writer_killed_at_random_reports_damage_only_as_contract_errors(
    tmp_path,
):
    figures = reliability.run_kills("json", 6, tmp_path, seed=11, max_delay=0.4)
    assert figures.acknowledged > 0
    assert figures.raw_errors == 0
    assert figures.lost <= figures.acknowledged
    for (
        note
    ) in figures.notes:  # a file left empty, or a damaged one reported by its name
        assert "left empty" in note or (
            "StoreCorruptedError" in note and ".json" in note
        ), note


# --- a kill at each write of a commit (SQLite's crash tests) -------------------------------------


def run_child(
    store: str, path: Path, workspace: str, ack: Path, stop_at: int, *extra: str
) -> bool:
    """Start the crash child; SIGKILL it where it stopped itself. True when it stopped there."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(FAULTVFS),
            store,
            str(path),
            workspace,
            str(ack),
            str(stop_at),
            *extra,
        ],
        stderr=subprocess.PIPE,
    )
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        proc.kill()
        proc.wait()
        return True
    error = proc.stderr.read().decode() if proc.stderr else ""
    assert os.waitstatus_to_exitcode(status) == 0, error
    return False


def calls_during(tmp_path: Path, workspace: str, checkpoint: bool) -> int:
    """How many writes and syncs of the database and WAL the in-flight step makes."""
    acked, in_flight = crash_sessions()
    vfs = FaultVFS()
    try:
        with SqliteSessionRepository.with_path(
            tmp_path / "dry.db", vfs=vfs.name
        ) as repo:
            for session in acked:
                repo.create_session(workspace, session)
            if checkpoint:
                repo.create_session(workspace, in_flight)
            vfs.reset_counts()
            (
                repo.pool.optimize()
                if checkpoint
                else repo.create_session(workspace, in_flight)
            )
            return sum(vfs.count(m, ("main", "wal")) for m in ("xWrite", "xSync"))
    finally:
        vfs.close()


def spread(total: int, points: int = 7) -> list[int]:
    step = max(1, (total - 1) / (points - 1))
    return sorted({min(total - 1, round(n * step)) for n in range(points)})


@pytest.mark.parametrize("step", ["commit", "checkpoint"])
def test_a_kill_at_any_write_or_sync_of_a_commit_or_checkpoint_leaves_a_whole_database(
    tmp_path, workspace, step
):
    acked, in_flight = crash_sessions()
    total = calls_during(tmp_path, workspace, step == "checkpoint")
    assert total >= 10  # the large session spans many pages: many points to crash at
    for point in spread(total):
        db, ack = tmp_path / f"at-{point}.db", tmp_path / f"acks-{point}.txt"
        extra = ("checkpoint",) if step == "checkpoint" else ()
        assert run_child(
            "sqlite", db, workspace, ack, point, *extra
        ), f"no stop at {point}"
        acknowledged = ack.read_text().split()
        assert acknowledged[:3] == [s.id for s in acked]
        with SqliteSessionRepository.with_path(db) as repo:
            assert repo.pool.verify_integrity()
            stored = {s.id: s.to_json() for s in repo.get_all_sessions(workspace)}
        for session in acked:
            assert stored.pop(session.id) == session.to_json()
        if in_flight.id in acknowledged:
            assert stored == {in_flight.id: in_flight.to_json()}
        else:  # in flight at the kill: all of it or nothing
            assert stored in (
                {},
                {in_flight.id: in_flight.to_json()},
            ), f"kill at {point}"


@pytest.mark.parametrize("at", [0, 4096, 20_000])
def test_a_json_writer_killed_inside_its_rewrite_loses_every_session_of_the_workspace(
    tmp_path, workspace, at
):
    sessions_dir, ack = tmp_path / "sessions", tmp_path / "acks.txt"
    assert run_child("json", sessions_dir, workspace, ack, at)
    assert ack.read_text().split() == ["acked-0", "acked-1", "acked-2"]
    repo = JsonSessionRepository(sessions_dir)
    if (
        at == 0
    ):  # killed just after the truncation: an empty file reads as no sessions at all
        assert repo.get_all_sessions(workspace) == []
    else:  # a truncated array: the whole workspace is unreadable, and the error names the file
        with pytest.raises(StoreCorruptedError, match=r"[0-9a-f]{16}\.json"):
            repo.get_all_sessions(workspace)
