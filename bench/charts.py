"""PNG charts from ``results.json`` (matplotlib's Figure API, no pyplot, no display).

- ``time_vs_sessions.png``: per scenario, seconds per call against sessions (log-log) for the
  JSON store, the SQLite store and the three floors; bands are the interquartile range; hollow
  markers on a dashed line are projected, not measured.
- ``ratio_vs_sessions.png``: per scenario, JSON/SQLite with its 95 % interval, the seed's
  target as a horizontal line (named in the panel's title) and each size's verdict as a marker
  (PASS, FAIL, UNCLEAR); and each store against its own floor, with the 1.3x line.
- ``memory_vs_sessions.png``: per scenario, peak memory of one call for each store.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from . import results as res
from .backends import KNOWN_BACKENDS, LABELS
from .report import seed_verdict
from .scenarios import SCENARIOS

__all__ = ["draw_all"]

COLORS = {
    "json": "tab:red",
    "msgspec": "tab:orange",
    "sqlite": "tab:blue",
    "apsw": "tab:green",
    "sqlite3": "tab:gray",
    "sidecar": "tab:cyan",
    "postgres": "tab:purple",
}
STYLES = {
    "json": "-",
    "msgspec": "--",
    "sqlite": "-",
    "apsw": "--",
    "sqlite3": ":",
    "sidecar": "-.",
    "postgres": "-.",
}
# How a size's verdict on the seed's ratio is marked on the JSON / SQLite line.
VERDICT_MARKS = {
    "PASS": ("^", "tab:green", "PASS (whole 95 % interval at or above the target)"),
    "FAIL": ("v", "tab:red", "FAIL (whole interval below)"),
    "UNCLEAR": ("D", "tab:olive", "UNCLEAR (interval straddles the target)"),
}


def _grid(count: int) -> tuple[Figure, list[Any]]:
    cols = 3
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(5 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _sizes(results: dict[str, Any], name: str) -> list[int]:
    return sorted(int(n) for n in results["cells"].get(name, {}))


def _time_panel(ax: Any, results: dict[str, Any], name: str) -> None:
    for backend in KNOWN_BACKENDS:
        measured, projected = [], []
        for n in _sizes(results, name):
            c = res.cell(results, name, n, backend)
            t, is_projected = c.time() if c else (None, False)
            if t is None:
                continue
            if is_projected:
                projected.append((n, t))
            else:
                s = c.summary
                measured.append((n, t, s["q1"], s["q3"]))
        if not measured and not projected:
            continue
        color = COLORS[backend]
        if measured:
            xs = [m[0] for m in measured]
            ax.plot(
                xs,
                [m[1] for m in measured],
                STYLES[backend],
                marker="o",
                color=color,
                label=LABELS[backend],
            )
            ax.fill_between(
                xs,
                [m[2] for m in measured],
                [m[3] for m in measured],
                color=color,
                alpha=0.15,
            )
        if projected:
            chain = measured[-1:] + [(n, t, t, t) for n, t in projected]
            ax.plot(
                [p[0] for p in chain],
                [p[1] for p in chain],
                "--",
                color=color,
                alpha=0.6,
            )
            ax.plot(
                [p[0] for p in projected],
                [p[1] for p in projected],
                "o",
                mfc="none",
                color=color,
                label=None if measured else f"{LABELS[backend]} (projected)",
            )
    _log_axes(ax, name, "seconds per call")


def _log_axes(ax: Any, title: str, ylabel: str) -> None:
    """Both axes logarithmic, against the number of sessions."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("sessions in the workspace")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)


def _ratio_panel(ax: Any, results: dict[str, Any], name: str) -> None:
    scenario = SCENARIOS[name]
    for num, den, color, label in (
        ("json", "sqlite", "tab:purple", "JSON store / SQLite store"),
        ("json", "msgspec", "tab:orange", "JSON store / msgspec floor"),
        ("sqlite", "apsw", "tab:green", "SQLite store / APSW floor"),
    ):
        points = [
            (n, res.ratio(results, name, n, num, den)) for n in _sizes(results, name)
        ]
        points = [(n, r) for n, r in points if r]
        if not points:
            continue
        xs = [n for n, _ in points]
        ax.plot(xs, [r["median"] for _, r in points], "-", color=color, label=label)
        for n, r in points:
            if r["projected"] or r.get("low") is None:
                ax.plot([n], [r["median"]], "o", mfc="none", color=color)
            else:
                ax.errorbar(
                    [n],
                    [r["median"]],
                    yerr=[[r["median"] - r["low"]], [r["high"] - r["median"]]],
                    fmt="o",
                    color=color,
                    capsize=3,
                )
            word = (
                seed_verdict(results, name, n)
                if (num, den) == ("json", "sqlite")
                else None
            )
            if word and word.split()[0] in VERDICT_MARKS:
                marker, mark_color, mark_label = VERDICT_MARKS[word.split()[0]]
                ax.plot(
                    [n], [r["median"]], marker, ms=11, mfc="none", mew=1.6, color=mark_color,
                    label=mark_label,
                )  # fmt: skip
    title = name
    if scenario.target_ratio:
        ax.axhline(
            scenario.target_ratio,
            color="tab:purple",
            ls="--",
            lw=1,
            label="seed target",
        )
        title += f" (seed target {scenario.target_ratio:g}x)"
    ax.axhline(1.3, color="tab:gray", ls=":", lw=1, label="floor target 1.3x")
    ax.axhline(1.0, color="black", lw=0.5)
    _log_axes(ax, title, "time ratio")


def _memory_panel(ax: Any, results: dict[str, Any], name: str) -> None:
    for backend in ("json", "msgspec", "sqlite"):
        measured, projected = [], []
        for n in _sizes(results, name):
            c = res.cell(results, name, n, backend)
            if c is None:
                continue
            if c.peak_bytes:
                measured.append((n, c.peak_bytes / 2**20))
            elif c.memory_projection:
                projected.append((n, c.memory_projection["value"] / 2**20))
        color = COLORS[backend]
        if measured:
            ax.plot(
                [m[0] for m in measured],
                [m[1] for m in measured],
                "-o",
                color=color,
                label=LABELS[backend],
            )
        if projected:
            ax.plot(
                [p[0] for p in projected],
                [p[1] for p in projected],
                "o",
                mfc="none",
                color=color,
            )
    _log_axes(ax, name, "peak MiB, one call")


def _draw(results: dict[str, Any], path: Path, panel: Any, title: str) -> str:
    names = [s for s in SCENARIOS if s in results["cells"]]
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        panel(ax, results, name)
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=min(4, len(handles)),
    )
    meta = results["meta"]
    fig.suptitle(
        f"{title} — {meta['profile']} profile"
        + (" (quick run)" if meta.get("quick") else "")
    )
    fig.savefig(path, dpi=100)
    return path.name


def draw_all(results: dict[str, Any], out: Path) -> list[str]:
    """Draw every chart into ``out``; the file names."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        _draw(
            results,
            out / "time_vs_sessions.png",
            _time_panel,
            "Time per call (hollow: projected)",
        ),
        _draw(
            results,
            out / "ratio_vs_sessions.png",
            _ratio_panel,
            "Ratios (hollow: projected or unpaired)",
        ),
        _draw(
            results,
            out / "memory_vs_sessions.png",
            _memory_panel,
            "Peak memory of one call",
        ),
    ]
