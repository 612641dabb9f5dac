"""Writes as a long-lived store lives them: one repository, many consecutive calls.

``python -m bench compare`` times each write in pyperf worker processes that make a handful of
calls and close; SQLite's automatic WAL checkpoint then mostly runs at close, untimed. Here one
repository per store and scenario makes ``--calls`` consecutive calls on a working copy (with
the scenario's untimed restores between them, as in ``compare``), so the WAL accumulates and
the checkpoints land inside the calls that cross SQLite's bound, as in the editor's sidecar.
Each call's time is its own (no loop averaging). A call *paid a checkpoint* when the database
file changed during it: in WAL mode only a checkpoint writes that file. Percentiles are of
single calls: p50, p99, p99.9, max.

The JSON store has no checkpoint; its calls are the whole-file rewrite every time, so it runs
for at most ``--json-seconds`` per scenario, for its own percentiles beside SQLite's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .backends import open_case
from .environment import describe
from .scenarios import SCENARIOS
from .stats import summary
from .stores import build, default_cache_dir, working_copy
from .workloads import PROFILES, Workload

__all__ = ["main", "sustain"]

WRITES = [name for name, s in SCENARIOS.items() if s.kind == "write"]
DEFAULT_SCENARIOS = [
    "create_session", "update_session", "stream_output", "append_output", "delete_session",
    "add_chat_message", "update_instance_status",
]  # fmt: skip


def _stamp(db: Path) -> tuple[int, int]:
    stat = os.stat(db)
    return stat.st_mtime_ns, stat.st_size


def sustain(
    backend: str, scenario: str, paths: Any, workload: Workload, calls: int, seconds: float
) -> dict[str, Any]:
    """``calls`` consecutive timed calls (fewer if ``seconds`` run out) of one scenario on one
    open store: per-call milliseconds, and how many calls paid a checkpoint."""
    case, close = open_case(backend, scenario, paths, workload)
    times: list[float] = []
    paid = 0
    watch = paths.db if backend == "sqlite" else None
    try:
        deadline = time.monotonic() + seconds
        while len(times) < calls and time.monotonic() < deadline:
            if case.before:
                case.before()
            stamp = _stamp(watch) if watch else None
            started = time.perf_counter()
            got = case.run()
            times.append((time.perf_counter() - started) * 1000)
            if watch and _stamp(watch) != stamp:
                paid += 1
            case.check(got)
            if case.after:
                case.after()
    finally:
        close()
    stats = summary(times)
    return {
        **stats,
        "p99.9": float(np.percentile(times, 99.9)),
        "checkpoints": paid if watch else None,
        "values_ms": [round(t, 4) for t in times],
    }


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Store | Calls | p50 ms | p99 ms | p99.9 ms | max ms | calls that paid a checkpoint |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for scenario, stores in results["scenarios"].items():
        for store, r in stores.items():
            paid = "—" if r["checkpoints"] is None else str(r["checkpoints"])
            lines.append(
                f"| `{scenario}` | {store} | {r['n']} | {r['median']:.2f} | {r['p99']:.2f} "
                f"| {r['p99.9']:.2f} | {r['max']:.2f} | {paid} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench sustained", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument("--scale", type=int, default=1000, help="sessions (default 1000)")
    parser.add_argument("--calls", type=int, default=3000,
                        help="consecutive calls per scenario on SQLite (default 3000)")  # fmt: skip
    parser.add_argument("--sqlite-seconds", type=float, default=120.0,
                        help="at most this long per scenario on SQLite (default 120)")  # fmt: skip
    parser.add_argument("--json-seconds", type=float, default=20.0,
                        help="at most this long per scenario on the JSON store (default 20)")  # fmt: skip
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                        help=f"write scenarios (default {','.join(DEFAULT_SCENARIOS)})")  # fmt: skip
    parser.add_argument("--backends", default="json,sqlite")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--out", type=Path, default=Path("results") / "sustained")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in WRITES]
    backends = [b for b in args.backends.split(",") if b]
    if unknown or not set(backends) <= {"json", "sqlite"}:
        parser.error(f"write scenarios are {', '.join(WRITES)}; backends json, sqlite")
    workload = Workload(args.profile, args.scale, args.seed)
    paths = build(workload, args.cache, json_store="json" in backends)
    results: dict[str, Any] = {
        "environment": describe(),
        "workload": {"profile": args.profile, "n": args.scale, "seed": args.seed},
        "calls": args.calls,
        "scenarios": {},
    }
    for scenario in scenarios:
        for backend in backends:
            work = working_copy(paths, args.cache / "work" / "sustained",
                                json_store=backend == "json", sqlite_store=backend == "sqlite")  # fmt: skip
            seconds = args.json_seconds if backend == "json" else args.sqlite_seconds
            r = sustain(backend, scenario, work, workload, args.calls, seconds)
            results["scenarios"].setdefault(scenario, {})[backend] = r
            print(f"{scenario:<24} {backend:<6} {r['n']:>5} calls  p50 {r['median']:.2f}  "
                  f"p99 {r['p99']:.2f}  p99.9 {r['p99.9']:.2f}  max {r['max']:.2f} ms  "
                  f"checkpoints {r['checkpoints']}", file=sys.stderr)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{args.profile}-n{args.scale}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    table = _table(results)
    stem.with_suffix(".md").write_text(
        f"# Sustained writes, {args.profile} profile, {args.scale:,} sessions\n\n"
        f"Commit {results['environment'].get('commit', '?')}; `python -m bench sustained "
        f"--profile {args.profile} --scale {args.scale} --calls {args.calls}`. One store per "
        "scenario making consecutive calls; see `bench/sustained.py`.\n\n" + table + "\n"
    )
    print(table)
    return 0
