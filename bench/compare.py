"""``python -m bench compare``: every scenario on every backend at every size, paired.

For each size, smallest first: build (or reuse) the stores, copy them, then per scenario
(reads first, so they see the untouched copy):

1. probe each backend in a fresh process (``probe.py``): is the answer right, how long does a
   call take, how much memory does it need. A backend is not run where the previous sizes
   project a call beyond the time box or the memory budget, or where the probe itself ran
   out of the box; its time is then projected from the smaller sizes and labelled so.
2. measure with pyperf (``pyperf_suite.py``): ``rounds`` rounds, each running every backend
   once in a shuffled order, one pyperf process each, appending to
   ``<out>/pyperf/<backend>-n<N>.json``.
3. read the values back, by round, into ``results.json``.

Then the trace replay (``trace.py``) at the sizes asked, the report and the charts.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from ait42_session import compute_workspace_hash

from . import environment, results as res, speed_class
from .backends import BACKENDS, FLOOR_OF, JSON_FILE_BACKENDS
from .plan import Plan, Settings, plan_for
from .scenarios import SCENARIOS
from .stats import project, summary
from .stores import StorePaths, working_copy
from .workloads import MAIN_WORKSPACE, Workload

__all__ = ["RunConfig", "run"]

REPO = Path(__file__).resolve().parent.parent
# Peak memory of a JSON-store call per byte of its file, assumed before any size was measured
# (a parse holds the bytes, the text, the parsed objects and the models at once).
JSON_MEMORY_PER_BYTE = 6.0


@dataclass
class RunConfig:
    profile: str
    scales: list[int]
    scenarios: list[str]
    backends: list[str] = field(default_factory=lambda: list(BACKENDS))
    seed: int = 42
    settings: Settings = field(default_factory=Settings)
    cache_dir: Path = Path(".bench-cache")
    out_dir: Path = Path("results")
    trace_scales: list[int] = field(default_factory=list)
    keep_work: bool = False
    quick: bool = False


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:,.0f} MiB"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _limit(address_space: int | None) -> Any:
    """A pre-exec hook capping the child's address space: a call that outgrows the memory budget
    fails in its own process with MemoryError instead of waking the kernel's OOM killer."""
    if address_space is None:
        return None

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return cap


def _run(
    cmd: list[str], timeout: float, address_space: int | None = None
) -> tuple[int | None, str, str]:
    """(exit code or None when killed at the timeout, stdout, stderr) of a child process group."""
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_limit(address_space),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


_COUNT_JSON = "import json, sys; print(len(json.load(open(sys.argv[1], 'rb'))))"


