"""The benchmark suite, and the tests that keep the benchmark harness (``bench/``) honest.

``pytest --benchmark-only`` times every scenario on both stores at 100 and 1,000 sessions
(light profile), one pytest-benchmark group per scenario and size, the two stores side by side.

Plain ``pytest`` (``addopts = --benchmark-skip``) skips those, and instead runs every benchmark
body once as an ordinary test (``test_benchmark_body_runs_once``), asserting its answer, so no
benchmark can rot; it also runs the harness's own tests below: a floor runs exactly the SQLite store's
statements, the bulk loader writes what ``create_session`` writes, the streamed JSON file is
what the JSON store writes, verdicts never call a straddling interval a pass, and ``python -m
bench compare`` runs end to end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from ait42_session import (
    JsonSessionRepository,
    SqliteSessionRepository,
    WorktreeSession,
    compute_workspace_hash,
)
from ait42_session import editor_files
from ait42_session.workspace import workspace_identity

REPO = Path(__file__).resolve().parent.parent
if (
    str(REPO) not in sys.path
):  # bench/ is not installed: plain `pytest` needs the repo root
    sys.path.insert(
        0, str(REPO)
    )  # (pyproject's `pythonpath = ["."]` would make this moot)

from bench.backends import open_case  # noqa: E402
from bench.floors import open_floor  # noqa: E402
from bench.loader import BULK_FTS_TABLES  # noqa: E402
from bench.scenarios import SCENARIOS, Case, Context  # noqa: E402
from bench.report import render  # noqa: E402
from bench.results import load  # noqa: E402
from bench.stats import paired_ratios, project, ratio_interval, verdict  # noqa: E402
from bench.stores import StorePaths, build, working_copy  # noqa: E402
from bench.workloads import MAIN_WORKSPACE, Workload  # noqa: E402

SIZES = [100, 1000]
STORES = ("json", "sqlite")
WRITE_ROUNDS = 15


@pytest.fixture(scope="session")
def built_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, StorePaths]:
    """The light stores at each size, built once per test session (never written)."""
    cache = tmp_path_factory.mktemp("bench-cache")
    return {n: build(Workload("light", n), cache, progress=False) for n in SIZES}


@pytest.fixture(scope="session")
def read_stores(
    built_stores: dict[int, StorePaths], tmp_path_factory: pytest.TempPathFactory
) -> dict[int, StorePaths]:
    """One copy per size that only reads use (opening a store may write its WAL files)."""
    work = tmp_path_factory.mktemp("bench-read")
    return {
        n: working_copy(p, work / str(n), json_store=True, sqlite_store=True)
        for n, p in built_stores.items()
    }


@pytest.fixture
def bench_stores(
    request: pytest.FixtureRequest, built_stores: dict[int, StorePaths], tmp_path: Path
) -> dict[int, StorePaths]:
    """Stores for this test: the shared read copy, or a fresh copy for a write scenario, so
    the order tests run in never matters (writes leave e.g. updated_at changed)."""
    if SCENARIOS[request.node.callspec.params["scenario"]].kind == "read":
        return request.getfixturevalue("read_stores")
    n = request.node.callspec.params["n"]
    return {
        n: working_copy(
            built_stores[n], tmp_path / "work", json_store=True, sqlite_store=True
        )
    }


class RunOnce:
    """Stands in for pytest-benchmark's fixture: calls the function once, untimed."""

    def __call__(self, fn: Callable[[], Any]) -> Any:
        return fn()

    def pedantic(
        self,
        fn: Callable[[], Any],
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        **_: Any,
    ) -> Any:
        if setup is not None:
            setup()
        result = fn()
        if teardown is not None:
            teardown()
        return result


def run_case(runner: Any, case: Case) -> Any:
    """Time ``case`` with ``runner``; writes restore the store after every round, untimed."""
    if case.before is None and case.after is None:
        return runner(case.run)
    before, after = case.before, case.after
    return runner.pedantic(
        case.run,
        setup=(lambda: before()) if before else None,
        teardown=(lambda *_a, **_k: after()) if after else None,
        rounds=WRITE_ROUNDS,
        warmup_rounds=2,
    )


