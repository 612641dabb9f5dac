"""An open-loop replay at the editor's pace, through the sidecar: the latency a user feels.

A real ``ait42-session serve`` process on a working copy of a built store (its WAL and
checkpoints accumulating as in the editor's long-lived sidecar). ``agents`` running agents
each append 1 KB to their own output every ``interval`` seconds (the editor persisting output
as it streams, ``append_instance_output``); beside them the board reads a running session
every second (``get_session``) and lists the workspace's first page every five
(``list_sessions``, 50). Requests go out at their scheduled times whether earlier answers have
come or not (open loop), and each latency runs from the scheduled time to its answer, so a
stall counts against every request queued behind it too (no coordinated omission).

Each run is made once per ``--idle-after`` value (the sidecar's quiet spell before it
checkpoints; 0: never, which leaves every checkpoint to the automatic one inside a write), on
a fresh copy of the store, so the settings are compared in one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from .environment import describe
from .stats import summary
from .stores import build, default_cache_dir, working_copy
from .text import corpus
from .workloads import PROFILES, Workload

__all__ = ["main", "replay", "schedule"]

_STEP_CHARS = 1_000


def schedule(
    agents: int, seconds: float, interval: float, seed: int
) -> list[tuple[float, str, dict[str, Any]]]:
    """(when, method, params) of every request, in time order; agents start out of phase."""
    rng = random.Random(f"open-loop:{seed}")
    text = corpus(seed)
    calls: list[tuple[float, str, dict[str, Any]]] = []
    for agent in range(agents):
        at = rng.uniform(0, interval)
        while at < seconds:
            step = text.output(rng, _STEP_CHARS)
            calls.append((at, "append_instance_output", {
                "sessionId": f"open-loop-{agent}", "instanceId": 0, "text": step,
            }))  # fmt: skip
            at += interval
    for second in range(int(seconds)):
        agent = rng.randrange(agents)
        calls.append((second + 0.5, "get_session", {"sessionId": f"open-loop-{agent}"}))
        if second % 5 == 0:
            calls.append((second + 0.25, "list_sessions", {"limit": 50}))
    calls.sort(key=lambda call: call[0])
    return calls


class _Sidecar:
    """A sidecar process; requests written by one thread, answers timed by another."""

    def __init__(self, db: Path, idle_after: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ait42_session", "--db", str(db), "serve",
             "--idle-after", str(idle_after)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        self.answered: dict[int, float] = {}
        self.errors: list[Any] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            answer = msgspec.json.decode(line)
            self.answered[answer["id"]] = time.perf_counter()
            if answer.get("error") is not None:
                self.errors.append(answer["error"])

    def send(self, method: str, params: dict[str, Any]) -> int:
        assert self.proc.stdin is not None
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(msgspec.json.encode(request) + b"\n")
        self.proc.stdin.flush()
        return self.next_id

    def wait_for(self, request_id: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while request_id not in self.answered:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"the sidecar gave no answer to request {request_id}")
            time.sleep(0.001)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)


def replay(
    db: Path,
    workspace: str,
    running: dict[str, Any],
    *,
    agents: int,
    seconds: float,
    interval: float,
    idle_after: float,
    seed: int,
) -> dict[str, Any]:
    """One open-loop run on the database ``db``; latencies by method, in ms."""
    sidecar = _Sidecar(db, idle_after)
    try:
        for agent in range(agents):  # the running sessions, untimed
            session = {**running, "id": f"open-loop-{agent}"}
            sidecar.wait_for(sidecar.send(
                "upsert_session", {"workspacePath": workspace, "session": session}))  # fmt: skip
        calls = schedule(agents, seconds, interval, seed)  # made before the clock starts
        time.sleep(1.0)  # what setting up wrote is checkpointed (or not) as the setting says
        sent: list[tuple[int, str, float]] = []
        late = 0.0  # how far behind its schedule the sender ever was (should be ~0)
        start = time.perf_counter()
        for at, method, params in calls:
            due = start + at
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            late = max(late, time.perf_counter() - due)
            request_id = sidecar.send(method, {"workspacePath": workspace, **params})
            sent.append((request_id, method, due))
        for request_id, _, _ in sent:
            sidecar.wait_for(request_id)
    finally:
        sidecar.close()
    if sidecar.errors:
        raise RuntimeError(f"the sidecar answered errors: {sidecar.errors[:3]}")
    by_method: dict[str, list[float]] = {}
    for request_id, method, due in sent:
        latency = (sidecar.answered[request_id] - due) * 1000
        by_method.setdefault(method, []).append(latency)
        by_method.setdefault("all", []).append(latency)
    return {
        **{method: {**summary(values), "p99.9": float(np.percentile(values, 99.9)),
                    "over_5ms": sum(v > 5 for v in values)}
           for method, values in by_method.items()},
        "sender_late_ms": late * 1000,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench open-loop", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument("--scale", type=int, default=1000, help="sessions (default 1000)")
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between an agent's appends (default 0.5)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=60.0, help="per run (default 60)")
    parser.add_argument("--idle-after", default="0,0.05,0.1,0.25,1",
                        help="the sidecar's quiet spells to compare (default 0,0.05,0.1,0.25,1)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--out", type=Path, default=Path("results") / "open-loop")
    args = parser.parse_args(argv)
    workload = Workload(args.profile, args.scale, args.seed)
    paths = build(workload, args.cache, json_store=False)
    data = paths.data()
    running = data["stream"]["a"]  # a running session with a 200 KB output
    runs = {}
    for text in args.idle_after.split(","):
        idle_after = float(text)
        work = working_copy(paths, args.cache / "work" / "open-loop", json_store=False,
                            sqlite_store=True)  # fmt: skip
        runs[text] = replay(
            work.db, data["workspace"], running, agents=args.agents, seconds=args.seconds,
            interval=args.interval, idle_after=idle_after, seed=args.seed,
        )  # fmt: skip
        every = runs[text]["all"]
        print(f"idle-after {text:>5} s: {every['n']:.0f} calls, median {every['median']:.2f} ms, "
              f"p99 {every['p99']:.2f}, p99.9 {every['p99.9']:.2f}, max {every['max']:.2f}, "
              f"{every['over_5ms']} over 5 ms (sender at most "
              f"{runs[text]['sender_late_ms']:.2f} ms late)", file=sys.stderr)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "environment": describe(),
        "workload": {"profile": args.profile, "n": args.scale, "seed": args.seed},
        "pace": {"agents": args.agents, "interval": args.interval, "seconds": args.seconds},
        "runs": runs,
    }
    stem = args.out / f"{args.profile}-n{args.scale}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(_report(result, _command_text(args)))
    print(stem.with_suffix(".md"))
    return 0


def _command_text(args: argparse.Namespace) -> str:
    return (f"python -m bench open-loop --profile {args.profile} --scale {args.scale} "
            f"--agents {args.agents} --interval {args.interval:g} --seconds {args.seconds:g} "
            f"--idle-after {args.idle_after}")  # fmt: skip


def _report(result: dict[str, Any], command: str) -> str:
    env, pace = result["environment"], result["pace"]
    lines = [
        f"# Open loop through the sidecar, {result['workload']['profile']} profile, "
        f"{result['workload']['n']:,} sessions",
        "",
        f"Commit {env.get('commit')}{' (with changes)' if env.get('dirty') else ''}; "
        f"`{command}`. {pace['agents']} agents appending 1 KB every {pace['interval']:g} s, "
        "the board reading a session every second and listing a page every five; latency "
        "from each request's scheduled time to its answer (see `bench/open_loop.py`).",
        "",
        "| `--idle-after` | calls | p50 ms | p99 ms | p99.9 ms | max ms | over 5 ms "
        "| appends p50 / p99 ms | sender late, ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for setting, run in result["runs"].items():
        every, appends = run["all"], run["append_instance_output"]
        lines.append(
            f"| {setting} | {every['n']} | {every['median']:.2f} | {every['p99']:.2f} "
            f"| {every['p99.9']:.2f} | {every['max']:.2f} | {every['over_5ms']} "
            f"| {appends['median']:.2f} / {appends['p99']:.2f} | {run['sender_late_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"