class Runner:
    """One comparison run; ``results`` is saved after every scenario."""

    def __init__(self, config: RunConfig) -> None:
        # Children run in the repository folder: every path they get must be absolute.
        config.cache_dir = Path(config.cache_dir).resolve()
        config.out_dir = Path(config.out_dir).resolve()
        self.config = config
        self.out = config.out_dir
        self.results_file = self.out / "results.json"
        self.results: dict[str, Any] = {
            "meta": {
                "profile": config.profile,
                "seed": config.seed,
                "scales": config.scales,
                "scenarios": config.scenarios,
                "backends": config.backends,
                "settings": config.settings.as_dict(),
                "quick": config.quick,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "loadavg_start": environment.loadavg(),
                "warm": "warm: stores just built or copied, so in the OS page cache; "
                "each process opens its store anew",
                **environment.describe(),
            },
            "builds": {},
            "cells": {},
            "trace": {},
        }

    # --- one size -----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        for n in self.config.scales:
            self.scale(n)
        for n in self.config.trace_scales:
            self.trace(n)
        meta = self.results["meta"]
        meta["loadavg_end"] = environment.loadavg()
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        meta["run_seconds"] = round(time.perf_counter() - started, 1)
        res.save(self.results, self.results_file)
        return self.results

    def budget(self) -> int:
        available = environment.mem_available() or 8 * 2**30
        return int(available * self.config.settings.mem_fraction)

    def scale(self, n: int) -> None:
        config = self.config
        workload = Workload(config.profile, n, config.seed)
        json_wanted = any(b in config.backends for b in JSON_FILE_BACKENDS)
        json_ok, json_reason = self.json_feasible(workload) if json_wanted else (False, "not asked")
        log(
            f"== {workload.key}: building stores"
            + ("" if json_ok else f" (no JSON store: {json_reason})")
        )
        started = time.perf_counter()
        paths = self.build(workload, json_ok)
        facts = paths.facts()
        self.results["builds"][str(n)] = {
            "seconds_this_run": round(time.perf_counter() - started, 1),
            "sqlite_bytes": paths.db.stat().st_size,
            "json_bytes": paths.json_bytes() if json_ok else None,
            "json_reason": None if json_ok else json_reason,
            "sessions": n,
            "background_sessions": sum(c for _, c in workload.workspaces()[1:]),
            "instances": facts["instances"],
            "messages": facts["messages"],
            "targets": paths.data()["sizes"],
            "build_seconds": {
                "sqlite": json.loads((paths.db.parent / "meta.json").read_text())["build_seconds"],
                "json": (
                    json.loads((paths.root / "json-meta.json").read_text())["build_seconds"]
                    if json_ok
                    else None
                ),
            },
        }
        if json_ok:
            log("   the JSON file through serde and msgspec (speed class)")
            main_file = paths.sessions_dir / f"{compute_workspace_hash(MAIN_WORKSPACE)}.json"
            self.results["builds"][str(n)]["speed_class"] = speed_class.measure(main_file)
        work = working_copy(
            paths, config.cache_dir / "work" / workload.key, json_store=json_ok, sqlite_store=True
        )
        pyperf_dir = self.out / "pyperf"
        pyperf_dir.mkdir(parents=True, exist_ok=True)
        for backend in BACKENDS:
            (pyperf_dir / f"{backend}-n{n}.json").unlink(missing_ok=True)
        order = sorted(config.scenarios, key=lambda s: SCENARIOS[s].kind != "read")
        try:
            for scenario in order:
                self.scenario(scenario, workload, work, json_ok, json_reason)
                res.save(self.results, self.results_file)
            self.results["builds"][str(n)]["after_run"] = self.verify(work, workload, json_ok)
        finally:
            if not config.keep_work:
                shutil.rmtree(work.root, ignore_errors=True)

    def build(self, workload: Workload, json_store: bool) -> StorePaths:
        """Build (or find) the stores in a child process, so the generator's memory goes with it."""
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "--cache",
            str(self.config.cache_dir.resolve()),
            "--seed",
            str(workload.seed),
            "build",
            "--profile",
            workload.profile,
            "--scales",
            str(workload.n),
        ] + ([] if json_store else ["--no-json"])
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        return StorePaths(self.config.cache_dir / workload.key)

    def address_space(self) -> int:
        """The address-space cap of measuring processes: the memory budget plus 2 GiB of slack
        (interpreter, libraries and allocator reservations count as address space too)."""
        return self.budget() + 2 * 2**30

    def json_feasible(self, workload: Workload) -> tuple[bool, str]:
        """Whether the JSON store of this size can be read within the memory budget."""
        budget = self.budget()
        peaks = []
        for scenario in self.config.scenarios:
            points = self.points(scenario, "json", "peak_bytes")
            guess = project(points, workload.n)
            if guess:
                peaks.append(guess["value"])
        if peaks:
            need, how = max(peaks), "projected from the smaller sizes"
        else:
            sample = [
                len(json.dumps(workload.session_json(k), indent=2))
                for k in range(0, workload.n, max(1, workload.n // 40))
            ]
            need = statistics.mean(sample) * workload.n * JSON_MEMORY_PER_BYTE
            how = f"estimated as {JSON_MEMORY_PER_BYTE:g} x the file size"
        if need > budget:
            return (
                False,
                f"a call would need ~{_gib(need)} ({how}), over the budget of {_gib(budget)}",
            )
        return True, ""

    def points(self, scenario: str, backend: str, what: str) -> list[tuple[int, float]]:
        """(size, value) of a backend's measured cells (and single calls past the box): ``what``
        is "time" or "peak_bytes"."""
        out = []
        for n_text, cells in self.results["cells"].get(scenario, {}).items():
            c = cells.get(backend)
            if not c:
                continue
            if c.get("status") == res.MEASURED and c.get("summary"):
                value = c["summary"]["median"] if what == "time" else c["probe"].get("peak_bytes")
            elif (c.get("projection") or {}).get("probe"):  # one call past the box: measured too
                value = c["projection"]["value"] if what == "time" else c["probe"].get("peak_bytes")
            else:
                continue
            if value:
                out.append((int(n_text), value))
        return out

    # --- one scenario ---------------------------------------------------------------------

    def scenario(
        self, name: str, workload: Workload, work: StorePaths, json_ok: bool, json_reason: str
    ) -> None:
        n = workload.n
        settings = self.config.settings
        cells: dict[str, dict[str, Any]] = {}
        self.results["cells"].setdefault(name, {})[str(n)] = cells
        times: dict[str, float] = {}
        for backend in self.config.backends:
            if backend in JSON_FILE_BACKENDS and not json_ok:
                cells[backend] = self.projected(name, backend, n, "memory: " + json_reason)
                continue
            guess_t = project(self.points(name, backend, "time"), n)
            guess_m = project(self.points(name, backend, "peak_bytes"), n)
            if guess_t and guess_t["value"] > settings.box:
                cells[backend] = self.projected(
                    name,
                    backend,
                    n,
                    f"time box: a call would take ~{guess_t['value']:.0f} s, over the box of {settings.box:g} s",
                )
                continue
            if guess_m and guess_m["value"] > self.budget():
                cells[backend] = self.projected(
                    name,
                    backend,
                    n,
                    f"memory: a call would need ~{_gib(guess_m['value'])}, over the budget of {_gib(self.budget())}",
                )
                continue
            probe = self.probe(name, backend, workload, work)
            if not probe.get("ok"):
                if probe.get("timeout") or probe.get("memory"):
                    why = (
                        "time box: the probe call ran past the box"
                        if probe.get("timeout")
                        else "memory: the probe ran out of memory"
                    )
                    cells[backend] = self.projected(name, backend, n, why)
                else:
                    cells[backend] = {"status": "n/a", "reason": probe.get("error", "failed")}
                continue
            calls = probe["times"]
            warm = statistics.median(calls[1:]) if len(calls) > 1 else calls[0]
            if warm > settings.box:  # the probe's own call is the best figure there is
                cells[backend] = {
                    "status": res.PROJECTED,
                    "reason": f"time box: a call took {warm:.1f} s, over the box of {settings.box:g} s",
                    "projection": {"value": warm, "slope": None, "from": [], "probe": True},
                    "probe": probe,
                }
                continue
            cells[backend] = {"status": res.MEASURED, "probe": probe}
            times[backend] = warm
        if times:
            plan = plan_for(times, settings)
            self.measure(name, workload, work, plan, times, cells)
        self.print_line(name, n, cells)

    def projected(self, name: str, backend: str, n: int, reason: str) -> dict[str, Any]:
        projection = project(self.points(name, backend, "time"), n)
        memory = project(self.points(name, backend, "peak_bytes"), n)
        return {
            "status": res.PROJECTED if projection else "not run",
            "reason": reason,
            "projection": projection,
            "memory_projection": memory,
        }

    def probe(
        self, name: str, backend: str, workload: Workload, work: StorePaths
    ) -> dict[str, Any]:
        box = self.config.settings.box
        cmd = [
            sys.executable,
            "-m",
            "bench.probe",
            "--store",
            str(work.root),
            "--backend",
            backend,
            "--scenario",
            name,
            "--profile",
            workload.profile,
            "--n",
            str(workload.n),
            "--seed",
            str(workload.seed),
            "--budget",
            str(min(box, 10.0)),
        ]
        code, out, err = _run(cmd, timeout=3 * box + 60, address_space=self.address_space())
        if code is None:
            return {"ok": False, "timeout": True, "error": "killed at the time box"}
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            memory = code in (-9, 137) or "MemoryError" in err
            return {"ok": False, "memory": memory, "error": f"exit {code}: {err.strip()[-500:]}"}

    def measure(
        self,
        name: str,
        workload: Workload,
        work: StorePaths,
        plan: Plan,
        times: dict[str, float],
        cells: dict[str, dict[str, Any]],
    ) -> None:
        n = workload.n
        restore = SCENARIOS[name].kind == "write"
        pyperf_dir = self.out / "pyperf"
        rng = random.Random(f"{workload.seed}:{name}:{n}")
        errors: dict[str, list[str]] = {b: [] for b in times}
        for round_ in range(plan.rounds):
            backends = list(times)
            rng.shuffle(backends)
            for backend in backends:
                loops = plan.loops[backend]
                expected = (
                    (plan.warmups + plan.values) * loops * times[backend] * (2 if restore else 1)
                )
                cmd = [
                    sys.executable,
                    "-m",
                    "bench.pyperf_suite",
                    "--bench-store",
                    str(work.root),
                    "--bench-backend",
                    backend,
                    "--bench-scenario",
                    name,
                    "--bench-profile",
                    workload.profile,
                    "--bench-sessions",
                    str(n),
                    "--bench-seed",
                    str(workload.seed),
                    "--bench-round",
                    str(round_),
                    "--processes",
                    "1",
                    "--values",
                    str(plan.values),
                    "--warmups",
                    str(plan.warmups),
                    "--loops",
                    str(loops),
                    "--append",
                    str(pyperf_dir / f"{backend}-n{n}.json"),
                    "--quiet",
                ]
                code, _out, err = _run(
                    cmd, timeout=4 * expected + 60, address_space=self.address_space()
                )
                if code != 0:
                    errors[backend].append(
                        "killed at the time box" if code is None else err.strip()[-500:]
                    )
        for backend in times:
            values = self.read_values(pyperf_dir / f"{backend}-n{n}.json", name)
            c = cells[backend]
            c["plan"] = {
                "rounds": plan.rounds,
                "values": plan.values,
                "warmups": plan.warmups,
                "loops": plan.loops[backend],
            }
            c["values"] = {str(r): v for r, v in sorted(values.items())}
            if errors[backend]:
                c["errors"] = errors[backend]
            flat = [v for vs in values.values() for v in vs]
            if flat:
                c["summary"] = summary(flat)
            else:
                c.update(status="n/a", reason=f"pyperf failed: {errors[backend][:1]}")

    @staticmethod
    def read_values(path: Path, name: str) -> dict[int, list[float]]:
        if not path.exists():
            return {}
        try:
            bench = pyperf.BenchmarkSuite.load(str(path)).get_benchmark(name)
        except KeyError:
            return {}
        values: dict[int, list[float]] = {}
        for run in bench.get_runs():
            if run.values:
                values.setdefault(int(run.get_metadata()["bench_round"]), []).extend(run.values)
        return values

    def verify(self, work: StorePaths, workload: Workload, json_ok: bool) -> dict[str, Any]:
        """Session counts of the main workspace after all writes: both must still be N."""
        import apsw

        from ait42_session import compute_workspace_hash
        from .workloads import MAIN_WORKSPACE

        ws = compute_workspace_hash(MAIN_WORKSPACE)
        con = apsw.Connection(str(work.db))
        try:
            sqlite_count = con.execute(
                "SELECT count(*) FROM sessions WHERE workspace_hash = ?", (ws,)
            ).fetchall()[0][0]
        finally:
            con.close()
        out = {"sqlite_sessions": sqlite_count, "json_sessions": None}
        if json_ok:  # parsed in a child: a big file's memory must not stay with this process
            code, text, err = _run(
                [sys.executable, "-c", _COUNT_JSON, str(work.sessions_dir / f"{ws}.json")],
                timeout=3600,
            )
            out["json_sessions"] = int(text) if code == 0 else f"unreadable: {err.strip()[-200:]}"
        out["ok"] = sqlite_count == workload.n and out["json_sessions"] in (None, workload.n)
        if not out["ok"]:
            log(f"!! store size changed during the run: {out}")
        return out

    def print_line(self, name: str, n: int, cells: dict[str, dict[str, Any]]) -> None:
        parts = [f"{name:<24} n={n:<7}"]
        for backend, c in cells.items():
            t, projected = res.time_of(c)
            if t is None:
                parts.append(f"{backend} {c.get('status')}")
            else:
                parts.append(f"{backend} {'~' if projected else ''}{t * 1000:.3g} ms")
        r = res.ratio(self.results, name, n, "json", "core")
        if r:
            parts.append(f"json/core {'~' if r['projected'] else ''}{r['median']:.1f}x")
        for store, floor in FLOOR_OF.items():
            r = res.ratio(self.results, name, n, store, floor)
            if r:
                parts.append(f"{store}/{floor} {r['median']:.2f}x")
        log("  " + "  ".join(parts))

    # --- trace ---------------------------------------------------------------------------

    def trace(self, n: int) -> None:
        """Replay the day trace at size ``n``; the JSON store only if it fits the trace box."""
        from . import trace

        workload = Workload(self.config.profile, n, self.config.seed)
        box = self.config.settings.box * 5
        ops = trace.load(trace.ensure())
        estimate = self.estimate_replay(ops, n)
        json_store = "json" in self.config.backends and estimate is not None and estimate <= box
        why = None
        if not json_store:
            why = (
                "JSON store not asked"
                if "json" not in self.config.backends
                else (
                    f"JSON store not replayed: about {estimate:.0f} s, over the trace box of {box:.0f} s"
                    if estimate is not None
                    else "JSON store not replayed: no time measured at this size"
                )
            )
        log(f"== trace replay on {workload.key}" + (f" ({why})" if why else ""))
        outcome = trace.replay_both(workload, self.config.cache_dir, box=box, json_store=json_store)
        outcome["json_estimate_seconds"] = estimate
        outcome["note"] = why
        self.results["trace"][str(n)] = outcome
        res.save(self.results, self.results_file)

    def estimate_replay(self, ops: list[dict[str, Any]], n: int) -> float | None:
        """Seconds the JSON store would take for ``ops`` at size ``n``, from its cells."""
        from .trace import SCENARIO_OF

        total = 0.0
        for op in ops:
            t, _ = res.time_of(res.cell(self.results, SCENARIO_OF[op["op"]], n, "json"))
            if t is None:
                return None
            total += t
        return total


def run(config: RunConfig) -> dict[str, Any]:
    return Runner(config).run()
