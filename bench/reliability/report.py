"""The report: the Markdown table and notes (``markdown``), the machine it ran on
(``environment``), and ``report.md`` and ``results.json`` as saved (``saved_texts``, ``save``).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .losses import Figures

COLUMNS = (
    ("Scenario", "scenario"), ("Store", "store"), ("Writes attempted", "attempted"),
    ("Acknowledged", "acknowledged"), ("Errors raised to the caller", "errors"),
    ("Writes lost", "lost"), ("Sessions lost", "sessions_lost"),
    ("Sessions half written", "half_written"), ("Files left empty", "emptied"),
    ("Files or databases left unreadable", "unreadable"),
)  # fmt: skip


def markdown(
    results: list[Figures], params: dict[str, Any], env: dict[str, Any]
) -> str:
    lines = [
        "# Reliability: the JSON store and the SQLite store under the same load",
        "",
        f"{params['processes']} processes × {params['writes']} mixed writes at once on one "
        f"store; one writer, writing until killed, killed with SIGKILL {params['kills']} times "
        f"at a random moment up to {params['max_delay']} s after it started. Seed "
        f"{params['seed']}. Python {env['python']}, SQLite {env['sqlite']}, {env['cpus']} CPUs.",
        "",
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|"
        + "|".join(
            "---" if key in ("scenario", "store") else "---:" for _, key in COLUMNS
        )
        + "|",
    ]
    for fig in results:
        row = asdict(fig)
        lines.append("| " + " | ".join(str(row[key]) for _, key in COLUMNS) + " |")
    lines += [
        "",
        "A write is *acknowledged* when the call returned without an error; it is *lost* when it "
        "is acknowledged but not in the store afterwards (and no later write of the same field "
        "replaced it); *sessions lost* counts acknowledged creations among them. For killed "
        "writers, *attempted* includes the write in flight at each kill. *Half written*: a "
        "session that no sequence of its writes could have produced. *Left empty*: the store's "
        "file found empty after acknowledged writes (the JSON store then reads no sessions at "
        "all, without an error). An unreadable store counts all its acknowledged writes as "
        "lost, and is moved aside so that the next round starts afresh.",
        "",
    ]
    for fig in results:
        extra = []
        if fig.error_types:
            counts = sorted(fig.error_types.items())
            extra.append("errors: " + ", ".join(f"{name} {n}" for name, n in counts))
        if fig.raw_errors:
            extra.append(f"raw exceptions (outside the contract): {fig.raw_errors}")
        if fig.scenario.startswith("writer killed"):
            kills = f"{fig.kills_mid_run} of {params['kills']}"
            extra.append(f"{kills} kills landed while it was writing")
        extra.append(f"{fig.seconds} s")
        lines.append(f"- {fig.scenario}, {fig.store}: " + "; ".join(extra))
        lines += [f"  - {note}" for note in fig.notes[:10]]
        if len(fig.notes) > 10:
            lines.append(
                f"  - ... and {len(fig.notes) - 10} more notes in results.json"
            )
    return "\n".join(lines) + "\n"


def environment() -> dict[str, Any]:
    import apsw

    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "sqlite": apsw.sqlite_lib_version(),
        "apsw": apsw.apsw_version(), "loadavg": load,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip


def saved_texts(
    results: list[Figures], params: dict[str, Any], env: dict[str, Any], work_dir: Path
) -> tuple[str, str]:
    """The texts of report.md and results.json. The scratch folder is this machine's: they name
    files relative to it (``<work>``), and no other folder of this machine."""
    from bench.environment import (
        scrub,
    )  # here: the workers load this package on its own

    report = scrub(markdown(results, params, env).replace(str(work_dir), "<work>"))
    payload = {
        "params": params,
        "environment": env,
        "results": [asdict(r) for r in results],
    }
    data = scrub(json.dumps(payload, indent=2).replace(str(work_dir), "<work>"))
    return report, data + "\n"


def save(out: Path, report: str, data: str) -> tuple[Path, Path]:
    """Write report.md and results.json into ``out`` (created); their paths."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report, encoding="utf-8")
    (out / "results.json").write_text(data, encoding="utf-8")
    return out / "report.md", out / "results.json"
