"""``ait42-session serve``: the real sidecar process, driven as the editor's board drives it.

Every test starts the sidecar as a subprocess on a database under ``tmp_path`` and talks
JSON-RPC 2.0 over its stdin and stdout, one object per line, with the board's own argument
objects (upstream ``src/services/tauri.ts``) and its filter and sort objects
(``src/types/worktree.ts``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from ait42_session import SqliteSessionRepository
from ait42_session.rpc import ERROR_CODES

from conftest import at, make_instance, make_message, make_session


class Sidecar:
    """One ``ait42-session serve`` process."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ait42_session", "--db", str(db), "serve", *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.next_id = 0

    def send_line(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.endswith(b"\n"), (
            line,
            self.proc.stderr.read() if self.proc.stderr else b"",
        )
        return json.loads(line)

    def request(self, method: str, params: Any = None, **extra: Any) -> Any:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.send_line(json.dumps(message).encode())
        answer = self.read()
        assert answer["id"] == self.next_id and answer["jsonrpc"] == "2.0"
        return answer

    def call(self, method: str, params: Any = None) -> Any:
        answer = self.request(method, params)
        assert "error" not in answer, answer
        return answer["result"]

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        return code


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[Sidecar]:
    car = Sidecar(tmp_path / "sessions.db")
    try:
        yield car
    finally:
        if car.proc.poll() is None:
            car.proc.kill()
            car.proc.wait()


def board_session(session_id: str = "s1", **fields: Any) -> dict[str, Any]:
    """A session as the board sends it: the editor's JSON, with a front-end key or two."""
    data = make_session(
        session_id, instances=[make_instance(0), make_instance(1)], messages=1, **fields
    ).to_json()
    data["evaluation"] = {
        "scores": [90, 70]
    }  # the board keeps keys the Rust structs drop
    return data


# --- the board's seven commands -------------------------------------------------------------


def test_the_seven_commands_with_the_boards_argument_objects(
    sidecar: Sidecar, workspace: str
):
    session = board_session()
    created = sidecar.call(
        "create_session", {"workspacePath": workspace, "session": session}
    )
    assert created == session  # the stored session, camelCase, unknown keys kept

    got = sidecar.call("get_session", {"workspacePath": workspace, "sessionId": "s1"})
    assert got == session

    changed = {**session, "task": "A new task", "status": "completed"}
    updated = sidecar.call(
        "update_session", {"workspacePath": workspace, "session": changed}
    )
    assert updated["task"] == "A new task" and updated["status"] == "completed"

    message = make_message(
        "m-new", "a reply", role="assistant", instance_id=1
    ).to_json()
    after_message = sidecar.call(
        "add_chat_message",
        {"workspacePath": workspace, "sessionId": "s1", "message": message},
    )
    assert after_message["chatHistory"][-1] == message
    assert after_message["updatedAt"] > session["updatedAt"]  # set to now

    after_status = sidecar.call(
        "update_instance_status",
        {
            "workspacePath": workspace,
            "sessionId": "s1",
            "instanceId": 1,
            "newStatus": "failed",
        },
    )
    assert [i["status"] for i in after_status["instances"]] == ["running", "failed"]

    every = sidecar.call("get_all_sessions", {"workspacePath": workspace})
    assert [s["id"] for s in every] == ["s1"] and every[0] == after_status

    assert (
        sidecar.call("delete_session", {"workspacePath": workspace, "sessionId": "s1"})
        is None
    )
    assert sidecar.call("get_all_sessions", {"workspacePath": workspace}) == []
    assert sidecar.close() == 0


def test_a_session_comes_back_in_the_editors_key_order_with_nulls(
    sidecar: Sidecar, workspace
):
    sidecar.call(
        "create_session", {"workspacePath": workspace, "session": board_session()}
    )
    sidecar.send_line(json.dumps({
        "jsonrpc": "2.0", "id": 9, "method": "get_session",
        "params": {"workspacePath": workspace, "sessionId": "s1"},
    }).encode())  # fmt: skip
    assert sidecar.proc.stdout is not None
    line = sidecar.proc.stdout.readline().decode()
    keys = list(json.loads(line)["result"])
    # The shipping editor's struct order: the lists right after completedAt, then the
    # options, then keys only the board writes.
    assert keys[:9] == [
        "id",
        "type",
        "task",
        "status",
        "createdAt",
        "updatedAt",
        "completedAt",
        "instances",
        "chatHistory",
    ]
    assert keys[-2:] == ["totalLinesDeleted", "evaluation"]
    assert '"completedAt":null' in line


def test_deleting_an_id_the_workspace_does_not_have_succeeds_as_in_the_editor(
    sidecar: Sidecar, workspace: str
):
    assert (
        sidecar.call("delete_session", {"workspacePath": workspace, "sessionId": "x"})
        is None
    )


def test_a_blank_workspace_gets_an_empty_list_as_in_the_editor(sidecar: Sidecar):
    assert sidecar.call("get_all_sessions", {"workspacePath": "   "}) == []


# --- queries with the board's filter and sort objects ----------------------------------------


@pytest.fixture
def listed(sidecar: Sidecar, workspace: str) -> Sidecar:
    sessions = [
        ("a", "competition", "completed", at(0, day=13), "Implement auth flow"),
        ("b", "ensemble", "failed", at(5, day=14), "Fix the parser"),
        ("c", "debate", "running", at(10, day=15), "Debate the design"),
    ]
    for sid, kind, status, when, task in sessions:
        data = make_session(sid, type=kind, status=status, created_at=when, updated_at=when,
                            task=task, total_duration=len(task)).to_json()  # fmt: skip
        sidecar.call("create_session", {"workspacePath": workspace, "session": data})
    return sidecar


def test_list_query_and_count_take_the_boards_filter_and_sort_objects(
    listed, workspace
):
    params = {
        "workspacePath": workspace,
        "filters": {
            "type": ["competition", "ensemble"],
            "status": ["completed", "failed"],
        },
        "sort": {"field": "createdAt", "direction": "asc"},
    }
    summaries = listed.call("list_sessions", params)
    assert [s["id"] for s in summaries] == ["a", "b"]
    assert summaries[0]["instanceCount"] == 0 and "chatHistory" not in summaries[0]
    whole = listed.call("query_sessions", {**params, "limit": 1, "offset": 1})
    assert [s["id"] for s in whole] == ["b"] and whole[0]["chatHistory"] == []
    count = listed.call(
        "count_sessions", {"workspacePath": workspace, "filters": params["filters"]}
    )
    assert count == 2
    by_duration = listed.call(
        "list_sessions",
        {
            "workspacePath": workspace,
            "sort": {"field": "duration", "direction": "desc"},
        },
    )
    assert [s["id"] for s in by_duration] == [
        "a",
        "c",
        "b",
    ]  # tasks of 19, 17, 14 characters


@pytest.mark.parametrize("query", ["   ", "\t\n", ""])
def test_a_whitespace_only_search_query_is_no_filter(listed, workspace, query):
    found = listed.call(
        "count_sessions",
        {"workspacePath": workspace, "filters": {"searchQuery": query}},
    )
    assert found == 3


def test_a_search_query_is_trimmed_and_case_blind(listed, workspace):
    found = listed.call(
        "list_sessions",
        {"workspacePath": workspace, "filters": {"searchQuery": "  AUTH  "}},
    )
    assert [s["id"] for s in found] == ["a"]


DATES = {
    # dateFrom, dateTo, timeZone: ids created in range (a: 13th 10:00Z, b: 14th 10:05Z, c: 15th 10:10Z)
    "a whole day, inclusive at both ends": ("2025-01-14", "2025-01-14", None, ["b"]),
    "days from and to": ("2025-01-13", "2025-01-14", None, ["a", "b"]),
    "a minute": ("2025-01-14T10:05", "2025-01-14T10:05", None, ["b"]),
    "RFC 3339": ("2025-01-14T10:05:00Z", "2025-01-15T10:10:00+00:00", None, ["b", "c"]),
    "a day in Tokyo": (
        "2025-01-15",
        "2025-01-15",
        "Asia/Tokyo",
        ["c"],
    ),  # 14th 15:00Z on
    "a minute at an offset": ("2025-01-14T19:05", "2025-01-14T19:05", "+09:00", ["b"]),
}


@pytest.mark.parametrize(
    "date_from, date_to, zone, want", DATES.values(), ids=DATES.keys()
)
def test_dates_as_the_boards_inputs_produce_them(
    listed, workspace, date_from, date_to, zone, want
):
    params: dict[str, Any] = {
        "workspacePath": workspace,
        "filters": {"dateFrom": date_from, "dateTo": date_to},
        "sort": {"field": "createdAt", "direction": "asc"},
    }
    if zone:
        params["timeZone"] = zone
    assert [s["id"] for s in listed.call("list_sessions", params)] == want


def test_search_finds_text_and_with_prefix_finds_a_word_being_typed(listed, workspace):
    hits = listed.call("search", {"workspacePath": workspace, "query": "parser"})
    assert [(h["sessionId"], h["kind"]) for h in hits] == [("b", "task")]
    assert "[parser]" in hits[0]["snippet"]
    assert listed.call("search", {"workspacePath": workspace, "query": "pars"}) == []
    typed = listed.call(
        "search", {"workspacePath": workspace, "query": "pars", "prefix": True}
    )
    assert [h["sessionId"] for h in typed] == ["b"] and "[parser]" in typed[0][
        "snippet"
    ]


# --- errors ------------------------------------------------------------------------------------


def test_errors_are_json_rpc_error_objects_with_the_class_name(
    sidecar: Sidecar, workspace: str
):
    sidecar.call(
        "create_session", {"workspacePath": workspace, "session": board_session()}
    )
    cases = [
        ("get_session", {"workspacePath": workspace, "sessionId": "nope"}, -32001, "NotFoundError"),
        ("create_session", {"workspacePath": workspace, "session": board_session()}, -32002,
         "AlreadyExistsError"),
        ("create_session", {"workspacePath": workspace, "session": board_session("t", type="x")},
         -32602, "ValidationError"),
        ("update_instance_status", {"workspacePath": workspace, "sessionId": "s1",
                                    "instanceId": 7, "newStatus": "failed"}, -32001, "NotFoundError"),
        ("get_all_sessions", {"workspace": workspace}, -32602, "ValidationError"),
        ("get_session", {"workspacePath": workspace, "sessionId": 3}, -32602, "ValidationError"),
        ("list_sessions", {"workspacePath": workspace, "filters": {"types": ["debate"]}}, -32602,
         "ValidationError"),
        ("list_sessions", {"workspacePath": workspace, "sort": {"field": "name", "direction": "asc"}},
         -32602, "ValidationError"),
        ("list_sessions", {"workspacePath": workspace, "filters": {"dateFrom": "soon"}}, -32602,
         "ValidationError"),
    ]  # fmt: skip
    for method, params, code, name in cases:
        error = sidecar.request(method, params)["error"]
        assert (error["code"], error["data"]["class"]) == (code, name), (method, error)
        assert error["message"]
    assert sidecar.request("no_such_method", {})["error"]["code"] == -32601
    assert sidecar.request("get_session", ["positional"])["error"]["code"] == -32602


def test_every_error_class_has_its_own_code() -> None:
    codes = list(ERROR_CODES.values())
    assert len(set(codes)) == len(codes)


def _newer_schema(db: Path) -> None:
    with SqliteSessionRepository.with_path(db) as repo:
        repo.pool.connection().pragma("user_version", 999)


UNOPENABLE = {
    "damaged": (lambda db: db.write_bytes(b"not a database, but long enough to look like one"),
                -32003, "StoreCorruptedError"),
    "newer schema": (_newer_schema, -32005, "MigrationError"),
    "folder is a file": (lambda db: db.parent.parent.joinpath("blocker").write_text(""),
                         -32004, "DatabaseError"),
}  # fmt: skip


@pytest.mark.parametrize(
    "damage, code, name", UNOPENABLE.values(), ids=UNOPENABLE.keys()
)
def test_a_store_that_cannot_be_opened_answers_every_request_with_why(
    tmp_path: Path, workspace: str, damage: Any, code: int, name: str
):
    db = tmp_path / "store" / "sessions.db"
    db.parent.mkdir()
    damage(db)
    if name == "DatabaseError":
        db = tmp_path / "blocker" / "sessions.db"  # its folder is a file
    car = Sidecar(db)
    try:
        for _ in range(2):  # and goes on answering
            error = car.request("get_all_sessions", {"workspacePath": workspace})[
                "error"
            ]
            assert (error["code"], error["data"]["class"]) == (code, name)
    finally:
        assert car.close() == 0


def test_malformed_lines_get_an_error_and_the_server_goes_on(
    sidecar: Sidecar, workspace: str
):
    sidecar.send_line(b'{"jsonrpc": "2.0", "id": 1, "method": "get_all')  # cut short
    assert sidecar.read()["error"]["code"] == -32700
    sidecar.send_line(b"[]")
    assert sidecar.read()["error"]["code"] == -32600
    sidecar.send_line(b'{"id": 2, "method": "get_all_sessions"}')  # no "jsonrpc": "2.0"
    assert sidecar.read()["error"]["code"] == -32600
    sidecar.send_line(b'"just a string"')
    assert sidecar.read()["error"]["code"] == -32600
    sidecar.send_line("\ud83d".encode("utf-8", "surrogatepass"))
    assert sidecar.read()["error"]["code"] == -32700
    assert sidecar.call("get_all_sessions", {"workspacePath": workspace}) == []


def test_batches_are_answered_in_order_and_notifications_not_at_all(sidecar, workspace):
    batch = [
        {"jsonrpc": "2.0", "id": "c", "method": "create_session",
         "params": {"workspacePath": workspace, "session": board_session()}},
        {"jsonrpc": "2.0", "method": "delete_session",
         "params": {"workspacePath": workspace, "sessionId": "nobody"}},  # a notification
        {"jsonrpc": "2.0", "id": "n", "method": "count_sessions",
         "params": {"workspacePath": workspace}},
        {"jsonrpc": "2.0", "id": "e", "method": "nope"},
    ]  # fmt: skip
    sidecar.send_line(json.dumps(batch).encode())
    answers = sidecar.read()
    assert [a["id"] for a in answers] == ["c", "n", "e"]
    assert answers[1]["result"] == 1 and answers[2]["error"]["code"] == -32601
    sidecar.send_line(
        json.dumps(batch[1:2]).encode()
    )  # only notifications: no answer at all
    assert sidecar.call("count_sessions", {"workspacePath": workspace}) == 1


def test_stdout_holds_nothing_but_responses(sidecar: Sidecar, workspace: str):
    for _ in range(3):
        sidecar.call("get_all_sessions", {"workspacePath": workspace})
    assert sidecar.close() == 0
    assert sidecar.proc.stdout is not None and sidecar.proc.stdout.read() == b""


# --- the process -------------------------------------------------------------------------------


def test_end_of_input_closes_the_store_cleanly(tmp_path: Path, workspace: str):
    db = tmp_path / "sessions.db"
    car = Sidecar(db)
    car.call("create_session", {"workspacePath": workspace, "session": board_session()})
    assert car.close() == 0
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    with SqliteSessionRepository.with_path(db) as repo:
        assert [s.id for s in repo.get_all_sessions(workspace)] == ["s1"]


def test_sigterm_finishes_the_request_in_flight_then_stops(
    tmp_path: Path, workspace: str
):
    car = Sidecar(tmp_path / "sessions.db")
    car.call("get_all_sessions", {"workspacePath": workspace})  # started and serving
    big = board_session()
    big["instances"][0]["output"] = "lots of agent output " * 200_000  # a slow write
    car.send_line(json.dumps({"jsonrpc": "2.0", "id": 99, "method": "create_session",
                              "params": {"workspacePath": workspace, "session": big}}).encode())  # fmt: skip
    time.sleep(0.05)
    car.proc.send_signal(signal.SIGTERM)
    answer = car.read()
    assert answer["id"] == 99 and answer["result"]["id"] == "s1"
    assert car.proc.wait(timeout=30) == 0


def test_sigterm_stops_an_idle_server(tmp_path: Path):
    car = Sidecar(tmp_path / "sessions.db")
    car.call("data_version", {})
    car.proc.send_signal(signal.SIGTERM)
    assert car.proc.wait(timeout=10) == 0


def test_several_sidecars_serve_one_database_at_once(tmp_path: Path, workspace: str):
    cars = [Sidecar(tmp_path / "sessions.db") for _ in range(3)]
    try:
        for n, car in enumerate(cars):
            car.call(
                "create_session",
                {"workspacePath": workspace, "session": board_session(f"s{n}")},
            )
        versions = [car.call("data_version", {}) for car in cars]
        cars[0].call("delete_session", {"workspacePath": workspace, "sessionId": "s0"})
        assert cars[1].call("data_version", {}) != versions[1]  # another window wrote
        for car in cars:
            assert sorted(
                s["id"]
                for s in car.call("get_all_sessions", {"workspacePath": workspace})
            ) == ["s1", "s2"]
    finally:
        assert all(car.close() == 0 for car in cars)


def test_ait42_home_locates_the_database_as_for_the_other_commands(
    ait42_home, workspace
):
    car = Sidecar.__new__(Sidecar)
    car.proc = subprocess.Popen([sys.executable, "-m", "ait42_session", "serve"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**os.environ})  # fmt: skip
    car.next_id = 0
    car.call("create_session", {"workspacePath": workspace, "session": board_session()})
    assert car.close() == 0
    assert (ait42_home / "sessions.db").is_file()


def test_upsert_session_is_the_debate_runners_update_or_insert(
    sidecar: Sidecar, workspace: str
):
    runner = board_session("debate-1", type="debate", status="round_1")
    inserted = sidecar.call("upsert_session", {"workspacePath": workspace, "session": runner})
    runner["status"] = "round_2"
    replaced = sidecar.call("upsert_session", {"workspacePath": workspace, "session": runner})
    listed = sidecar.call("get_all_sessions", {"workspacePath": workspace})

    assert inserted["status"] == "round_1" and replaced == runner
    assert [s["status"] for s in listed] == ["round_2"]
    for params in (
        {"workspacePath": workspace, "session": {**runner, "status": "exploded"}},
        {"workspacePath": workspace, "session": {**runner, "instances": "none"}},
        {"workspacePath": workspace},
        {"workspacePath": "", "session": runner},
    ):
        error = sidecar.request("upsert_session", params)["error"]
        assert (error["code"], error["data"]["class"]) == (-32602, "ValidationError"), params
    assert sidecar.call("get_all_sessions", {"workspacePath": workspace}) == listed
