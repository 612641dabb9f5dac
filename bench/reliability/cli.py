"""The command line: ``python -m bench reliability`` (or ``python -m bench.reliability``) parses
its options, runs both scenarios in a scratch folder, prints and saves the report, and exits 1
when the SQLite store lost, damaged or refused anything."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from .report import environment, save, saved_texts
from .runs import run

FULL = {"processes": 8, "writes": 500, "kills": 100, "max_delay": 1.0}
QUICK = {"processes": 4, "writes": 60, "kills": 10, "max_delay": 0.3}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench reliability",
        description="Concurrent writers and killed writers on the JSON store and on SQLite: "
        "what each loses. Prints a Markdown table; saves report.md and results.json.",
    )
    parser.add_argument("--processes", type=int, help=f"concurrent writer processes (default {FULL['processes']}, quick {QUICK['processes']})")  # fmt: skip
    parser.add_argument("--writes", type=int, help=f"writes per concurrent process (default {FULL['writes']}, quick {QUICK['writes']}); a killed writer writes until killed")  # fmt: skip
    parser.add_argument("--kills", type=int, help=f"times the writer is killed, per store (default {FULL['kills']}, quick {QUICK['kills']})")  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="small counts, for a quick look"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the writes and kill times"
    )
    parser.add_argument("--max-delay", type=float, help=f"longest wait before a kill, in seconds (default {FULL['max_delay']}, quick {QUICK['max_delay']})")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("results") / "reliability", help="folder for report.md and results.json (default results/reliability)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the stores and ack files (printed path)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    base = QUICK if args.quick else FULL
    params = {
        key: getattr(args, key) or base[key] for key in ("processes", "writes", "kills")
    }
    for key, value in params.items():
        if value < 1:
            _parser().error(f"--{key} must be at least 1")
    max_delay = base["max_delay"] if args.max_delay is None else args.max_delay
    if max_delay < 0:
        _parser().error("--max-delay must not be negative")
    params.update(seed=args.seed, max_delay=max_delay, quick=args.quick)
    work_dir = Path(tempfile.mkdtemp(prefix="ait42-reliability-"))
    try:
        results = run(params, work_dir)
    finally:
        if args.keep:
            print(f"stores and ack files kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    env = environment()
    report, data = saved_texts(results, params, env, work_dir)
    print(report)
    report_path, results_path = save(args.out, report, data)
    print(f"saved {report_path} and {results_path}", file=sys.stderr)
    return 0 if all(fig.sqlite_promise_kept() for fig in results) else 1