def scenario_body(
    runner: Any, scenario: str, store: str, n: int, stores: dict[int, StorePaths]
) -> None:
    case, close = open_case(store, scenario, stores[n], Workload("light", n))
    try:
        case.check(run_case(runner, case))
    finally:
        close()


cases = pytest.mark.parametrize(
    "scenario, store, n",
    [(s, store, n) for s in SCENARIOS for n in SIZES for store in STORES],
)


@cases
@pytest.mark.benchmark(max_time=0.5, min_rounds=5)
def test_benchmark(
    benchmark: Any,
    scenario: str,
    store: str,
    n: int,
    bench_stores: dict[int, StorePaths],
) -> None:
    benchmark.group = f"{scenario}, {n} sessions"
    scenario_body(benchmark, scenario, store, n, bench_stores)


@cases
def test_benchmark_body_runs_once(
    scenario: str, store: str, n: int, bench_stores: dict[int, StorePaths]
) -> None:
    scenario_body(RunOnce(), scenario, store, n, bench_stores)


# --- the floors run the store's SQL -----------------------------------------------------------


def statements(con: Any, action: Callable[[], Any]) -> list[str]:
    """The SQL text of every statement APSW executes on ``con`` during ``action``."""
    seen: list[str] = []

    def tracer(_cursor: Any, statement: str, _bindings: Any) -> bool:
        seen.append(" ".join(statement.split()))
        return True

    con.exec_trace = tracer
    try:
        action()
    finally:
        con.exec_trace = None
    return seen


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_apsw_floor_runs_exactly_the_statements_of_the_store(
    scenario: str, tmp_path: Path
) -> None:
    workload = Workload("light", 40)
    paths = working_copy(
        build(workload, tmp_path / "cache", progress=False),
        tmp_path / "work",
        json_store=False,
        sqlite_store=True,
    )
    ctx = Context(workload, paths.data(), paths.facts())
    store = SqliteSessionRepository.with_path(paths.db)
    floor = open_floor("apsw", paths.db, *workspace_identity(ctx.workspace))
    try:
        # each case is made just before it runs: a write's statements depend on what is
        # stored (an output's unchanged pieces are not rewritten), so each starts from its
        # own set-up
        for make_case, con, sink in (
            (lambda: SCENARIOS[scenario].on_repository(store, ctx), store.pool.connection(), "store"),
            (lambda: SCENARIOS[scenario].on_sql_floor(floor, ctx), floor.con, "floor"),
        ):
            case = make_case()
            if case.before:
                case.before()
            ran = statements(con, case.run)
            if case.after:
                case.after()
            if sink == "store":
                store_statements = ran
            else:
                floor_statements = ran
    finally:
        store.close()
        floor.close()
    assert store_statements, "the store ran no statement"
    assert floor_statements == store_statements


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_json_floor_runs_every_scenario_and_restores_the_file(
    scenario: str, tmp_path: Path
) -> None:
    workload = Workload("light", 40)
    paths = working_copy(
        build(workload, tmp_path / "cache", progress=False),
        tmp_path / "work",
        json_store=True,
        sqlite_store=False,
    )
    file = next(
        paths.sessions_dir.glob(f"{compute_workspace_hash(MAIN_WORKSPACE)}.json")
    )
    case, close = open_case("msgspec", scenario, paths, workload)

    def cycle() -> None:
        if case.before:
            case.before()
        case.check(case.run())
        if case.after:
            case.after()

    try:
        cycle()
        cycle()  # toggling scenarios are back where they started after two calls
        settled = file.read_bytes()
        cycle()
        cycle()
        assert file.read_bytes() == settled  # every call is restored: the size stays n
    finally:
        close()
    assert len(json.loads(settled)) == workload.n


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_answers_right_through_the_sidecar(
    scenario: str, tmp_path: Path
) -> None:
    workload = Workload("light", 40)
    paths = working_copy(
        build(workload, tmp_path / "cache", progress=False),
        tmp_path / "work",
        json_store=False,
        sqlite_store=True,
    )
    case, close = open_case("sidecar", scenario, paths, workload)
    try:
        for _ in range(2):
            if case.before:
                case.before()
            case.check(case.run())
            if case.after:
                case.after()
    finally:
        close()


