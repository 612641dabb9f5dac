"""How much to measure: rounds, values, warm-ups and loops per scenario, and the time box.

Fast calls get many loops per value (a value lasts about ``value_time``) and many values; calls
of 0.2 s or more get one loop per value and two values per process; calls of 2 s or more one
value per process and ``slow_rounds`` rounds (3 rounds without warm-up from 10 s), as pyperf
advises for seconds-long work. Every backend of a scenario gets the same rounds and values, so
that every value has a partner for the paired ratio; only the loops differ.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

__all__ = ["Settings", "FULL", "QUICK", "Plan", "plan_for"]


@dataclass(frozen=True)
class Settings:
    rounds: int = 10  # processes per backend, interleaved with the other backends
    values: int = 5  # values per process (fast calls)
    warmups: int = 2
    value_time: float = 0.05  # seconds per value for fast calls
    slow_rounds: int = 5  # rounds for calls of 2 s or more (one value each)
    box: float = 60.0  # seconds: a call estimated (or found) to run longer is not run
    mem_fraction: float = 0.6  # of MemAvailable: a call estimated to need more is not run

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Settings()
QUICK = Settings(rounds=3, values=3, warmups=1, value_time=0.01, slow_rounds=3, box=10.0)


@dataclass(frozen=True)
class Plan:
    rounds: int
    values: int
    warmups: int
    loops: dict[str, int]

    def seconds(self, times: Mapping[str, float], restore: bool) -> float:
        """Expected wall time of all processes (restores roughly double a write's time)."""
        calls = self.warmups + self.values
        factor = 2.0 if restore else 1.0
        return self.rounds * sum(calls * self.loops[b] * t * factor + 0.3 for b, t in times.items())


def plan_for(times: Mapping[str, float], settings: Settings) -> Plan:
    """The plan for one scenario at one scale, from each backend's warm time per call."""
    slowest = max(times.values())
    if slowest >= 10.0:  # the fewest rounds a cluster bootstrap can resample
        rounds, values, warmups = min(3, settings.slow_rounds), 1, 0
    elif slowest >= 2.0:
        rounds, values, warmups = settings.slow_rounds, 1, 1
    elif slowest >= 0.2:
        rounds, values, warmups = settings.rounds, 2, 1
    else:
        rounds, values, warmups = settings.rounds, settings.values, settings.warmups
    loops = {
        b: max(1, min(1_000_000, round(settings.value_time / max(t, 1e-7))))
        for b, t in times.items()
    }
    if slowest >= 0.2:
        loops = {b: (1 if t >= 0.2 else n) for (b, n), t in zip(loops.items(), times.values())}
    return Plan(rounds, values, warmups, loops)
