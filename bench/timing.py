"""Timing one case: the loop that pyperf, the probe and the pytest suite share."""

from __future__ import annotations

from time import perf_counter

from .scenarios import Case

__all__ = ["time_case"]


def time_case(loops: int, case: Case) -> float:
    """Seconds spent in ``loops`` calls of ``case.run``; ``before``/``after`` are not timed."""
    run = case.run
    if case.before is None and case.after is None:
        start = perf_counter()
        for _ in range(loops):
            run()
        return perf_counter() - start
    total = 0.0
    for _ in range(loops):
        if case.before is not None:
            case.before()
        start = perf_counter()
        run()
        total += perf_counter() - start
        if case.after is not None:
            case.after()
    return total