@pytest.fixture(scope="module")
def postgres_copy(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[StorePaths, Workload]]:
    """A light workload of 40 sessions loaded into PostgreSQL as ``compare`` loads it."""
    from bench import postgres_store
    from postgres_cluster import cluster

    root = tmp_path_factory.mktemp("postgres-copy")
    workload = Workload("light", 40)
    paths = working_copy(build(workload, root / "cache", progress=False), root / "work",
                         json_store=False, sqlite_store=True)  # fmt: skip
    with postgres_store.server_for(cluster().dsn()) as server:
        postgres_store.prepare(server, paths, workload)
        yield paths, workload
        postgres_store.drop_working_copy(server, paths)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_answers_right_on_postgres(
    scenario: str, postgres_copy: tuple[StorePaths, Workload]
) -> None:
    paths, workload = postgres_copy
    case, close = open_case("postgres", scenario, paths, workload)
    try:
        for _ in range(2):
            if case.before:
                case.before()
            case.check(case.run())
            if case.after:
                case.after()
    finally:
        close()


# --- the stores the harness builds ------------------------------------------------------------


@pytest.mark.parametrize(
    "items", [[], [{"a": 1}], [{"a": [1, {"b": None}], "c": 'é\\n"x"'}, {}, []]]
)
def test_the_streamed_json_array_is_byte_identical_to_a_whole_encode(
    items: list[Any], tmp_path: Path
) -> None:
    path = tmp_path / "out.json"
    with open(path, "wb") as out:
        writer = editor_files.ArrayWriter(out)
        for item in items:
            writer.write(item)
        writer.close()
    assert path.read_bytes() == editor_files.encode(items)
    assert path.read_text(encoding="utf-8") == json.dumps(
        items, indent=2, ensure_ascii=False
    )


def test_the_json_file_is_what_the_json_store_itself_writes(tmp_path: Path) -> None:
    paths = build(Workload("realistic", 8), tmp_path / "cache", progress=False)
    file = next(paths.sessions_dir.glob("*.json"))
    before = file.read_bytes()
    store = JsonSessionRepository(paths.sessions_dir)
    first = store.get_all_sessions(MAIN_WORKSPACE)[-1]
    store.update_session(
        MAIN_WORKSPACE, first
    )  # rewrites the whole file, in file order
    assert file.read_bytes() == before


@pytest.mark.parametrize("profile", ["light", "realistic"])
def test_a_bulk_loaded_store_reads_back_like_one_written_by_create_session(
    profile: str, tmp_path: Path
) -> None:
    workload = Workload(profile, 12)
    paths = build(workload, tmp_path / "cache", progress=False)
    assert paths.db.read_bytes()[18:20] == b"\x02\x02"  # back in WAL mode, as any store
    loaded = SqliteSessionRepository.with_path(paths.db)
    assert loaded.pool.verify_integrity()
    con = loaded.pool.connection()
    created = SqliteSessionRepository.with_path(tmp_path / "created.db")
    for table in BULK_FTS_TABLES:  # the schema's merging again, as in a store never loaded
        settings = f"SELECT k, v FROM {table}_config WHERE k IN ('automerge', 'crisismerge')"
        fresh = dict(created.pool.connection().execute(settings))
        assert dict(con.execute(settings)) == {"automerge": 4, **fresh}
        assert fresh["crisismerge"] == 64  # migration 0011
    # optimized, as `ait42-session optimize` leaves a store: analyzed, with no free page
    assert con.execute("SELECT count(*) FROM sqlite_stat1").get > 0
    assert con.pragma("freelist_count") == 0
    json_store = JsonSessionRepository(paths.sessions_dir)
    try:
        for index, (workspace, _count) in enumerate(workload.workspaces()):
            for data in workload.sessions(index):
                created.create_session(workspace, WorktreeSession.from_json(data))
        for workspace, count in workload.workspaces():
            want = [s.to_json() for s in created.get_all_sessions(workspace)]
            assert len(want) == count
            assert [s.to_json() for s in loaded.get_all_sessions(workspace)] == want
            assert [s.to_json() for s in json_store.get_all_sessions(workspace)] == want
        assert loaded.search(MAIN_WORKSPACE, "the") == created.search(
            MAIN_WORKSPACE, "the"
        )
    finally:
        loaded.close()
        created.close()


