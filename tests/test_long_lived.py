"""The harness's long-lived measurements: consecutive writes on one store
(``bench.sustained``) and the editor's pace through the sidecar (``bench.open_loop``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ait42_session import SqliteSessionRepository
from bench.open_loop import replay, schedule
from bench.stores import build, working_copy
from bench.sustained import sustain
from bench.workloads import Workload

WORKLOAD = Workload("light", 40)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    return build(WORKLOAD, tmp_path_factory.mktemp("cache"), progress=False)


def test_sustained_calls_are_timed_one_by_one_and_checkpoints_seen_where_they_land(
    built, tmp_path: Path
) -> None:
    work = working_copy(built, tmp_path / "work", json_store=True, sqlite_store=True)
    # 200 KB outputs alternating: every call rewrites a piece or two, and their restores
    # too, so 150 calls cross SQLite's bound of 1,000 log pages more than once
    sqlite = sustain("sqlite", "stream_output", work, WORKLOAD, 150, 60.0)
    assert sqlite["n"] == len(sqlite["values_ms"]) == 150
    assert sqlite["checkpoints"] >= 1
    assert sqlite["max"] >= sqlite["p99.9"] >= sqlite["p99"] >= sqlite["median"] > 0
    json_store = sustain("json", "stream_output", work, WORKLOAD, 20, 60.0)
    assert json_store["n"] == 20 and json_store["checkpoints"] is None


def test_the_open_loop_replay_answers_every_scheduled_call_and_appends_them_all(
    built, tmp_path: Path
) -> None:
    work = working_copy(built, tmp_path / "work", json_store=False, sqlite_store=True)
    data = work.data()
    running = data["stream"]["a"]
    runs = replay(
        work.db, data["workspace"], running, agents=2, seconds=2.0, interval=0.2,
        idle_after=0.05, seed=7,
    )  # fmt: skip
    appends = runs["append_instance_output"]["n"]
    assert appends == 2 * 10
    assert runs["all"]["n"] == appends + runs["get_session"]["n"] + runs["list_sessions"]["n"]
    assert runs["all"]["min"] > 0
    with SqliteSessionRepository.with_path(work.db) as repo:
        grown = [
            len(repo.get_session(data["workspace"], f"open-loop-{agent}").instances[0].output)
            for agent in range(2)
        ]
    base = len(running["instances"][0]["output"])
    sent = sum(
        len(params["text"])
        for _, method, params in schedule(2, 2.0, 0.2, 7)
        if method == "append_instance_output"
    )
    assert sent > 0 and sum(grown) - 2 * base == sent
