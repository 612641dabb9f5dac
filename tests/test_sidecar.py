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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ait42_session import SqliteSessionRepository
from ait42_session.rpc import ERROR_CODES

from conftest import at, make_instance, make_message, make_session


# The sidecar under test: this interpreter's package, or the frozen binary that
# tools/build-sidecar makes when $AIT42_SIDECAR names it (.ci/run runs this file both ways).
SIDECAR_COMMAND = (
    [os.environ["AIT42_SIDECAR"]]
    if os.environ.get("AIT42_SIDECAR")
    else [sys.executable, "-m", "ait42_session"]
)


class Sidecar:
    """One ``ait42-session serve`` process."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [*SIDECAR_COMMAND, "--db", str(db), "serve", *extra],
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

    appended = sidecar.call(
        "append_instance_output",
        {"workspacePath": workspace, "sessionId": "s1", "instanceId": 1, "text": "more\n"},
    )
    assert appended is None  # not the session: a stream appends many times a second
    after_append = sidecar.call("get_session", {"workspacePath": workspace, "sessionId": "s1"})
    assert after_append["instances"][1]["output"] == (
        (after_status["instances"][1]["output"] or "") + "more\n"
    )
    assert after_append["updatedAt"] >= after_status["updatedAt"]

    every = sidecar.call("get_all_sessions", {"workspacePath": workspace})
    assert [s["id"] for s in every] == ["s1"] and every[0] == after_append

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
        ("append_instance_output", {"workspacePath": workspace, "sessionId": "s1",
                                    "instanceId": 7, "text": "x"}, -32001, "NotFoundError"),
        ("append_instance_output", {"workspacePath": workspace, "sessionId": "s1",
                                    "instanceId": 0, "text": 7}, -32602, "ValidationError"),
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


@pytest.mark.parametrize("idle_after", ["0.2", "0"])
def test_an_idle_sidecar_checkpoints_its_wal_off_the_write_path(
    tmp_path: Path, workspace: str, idle_after: str
):
    """In WAL mode a write goes to the log only; the database file changes at a checkpoint.
    After a quiet spell the sidecar checkpoints (passive); with ``--idle-after 0``, never
    (below SQLite's automatic bound of 1,000 pages)."""
    db = tmp_path / "sessions.db"
    car = Sidecar(db, "--idle-after", idle_after)
    try:
        car.call("data_version", {})
        time.sleep(1.0)  # opening (the migrations) checkpointed or not, as the setting says
        before = db.read_bytes()
        car.call("create_session", {"workspacePath": workspace, "session": board_session()})
        assert db.read_bytes() == before  # the write itself went to the log only
        time.sleep(1.0)
        assert (db.read_bytes() != before) == (idle_after != "0")
        assert car.call("get_session", {"workspacePath": workspace, "sessionId": "s1"})["id"] == "s1"  # fmt: skip
    finally:
        assert car.close() == 0


def test_serve_refuses_an_idle_spell_that_is_no_number_of_seconds(tmp_path: Path):
    for bad in ("soon", "-1", "nan", "1e9"):
        car = Sidecar(tmp_path / "sessions.db", "--idle-after", bad)
        assert car.close() == 2
        assert b"--idle-after" in car.proc.stderr.read()


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
    car.proc = subprocess.Popen([*SIDECAR_COMMAND, "serve"],
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


# --- every answer carries its id -------------------------------------------------------------

BOARD_CALLS = {
    "create_session": lambda ws, text: {"workspacePath": ws, "session": board_session(text)},
    "update_session": lambda ws, text: {"workspacePath": ws, "session": board_session("s1", task=text)},
    "upsert_session": lambda ws, text: {"workspacePath": ws, "session": {**board_session(), "evaluation": text}},
    "get_session": lambda ws, text: {"workspacePath": ws, "sessionId": text},
    "get_all_sessions": lambda ws, text: {"workspacePath": ws + text},
    "delete_session": lambda ws, text: {"workspacePath": ws, "sessionId": text},
    "add_chat_message": lambda ws, text: {
        "workspacePath": ws, "sessionId": "s1", "message": make_message("m", text).to_json()},
    "update_instance_status": lambda ws, text: {
        "workspacePath": ws, "sessionId": "s1", "instanceId": 0, "newStatus": text},
    "append_instance_output": lambda ws, text: {
        "workspacePath": ws, "sessionId": "s1", "instanceId": 0, "text": text},
    "search": lambda ws, text: {"workspacePath": ws, "query": text},
    "list_sessions": lambda ws, text: {"workspacePath": ws, "filters": {"searchQuery": text}},
}  # fmt: skip


# What each method answers to a NUL: refused where it would be stored in a field of the
# editor's structs (PostgreSQL's text cannot hold one; README, deliberate differences), kept
# inside a key only the board writes (stored as JSON, escaped), and looked up as any other
# text elsewhere. A lone surrogate is refused everywhere: UTF-8 cannot hold it, and the
# editor's serde refuses it too.
NUL_ANSWERS = {
    "create_session": -32602, "update_session": -32602, "upsert_session": "stored",
    "get_session": -32001, "get_all_sessions": -32602, "delete_session": "answered",
    "add_chat_message": -32602, "update_instance_status": -32602, "search": "answered",
    "list_sessions": "answered", "append_instance_output": -32602,
}  # fmt: skip


@pytest.mark.parametrize("method", BOARD_CALLS)
@pytest.mark.parametrize("text", ["cut emoji \ud83d", "NUL \x00 inside"], ids=["surrogate", "nul"])
def test_a_lone_surrogate_or_a_nul_gets_an_answer_with_the_requests_id(
    sidecar: Sidecar, workspace: str, method: str, text: str
):
    """JSON.stringify writes a lone surrogate as an escape; Python's json reads it, msgspec
    does not. Either way the answer carries the request's id."""
    sidecar.call("create_session", {"workspacePath": workspace, "session": board_session()})
    before = sidecar.call("get_all_sessions", {"workspacePath": workspace})
    line = json.dumps({
        "jsonrpc": "2.0", "id": 41, "method": method,
        "params": BOARD_CALLS[method](workspace, text),
    })  # fmt: skip
    sidecar.send_line(line.encode())

    answer = sidecar.read()

    assert answer["id"] == 41, answer
    expected = -32602 if "\ud83d" in text else NUL_ANSWERS[method]
    if isinstance(expected, int):
        assert answer["error"]["code"] == expected, answer
        if expected == -32602 and "\ud83d" in text:
            assert "lone surrogate" in answer["error"]["message"]
    else:
        assert "result" in answer, answer
    after = sidecar.call("get_all_sessions", {"workspacePath": workspace})
    if expected == "stored":
        assert after[0]["evaluation"] == text
    else:
        assert after == before


def test_an_id_holding_a_lone_surrogate_comes_back_as_it_was_sent(sidecar: Sidecar, workspace):
    sidecar.send_line(b'{"jsonrpc": "2.0", "id": "req-\\ud83d", "method": "get_all_sessions",'
                      b' "params": {"workspacePath": "' + workspace.encode() + b'"}}')  # fmt: skip
    assert sidecar.read() == {"jsonrpc": "2.0", "id": "req-\ud83d", "result": []}


# --- null or absent, as the caller asks ---------------------------------------------------------


def test_omit_nulls_leaves_unset_fields_out_and_keeps_the_boards_own_keys(
    tmp_path: Path, workspace: str
):
    car = Sidecar(tmp_path / "omit.db", "--omit-nulls")
    try:
        session = board_session()
        session["evaluation"] = None  # a key only the board writes: answered as stored
        created = car.call("create_session", {"workspacePath": workspace, "session": session})
        listed = car.call("get_all_sessions", {"workspacePath": workspace})
        summaries = car.call("list_sessions", {"workspacePath": workspace})
        decided = car.call("update_session", {
            "workspacePath": workspace, "session": {**session, "winnerId": 1}})  # fmt: skip
    finally:
        car.close()

    assert "winnerId" not in created and "completedAt" not in created  # !== undefined holds
    assert created["evaluation"] is None and "evaluation" in created
    assert all("output" not in i for i in created["instances"])
    assert all("instanceId" not in m for m in created["chatHistory"])
    assert listed == [created]
    assert "winnerId" not in summaries[0] and summaries[0]["instanceCount"] == 2
    assert decided["winnerId"] == 1
    assert {k: v for k, v in session.items() if v is not None or k == "evaluation"} == {
        k: v for k, v in created.items() if k not in ("instances", "chatHistory")
    } | {"instances": session["instances"], "chatHistory": session["chatHistory"]}


def test_without_omit_nulls_unset_fields_are_null_as_serde_writes_them(
    sidecar: Sidecar, workspace: str
):
    created = sidecar.call(
        "create_session", {"workspacePath": workspace, "session": board_session()}
    )
    assert created["winnerId"] is None and created["completedAt"] is None


# --- any line at all -----------------------------------------------------------------------------

_IDS = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=8), st.none())
_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)  # surrogates, NUL
_REQUESTS = st.builds(
    lambda rid, method, key, value: {
        "jsonrpc": "2.0", "id": rid, "method": method,
        "params": {"workspacePath": "/tmp/fuzz-workspace", key: value},
    },
    _IDS,
    st.sampled_from(sorted(__import__("ait42_session.rpc", fromlist=["METHODS"]).METHODS)),
    st.sampled_from(["sessionId", "session", "query", "filters", "message", "instanceId"]),
    st.one_of(_TEXT, st.integers(), st.none(), st.dictionaries(_TEXT, _TEXT, max_size=3)),
)  # fmt: skip