def test_workloads_are_deterministic_and_match_their_profiles() -> None:
    light, realistic = Workload("light", 200), Workload("realistic", 60)
    assert light.session_json(7) == Workload("light", 5000).session_json(7)
    sessions = list(light.sessions())
    assert all(
        0 <= len(s["instances"]) <= 5 and len(s["chatHistory"]) <= 10 for s in sessions
    )
    assert all(i["output"] is None for s in sessions for i in s["instances"])
    rich = list(realistic.sessions())
    assert all(
        1 <= len(s["instances"]) <= 10 and len(s["chatHistory"]) <= 60 for s in rich
    )
    stamps = [s["createdAt"] for s in rich]
    assert any(t.endswith("Z") for t in stamps) and any(
        t.endswith("+00:00") for t in stamps
    )
    outputs = sorted(
        len(i["output"]) for s in rich for i in s["instances"] if i["output"]
    )
    assert 4_000 < outputs[len(outputs) // 2] < 16_000  # median around 8 KB
    assert outputs[-1] <= 256 * 1024


# --- statistics -------------------------------------------------------------------------------


def test_ratios_pair_values_by_round_and_position() -> None:
    pairs = paired_ratios(
        {0: [10.0, 20.0], 1: [30.0]}, {0: [1.0, 2.0], 1: [3.0, 9.0], 2: [1.0]}
    )
    assert pairs == {0: [10.0, 10.0], 1: [10.0]}


def test_an_interval_that_straddles_the_target_is_never_a_pass() -> None:
    rounds = [[8.0, 9.0], [11.0, 12.0], [9.0, 10.0], [10.0, 11.0], [8.5, 11.5]]
    interval = ratio_interval(dict(enumerate(rounds)))
    assert interval is not None and interval["low"] < 10 < interval["high"]
    assert verdict(interval, 10)[0] == "UNCLEAR"
    assert verdict(interval, 5)[0] == "PASS"
    assert verdict(interval, 50)[0] == "FAIL"
    assert verdict(interval, None)[0] == "-"


def test_projection_is_at_least_linear() -> None:
    assert project([(100, 1.0), (1000, 2.0)], 10_000)["value"] == pytest.approx(20.0)
    assert project([(100, 1.0), (1000, 100.0)], 10_000)["value"] == pytest.approx(
        10_000.0
    )
    assert project([], 10_000) is None


# --- the command line, end to end -------------------------------------------------------------


def test_compare_runs_end_to_end_and_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--cache",
        str(tmp_path / "cache"),
        "compare",
        "--profile",
        "light",
        "--scales",
        "30",
        "--scenarios",
        "get_all_sessions,create_session",
        "--backends",
        "json,msgspec,sqlite,apsw",
        "--rounds",
        "2",
        "--values",
        "2",
        "--warmups",
        "0",
        "--trace-scales",
        "",
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| get_all_sessions | 30 |" in done.stdout
    results = json.loads((out / "results.json").read_text())
    cell = results["cells"]["create_session"]["30"]["sqlite"]
    assert cell["status"] == "measured" and len(cell["values"]) == 2
    assert results["builds"]["30"]["after_run"]["ok"]
    for name in (
        "report.md",
        "charts/time_vs_sessions.png",
        "charts/ratio_vs_sessions.png",
        "charts/memory_vs_sessions.png",
    ):
        assert (out / name).stat().st_size > 0
    compared = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyperf",
            "compare_to",
            str(out / "pyperf/json-n30.json"),
            str(out / "pyperf/sqlite-n30.json"),
            "--table",
        ],
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0 and "get_all_sessions" in compared.stdout
    assert results["cells"]["get_all_sessions"]["30"]["msgspec"]["status"] == "measured"
    assert "msgspec floor" in (out / "report.md").read_text()
    assert "stopped before it finished" not in (out / "report.md").read_text()
    results = load(out / "results.json")
    del results["meta"]["finished"]
    del results["cells"]["create_session"]
    assert "not reached: create_session at 30." in render(results, [])
    pyperf_text = (out / "pyperf/sqlite-n30.json").read_text()
    assert sys.executable not in pyperf_text and '"<venv>/bin/' in pyperf_text
    shutil.rmtree(tmp_path / "cache")


