"""The results of a run (``results.json``): every raw value, as typed records in memory.

Layout: ``meta`` (settings, environment, load), ``builds`` (per size: store sizes, build time,
the baseline beside serde), ``cells[scenario][n][backend]`` (a ``Cell``: its status, probe,
plan, ``values`` by round in seconds, ``summary``, or ``projection`` with its reason), and
``trace`` and ``editor_trace`` (the day trace and the editor's own calls, ``TRACE_KEYS``: per
size and store, latencies by operation kind). Ratios are derived on reading
(``ratio``), never stored, so the report and charts can always be redrawn from the file alone.
In the file a cell is a plain object; ``load`` and ``save`` convert.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .environment import scrub
from .stats import paired_ratios, ratio_interval

__all__ = [
    "TRACE_KEYS",
    "Status",
    "Cell",
    "load",
    "save",
    "scrub_file",
    "cell",
    "ratio",
    "new_results",
]


# Where each replayed trace (``trace.TRACES``) is kept in the results.
TRACE_KEYS = {"day": "trace", "editor": "editor_trace"}


class Status(str, Enum):
    MEASURED = "measured"  # pyperf values
    PROJECTED = "projected"  # past the time box or the memory budget: a projected time
    NOT_RUN = "not run"  # past the box or budget, with nothing to project from
    NOT_MEASURABLE = "n/a"  # the backend cannot run it here (e.g. an old system SQLite)


@dataclass
class Cell:
    """One scenario on one backend at one size."""

    status: Status
    reason: str | None = None
    probe: dict[str, Any] | None = None  # one fresh-process run: times, peak_bytes
    plan: dict[str, Any] | None = None  # rounds, values, warmups, loops
    values: dict[int, list[float]] = field(
        default_factory=dict
    )  # seconds per call, by round
    summary: dict[str, float] | None = None  # of all values
    errors: list[str] = field(default_factory=list)  # processes that failed
    projection: dict[str, Any] | None = (
        None  # value, slope, from (sizes), probe (one call)
    )
    memory_projection: dict[str, Any] | None = None

    def time(self) -> tuple[float | None, bool]:
        """(seconds per call, projected?): the measured median, else the projection."""
        if self.status is Status.MEASURED and self.summary:
            return self.summary["median"], False
        if self.projection:
            return self.projection["value"], True
        return None, False

    @property
    def peak_bytes(self) -> float | None:
        return (self.probe or {}).get("peak_bytes")

    def to_json(self) -> dict[str, Any]:
        out = {
            key: value
            for key, value in asdict(self).items()
            if value not in (None, [], {})
        }
        out["status"] = self.status.value
        if self.values:
            out["values"] = {str(r): v for r, v in sorted(self.values.items())}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Cell":
        values = {int(r): v for r, v in (data.get("values") or {}).items()}
        return cls(**{**data, "status": Status(data["status"]), "values": values})


def new_results(meta: dict[str, Any]) -> dict[str, Any]:
    return {"meta": meta, "builds": {}, "cells": {}, **{key: {} for key in TRACE_KEYS.values()}}


def load(path: Path) -> dict[str, Any]:
    results = json.loads(Path(path).read_text())
    for per_size in results.get("cells", {}).values():
        for backends in per_size.values():
            for backend, data in backends.items():
                backends[backend] = Cell.from_json(data)
    return results


def _plain(value: Any) -> Any:
    if isinstance(value, Cell):
        return value.to_json()
    raise TypeError(f"{type(value).__name__} is not JSON")


def save(results: dict[str, Any], path: Path) -> None:
    """Write atomically, so an interrupted run leaves the last complete file; error texts lose
    this machine's paths on the way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(scrub(json.dumps(results, indent=1, default=_plain)))
    os.replace(tmp, path)


def scrub_file(path: Path) -> None:
    """Rewrite ``path`` without this machine's paths (pyperf records the interpreter's)."""
    text = path.read_text()
    clean = scrub(text)
    if clean != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(clean)
        os.replace(tmp, path)


def cell(results: dict[str, Any], scenario: str, n: int, backend: str) -> Cell | None:
    return results.get("cells", {}).get(scenario, {}).get(str(n), {}).get(backend)


def _values(c: Cell | None) -> dict[int, list[float]]:
    return c.values if c is not None and c.status is Status.MEASURED else {}


def ratio(
    results: dict[str, Any], scenario: str, n: int, num: str, den: str
) -> dict[str, Any] | None:
    """``num`` time / ``den`` time: paired median with interval, or a projected point value."""
    a, b = cell(results, scenario, n, num), cell(results, scenario, n, den)
    pairs = paired_ratios(_values(a), _values(b))
    interval = ratio_interval(pairs) if pairs else None
    if interval is not None:
        return {**interval, "projected": False}
    ta, pa = a.time() if a else (None, False)
    tb, pb = b.time() if b else (None, False)
    if ta and tb:
        return {
            "median": ta / tb,
            "low": None,
            "high": None,
            "pairs": 0,
            "projected": pa or pb,
        }
    return None
