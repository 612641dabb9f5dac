"""The pyperf program: one scenario on one backend, as a pyperf benchmark.

``python -m bench compare`` starts it once per (round, scenario, backend), in shuffled backend
order, each time with ``--append`` to ``<out>/pyperf/<backend>-n<N>.json``; pyperf then spawns
its worker process(es), which re-run this module with the same flags (``add_cmdline_args``),
open the store and time the case. The benchmark is named after the scenario, so
``python -m pyperf compare_to json-n100.json sqlite-n100.json --table`` compares the stores.
Each run carries ``bench_round`` (and the backend, profile and size) in its metadata, which the
parent uses to pair values measured close together in time.

Loops are fixed by the parent (``--loops``), from the probe, so pyperf's calibration (which
counts only timed seconds and balloons on writes with untimed restores) never runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pyperf

from .timing import time_case
from .workloads import Workload

_PREFIX = "bench-"  # pyperf owns --profile, -n, ... and parses the same command line
_OWN = ("store", "backend", "scenario", "round")


class _LazyCase:
    """Opens the store on the first timed call (outside the timer), in the worker only."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.case: Any = None

    def __call__(self, loops: int) -> float:
        if self.case is None:
            from .backends import open_case
            from .stores import StorePaths

            a = self.args
            self.case, _close = open_case(
                a.bench_backend,
                a.bench_scenario,
                StorePaths(Path(a.bench_store)),
                Workload.from_args(a, _PREFIX),
            )
        return time_case(loops, self.case)


def _forward(cmd: list[str], args: argparse.Namespace) -> None:
    """pyperf's hook: the flags its worker processes get."""
    for name in _OWN:
        cmd.extend([f"--bench-{name}", str(getattr(args, f"bench_{name}"))])
    cmd.extend(Workload.from_args(args, _PREFIX).to_args(_PREFIX))


def main() -> None:
    runner = pyperf.Runner(
        add_cmdline_args=_forward, program_args=("-m", "bench.pyperf_suite")
    )
    parser = runner.argparser
    parser.add_argument(
        "--bench-store", required=True, help="store folder (a working copy)"
    )
    parser.add_argument("--bench-backend", required=True)
    parser.add_argument("--bench-scenario", required=True)
    parser.add_argument("--bench-round", type=int, default=0)
    Workload.add_arguments(parser, _PREFIX)
    args = runner.parse_args()
    workload = Workload.from_args(args, _PREFIX)
    runner.metadata.update(
        bench_round=args.bench_round,
        bench_backend=args.bench_backend,
        bench_profile=workload.profile,
        bench_sessions=workload.n,
    )
    runner.bench_time_func(args.bench_scenario, _LazyCase(args))


if __name__ == "__main__":
    main()
