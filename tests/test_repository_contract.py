"""The SessionRepository contract, run against both stores (the ``repo`` fixture).

Everything here is behaviour API.md promises for SQLite and JSON alike; nothing depends on
how either store keeps its data.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from ait42_session.errors import AlreadyExistsError, NotFoundError, ValidationError
from ait42_session.models import WorktreeSession
from ait42_session.queries import SearchHit, SessionFilters, SessionSort, SessionSummary
from ait42_session.repository import SessionRepository
from ait42_session.timestamps import to_instant_ns
from ait42_session.workspace import compute_workspace_hash

from conftest import (
    make_instance,
    make_message,
    make_session,
    open_store,
    sample_session_dicts,
)

Snapshot = list[dict[str, Any]]


def snapshot(repo: Any, workspace: str) -> Snapshot:
    """Everything the workspace holds, as JSON, for before/after comparisons."""
    return [s.to_json() for s in repo.get_all_sessions(workspace)]


def ids(sessions: list[Any]) -> list[str]:
    return [s.id for s in sessions]


def store(repo: Any, workspace: str, *sessions: WorktreeSession) -> None:
    for session in sessions:
        repo.create_session(workspace, session)


def assert_recent(timestamp: str, before_ns: int, after_ns: int) -> None:
    """``timestamp`` is an instant between two clock readings (1 ms of rounding allowed)."""
    assert before_ns - 1_000_000 <= to_instant_ns(timestamp) <= after_ns + 1_000_000


def test_both_stores_implement_the_protocol(repo: Any) -> None:
    assert isinstance(repo, SessionRepository)


# --- create and get ------------------------------------------------------------------------


def test_a_created_session_reads_back_equal(repo: Any, workspace: str) -> None:
    session = make_session(
        "s1", instances=2, messages=3, model="claude", total_duration=90
    )
    repo.create_session(workspace, session)
    assert repo.get_session(workspace, "s1").to_json() == session.to_json()


def test_create_returns_the_session_with_the_workspace_hash(
    repo: Any, workspace: str
) -> None:
    created = repo.create_session(workspace, make_session("s1", instances=1))
    assert created.workspace_hash == compute_workspace_hash(workspace)
    assert created.to_json() == make_session("s1", instances=1).to_json()


def test_create_and_update_leave_the_callers_session_alone(
    repo: Any, workspace: str
) -> None:
    session = make_session("s1", instances=[make_instance(2), make_instance(1)])
    created = repo.create_session(workspace, session)
    updated = repo.update_session(workspace, session)
    assert created is not session and updated is not session
    assert session.workspace_hash is None
    assert [i.instance_id for i in session.instances] == [2, 1]


def test_every_read_carries_the_workspace_hash(repo: Any, workspace: str) -> None:
    expected = compute_workspace_hash(workspace)
    store(repo, workspace, make_session("s1"))
    reads = [
        repo.get_session(workspace, "s1"),
        *repo.get_all_sessions(workspace),
        *repo.query_sessions(workspace),
        *repo.list_sessions(workspace),
        repo.update_session(workspace, make_session("s1", task="changed")),
    ]
    assert [r.workspace_hash for r in reads] == [expected] * len(reads)


@pytest.mark.parametrize("data", sample_session_dicts(), ids=lambda d: d["id"])
def test_an_editor_session_survives_a_round_trip_through_the_store(
    repo: Any, workspace: str, data: dict[str, Any]
) -> None:
    repo.create_session(workspace, WorktreeSession.from_json(data))
    expected = WorktreeSession.from_json(data).to_json()
    assert repo.get_session(workspace, data["id"]).to_json() == expected


def test_keys_the_store_does_not_know_are_kept(repo: Any, workspace: str) -> None:
    data = copy.deepcopy(sample_session_dicts()[0])
    data["evaluation"] = {"winner": 1, "scores": [0.5, 1.25], "reason": "ユニコード ✓"}
    data["integrationPhase"] = "merging"
    data["instances"][1]["testsPassed"] = False
    data["chatHistory"][1]["tokens"] = 1234
    repo.create_session(workspace, WorktreeSession.from_json(data))
    stored = repo.get_session(workspace, data["id"])
    assert stored.to_json() == WorktreeSession.from_json(data).to_json()
    assert stored.extra["evaluation"]["reason"] == "ユニコード ✓"
    assert stored.instances[1].extra == {"testsPassed": False}


def test_instances_come_back_by_instance_id(repo: Any, workspace: str) -> None:
    session = make_session("s1", instances=[make_instance(i) for i in (7, 0, 3)])
    repo.create_session(workspace, session)
    assert [i.instance_id for i in repo.get_session(workspace, "s1").instances] == [
        0,
        3,
        7,
    ]


def test_chat_history_keeps_insertion_order_not_timestamp_order(
    repo: Any, workspace: str
) -> None:
    messages = [
        make_message("late", timestamp="2025-01-13T12:00:00Z"),
        make_message("early", timestamp="2025-01-13T08:00:00Z"),
        make_message("same", timestamp="2025-01-13T08:00:00Z"),
    ]
    repo.create_session(workspace, make_session("s1", messages=messages))
    earliest = make_message("earliest", timestamp="2020-01-01T00:00:00Z")
    repo.add_chat_message(workspace, "s1", earliest)
    got = repo.get_session(workspace, "s1").chat_history
    assert [m.id for m in got] == ["late", "early", "same", "earliest"]


def test_timestamps_are_returned_exactly_as_given(repo: Any, workspace: str) -> None:
    session = make_session(
        "s1",
        created_at="2025-01-13T12:00:00+02:00",
        updated_at="2025-01-13T10:00:00.123456789+00:00",
        completed_at="2025-01-13T10:00:00.123Z",
        messages=[make_message(timestamp="2025-01-13t10:00:00z")],
    )
    repo.create_session(workspace, session)
    stored = repo.get_session(workspace, "s1")
    assert (stored.created_at, stored.updated_at, stored.completed_at) == (
        "2025-01-13T12:00:00+02:00",
        "2025-01-13T10:00:00.123456789+00:00",
        "2025-01-13T10:00:00.123Z",
    )
    assert stored.chat_history[0].timestamp == "2025-01-13t10:00:00z"


def test_unicode_and_large_values_are_stored_intact(repo: Any, workspace: str) -> None:
    session = make_session(
        "セッション-🚀",
        task='Refactor «naïve» 認証 code — with emoji 🎉 and "quotes"\nand\ttabs',
        total_duration=2**63 - 1,
        timeout_seconds=2**32 - 1,
        preserve_worktrees=False,
        runtime_mix=["claude", "codex"],
        winner_id=0,
        instances=[make_instance(0, output="x" * 100_000, files_changed=0)],
    )
    repo.create_session(workspace, session)
    assert repo.get_session(workspace, "セッション-🚀").to_json() == session.to_json()


@pytest.mark.parametrize("status", ["round_1", "round_2", "round_3"])
def test_a_debate_in_its_rounds_is_stored_with_the_runners_status(
    repo: Any, workspace: str, status: str
) -> None:
    """The debate runner's statuses are the contract's too: the shipping editor writes them."""
    debate = make_session("debate-1", type="debate", task="Debate in progress", status=status)
    repo.create_session(workspace, debate)
    assert repo.get_session(workspace, "debate-1").status == status
    repo.update_session(workspace, make_session("debate-1", type="debate", status="completed"))
    found = repo.query_sessions(workspace, SessionFilters(statuses=["completed"]))
    assert ids(found) == ["debate-1"]


def test_a_session_has_one_copy_when_created_through_the_api(
    repo: Any, workspace: str
) -> None:
    repo.create_session(workspace, make_session("s1", instances=1))
    assert repo.get_session_copies(workspace, "s1") == [repo.get_session(workspace, "s1")]
    with pytest.raises(NotFoundError):
        repo.get_session_copies(workspace, "nope")


def test_the_same_id_cannot_be_created_twice(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1", task="first"))
    with pytest.raises(AlreadyExistsError):
        repo.create_session(workspace, make_session("s1", task="second"))
    assert repo.get_session(workspace, "s1").task == "first"
    assert len(repo.get_all_sessions(workspace)) == 1


def test_an_unknown_id_is_not_found(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1"))
    with pytest.raises(NotFoundError):
        repo.get_session(workspace, "s2")


def test_an_empty_workspace_has_no_sessions(repo: Any, workspace: str) -> None:
    assert repo.get_all_sessions(workspace) == []
    assert repo.count_sessions(workspace) == 0


def test_changing_a_returned_session_does_not_change_the_store(
    repo: Any, workspace: str
) -> None:
    original = make_session("s1", instances=1, messages=1)
    created = repo.create_session(workspace, original)
    created.task = "changed via the returned copy"
    original.chat_history.append(make_message("sneaky"))
    original.instances[0].status = "failed"
    got = repo.get_session(workspace, "s1")
    got.instances.clear()
    again = repo.get_session(workspace, "s1")
    assert again.to_json() == make_session("s1", instances=1, messages=1).to_json()


# --- update and delete ---------------------------------------------------------------------


def test_update_replaces_the_session_whole(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1", instances=3, messages=2, model="old"))
    replacement = make_session(
        "s1",
        task="Rewritten",
        status="completed",
        updated_at="2024-01-01T00:00:00Z",  # older than before: stored exactly as given
        instances=[make_instance(5, agent_name="newcomer")],
        messages=[make_message("only", "the only message")],
    )
    returned = repo.update_session(workspace, replacement)
    stored = repo.get_session(workspace, "s1")
    assert stored.to_json() == replacement.to_json()
    assert stored.model is None and stored.updated_at == "2024-01-01T00:00:00Z"
    assert returned.to_json() == replacement.to_json()


def test_update_of_an_unknown_session_is_not_found_and_creates_nothing(
    repo: Any, workspace: str
) -> None:
    store(repo, workspace, make_session("s1"))
    with pytest.raises(NotFoundError):
        repo.update_session(workspace, make_session("s2"))
    assert ids(repo.get_all_sessions(workspace)) == ["s1"]


def test_delete_removes_only_that_session(repo: Any, workspace: str) -> None:
    store(
        repo, workspace, make_session("s1", messages=2, instances=2), make_session("s2")
    )
    repo.delete_session(workspace, "s1")
    assert ids(repo.get_all_sessions(workspace)) == ["s2"]
    with pytest.raises(NotFoundError):
        repo.get_session(workspace, "s1")


def test_a_deleted_id_can_be_created_again(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1", task="first life", instances=2))
    repo.delete_session(workspace, "s1")
    repo.create_session(workspace, make_session("s1", task="second life"))
    again = repo.get_session(workspace, "s1")
    assert again.task == "second life" and again.instances == []


def test_delete_of_an_unknown_session_is_not_found(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1"))
    with pytest.raises(NotFoundError):
        repo.delete_session(workspace, "nope")
    assert ids(repo.get_all_sessions(workspace)) == ["s1"]


# --- chat messages and instance status -----------------------------------------------------


def test_add_chat_message_appends_and_sets_updated_at_to_now(
    repo: Any, workspace: str
) -> None:
    original = make_session(
        "s1", instances=2, messages=2, updated_at="2020-01-01T00:00:00Z"
    )
    store(repo, workspace, original)
    message = make_message("new", "A new reply", role="assistant", instance_id=1)
    before = time.time_ns()
    assert repo.add_chat_message(workspace, "s1", message) is None
    after = time.time_ns()
    stored = repo.get_session(workspace, "s1").to_json()
    assert_recent(stored.pop("updatedAt"), before, after)
    expected = original.to_json()
    del expected["updatedAt"]
    expected["chatHistory"].append(message.to_json())
    assert stored == expected


def test_update_instance_status_changes_only_that_status_and_updated_at(
    repo: Any, workspace: str
) -> None:
    original = make_session(
        "s1", instances=3, messages=1, updated_at="2020-01-01T00:00:00Z"
    )
    store(repo, workspace, original)
    before = time.time_ns()
    assert repo.update_instance_status(workspace, "s1", 1, "archived") is None
    after = time.time_ns()
    stored = repo.get_session(workspace, "s1").to_json()
    assert_recent(stored.pop("updatedAt"), before, after)
    expected = original.to_json()
    del expected["updatedAt"]
    expected["instances"][1]["status"] = "archived"
    assert stored == expected


def test_append_instance_output_adds_text_and_sets_updated_at(
    repo: Any, workspace: str
) -> None:
    original = make_session(
        "s1",
        instances=[make_instance(0, output="line 1\n"), make_instance(1), make_instance(2)],
        messages=1,
        updated_at="2020-01-01T00:00:00Z",
    )
    store(repo, workspace, original)
    before = time.time_ns()
    assert repo.append_instance_output(workspace, "s1", 0, "line 2 \U0001F600\n") is None
    repo.append_instance_output(workspace, "s1", 1, "first words")  # an output never set
    repo.append_instance_output(workspace, "s1", 0, "")
    repo.append_instance_output(workspace, "s1", 0, "line 3")
    after = time.time_ns()
    stored = repo.get_session(workspace, "s1").to_json()
    assert_recent(stored.pop("updatedAt"), before, after)
    expected = original.to_json()
    del expected["updatedAt"]
    expected["instances"][0]["output"] = "line 1\nline 2 \U0001F600\nline 3"
    expected["instances"][1]["output"] = "first words"
    assert stored == expected


def test_an_output_appended_to_many_times_reads_and_searches_as_one_text(
    repo: Any, workspace: str
) -> None:
    """Long outputs, appended to in small steps across any internal piece boundary: the
    text reads back whole, words in every part are found, and a whole update still works."""
    head = "".join(f"log line {n} of the build\n" for n in range(8000))  # about 200 KB
    store(repo, workspace, make_session("s1", instances=[make_instance(0, output=head)]))
    appended = [f"step {n} wrote zebrafile{n}.txt\n" + "x" * 1000 + "\n" for n in range(60)]
    for text in appended:
        repo.append_instance_output(workspace, "s1", 0, text)
    whole = head + "".join(appended)
    stored = repo.get_session(workspace, "s1")
    assert stored.instances[0].output == whole
    for word in ("zebrafile0", "zebrafile59", "line 7999"):
        hits = repo.search(workspace, word)
        assert [(h.kind, h.instance_id) for h in hits] == [("output", 0)], word
    assert repo.search(workspace, "zebrafile60") == []

    stored.instances[0].output = whole.replace("log line 10 of", "log line ten of")
    repo.update_session(workspace, stored)
    assert repo.get_session(workspace, "s1").instances[0].output == stored.instances[0].output
    assert repo.search(workspace, "line ten") and repo.search(workspace, "zebrafile59")


@pytest.mark.parametrize(
    "text", ["nul \x00 inside", "half \ud800 a pair", None, 42, b"bytes"], ids=repr
)
def test_appending_text_an_output_cannot_hold_changes_nothing(
    repo: Any, workspace: str, text: Any
) -> None:
    store(repo, workspace, make_session("s1", instances=[make_instance(0, output="kept")]))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.append_instance_output(workspace, "s1", 0, text)
    assert snapshot(repo, workspace) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda r, w: r.add_chat_message(w, "missing", make_message()),
        lambda r, w: r.update_instance_status(w, "missing", 0, "completed"),
        lambda r, w: r.update_instance_status(w, "s1", 99, "completed"),
        lambda r, w: r.append_instance_output(w, "missing", 0, "more"),
        lambda r, w: r.append_instance_output(w, "s1", 99, "more"),
        lambda r, w: r.append_instance_output(w, "s1", -1, "more"),
    ],
    ids=[
        "message-to-unknown-session",
        "status-of-unknown-session",
        "status-of-unknown-instance",
        "output-of-unknown-session",
        "output-of-unknown-instance",
        "output-of-negative-instance",
    ],
)
def test_changes_to_what_does_not_exist_are_not_found_and_write_nothing(
    repo: Any, workspace: str, call: Callable[[Any, str], None]
) -> None:
    store(repo, workspace, make_session("s1", instances=2))
    before = snapshot(repo, workspace)
    with pytest.raises(NotFoundError):
        call(repo, workspace)
    assert snapshot(repo, workspace) == before


# --- validation: nothing is written --------------------------------------------------------


def _bad_session(**fields: Any) -> WorktreeSession:
    return make_session("s1", **fields)


INVALID_SESSIONS = {
    "unknown type": _bad_session(type="tournament"),
    "unknown status": _bad_session(status="done"),
    "empty task": _bad_session(task=""),
    "empty id": make_session(""),
    "bad timestamp": _bad_session(updated_at="yesterday"),
    "bad instance status": _bad_session(instances=[make_instance(0, status="crashed")]),
    "repeated instance id": _bad_session(
        instances=[make_instance(0), make_instance(0)]
    ),
    "negative count": _bad_session(total_files_changed=-1),
    "bad message role": _bad_session(messages=[make_message(role="robot")]),
    "empty message": _bad_session(messages=[make_message(content="")]),
}


@pytest.mark.parametrize("bad", INVALID_SESSIONS.values(), ids=INVALID_SESSIONS.keys())
def test_an_invalid_session_is_not_created(
    repo: Any, workspace: str, bad: WorktreeSession
) -> None:
    store(repo, workspace, make_session("s0"))
    with pytest.raises(ValidationError):
        repo.create_session(workspace, bad)
    assert ids(repo.get_all_sessions(workspace)) == ["s0"]


@pytest.mark.parametrize("bad", INVALID_SESSIONS.values(), ids=INVALID_SESSIONS.keys())
def test_an_invalid_update_changes_nothing(
    repo: Any, workspace: str, bad: WorktreeSession
) -> None:
    store(
        repo, workspace, make_session("s1", instances=1, messages=1), make_session("s2")
    )
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.update_session(workspace, bad)
    assert snapshot(repo, workspace) == before


INVALID_MESSAGES = {
    "unknown role": make_message(role="tool"),
    "empty content": make_message(content=""),
    "empty id": make_message(id=""),
    "bad timestamp": make_message(timestamp="2025-13-01T00:00:00Z"),
    "negative instance id": make_message(instance_id=-1),
    "not a message": make_message().to_json(),
}


@pytest.mark.parametrize("bad", INVALID_MESSAGES.values(), ids=INVALID_MESSAGES.keys())
def test_an_invalid_message_is_not_added(repo: Any, workspace: str, bad: Any) -> None:
    store(repo, workspace, make_session("s1", messages=1))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.add_chat_message(workspace, "s1", bad)
    assert snapshot(repo, workspace) == before


@pytest.mark.parametrize("status", ["done", "", "RUNNING", None, 3])
def test_an_unknown_instance_status_is_rejected(
    repo: Any, workspace: str, status: Any
) -> None:
    store(repo, workspace, make_session("s1", instances=1))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.update_instance_status(workspace, "s1", 0, status)
    assert snapshot(repo, workspace) == before


@pytest.mark.parametrize("instance_id", ["0", None, 1.0, True])
def test_an_instance_id_that_is_not_an_integer_is_rejected(
    repo: Any, workspace: str, instance_id: Any
) -> None:
    store(repo, workspace, make_session("s1", instances=2))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.update_instance_status(workspace, "s1", instance_id, "completed")
    assert snapshot(repo, workspace) == before


def test_text_that_is_not_valid_unicode_is_rejected(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1"))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        repo.create_session(workspace, make_session("s2", task="lone \ud800 surrogate"))
    with pytest.raises(ValidationError):
        repo.add_chat_message(
            workspace, "s1", make_message(content="half \udc00 a pair")
        )
    assert snapshot(repo, workspace) == before


ID_CALLS = {
    "get": lambda r, w, i: r.get_session(w, i),
    "delete": lambda r, w, i: r.delete_session(w, i),
    "add_chat_message": lambda r, w, i: r.add_chat_message(w, i, make_message()),
    "update_instance_status": lambda r, w, i: r.update_instance_status(w, i, 0, "idle"),
    "append_instance_output": lambda r, w, i: r.append_instance_output(w, i, 0, "x"),
}


@pytest.mark.parametrize("session_id", ["", None, 42, ["s1"]], ids=repr)
@pytest.mark.parametrize("call", ID_CALLS.values(), ids=ID_CALLS.keys())
def test_a_session_id_must_be_a_non_empty_string(
    repo: Any, workspace: str, call: Callable[..., Any], session_id: Any
) -> None:
    store(repo, workspace, make_session("s1", instances=1))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        call(repo, workspace, session_id)
    assert snapshot(repo, workspace) == before


# --- workspaces ----------------------------------------------------------------------------


WORKSPACE_CALLS = {
    "create_session": lambda r, w: r.create_session(w, make_session("s9")),
    "get_session": lambda r, w: r.get_session(w, "s1"),
    "update_session": lambda r, w: r.update_session(w, make_session("s1")),
    "delete_session": lambda r, w: r.delete_session(w, "s1"),
    "add_chat_message": lambda r, w: r.add_chat_message(w, "s1", make_message()),
    "update_instance_status": lambda r, w: r.update_instance_status(w, "s1", 0, "idle"),
    "query_sessions": lambda r, w: r.query_sessions(w),
    "list_sessions": lambda r, w: r.list_sessions(w),
    "count_sessions": lambda r, w: r.count_sessions(w),
    "search": lambda r, w: r.search(w, "task"),
}


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"], ids=repr)
@pytest.mark.parametrize("call", WORKSPACE_CALLS.values(), ids=WORKSPACE_CALLS.keys())
def test_a_blank_workspace_path_is_rejected(
    repo: Any, workspace: str, call: Callable[[Any, str], Any], blank: str
) -> None:
    store(repo, workspace, make_session("s1", instances=1))
    before = snapshot(repo, workspace)
    with pytest.raises(ValidationError):
        call(repo, blank)
    assert snapshot(repo, workspace) == before


@pytest.mark.parametrize("blank", ["", "   "], ids=repr)
def test_get_all_sessions_of_a_blank_workspace_path_is_empty(
    repo: Any, workspace: str, blank: str
) -> None:
    store(repo, workspace, make_session("s1"))
    assert repo.get_all_sessions(blank) == []


def test_the_same_id_in_two_workspaces_is_two_sessions(
    repo: Any, workspace: str, other_workspace: str
) -> None:
    repo.create_session(workspace, make_session("s1", task="mine", instances=1))
    repo.create_session(other_workspace, make_session("s1", task="theirs", instances=2))
    repo.update_instance_status(workspace, "s1", 0, "failed")
    repo.delete_session(other_workspace, "s1")
    mine = repo.get_session(workspace, "s1")
    assert (mine.task, mine.instances[0].status) == ("mine", "failed")
    assert repo.get_all_sessions(other_workspace) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda r, w: r.get_session(w, "s1"),
        lambda r, w: r.update_session(w, make_session("s1", task="hijacked")),
        lambda r, w: r.delete_session(w, "s1"),
        lambda r, w: r.add_chat_message(w, "s1", make_message()),
        lambda r, w: r.update_instance_status(w, "s1", 0, "failed"),
    ],
    ids=["get", "update", "delete", "add_chat_message", "update_instance_status"],
)
def test_another_workspace_cannot_reach_a_session(
    repo: Any, workspace: str, other_workspace: str, call: Callable[[Any, str], Any]
) -> None:
    store(repo, workspace, make_session("s1", task="private task", instances=1))
    before = snapshot(repo, workspace)
    with pytest.raises(NotFoundError):
        call(repo, other_workspace)
    assert snapshot(repo, workspace) == before


def test_another_workspace_sees_nothing_in_queries_or_search(
    repo: Any, workspace: str, other_workspace: str
) -> None:
    store(repo, workspace, make_session("s1", task="private task", messages=1))
    assert repo.get_all_sessions(other_workspace) == []
    assert repo.query_sessions(other_workspace) == []
    assert repo.list_sessions(other_workspace) == []
    assert repo.count_sessions(other_workspace) == 0
    assert repo.search(other_workspace, "private") == []
    assert repo.search(workspace, "private") != []


def test_a_workspace_is_the_same_through_a_symlink_or_a_trailing_slash(
    repo: Any, workspace: str, tmp_path: Path
) -> None:
    link = tmp_path / "link-to-workspace"
    link.symlink_to(workspace)
    repo.create_session(workspace, make_session("s1"))
    assert ids(repo.get_all_sessions(str(link))) == ["s1"]
    assert ids(repo.get_all_sessions(workspace + "/")) == ["s1"]


def test_a_workspace_that_does_not_exist_on_disk_still_works(
    repo: Any, tmp_path: Path
) -> None:
    gone = str(tmp_path / "deleted-project")
    repo.create_session(gone, make_session("s1"))
    assert repo.get_session(gone + "/", "s1").workspace_hash == compute_workspace_hash(
        gone
    )


# --- order ---------------------------------------------------------------------------------

# Timestamps in mixed formats and offsets: string order and instant order disagree.
BOARD = [
    dict(id="a", type="competition", status="completed", task="Implement user authentication",
         created_at="2025-01-13T10:00:00Z", updated_at="2025-01-13T10:30:00Z",
         total_duration=300, total_files_changed=None, agents=["security-tester"]),
    dict(id="b", type="ensemble", status="running", task="Refactor DATABASE layer",
         created_at="2025-01-13T12:10:00+02:00", updated_at="2025-01-13T10:20:00.000000001+00:00",
         total_duration=None, total_files_changed=5, agents=["database-architect", "Ärger-Bot"]),
    dict(id="c", type="debate", status="failed", task="Über-Refactor für Ärger 認証",
         created_at="2025-01-13T10:20:00.5Z", updated_at="2025-01-13T10:20:00Z",
         total_duration=100, total_files_changed=0, agents=[]),
    dict(id="d", type="competition", status="running", task="Fix 100% of the a_b bugs",
         created_at="2025-01-13T10:05:00Z", updated_at="2025-01-13T11:20:00+01:00",
         total_duration=0, total_files_changed=5, agents=["fixer"]),
]  # fmt: skip


@pytest.fixture
def board(repo: Any, workspace: str, other_workspace: str) -> Any:
    """Four sessions built for ordering and filtering, plus noise in another workspace."""
    for row in BOARD:
        fields = {k: v for k, v in row.items() if k != "agents"}
        agents = [
            make_instance(i, agent_name=name) for i, name in enumerate(row["agents"])
        ]
        repo.create_session(
            workspace, make_session(instances=agents, messages=1, **fields)
        )
        repo.create_session(other_workspace, make_session(str(row["id"]) + "-other"))
    return repo


def test_get_all_sessions_is_newest_update_first_by_instant(
    board: Any, workspace: str
) -> None:
    assert ids(board.get_all_sessions(workspace)) == ["a", "b", "d", "c"]


def test_an_unsorted_query_has_the_get_all_sessions_order(
    board: Any, workspace: str
) -> None:
    assert ids(board.query_sessions(workspace)) == ["a", "b", "d", "c"]
    assert ids(board.query_sessions(workspace, SessionFilters())) == [
        "a",
        "b",
        "d",
        "c",
    ]


SORTS = {
    ("updated_at", "desc"): ["a", "b", "d", "c"],
    ("updated_at", "asc"): ["c", "d", "b", "a"],
    ("created_at", "desc"): ["c", "b", "d", "a"],
    ("created_at", "asc"): ["a", "d", "b", "c"],
    ("duration", "desc"): ["a", "c", "d", "b"],  # b's None counts as 0, ties by id
    ("duration", "asc"): ["b", "d", "c", "a"],
    ("files_changed", "desc"): ["d", "b", "c", "a"],  # a's None counts as 0
    ("files_changed", "asc"): ["a", "c", "b", "d"],
}


@pytest.mark.parametrize(
    ("key", "expected"), SORTS.items(), ids=[f"{f}-{d}" for f, d in SORTS]
)
def test_sorting_uses_instants_none_as_zero_and_the_id_to_break_ties(
    board: Any, workspace: str, key: tuple[str, str], expected: list[str]
) -> None:
    sort = SessionSort(field=key[0], direction=key[1])
    assert ids(board.query_sessions(workspace, sort=sort)) == expected
    assert ids(board.list_sessions(workspace, sort=sort)) == expected


def test_equal_update_instants_are_ordered_by_id(repo: Any, workspace: str) -> None:
    for session_id in ["m", "z", "a"]:
        repo.create_session(
            workspace, make_session(session_id, updated_at="2025-01-13T10:00:00Z")
        )
    repo.create_session(
        workspace, make_session("q", updated_at="2025-01-13T12:00:00+02:00")
    )
    assert ids(repo.get_all_sessions(workspace)) == ["z", "q", "m", "a"]


@pytest.mark.parametrize(
    "sort",
    [SessionSort(field="name"), SessionSort(direction="up"), SessionSort(field="")],
    ids=repr,
)
def test_an_unknown_sort_is_rejected(
    board: Any, workspace: str, sort: SessionSort
) -> None:
    with pytest.raises(ValidationError):
        board.query_sessions(workspace, sort=sort)
    with pytest.raises(ValidationError):
        board.list_sessions(workspace, sort=sort)


# --- filters -------------------------------------------------------------------------------


FILTERS = {
    "one type": (SessionFilters(types=["competition"]), ["a", "d"]),
    "two types": (SessionFilters(types=["ensemble", "debate"]), ["b", "c"]),
    "empty types list": (SessionFilters(types=[]), ["a", "b", "d", "c"]),
    "one status": (SessionFilters(statuses=["running"]), ["b", "d"]),
    "type and status": (
        SessionFilters(types=["competition"], statuses=["running"]),
        ["d"],
    ),
    "nothing matches": (SessionFilters(types=["debate"], statuses=["paused"]), []),
    "date range bounds inclusive, other formats": (
        SessionFilters(
            date_from="2025-01-13T12:05:00+02:00", date_to="2025-01-13T10:20:00.500Z"
        ),
        ["b", "d", "c"],
    ),
    "date_from only": (
        SessionFilters(date_from="2025-01-13T10:10:00.000000000+00:00"),
        ["b", "c"],
    ),
    "date_to only": (SessionFilters(date_to="2025-01-13T05:05:00-05:00"), ["a", "d"]),
    "date_to one nanosecond early": (
        SessionFilters(date_to="2025-01-13T10:04:59.999999999Z"),
        ["a"],
    ),
    "aware datetime bounds": (
        SessionFilters(
            date_from=dt.datetime(2025, 1, 13, 10, 5, tzinfo=dt.timezone.utc),
            date_to=dt.datetime(
                2025, 1, 13, 11, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))
            ),
        ),
        ["b", "d"],
    ),
    "task substring, any case": (SessionFilters(search_query="database"), ["b"]),
    "id": (
        SessionFilters(search_query="D"),
        ["b", "d"],
    ),  # "d" by id, "b" by task/agent
    "agent name": (SessionFilters(search_query="SECURITY-tes"), ["a"]),
    "unicode case folding": (SessionFilters(search_query="ärger"), ["b", "c"]),
    "unicode upper case": (SessionFilters(search_query="ÜBER"), ["c"]),
    "cjk": (SessionFilters(search_query="認証"), ["c"]),
    "percent is literal": (SessionFilters(search_query="100%"), ["d"]),
    "underscore is literal": (SessionFilters(search_query="a_b"), ["d"]),
    "no match": (SessionFilters(search_query="kubernetes"), []),
    "message text is not searched": (SessionFilters(search_query="message 0"), []),
    "empty text is no filter": (SessionFilters(search_query=""), ["a", "b", "d", "c"]),
    "text and type": (SessionFilters(search_query="refactor", types=["debate"]), ["c"]),
}


@pytest.mark.parametrize(("filters", "expected"), FILTERS.values(), ids=FILTERS.keys())
def test_filters_select_like_the_editor(
    board: Any, workspace: str, filters: SessionFilters, expected: list[str]
) -> None:
    assert ids(board.query_sessions(workspace, filters)) == expected
    assert ids(board.list_sessions(workspace, filters)) == expected
    assert board.count_sessions(workspace, filters) == len(expected)


@pytest.mark.parametrize(
    "filters",
    [
        SessionFilters(types=["tournament"]),
        SessionFilters(statuses=["done"]),
        SessionFilters(date_from="last tuesday"),
        SessionFilters(date_to="2025-01-13T10:00:00"),
        SessionFilters(date_from=dt.datetime(2025, 1, 13)),  # naive: no instant
        SessionFilters(search_query=5),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_invalid_filters_are_rejected(
    board: Any, workspace: str, filters: SessionFilters
) -> None:
    with pytest.raises(ValidationError):
        board.query_sessions(workspace, filters)
    with pytest.raises(ValidationError):
        board.count_sessions(workspace, filters)


# --- paging, summaries, counts -------------------------------------------------------------


PAGES = {
    "first page": (2, 0, ["a", "b"]),
    "middle page": (2, 1, ["b", "d"]),
    "last partial page": (3, 3, ["c"]),
    "past the end": (2, 4, []),
    "limit zero": (0, 0, []),
    "no limit with offset": (None, 2, ["d", "c"]),
}


@pytest.mark.parametrize(
    ("limit", "offset", "expected"), PAGES.values(), ids=PAGES.keys()
)
def test_limit_and_offset_page_through_the_order(
    board: Any, workspace: str, limit: int | None, offset: int, expected: list[str]
) -> None:
    assert ids(board.query_sessions(workspace, limit=limit, offset=offset)) == expected
    assert ids(board.list_sessions(workspace, limit=limit, offset=offset)) == expected


@pytest.mark.parametrize(
    ("limit", "offset"), [(-1, 0), (1, -1), ("2", 0), (1.5, 0), (True, 0)]
)
def test_a_bad_page_is_rejected(
    board: Any, workspace: str, limit: Any, offset: Any
) -> None:
    with pytest.raises(ValidationError):
        board.query_sessions(workspace, limit=limit, offset=offset)
    with pytest.raises(ValidationError):
        board.list_sessions(workspace, limit=limit, offset=offset)


def test_pages_of_a_sorted_filtered_query_do_not_overlap(
    board: Any, workspace: str
) -> None:
    filters = SessionFilters(types=["competition", "ensemble", "debate"])
    sort = SessionSort("files_changed", "asc")
    pages = [
        ids(board.query_sessions(workspace, filters, sort, 1, n)) for n in range(5)
    ]
    assert pages == [["a"], ["c"], ["b"], ["d"], []]


def test_list_sessions_gives_summaries_with_child_counts(
    repo: Any, workspace: str
) -> None:
    session = make_session(
        "s1", instances=3, messages=2, model="claude", total_duration=9000, winner_id=2
    )
    repo.create_session(workspace, session)
    [summary] = repo.list_sessions(workspace)
    assert isinstance(summary, SessionSummary)
    assert (summary.instance_count, summary.message_count) == (3, 2)
    assert summary == SessionSummary.of(repo.get_session(workspace, "s1"))
    assert not hasattr(summary, "instances") and not hasattr(summary, "chat_history")


def test_summary_counts_follow_later_changes(repo: Any, workspace: str) -> None:
    store(repo, workspace, make_session("s1", instances=1))
    repo.add_chat_message(workspace, "s1", make_message("m1"))
    repo.add_chat_message(workspace, "s1", make_message("m2"))
    [summary] = repo.list_sessions(workspace)
    assert (summary.instance_count, summary.message_count) == (1, 2)


def test_count_sessions_counts_every_match_regardless_of_pages(
    board: Any, workspace: str
) -> None:
    assert board.count_sessions(workspace) == 4
    assert (
        board.count_sessions(workspace, SessionFilters(statuses=["running", "failed"]))
        == 3
    )


# --- full-text search ----------------------------------------------------------------------


@pytest.fixture
def searchable(repo: Any, workspace: str) -> Any:
    """One session whose task, a message and an output all mention "falcon"."""
    session = make_session(
        "s1",
        task="Teach the falcon to hunt",
        messages=[
            make_message("m1", "Nothing to see here"),
            make_message(
                "m2",
                "The Falcon flew over pane_pid and covid-19 data",
                role="assistant",
            ),
        ],
        instances=[
            make_instance(0, output=None),
            make_instance(3, output="falcon falcon FALCON: three falcons spotted"),
        ],
    )
    repo.create_session(workspace, session)
    return repo


def hit_keys(hits: list[SearchHit]) -> set[tuple[str, str, str | None, int | None]]:
    return {(h.session_id, h.kind, h.message_id, h.instance_id) for h in hits}


def test_search_finds_tasks_messages_and_outputs(
    searchable: Any, workspace: str
) -> None:
    hits = searchable.search(workspace, "falcon")
    assert hit_keys(hits) == {
        ("s1", "task", None, None),
        ("s1", "message", "m2", None),
        ("s1", "output", None, 3),
    }
    assert all(isinstance(h, SearchHit) for h in hits)


def test_search_is_best_first(searchable: Any, workspace: str) -> None:
    hits = searchable.search(workspace, "falcon")
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)
    assert hits[0].kind == "output"  # three occurrences beat one


def test_search_needs_every_word(searchable: Any, workspace: str) -> None:
    assert hit_keys(searchable.search(workspace, "falcon hunt")) == {
        ("s1", "task", None, None)
    }
    assert searchable.search(workspace, "falcon kubernetes") == []


def test_search_with_prefix_lets_the_last_word_be_half_typed(
    searchable: Any, workspace: str
) -> None:
    assert searchable.search(workspace, "falc") == []
    hits = searchable.search(workspace, "falc", prefix=True)
    assert hit_keys(hits) == hit_keys(searchable.search(workspace, "falcon"))
    snippets = {h.kind: h.snippet for h in hits}
    assert "[falcon]" in snippets["task"] and "[falcons]" in snippets["output"]
    # only the last word is a prefix; the others still match whole words
    assert searchable.search(workspace, "falc hun", prefix=True) == []
    assert hit_keys(searchable.search(workspace, "falcon hun", prefix=True)) == {
        ("s1", "task", None, None)
    }
    assert hit_keys(searchable.search(workspace, "pane_p", prefix=True)) == {
        ("s1", "message", "m2", None)
    }


def test_search_ignores_case_and_punctuation_inside_words(
    searchable: Any, workspace: str
) -> None:
    assert hit_keys(searchable.search(workspace, "PANE_PID")) == {
        ("s1", "message", "m2", None)
    }
    assert hit_keys(searchable.search(workspace, "covid-19")) == {
        ("s1", "message", "m2", None)
    }


def test_search_snippets_bracket_the_matches_in_the_original_text(
    searchable: Any, workspace: str
) -> None:
    snippets = {h.kind: h.snippet for h in searchable.search(workspace, "falcon")}
    assert "[falcon]" in snippets["task"]
    assert "[Falcon]" in snippets["message"]
    assert "[FALCON]" in snippets["output"]
    assert "Teach the [falcon] to hunt" == snippets["task"]


def test_a_snippet_of_a_long_text_is_cut_around_the_match(
    repo: Any, workspace: str
) -> None:
    words = [f"filler{i}" for i in range(2000)]
    words[1000] = "needle"
    repo.create_session(workspace, make_session("s1", task=" ".join(words)))
    [hit] = repo.search(workspace, "needle")
    assert "[needle]" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) < 300


def test_search_respects_the_limit(repo: Any, workspace: str) -> None:
    for n in range(8):
        repo.create_session(workspace, make_session(f"s{n}", task=f"common word {n}"))
    assert len(repo.search(workspace, "common")) == 8
    assert len(repo.search(workspace, "common", limit=3)) == 3
    assert repo.search(workspace, "common", limit=0) == []


@pytest.mark.parametrize("limit", [-1, "10", None, 2.5, True])
def test_a_bad_search_limit_is_rejected(
    searchable: Any, workspace: str, limit: Any
) -> None:
    with pytest.raises(ValidationError):
        searchable.search(workspace, "falcon", limit=limit)


def test_search_sees_changes_and_forgets_deleted_text(
    searchable: Any, workspace: str
) -> None:
    searchable.add_chat_message(
        workspace, "s1", make_message("m3", "A kestrel appeared")
    )
    assert hit_keys(searchable.search(workspace, "kestrel")) == {
        ("s1", "message", "m3", None)
    }
    searchable.update_session(workspace, make_session("s1", task="Teach the owl"))
    assert searchable.search(workspace, "falcon") == []
    assert searchable.search(workspace, "kestrel") == []
    assert [h.kind for h in searchable.search(workspace, "owl")] == ["task"]
    searchable.delete_session(workspace, "s1")
    assert searchable.search(workspace, "owl") == []


def test_search_is_scoped_to_the_workspace(
    searchable: Any, workspace: str, other_workspace: str
) -> None:
    searchable.create_session(
        other_workspace, make_session("s2", task="falcon elsewhere")
    )
    assert {h.session_id for h in searchable.search(workspace, "falcon")} == {"s1"}
    assert {h.session_id for h in searchable.search(other_workspace, "falcon")} == {
        "s2"
    }


HOSTILE = [
    '"',
    '""',
    '"falcon',
    "*",
    "falcon*",
    "AND",
    "falcon AND",
    "OR NOT",
    "-",
    "-falcon",
    "(",
    ")",
    "NEAR(",
    "NEAR(falcon hunt, 2)",
    "^falcon",
    "task:falcon",
    "{task}: falcon",
    "'; DROP TABLE sessions; --",
    "o'brien",
    "%",
    "_",
    "\\",
    "🦅",
    "🦅 falcon",
    "\u200b",
    "\x00",
    "ß" * 50,
    "falcon " * 1000,
    "x" * 10_240,
    " ".join(f"w{i}" for i in range(2000)),
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t)[:40])
def test_search_never_raises_on_user_text(
    searchable: Any, workspace: str, text: str
) -> None:
    hits = searchable.search(workspace, text)
    assert isinstance(hits, list)
    assert all(h.session_id == "s1" for h in hits)


@pytest.mark.parametrize("text", ["", "   ", "*", "-", '"', "()", "🦅"], ids=repr)
def test_search_for_nothing_searchable_finds_nothing(
    searchable: Any, workspace: str, text: str
) -> None:
    assert searchable.search(workspace, text) == []


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("AND", "salt and pepper"),
        ("NEAR(", "the near field"),
        ('"quoted"', 'fix the "quoted" bug'),
        ("o'brien", "ask O'Brien first"),
        ("-flag", "pass the -flag option"),
        ("*args", "forward *args please"),
        ("認証", "ユーザー 認証 を実装"),
        ("straße", "Die STRAßE ist lang"),
        ("ÉCOLE", "une école ouverte"),
    ],
    ids=repr,
)
def test_operator_words_and_symbols_are_searched_as_plain_text(
    repo: Any, workspace: str, text: str, stored: str
) -> None:
    repo.create_session(workspace, make_session("s1", task=stored))
    repo.create_session(workspace, make_session("s2", task="unrelated words only"))
    assert [(h.session_id, h.kind) for h in repo.search(workspace, text)] == [
        ("s1", "task")
    ]


def test_search_of_an_emoji_word_matches_its_letters(repo: Any, workspace: str) -> None:
    repo.create_session(workspace, make_session("s1", task="ship it 🚀 today"))
    assert [h.session_id for h in repo.search(workspace, "🚀today")] == ["s1"]


# --- lifecycle -----------------------------------------------------------------------------


def test_a_store_is_a_context_manager_and_data_outlives_it(
    store_kind: str, tmp_path: Path, workspace: str
) -> None:
    with open_store(store_kind, tmp_path) as first:
        first.create_session(workspace, make_session("s1", messages=1))
    with open_store(store_kind, tmp_path) as second:
        assert (
            second.get_session(workspace, "s1").to_json()
            == make_session("s1", messages=1).to_json()
        )


@pytest.mark.parametrize(
    "store_kind", ["json", "sqlite"]
)  # the server's place is its DSN
def test_new_default_lives_under_ait42_home(
    store_kind: str, workspace: str, ait42_home: Path
) -> None:
    if store_kind == "json":
        from ait42_session.json_repo import JsonSessionRepository as Store
    else:
        from ait42_session.sqlite_repo import SqliteSessionRepository as Store  # type: ignore
    with Store.new_default() as default:
        default.create_session(workspace, make_session("s1"))
    assert ait42_home.exists() and any(ait42_home.iterdir())
    with Store.new_default() as again:
        assert ids(again.get_all_sessions(workspace)) == ["s1"]


def test_a_workspace_path_with_undecodable_bytes_works_and_hashes_like_the_editor(
    repo: Any, tmp_path: Path
) -> None:
    import hashlib

    from ait42_session import compute_workspace_hash

    path = (
        str(tmp_path / "missing") + "/caf\udce9"
    )  # b"caf\xe9", Latin-1 on a UTF-8 system
    lossy = (str(tmp_path / "missing") + "/caf\ufffd").encode()
    assert compute_workspace_hash(path) == hashlib.sha256(lossy).hexdigest()[:16]
    repo.create_session(path, make_session())
    assert [s.id for s in repo.get_all_sessions(path)] == ["session_1"]


def test_upsert_inserts_a_new_id_and_replaces_a_stored_one_in_its_place(
    repo: Any, workspace: str
) -> None:
    """The debate runner's update-or-insert."""
    repo.create_session(workspace, make_session("a", updated_at="2025-01-13T10:05:00Z"))
    debate = make_session("d", type="debate", status="round_1", task="Debate in progress")

    inserted = repo.upsert_session(workspace, debate)
    debate.status, debate.updated_at = "round_2", "2025-01-13T10:09:00Z"
    replaced = repo.upsert_session(workspace, debate)

    assert inserted.status == "round_1" and replaced.status == "round_2"
    assert repo.get_session(workspace, "d") == replaced
    assert sorted(ids(repo.get_all_sessions(workspace))) == ["a", "d"]
    assert len(repo.get_session_copies(workspace, "d")) == 1


def test_an_invalid_upsert_writes_nothing(repo: Any, workspace: str) -> None:
    repo.create_session(workspace, make_session("a"))
    before = snapshot(repo, workspace)
    for bad in (make_session("a", status="exploded"), make_session("", task="t")):
        with pytest.raises(ValidationError):
            repo.upsert_session(workspace, bad)
    assert snapshot(repo, workspace) == before
