"""Where and with what a run happened: commit, machine, versions, load."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["describe", "loadavg", "mem_available", "machine_paths", "scrub"]

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def _meminfo(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def mem_available() -> int | None:
    """Bytes of memory available to new work now (Linux MemAvailable)."""
    return _meminfo("MemAvailable")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    """Commit (and whether the tree had changes), machine and library versions."""
    import apsw
    import matplotlib
    import pyperf

    import ait42_session

    # results/ is the harness's own output (an earlier run in the same checkout writes there):
    # only a change to anything else means the code measured is not the commit named.
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "machine": {
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_bytes": _meminfo("MemTotal"),
        },
        "versions": {
            "python": platform.python_version(),
            "ait42_session": ait42_session.__version__,
            "apsw": apsw.apsw_version(),
            "sqlite_apsw": apsw.sqlite_lib_version(),
            "sqlite_stdlib": sqlite3.sqlite_version,
            "pyperf": pyperf.__version__,
            "matplotlib": matplotlib.__version__,
        },
    }


def machine_paths() -> list[tuple[str, str]]:
    """This machine's folders that end up in outputs (the interpreter pyperf records, tracebacks,
    scratch folders), each with the label saved in its place; longest first, so the most
    specific label wins."""
    labels = {
        str(REPO): "<repo>",
        sys.prefix: "<venv>",
        sys.base_prefix: "<python>",
        tempfile.gettempdir(): "<tmp>",
        str(Path.home()): "~",
    }
    found: dict[str, str] = {}
    for path, label in labels.items():
        for variant in {path, os.path.realpath(path)}:
            if variant not in ("", "/"):
                found.setdefault(variant, label)
    return sorted(found.items(), key=lambda item: len(item[0]), reverse=True)


def scrub(text: str) -> str:
    """``text`` with this machine's folders replaced by labels: committed results name no path
    of the machine that produced them."""
    for path, label in machine_paths():
        text = text.replace(path, label)
    return text