def _line_of(request: dict[str, Any], cut: int | None) -> bytes:
    text = json.dumps(request)  # ensure_ascii: lone surrogates become escapes, as JS writes
    return (text if cut is None else text[:cut]).encode()


@pytest.fixture(scope="module")
def dispatcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ait42_session.rpc import Dispatcher

    store = SqliteSessionRepository.with_path(tmp_path_factory.mktemp("fuzz") / "s.db")
    yield Dispatcher(store)
    store.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=_REQUESTS, cut=st.none() | st.integers(0, 200), noise=st.binary(max_size=40))
def test_any_line_gets_one_answer_line_with_its_id_when_it_has_one(
    dispatcher: Any, request: dict[str, Any], cut: int | None, noise: bytes
):
    for line in (_line_of(request, cut), noise):
        out = dispatcher.handle(line)
        try:
            sent = json.loads(line)
        except (ValueError, RecursionError):
            sent = None
        if isinstance(sent, dict) and "id" not in sent:
            continue  # a notification: nothing is owed
        assert out is not None and b"\n" not in out
        answer = json.loads(out)
        if isinstance(sent, dict):
            assert answer["id"] == (sent["id"] if isinstance(sent["id"], (str, int, type(None)))
                                    and not isinstance(sent["id"], bool) else None)  # fmt: skip
            assert ("result" in answer) != ("error" in answer)
        elif not isinstance(sent, list):
            assert answer["id"] is None and answer["error"]["code"] in (-32700, -32600)


