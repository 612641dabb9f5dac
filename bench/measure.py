"""The measuring subprocesses of a comparison: every child process ``compare`` starts.

- ``build``: build (or find) a workload's stores, in a child so the generator's memory goes
  with it (``python -m bench.stores``);
- ``probe``: one scenario on one backend in a fresh process (``python -m bench.probe``): is
  the answer right, how long does a call take, how much memory does it need;
- ``measure``: pyperf's rounds (``python -m bench.pyperf_suite``), each running every backend
  once in a shuffled order, one process each, appending to ``pyperf/<backend>-n<N>.json``;
  then the values read back by round.

Children run in the repository folder with an address-space cap (a call that outgrows the
memory budget fails in its own process instead of waking the kernel's OOM killer). The
workload travels to every child as ``Workload.to_args``, read back by ``Workload.from_args``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyperf

from .plan import Plan
from .stores import StorePaths
from .workloads import Workload

__all__ = ["REPO", "build", "probe", "measure", "read_values", "run_child"]

REPO = Path(__file__).resolve().parent.parent


def _cap(address_space: int | None) -> Any:
    """A pre-exec hook capping the child's address space."""
    if address_space is None:
        return None

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return cap


def run_child(
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
        preexec_fn=_cap(address_space),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def build(workload: Workload, cache_dir: Path, json_store: bool) -> StorePaths:
    """Build (or find) the stores of ``workload`` in a child process."""
    cmd = [
        sys.executable,
        "-m",
        "bench.stores",
        "--cache",
        str(cache_dir),
        *workload.to_args(),
    ]
    subprocess.run(cmd + ([] if json_store else ["--no-json"]), cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return StorePaths(cache_dir / workload.key)


def probe(
    scenario: str,
    backend: str,
    workload: Workload,
    work: StorePaths,
    box: float,
    address_space: int,
) -> dict[str, Any]:
    """The probe's answer (``ok``, ``times``, ``peak_bytes``), or why it failed."""
    cmd = [sys.executable, "-m", "bench.probe", "--store", str(work.root), "--backend", backend,
           "--scenario", scenario, "--budget", str(min(box, 10.0)), *workload.to_args()]  # fmt: skip
    code, out, err = run_child(cmd, timeout=3 * box + 60, address_space=address_space)
    if code is None:
        return {"ok": False, "timeout": True, "error": "killed at the time box"}
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        memory = code in (-9, 137) or "MemoryError" in err
        return {
            "ok": False,
            "memory": memory,
            "error": f"exit {code}: {err.strip()[-500:]}",
        }


def measure(
    scenario: str,
    workload: Workload,
    work: StorePaths,
    plan: Plan,
    times: dict[str, float],
    pyperf_dir: Path,
    restore: bool,
    address_space: int,
) -> tuple[dict[str, dict[int, list[float]]], dict[str, list[str]]]:
    """pyperf's rounds for every backend in ``times`` (seconds per call, from the probes):
    (values by backend and round, errors by backend)."""
    n = workload.n
    rng = random.Random(f"{workload.seed}:{scenario}:{n}")
    errors: dict[str, list[str]] = {b: [] for b in times}
    for round_ in range(plan.rounds):
        backends = list(times)
        rng.shuffle(backends)
        for backend in backends:
            loops = plan.loops[backend]
            calls = (plan.warmups + plan.values) * loops
            expected = calls * times[backend] * (2 if restore else 1)
            cmd = [sys.executable, "-m", "bench.pyperf_suite", "--bench-store", str(work.root),
                   "--bench-backend", backend, "--bench-scenario", scenario,
                   "--bench-round", str(round_), *workload.to_args("bench-"),
                   "--processes", "1", "--values", str(plan.values),
                   "--warmups", str(plan.warmups), "--loops", str(loops),
                   "--append", str(pyperf_dir / f"{backend}-n{n}.json"), "--quiet"]  # fmt: skip
            code, _out, err = run_child(
                cmd, timeout=4 * expected + 60, address_space=address_space
            )
            if code != 0:
                errors[backend].append(
                    "killed at the time box" if code is None else err.strip()[-500:]
                )
    values = {b: read_values(pyperf_dir / f"{b}-n{n}.json", scenario) for b in times}
    return values, errors


def read_values(path: Path, name: str) -> dict[int, list[float]]:
    """The values of benchmark ``name`` in a pyperf file, by the round that measured them."""
    if not path.exists():
        return {}
    try:
        bench = pyperf.BenchmarkSuite.load(str(path)).get_benchmark(name)
    except KeyError:
        return {}
    values: dict[int, list[float]] = {}
    for run in bench.get_runs():
        if run.values:
            values.setdefault(int(run.get_metadata()["bench_round"]), []).extend(
                run.values
            )
    return values
