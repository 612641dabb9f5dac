"""What to measure and how much: rounds, values, warm-ups and loops per scenario; and whether
a call is run at all, or projected, by the time box and the memory budget.

Fast calls get many loops per value (a value lasts about ``value_time``) and many values; calls
of 0.2 s or more get one loop per value and two values per process; calls of 2 s or more one
value per process and ``slow_rounds`` rounds (3 rounds without warm-up from 10 s), as pyperf
advises for seconds-long work. Every backend of a scenario gets the same rounds and values, so
that every value has a partner for the paired ratio; only the loops differ.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from .environment import mem_available
from .results import Cell, Status
from .stats import project

__all__ = [
    "Settings", "FULL", "QUICK", "Plan", "plan_for", "Budget", "points", "json_feasible",
    "too_big", "projected_cell", "gib",
]  # fmt: skip


@dataclass(frozen=True)
class Settings:
    rounds: int = 10  # processes per backend, interleaved with the other backends
    values: int = 5  # values per process (fast calls)
    warmups: int = 2
    value_time: float = 0.05  # seconds per value for fast calls
    slow_rounds: int = 5  # rounds for calls of 2 s or more (one value each)
    box: float = 60.0  # seconds: a call estimated (or found) to run longer is not run
    mem_fraction: float = (
        0.6  # of MemAvailable: a call estimated to need more is not run
    )

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Settings()
QUICK = Settings(
    rounds=3, values=3, warmups=1, value_time=0.01, slow_rounds=3, box=10.0
)


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
        return self.rounds * sum(
            calls * self.loops[b] * t * factor + 0.3 for b, t in times.items()
        )


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
        loops = {
            b: (1 if t >= 0.2 else n)
            for (b, n), t in zip(loops.items(), times.values())
        }
    return Plan(rounds, values, warmups, loops)


# --- whether to measure at all: the time box and the memory budget ---------------------------

# Peak memory of a JSON-store call per byte of its file, assumed before any size was measured
# (a decode holds the bytes and the decoded records at once).
JSON_MEMORY_PER_BYTE = 6.0


def gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:,.0f} MiB"


@dataclass(frozen=True)
class Budget:
    """How much memory one measured call may use, and the cap of measuring processes."""

    memory: int

    @classmethod
    def of(cls, settings: Settings) -> "Budget":
        available = mem_available() or 8 * 2**30
        return cls(int(available * settings.mem_fraction))

    @property
    def address_space(self) -> int:
        """The memory budget plus 2 GiB of slack (interpreter, libraries and allocator
        reservations count as address space too)."""
        return self.memory + 2 * 2**30


def points(
    results: dict, scenario: str, backend: str, what: str
) -> list[tuple[int, float]]:
    """(size, value) of a backend's measured cells (and single calls past the box): ``what``
    is "time" or "peak_bytes"."""
    out = []
    for n_text, cells in results["cells"].get(scenario, {}).items():
        c = cells.get(backend)
        if c is None:
            continue
        if c.status is Status.MEASURED and c.summary:
            value = c.summary["median"] if what == "time" else c.peak_bytes
        elif (c.projection or {}).get("probe"):  # one call past the box: measured too
            value = c.projection["value"] if what == "time" else c.peak_bytes
        else:
            continue
        if value:
            out.append((int(n_text), value))
    return out


def json_feasible(
    results: dict, workload: Any, scenarios: list[str], budget: Budget
) -> tuple[bool, str]:
    """Whether the JSON files of this size can be read within the memory budget; why not."""
    peaks = [
        guess["value"]
        for scenario in scenarios
        if (
            guess := project(
                points(results, scenario, "json", "peak_bytes"), workload.n
            )
        )
    ]
    if peaks:
        need, how = max(peaks), "projected from the smaller sizes"
    else:
        sample = [
            len(json.dumps(workload.session_json(k), indent=2))
            for k in range(0, workload.n, max(1, workload.n // 40))
        ]
        need = statistics.mean(sample) * workload.n * JSON_MEMORY_PER_BYTE
        how = f"estimated as {JSON_MEMORY_PER_BYTE:g} x the file size"
    if need > budget.memory:
        return (
            False,
            f"a call would need ~{gib(need)} ({how}), over the budget of {gib(budget.memory)}",
        )
    return True, ""


def too_big(
    results: dict,
    scenario: str,
    backend: str,
    n: int,
    settings: Settings,
    budget: Budget,
) -> str | None:
    """Why a call would not fit the time box or the memory budget, projected from the smaller
    sizes; None when it should be run."""
    guess_t = project(points(results, scenario, backend, "time"), n)
    if guess_t and guess_t["value"] > settings.box:
        return (
            f"time box: a call would take ~{guess_t['value']:.0f} s, "
            f"over the box of {settings.box:g} s"
        )
    guess_m = project(points(results, scenario, backend, "peak_bytes"), n)
    if guess_m and guess_m["value"] > budget.memory:
        return (
            f"memory: a call would need ~{gib(guess_m['value'])}, "
            f"over the budget of {gib(budget.memory)}"
        )
    return None


def projected_cell(
    results: dict, scenario: str, backend: str, n: int, reason: str
) -> Cell:
    """The cell of a call not run: its time (and memory) projected from the smaller sizes."""
    projection = project(points(results, scenario, backend, "time"), n)
    return Cell(
        Status.PROJECTED if projection else Status.NOT_RUN,
        reason=reason,
        projection=projection,
        memory_projection=project(points(results, scenario, backend, "peak_bytes"), n),
    )
