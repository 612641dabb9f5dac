"""The results file (``results.json``): every raw value of a run, and what is derived from it.

Layout: ``meta`` (settings, environment, load), ``builds`` (per size: store sizes and build
time), ``cells[scenario][n][backend]`` (status, probe, plan, ``values`` by round in seconds,
``summary``, or ``projection`` with its reason), and ``trace`` (per size and store: latencies
by operation kind). Ratios are derived on reading (``ratio``), never stored, so the report
and charts can always be redrawn from the file alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .environment import scrub
from .stats import paired_ratios, ratio_interval

__all__ = ["load", "save", "scrub_file", "cell", "ratio", "time_of", "MEASURED", "PROJECTED"]

MEASURED = "measured"
PROJECTED = "projected"


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def save(results: dict[str, Any], path: Path) -> None:
    """Write atomically, so an interrupted run leaves the last complete file; error texts lose
    this machine's paths on the way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(scrub(json.dumps(results, indent=1)))
    os.replace(tmp, path)


def scrub_file(path: Path) -> None:
    """Rewrite ``path`` without this machine's paths (pyperf records the interpreter's)."""
    text = path.read_text()
    clean = scrub(text)
    if clean != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(clean)
        os.replace(tmp, path)


def cell(results: dict[str, Any], scenario: str, n: int, backend: str) -> dict[str, Any] | None:
    return results.get("cells", {}).get(scenario, {}).get(str(n), {}).get(backend)


def _values(c: dict[str, Any] | None) -> dict[int, list[float]]:
    if not c or c.get("status") != MEASURED:
        return {}
    return {int(r): v for r, v in c.get("values", {}).items()}


def time_of(c: dict[str, Any] | None) -> tuple[float | None, bool]:
    """(seconds per call, projected?) of a cell: the measured median, else the projection."""
    if not c:
        return None, False
    if c.get("status") == MEASURED and c.get("summary"):
        return c["summary"]["median"], False
    projection = c.get("projection")
    if projection:
        return projection["value"], True
    return None, False


def ratio(
    results: dict[str, Any], scenario: str, n: int, num: str, den: str
) -> dict[str, Any] | None:
    """``num`` time / ``den`` time: paired median with interval, or a projected point value."""
    a, b = cell(results, scenario, n, num), cell(results, scenario, n, den)
    pairs = paired_ratios(_values(a), _values(b))
    interval = ratio_interval(pairs) if pairs else None
    if interval is not None:
        return {**interval, "projected": False}
    ta, pa = time_of(a)
    tb, pb = time_of(b)
    if ta and tb:
        return {"median": ta / tb, "low": None, "high": None, "pairs": 0, "projected": pa or pb}
    return None