def test_scrub_replaces_every_folder_of_this_machine_with_a_label() -> None:
    import tempfile

    from bench.environment import REPO, scrub

    text = json.dumps(
        {
            "python_executable": sys.executable,
            "config": f"--prefix={sys.base_prefix} --libdir={sys.base_prefix}/lib",
            "traceback": f'File "{REPO / "bench" / "probe.py"}", line 3',
            "scratch": str(Path(tempfile.gettempdir()) / "ait42-x" / "store.db"),
            "home": str(Path.home() / ".ait42"),
        }
    )
    clean = scrub(text)
    assert json.loads(clean)["traceback"] == 'File "<repo>/bench/probe.py", line 3'
    for path in (sys.executable, sys.base_prefix, str(REPO), tempfile.gettempdir()):
        assert path not in clean
    assert str(Path.home()) + "/" not in clean


def test_committed_results_name_no_folder_of_this_machine() -> None:
    from bench.environment import REPO, machine_paths

    listed = subprocess.run(
        ["git", "ls-files", "results"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    texts = [REPO / name for name in listed if not name.endswith(".png")]
    for path in texts:
        text = path.read_text()
        for folder, _label in machine_paths():
            assert folder + "/" not in text and f'"{folder}"' not in text, (
                path,
                folder,
            )


def test_the_facts_name_the_largest_session_of_the_main_workspace(
    tmp_path: Path,
) -> None:
    workload = Workload("realistic", 30)
    facts = build(workload, tmp_path / "cache", progress=False).facts()

    def chars(data: dict[str, Any]) -> int:
        return (
            len(data["task"])
            + sum(len(i["output"] or "") for i in data["instances"])
            + sum(len(m["content"]) for m in data["chatHistory"])
        )

    sizes = [chars(workload.session_json(k)) for k in range(30)]
    assert facts["largest"] == {"index": sizes.index(max(sizes)), "chars": max(sizes)}
    assert max(sizes) > sorted(sizes)[15]  # a largest that differs from a typical one


def test_the_editor_trace_is_the_shipping_editors_call_mix() -> None:
    from bench import trace

    ops = trace.trace_ops("editor")
    kinds = {op["op"] for op in ops}
    assert kinds <= {
        "get_all_sessions", "create_session", "upsert_session", "add_chat_message",
        "update_session",
    }  # fmt: skip  (no shipping component deletes, sets a status or searches)
    creates = [op for op in ops if op["op"] == "create_session"]
    refused = [op for op in creates if op.get("expect") == "AlreadyExistsError"]
    firsts = {op["session"]["id"] for op in creates if "expect" not in op}
    runners = {op["session"]["id"] for op in ops if op["op"] == "upsert_session"}
    # every session is created twice: after the dialog's create, or after the runner's write
    assert {op["session"]["id"] for op in refused} == firsts | runners
    statuses = [op["session"]["status"] for op in ops if op["op"] == "upsert_session"]
    assert {"round_1", "round_2", "round_3", "completed"} <= set(statuses)
    system = [op["message"]["content"] for op in ops if op["op"] == "add_chat_message"
              and op["message"]["role"] == "system"]  # fmt: skip
    assert system and min(map(len, system)) > 10_000  # whole scrollbacks


def test_the_editor_trace_replays_alike_on_both_stores(tmp_path: Path) -> None:
    from bench import trace

    outcome = trace.replay_both(Workload("light", 30), tmp_path / "cache", trace="editor")

    assert outcome["complete"] and outcome["mismatches"] == []
    assert outcome["trace"] == "editor-v1.jsonl"
    kinds = outcome["stores"]["sqlite"]["kinds"]
    assert kinds["upsert_session"]["count"] > 0 and kinds["create_session"]["count"] > 0
    assert kinds["create_session (refused)"]["count"] > 0
    assert set(outcome["stores"]) == {"json", "sqlite"}