def test_the_sidecar_answers_every_hostile_line_and_lives_on(sidecar: Sidecar, workspace):
    lines = [
        b"\xff\xfe not utf-8", b'{"jsonrpc": "2.0", "id": 1, "method": "get_all_sessions"',
        b"[" * 5000 + b"]" * 5000, b'{"jsonrpc": "2.0", "id": 2, "method": "search", '
        b'"params": {"workspacePath": "/tmp", "query": "\\ud800\\u0000"}}',
        b'{"jsonrpc": "2.0", "id": 99999999999999999999999, "method": "data_version"}',
        b'[{"jsonrpc": "2.0", "id": 3, "method": "data_version"}, 7, {"id": "\\udfff"}]',
    ]  # fmt: skip
    for line in lines:
        sidecar.send_line(line)
        answer = sidecar.read()
        assert isinstance(answer, (dict, list))
    assert sidecar.call("get_all_sessions", {"workspacePath": workspace}) == []
    assert sidecar.proc.poll() is None


# --- change notifications across windows ---------------------------------------------------------


def _next_line_within(car: Sidecar, seconds: float) -> Any:
    """The next line the sidecar writes, or None when none comes in ``seconds``."""
    import select

    assert car.proc.stdout is not None
    ready, _, _ = select.select([car.proc.stdout], [], [], seconds)
    return json.loads(car.proc.stdout.readline()) if ready else None


def test_a_subscribed_window_hears_of_every_write_within_250_ms(tmp_path: Path, workspace):
    db = tmp_path / "shared.db"
    first, second = Sidecar(db), Sidecar(db)
    try:
        subscribed = first.call("subscribe", {"workspacePath": workspace})
        assert subscribed["workspacePath"] == workspace
        assert _next_line_within(first, 0.4) is None  # nothing changed, nothing said

        started = time.monotonic()
        second.call("create_session", {"workspacePath": workspace, "session": board_session()})
        heard = _next_line_within(first, 1.0)
        waited = time.monotonic() - started

        assert heard["method"] == "sessionsChanged" and "id" not in heard
        assert heard["params"]["workspacePath"] == workspace
        assert heard["params"]["dataVersion"] != subscribed["dataVersion"]
        assert waited < 0.25 + 0.2  # the poll, plus a loaded machine's scheduling
        # its own writes too (the debate runner's upsert through this very sidecar)
        first.call("upsert_session", {"workspacePath": workspace,
                                      "session": board_session("d", type="debate")})  # fmt: skip
        assert _next_line_within(first, 1.0)["method"] == "sessionsChanged"
        first.call("unsubscribe", {"workspacePath": workspace})
        second.call("delete_session", {"workspacePath": workspace, "sessionId": "s1"})
        assert _next_line_within(first, 0.4) is None
    finally:
        assert first.close() == 0 and second.close() == 0


def test_subscribe_refuses_bad_input_and_goes_on(sidecar: Sidecar, workspace):
    for params in ({}, {"workspacePath": ""}, {"workspacePath": 3}, {"workspacePath": "a\x00"}):
        error = sidecar.request("subscribe", params)["error"]
        assert error["code"] == -32602, params
    assert sidecar.call("unsubscribe", {"workspacePath": workspace}) is None  # never subscribed
    assert sidecar.call("subscribe", {"workspacePath": workspace})["workspacePath"] == workspace
