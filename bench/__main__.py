"""``python -m bench``: compare the stores, build stores, replay the trace, redraw reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backends import BACKENDS, KNOWN_BACKENDS
from .plan import FULL, QUICK, Settings
from .scenarios import SCENARIOS
from .stores import default_cache_dir
from .workloads import PROFILES, SCALES, Workload


def _trace_names(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in ("day", "editor")]
    if unknown:
        raise argparse.ArgumentTypeError(f"no trace named {', '.join(unknown)} (day, editor)")
    return names


def _ints(text: str) -> list[int]:
    try:
        return [int(part.replace("_", "")) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        )


def _names(allowed: tuple[str, ...] | list[str]):
    def parse(text: str) -> list[str]:
        names = [part for part in text.split(",") if part]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)}; choose from {', '.join(allowed)}"
            )
        return names

    return parse


def _compare(args: argparse.Namespace) -> int:
    from .compare import RunConfig, run
    from .report import write_all

    base = QUICK if args.quick else FULL
    settings = Settings(
        rounds=args.rounds or base.rounds,
        values=args.values or base.values,
        warmups=base.warmups if args.warmups is None else args.warmups,
        value_time=base.value_time,
        slow_rounds=base.slow_rounds,
        box=args.box or base.box,
        mem_fraction=args.mem_fraction or base.mem_fraction,
    )
    scales = args.scales or ([100, 1000] if args.quick else list(SCALES))
    trace_scales = (
        args.trace_scales
        if args.trace_scales is not None
        else ([100] if args.quick else [s for s in scales if s <= 1000])
    )
    out = args.out or (Path("results") / ("quick" if args.quick else "") / args.profile)
    config = RunConfig(
        profile=args.profile,
        scales=scales,
        scenarios=args.scenarios or list(SCENARIOS),
        backends=args.backends or list(BACKENDS),
        seed=args.seed,
        settings=settings,
        cache_dir=args.cache,
        out_dir=out,
        trace_scales=trace_scales,
        traces=args.traces or ["day", "editor"],
        keep_work=args.keep_work,
        quick=args.quick,
        postgres=args.postgres,
    )
    print(
        f"Writing results to {out}/ (report.md, results.json, charts/, pyperf/)",
        file=sys.stderr,
    )
    results = run(config)
    tables = write_all(results, out)
    print(tables)
    print(
        f"Report: {out / 'report.md'}; charts: {out / 'charts'}/; raw values: {out / 'results.json'}"
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from .stores import build

    for n in args.scales or list(SCALES):
        paths = build(
            Workload(args.profile, n, args.seed),
            args.cache,
            json_store=not args.no_json,
        )
        print(paths.root)
    return 0


def _trace(args: argparse.Namespace) -> int:
    from . import trace

    file, make = trace.TRACES[args.name]
    if args.action == "generate":
        file().unlink(missing_ok=True)
        print(make(file()))
        return 0
    import json

    for n in args.scales or [100]:
        outcome = trace.replay_both(
            Workload(args.profile, n, args.seed), args.cache, trace=args.name
        )
        print(json.dumps(outcome, indent=1))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_all
    from .results import load

    results = load(args.results)
    print(write_all(results, args.results.parent))
    print(f"Report: {args.results.parent / 'report.md'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reliability"]:
        # Concurrent writers and SIGKILLed writers on both stores; its own options.
        from .reliability import main as reliability

        return reliability(argv[1:])
    if argv[:1] == ["open-loop"]:
        # The editor's pace through the sidecar, per idle-checkpoint setting; its own options.
        from .open_loop import main as open_loop

        return open_loop(argv[1:])
    if argv[:1] == ["sustained"]:
        # Consecutive writes on one long-lived store each, checkpoints included.
        from .sustained import main as sustained

        return sustained(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog="python -m bench reliability [--quick] [--help]: lost writes under concurrency "
        "and crashes, JSON store vs SQLite (results/reliability/). python -m bench open-loop "
        "[--help]: the editor's pace through the sidecar (results/open-loop/). python -m bench "
        "sustained [--help]: consecutive writes on one long-lived store (results/sustained/).",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=default_cache_dir(),
        help="where built stores are kept (default: .bench-cache, or $AIT42_BENCH_CACHE)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="workload seed (default 42)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser(
        "compare",
        help="measure every scenario on every backend, write the report",
        description="Measure scenarios on the JSON store, the SQLite store and their floors with pyperf; check the seed's targets; write results/<profile>/ (report.md, results.json, pyperf/*.json, charts).",
    )
    compare.add_argument("--profile", choices=PROFILES, default="light")
    compare.add_argument(
        "--scales",
        type=_ints,
        help="session counts (default 100,1000,10000,100000; --quick: 100,1000)",
    )
    compare.add_argument(
        "--scenarios",
        type=_names(list(SCENARIOS)),
        help="comma-separated scenario names (default: all)",
    )
    compare.add_argument(
        "--backends",
        type=_names(KNOWN_BACKENDS),
        help=f"comma-separated backends (default: {','.join(BACKENDS)}; also: sidecar, postgres)",
    )
    compare.add_argument(
        "--postgres",
        metavar="DSN",
        help="for backend postgres: an admin DSN of a server to create the databases on "
        "(default: $AIT42_BENCH_POSTGRES, else a throwaway local server for the run)",
    )
    compare.add_argument(
        "--quick",
        action="store_true",
        help="few values, small box: a few minutes on a fresh checkout",
    )
    compare.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds per scenario (processes per backend)",
    )
    compare.add_argument("--values", type=int, help="values per process for fast calls")
    compare.add_argument("--warmups", type=int, help="warm-up values per process")
    compare.add_argument(
        "--box",
        type=float,
        help="time box in seconds for one call (default 60; --quick 10)",
    )
    compare.add_argument(
        "--mem-fraction",
        type=float,
        help="memory budget as a share of MemAvailable (default 0.6)",
    )
    compare.add_argument(
        "--trace-scales",
        type=_ints,
        help="sizes to replay the traces on (default: those <= 1000; --quick: 100; empty for none)",
    )
    compare.add_argument(
        "--traces",
        type=_trace_names,
        help="which traces to replay: day, editor or both (default: day,editor)",
    )
    compare.add_argument(
        "--out",
        type=Path,
        help="output folder (default results/<profile>, --quick: results/quick/<profile>)",
    )
    compare.add_argument(
        "--keep-work", action="store_true", help="keep the working copies of the stores"
    )
    compare.set_defaults(func=_compare)

    build = commands.add_parser(
        "build",
        help="build (or find) the cached stores of a profile",
        description="Build the stores of a profile at the given sizes into the cache.",
    )
    build.add_argument("--profile", choices=PROFILES, default="light")
    build.add_argument("--scales", type=_ints)
    build.add_argument(
        "--no-json", action="store_true", help="build the SQLite store only"
    )
    build.set_defaults(func=_build)

    trace = commands.add_parser(
        "trace",
        help="generate a trace, or replay it on both stores",
        description="generate: write the trace (day: bench/traces/day-v1.jsonl; editor: the "
        "shipping editor's own calls, bench/traces/editor-v1.jsonl); replay: replay it on "
        "copies of both stores and print latencies per operation kind.",
    )
    trace.add_argument("action", choices=("generate", "replay"))
    trace.add_argument("--name", choices=("day", "editor"), default="day")
    trace.add_argument("--profile", choices=PROFILES, default="light")
    trace.add_argument("--scales", type=_ints)
    trace.set_defaults(func=_trace)

    report = commands.add_parser(
        "report",
        help="redraw report.md and the charts from a results.json",
        description="Rewrite report.md and the charts next to a results.json.",
    )
    report.add_argument("results", type=Path)
    report.set_defaults(func=_report)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
