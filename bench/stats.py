"""Statistics of the comparison: per-store summaries, paired ratios with a bootstrap interval,
and extrapolation for operations too big or too slow to run.

Pairs: the parent runs the backends of one scenario in shuffled order within each round, each
in its own pyperf process; value ``k`` of one backend in round ``r`` is paired with value ``k``
of the other backend in the same round (measured seconds apart), so a drift of the machine
moves both sides of a pair. The ratio is the median of the pairs' ratios; its 95 % interval
comes from a cluster bootstrap that resamples whole rounds (values of one process are not
independent of each other).
"""

from __future__ import annotations

import math
import statistics
from typing import Mapping, Sequence

import numpy as np

__all__ = ["summary", "paired_ratios", "ratio_interval", "project", "verdict"]

RESAMPLES = 4000


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, 95th and 99th percentiles, extremes, count (seconds)."""
    data = np.asarray(values, dtype=float)
    q1, median, q3, p95, p99 = np.percentile(data, [25, 50, 75, 95, 99])
    return {
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "p95": float(p95),
        "p99": float(p99),
        "min": float(data.min()),
        "max": float(data.max()),
        "mad": float(statistics.median(abs(v - median) for v in data)),
        "n": int(data.size),
    }


def paired_ratios(
    numerator: Mapping[int, Sequence[float]], denominator: Mapping[int, Sequence[float]]
) -> dict[int, list[float]]:
    """Per round, ``numerator[k] / denominator[k]`` for the values both sides have."""
    return {
        r: [a / b for a, b in zip(numerator[r], denominator[r]) if b > 0]
        for r in sorted(set(numerator) & set(denominator))
        if numerator[r] and denominator[r]
    }


def ratio_interval(
    ratios_by_round: Mapping[int, Sequence[float]],
    *,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float] | None:
    """Median of all paired ratios and its bootstrap interval (rounds resampled whole)."""
    groups = [np.asarray(v, dtype=float) for v in ratios_by_round.values() if len(v)]
    if not groups:
        return None
    pooled = np.concatenate(groups)
    rng = np.random.default_rng(seed)
    if len(groups) >= 3:
        picks = rng.integers(0, len(groups), size=(RESAMPLES, len(groups)))
        medians = np.array(
            [np.median(np.concatenate([groups[i] for i in row])) for row in picks]
        )
    else:  # too few rounds to resample: resample the pairs themselves
        medians = np.median(rng.choice(pooled, size=(RESAMPLES, pooled.size)), axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return {
        "median": float(np.median(pooled)),
        "low": float(low),
        "high": float(high),
        "pairs": int(pooled.size),
        "rounds": len(groups),
    }


def project(
    points: Sequence[tuple[int, float]], n: int, *, min_slope: float = 1.0
) -> dict | None:
    """Extrapolate ``value(n)`` on a log-log line through the two largest measured scales.

    The slope is at least ``min_slope``: every JSON-store call reads and parses the whole
    file (and returning all sessions builds every one), so cost grows at least linearly; a
    shallower slope measured between small scales reflects fixed costs, not the trend.
    """
    measured = sorted((k, v) for k, v in points if v and v > 0 and k < n)
    if not measured:
        return None
    if len(measured) == 1:
        (n0, v0), slope = measured[0], min_slope
    else:
        (n1, v1), (n0, v0) = measured[-2], measured[-1]
        slope = max(min_slope, math.log(v0 / v1) / math.log(n0 / n1))
    return {
        "value": v0 * (n / n0) ** slope,
        "slope": slope,
        "from": [k for k, _ in measured[-2:]],
    }


def verdict(
    interval: Mapping[str, float] | None, target: float | None
) -> tuple[str, str]:
    """(PASS/FAIL/UNCLEAR/-, why) of a measured ratio against the seed's target ratio.

    PASS needs the whole 95 % interval at or above the target, FAIL the whole interval below
    it; an interval that straddles the target is UNCLEAR, never counted as a pass.
    """
    if target is None:
        return "-", "no target in the seed"
    if interval is None:
        return "n/a", "not measured"
    if interval["low"] >= target:
        return (
            "PASS",
            f"95% CI {interval['low']:.1f}-{interval['high']:.1f}x >= {target:g}x",
        )
    if interval["high"] < target:
        return (
            "FAIL",
            f"95% CI {interval['low']:.1f}-{interval['high']:.1f}x < {target:g}x",
        )
    return (
        "UNCLEAR",
        f"95% CI {interval['low']:.1f}-{interval['high']:.1f}x straddles {target:g}x",
    )
