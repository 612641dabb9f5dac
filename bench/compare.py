"""``python -m bench compare``: every scenario on every backend at every size, paired.

For each size, smallest first: build (or reuse) the stores, time the JSON file through serde
and msgspec (``speed_class``), copy the stores (and load the PostgreSQL copy, when backend ``postgres`` is asked:
``postgres_store``), then per scenario (reads first, so they see the
untouched copy):

1. decide (``plan``): a backend is not run where the smaller sizes project a call beyond the
   time box or the memory budget; its time is then projected and labelled so;
2. probe each remaining backend in a fresh process (``measure.probe``): is the answer right,
   how long does a call take, how much memory does it need;
3. measure with pyperf (``measure.measure``): ``rounds`` rounds, each running every backend
   once in a shuffled order, values read back by round into ``results.json``.

Then the trace replay (``trace``) at the sizes asked; the report and charts come from the
results file alone (``report``, ``charts``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ait42_session import compute_workspace_hash

from . import environment, measure, postgres_store, results as res, speed_class
from .backends import BACKENDS, JSON_FILE_BACKENDS, KNOWN_BACKENDS
from .plan import Budget, Settings, json_feasible, plan_for, projected_cell, too_big
from .report import progress_line
from .results import Cell, Status
from .scenarios import SCENARIOS, TRACE_SCENARIO
from .stats import summary
from .stores import StorePaths, working_copy
from .workloads import MAIN_WORKSPACE, Workload

__all__ = ["RunConfig", "run"]

_COUNT_JSON = "import json, sys; print(len(json.load(open(sys.argv[1], 'rb'))))"


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
    traces: list[str] = field(default_factory=lambda: ["day", "editor"])
    keep_work: bool = False
    quick: bool = False
    postgres: str | None = (
        None  # an admin DSN for backend postgres; else a throwaway server
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Runner:
    """One comparison run; ``results`` is saved after every scenario."""

    def __init__(self, config: RunConfig) -> None:
        # Children run in the repository folder: every path they get must be absolute.
        config.cache_dir = Path(config.cache_dir).resolve()
        config.out_dir = Path(config.out_dir).resolve()
        self.config = config
        self.budget = Budget.of(config.settings)
        self.results_file = config.out_dir / "results.json"
        self.pyperf_dir = config.out_dir / "pyperf"
        self.results = res.new_results(
            {
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
            }
        )

    def run(self) -> dict[str, Any]:
        with contextlib.ExitStack() as stack:
            self.postgres: postgres_store.Server | None = None
            if "postgres" in self.config.backends:
                log("== starting PostgreSQL (backend postgres)")
                self.postgres = stack.enter_context(
                    postgres_store.server_for(self.config.postgres)
                )
            return self._run()

    def _run(self) -> dict[str, Any]:
        started = time.perf_counter()
        for n in self.config.scales:
            self.scale(Workload(self.config.profile, n, self.config.seed))
        for n in self.config.trace_scales:
            for name in self.config.traces:
                self.trace(Workload(self.config.profile, n, self.config.seed), name)
        meta = self.results["meta"]
        meta["loadavg_end"] = environment.loadavg()
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        meta["run_seconds"] = round(time.perf_counter() - started, 1)
        res.save(self.results, self.results_file)
        return self.results

    # --- one size -----------------------------------------------------------------------

    def scale(self, workload: Workload) -> None:
        config, n = self.config, workload.n
        json_wanted = any(b in config.backends for b in JSON_FILE_BACKENDS)
        json_ok, json_reason = (
            json_feasible(self.results, workload, config.scenarios, self.budget)
            if json_wanted
            else (False, "not asked")
        )
        log(
            f"== {workload.key}: building stores"
            + ("" if json_ok else f" (no JSON store: {json_reason})")
        )
        started = time.perf_counter()
        paths = measure.build(workload, config.cache_dir, json_ok)
        build = self.results["builds"][str(n)] = self.describe_build(
            paths, workload, json_ok, json_reason
        )
        build["seconds_this_run"] = round(time.perf_counter() - started, 1)
        if json_ok:
            log("   the JSON file through serde and msgspec (speed class)")
            build["speed_class"] = speed_class.measure(paths.json_file(MAIN_WORKSPACE))
        work = working_copy(
            paths,
            config.cache_dir / "work" / workload.key,
            json_store=json_ok,
            sqlite_store=True,
        )
        if self.postgres is not None:
            log(
                "   loading PostgreSQL (export_json of the SQLite store, then import_json)"
            )
            loaded = time.perf_counter()
            build["postgres_bytes"] = postgres_store.database_bytes(
                postgres_store.prepare(self.postgres, work, workload)
            )
            build["postgres_seconds_this_run"] = round(time.perf_counter() - loaded, 1)
        self.pyperf_dir.mkdir(parents=True, exist_ok=True)
        for backend in KNOWN_BACKENDS:
            (self.pyperf_dir / f"{backend}-n{n}.json").unlink(missing_ok=True)
        reads_first = sorted(
            config.scenarios,
            key=lambda s: (SCENARIOS[s].kind != "read", SCENARIOS[s].leaves_text_behind),
        )
        try:
            for scenario in reads_first:
                self.scenario(scenario, workload, work, json_ok, json_reason)
                res.save(self.results, self.results_file)
            build["after_run"] = self.verify(work, workload, json_ok)
        finally:
            if self.postgres is not None and not config.keep_work:
                postgres_store.drop_working_copy(self.postgres, work)
            if not config.keep_work:
                shutil.rmtree(work.root, ignore_errors=True)

    @staticmethod
    def describe_build(
        paths: StorePaths, workload: Workload, json_ok: bool, json_reason: str
    ) -> dict[str, Any]:
        facts = paths.facts()
        sqlite_meta = json.loads((paths.db.parent / "meta.json").read_text())
        # JSON files too big to time are still reported by size when they were built (with
        # ``python -m bench build``, which builds what the cache lacks).
        json_built = paths.has_json()
        json_meta = (
            json.loads((paths.root / "json-meta.json").read_text())
            if json_built
            else None
        )
        return {
            "sqlite_bytes": paths.db.stat().st_size,
            "json_bytes": paths.json_bytes() if json_built else None,
            "json_reason": None if json_ok else json_reason,
            "sessions": workload.n,
            "background_sessions": sum(c for _, c in workload.workspaces()[1:]),
            "instances": facts["instances"],
            "messages": facts["messages"],
            "targets": paths.data()["sizes"],
            "build_seconds": {
                "sqlite": sqlite_meta["build_seconds"],
                "json": json_meta["build_seconds"] if json_meta else None,
            },
        }

    # --- one scenario ---------------------------------------------------------------------

    def scenario(
        self,
        name: str,
        workload: Workload,
        work: StorePaths,
        json_ok: bool,
        json_reason: str,
    ) -> None:
        n, settings = workload.n, self.config.settings
        cells: dict[str, Cell] = {}
        self.results["cells"].setdefault(name, {})[str(n)] = cells
        times: dict[str, float] = {}
        for backend in self.config.backends:
            reason = (
                "memory: " + json_reason
                if backend in JSON_FILE_BACKENDS and not json_ok
                else too_big(self.results, name, backend, n, settings, self.budget)
            )
            if reason:
                cells[backend] = projected_cell(self.results, name, backend, n, reason)
                continue
            found = measure.probe(
                name, backend, workload, work, settings.box, self.budget.address_space
            )
            cells[backend], warm = self.probed(name, backend, n, found)
            if warm is not None:
                times[backend] = warm
        if times:
            plan = plan_for(times, settings)
            values, errors = measure.measure(
                name, workload, work, plan, times, self.pyperf_dir,
                SCENARIOS[name].kind == "write", self.budget.address_space,
            )  # fmt: skip
            for backend in times:
                self.record(
                    cells[backend], plan, backend, values[backend], errors[backend]
                )
        log("  " + progress_line(self.results, name, n))

    def probed(
        self, name: str, backend: str, n: int, found: dict[str, Any]
    ) -> tuple[Cell, float | None]:
        """The cell a probe leads to, and the warm time of a call when it is to be measured."""
        box = self.config.settings.box
        if not found.get("ok"):
            if found.get("timeout") or found.get("memory"):
                why = (
                    "time box: the probe call ran past the box"
                    if found.get("timeout")
                    else "memory: the probe ran out of memory"
                )
                return projected_cell(self.results, name, backend, n, why), None
            return (
                Cell(Status.NOT_MEASURABLE, reason=found.get("error", "failed")),
                None,
            )
        calls = found["times"]
        warm = statistics.median(calls[1:]) if len(calls) > 1 else calls[0]
        if warm > box:  # the probe's own call is the best figure there is
            return (
                Cell(
                    Status.PROJECTED,
                    reason=f"time box: a call took {warm:.1f} s, over the box of {box:g} s",
                    projection={
                        "value": warm,
                        "slope": None,
                        "from": [],
                        "probe": True,
                    },
                    probe=found,
                ),
                None,
            )
        return Cell(Status.MEASURED, probe=found), warm

    @staticmethod
    def record(
        cell: Cell,
        plan: Any,
        backend: str,
        values: dict[int, list[float]],
        errors: list[str],
    ) -> None:
        cell.plan = {"rounds": plan.rounds, "values": plan.values, "warmups": plan.warmups,
                     "loops": plan.loops[backend]}  # fmt: skip
        cell.values = dict(sorted(values.items()))
        cell.errors = errors
        flat = [v for vs in values.values() for v in vs]
        if flat:
            cell.summary = summary(flat)
        else:
            cell.status = Status.NOT_MEASURABLE
            cell.reason = f"pyperf failed: {errors[:1]}"

    def verify(
        self, work: StorePaths, workload: Workload, json_ok: bool
    ) -> dict[str, Any]:
        """Session counts of the main workspace after all writes: both must still be N."""
        import apsw

        ws = compute_workspace_hash(MAIN_WORKSPACE)
        con = apsw.Connection(str(work.db))
        try:
            sqlite_count = con.execute(
                "SELECT count(*) FROM sessions WHERE workspace_hash = ?", (ws,)
            ).fetchall()[0][0]
        finally:
            con.close()
        out: dict[str, Any] = {"sqlite_sessions": sqlite_count, "json_sessions": None}
        if (
            json_ok
        ):  # parsed in a child: a big file's memory must not stay with this process
            code, text, err = measure.run_child(
                [
                    sys.executable,
                    "-c",
                    _COUNT_JSON,
                    str(work.json_file(MAIN_WORKSPACE)),
                ],
                timeout=3600,
            )
            out["json_sessions"] = (
                int(text) if code == 0 else f"unreadable: {err.strip()[-200:]}"
            )
        if self.postgres is not None:
            out["postgres_sessions"] = postgres_store.main_workspace_sessions(
                work.postgres_dsn(), ws
            )
        out["ok"] = (
            sqlite_count == workload.n
            and out["json_sessions"] in (None, workload.n)
            and out.get("postgres_sessions", workload.n) == workload.n
        )
        if not out["ok"]:
            log(f"!! store size changed during the run: {out}")
        return out

    # --- trace ---------------------------------------------------------------------------

    def trace(self, workload: Workload, name: str) -> None:
        """Replay the trace ``name`` (``trace.TRACES``) at this size; the JSON store only if it
        fits the trace box."""
        from . import trace

        box = self.config.settings.box * 5
        ops = trace.trace_ops(name)
        estimate = self.estimate_replay(ops, workload.n)
        json_store = (
            "json" in self.config.backends and estimate is not None and estimate <= box
        )
        sidecar = "sidecar" in self.config.backends
        why = None
        if not json_store:
            if "json" not in self.config.backends:
                why = "JSON store not asked"
            elif estimate is None:
                why = "JSON store not replayed: no time measured at this size"
            else:
                why = f"JSON store not replayed: about {estimate:.0f} s, over the trace box of {box:.0f} s"
        log(f"== {name} trace replay on {workload.key}" + (f" ({why})" if why else ""))
        outcome = trace.replay_both(
            workload,
            self.config.cache_dir,
            box=box,
            trace=name,
            json_store=json_store,
            sidecar=sidecar,
        )
        outcome["json_estimate_seconds"] = estimate
        outcome["note"] = why
        self.results[res.TRACE_KEYS[name]][str(workload.n)] = outcome
        res.save(self.results, self.results_file)

    def estimate_replay(self, ops: list[dict[str, Any]], n: int) -> float | None:
        """Seconds the JSON store would take for ``ops`` at size ``n``, from its cells."""
        total = 0.0
        for op in ops:
            c = res.cell(self.results, TRACE_SCENARIO[op["op"]], n, "json")
            t, _ = c.time() if c else (None, False)
            if t is None:
                return None
            total += t
        return total


def run(config: RunConfig) -> dict[str, Any]:
    return Runner(config).run()
