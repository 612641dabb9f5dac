"""One scenario on one backend in a fresh process: a few timed calls and the peak memory.

``python -m bench.probe --store DIR --backend B --scenario S --profile P --sessions N --seed S``
prints one JSON object: ``times`` (seconds per call, the first one cold), ``peak_bytes`` (the
resident-set growth during the first call: Linux's high-water mark, reset just before it) and
``ok``; or ``ok: false`` with the error, e.g. a floor whose SQLite cannot run the statement.
The parent uses it to check the answer, to size pyperf's loops, to decide the time box, and for
the memory chart.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import traceback
from pathlib import Path
from time import perf_counter

from .backends import open_case
from .stores import StorePaths
from .workloads import Workload

__all__ = ["probe", "main"]


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def probe(
    backend: str,
    scenario: str,
    paths: StorePaths,
    workload: Workload,
    *,
    calls: int = 3,
    budget_s: float = 60.0,
) -> dict:
    """Run the case ``calls`` times (fewer once ``budget_s`` is spent); times and peak memory."""
    case, close = open_case(backend, scenario, paths, workload)
    times: list[float] = []
    peak = None
    try:
        for call in range(calls):
            if case.before is not None:
                case.before()
            if call == 0:
                exact = _reset_peak()
                base = _status_kb("VmRSS") or 0
                base_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = perf_counter()
            result = case.run()
            times.append(perf_counter() - start)
            if call == 0:
                high = (
                    _status_kb("VmHWM")
                    if exact
                    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                )
                peak = max(0, (high or 0) - (base if exact else base_max)) * 1024
                case.check(result)
            del result
            if case.after is not None:
                case.after()
            if sum(times) > budget_s:
                break
    finally:
        close()
    return {"ok": True, "times": times, "peak_bytes": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.probe", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--scenario", required=True)
    Workload.add_arguments(parser)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args(argv)
    workload = Workload.from_args(args)
    try:
        out = probe(
            args.backend,
            args.scenario,
            StorePaths(args.store),
            workload,
            calls=args.calls,
            budget_s=args.budget,
        )
    except MemoryError:
        out = {"ok": False, "error": "MemoryError", "memory": True}
    except (
        Exception
    ) as exc:  # reported to the parent, which records it as not measurable
        text = f"{type(exc).__name__}: {exc}"
        out = {
            "ok": False,
            "error": text,
            "memory": "NoMemError" in text or "out of memory" in text,
            "traceback": traceback.format_exc(limit=4),
        }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
