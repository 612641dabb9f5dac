"""The editor's JSON shape: round trips, key order, unknown keys, validation, hashing, instants."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ait42_session.errors import ValidationError
from ait42_session.models import ChatMessage, WorktreeInstance, WorktreeSession
from ait42_session.timestamps import stored_instant_ns, to_instant_ns
from ait42_session.workspace import compute_workspace_hash

SAMPLE_SESSIONS = Path(__file__).parent / "fixtures" / "editor-sample-sessions.json"
SAMPLES: list[dict[str, Any]] = json.loads(SAMPLE_SESSIONS.read_text(encoding="utf-8"))

# The field order of the editor's Rust structs (serde writes fields in declaration order).
# The shipping editor's order (upstream session_history.rs): the lists after completedAt.
SESSION_KEYS = [
    "id", "type", "task", "status", "createdAt", "updatedAt", "completedAt", "instances",
    "chatHistory", "model", "timeoutSeconds", "preserveWorktrees", "winnerId", "runtimeMix",
    "totalDuration", "totalFilesChanged", "totalLinesAdded", "totalLinesDeleted",
]  # fmt: skip
INSTANCE_KEYS = [
    "instanceId", "worktreePath", "branch", "agentName", "status", "tmuxSessionId", "output",
    "startTime", "endTime", "filesChanged", "linesAdded", "linesDeleted", "runtime", "model",
    "runtimeLabel",
]  # fmt: skip
MESSAGE_KEYS = ["id", "role", "content", "timestamp", "instanceId"]


def with_nulls(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``data`` as serde writes it: every struct key in order (absent ones null), then extras."""
    out = {key: data.get(key) for key in keys}
    out.update((key, value) for key, value in data.items() if key not in keys)
    return out


def as_written(session: dict[str, Any]) -> dict[str, Any]:
    """What ``to_json`` must produce for a session read from the editor's file."""
    out = with_nulls(session, SESSION_KEYS)
    instances = sorted(session.get("instances") or [], key=lambda i: i["instanceId"])
    out["instances"] = [with_nulls(i, INSTANCE_KEYS) for i in instances]
    out["chatHistory"] = [
        with_nulls(m, MESSAGE_KEYS) for m in session.get("chatHistory") or []
    ]
    return out


def sample_ids() -> list[str]:
    return [s["id"] for s in SAMPLES]


# --- round trips of the editor's fixture ---------------------------------------------------


@pytest.mark.parametrize("data", SAMPLES, ids=sample_ids())
def test_a_fixture_session_is_written_back_with_absent_keys_as_null(
    data: dict[str, Any],
) -> None:
    assert WorktreeSession.from_json(data).to_json() == as_written(data)


@pytest.mark.parametrize("data", SAMPLES, ids=sample_ids())
def test_a_fixture_session_survives_a_second_round_trip_through_json_text(
    data: dict[str, Any],
) -> None:
    session = WorktreeSession.from_json(data)
    text = json.dumps(session.to_json(), indent=2, ensure_ascii=False)
    assert WorktreeSession.from_json(json.loads(text)) == session


@pytest.mark.parametrize("data", SAMPLES, ids=sample_ids())
def test_a_fixture_session_reads_its_values(data: dict[str, Any]) -> None:
    session = WorktreeSession.from_json(data)
    assert (session.id, session.type, session.task) == (
        data["id"],
        data["type"],
        data["task"],
    )
    assert session.created_at == data["createdAt"]
    assert session.total_duration == data.get("totalDuration")
    assert [i.agent_name for i in session.instances] == [
        i["agentName"] for i in data["instances"]
    ]
    assert [(m.id, m.instance_id) for m in session.chat_history] == [
        (m["id"], m.get("instanceId")) for m in data["chatHistory"]
    ]
    assert session.extra == {}
    assert session.workspace_hash is None


@pytest.mark.parametrize("data", SAMPLES, ids=sample_ids())
def test_a_stored_copy_is_the_json_round_trip_and_shares_nothing_mutable(
    data: dict[str, Any],
) -> None:
    data = {**data, "note": {"tags": ["a"]}, "runtimeMix": ["claude", "codex"]}
    data["instances"] = [{**i, "x": [1]} for i in reversed(data.get("instances") or [])]
    data["chatHistory"] = [{**m, "y": {"z": 1}} for m in data.get("chatHistory") or []]
    session = WorktreeSession.from_json(data)
    copy_ = session.stored_copy("0123456789abcdef")
    expected = WorktreeSession.from_json(session.to_json())
    expected.workspace_hash = "0123456789abcdef"
    assert copy_ == expected
    assert [i.instance_id for i in copy_.instances] == sorted(
        i.instance_id for i in session.instances
    )
    copy_.extra["note"]["tags"].append("b")
    copy_.runtime_mix.append("x")  # type: ignore[union-attr]
    for instance in copy_.instances:
        instance.extra["x"].append(2)
    for message in copy_.chat_history:
        message.extra["y"]["z"] = 2
    assert session.to_json() == WorktreeSession.from_json(data).to_json()


def test_keys_are_written_in_the_order_of_the_rust_structs() -> None:
    data = SAMPLES[0]
    written = WorktreeSession.from_json(data).to_json()
    assert list(written) == SESSION_KEYS
    assert all(list(i) == INSTANCE_KEYS for i in written["instances"])
    assert all(list(m) == MESSAGE_KEYS for m in written["chatHistory"])


def test_none_is_written_as_null_not_left_out() -> None:
    written = json.dumps(WorktreeSession.from_json(SAMPLES[2]).to_json())
    assert '"model": null' in written
    assert '"winnerId": null' in written


def test_a_session_read_with_missing_optional_keys_has_none_and_empty_lists() -> None:
    minimal = {key: SAMPLES[0][key] for key in ("id", "type", "task", "status")}
    minimal |= {
        "createdAt": "2025-01-13T10:00:00Z",
        "updatedAt": "2025-01-13T10:00:00Z",
    }
    session = WorktreeSession.from_json(minimal)
    assert session.completed_at is None and session.runtime_mix is None
    assert session.instances == [] and session.chat_history == []


def test_instances_are_written_in_instance_id_order() -> None:
    data = copy.deepcopy(SAMPLES[0])
    data["instances"].reverse()
    written = WorktreeSession.from_json(data).to_json()
    assert [i["instanceId"] for i in written["instances"]] == [0, 1]


# --- unknown keys --------------------------------------------------------------------------


def frontend_session() -> dict[str, Any]:
    """A fixture session with the keys the editor's web front end adds."""
    data = copy.deepcopy(SAMPLES[0])
    data["evaluation"] = {"winner": 1, "scores": [0.5, 0.75], "notes": None}
    data["integrationPhase"] = "merging"
    data["integrationInstanceId"] = 2
    data["instances"][0]["testsPassed"] = True
    data["chatHistory"][0]["attachments"] = ["diff.patch"]
    return data


def test_unknown_keys_are_kept_in_extra() -> None:
    session = WorktreeSession.from_json(frontend_session())
    assert session.extra == {
        "evaluation": {"winner": 1, "scores": [0.5, 0.75], "notes": None},
        "integrationPhase": "merging",
        "integrationInstanceId": 2,
    }
    assert session.instances[0].extra == {"testsPassed": True}
    assert session.chat_history[0].extra == {"attachments": ["diff.patch"]}


def test_unknown_keys_are_written_back_after_the_known_ones() -> None:
    data = frontend_session()
    written = WorktreeSession.from_json(data).to_json()
    assert written == as_written(data)
    assert list(written)[len(SESSION_KEYS) :] == [
        "evaluation",
        "integrationPhase",
        "integrationInstanceId",
    ]
    assert written["instances"][0]["testsPassed"] is True


def test_workspace_hash_is_never_written() -> None:
    session = WorktreeSession.from_json(SAMPLES[0])
    session.workspace_hash = "0123456789abcdef"
    written = session.to_json()
    assert "workspace_hash" not in written and "workspaceHash" not in written


def test_new_session_is_running_and_created_now() -> None:
    session = WorktreeSession.new("s1", "0123456789abcdef", "debate", "Argue")
    assert session.status == "running"
    assert session.created_at == session.updated_at
    assert session.workspace_hash == "0123456789abcdef"
    assert (
        abs(to_instant_ns(session.created_at) - to_instant_ns(_utc_now())) < 60 * 10**9
    )


def _utc_now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# --- validation ----------------------------------------------------------------------------


def session_with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLES[0])
    data.update(changes)
    return data


def session_with_instance(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLES[0])
    data["instances"][0].update(changes)
    return data


def session_with_message(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLES[0])
    data["chatHistory"][0].update(changes)
    return data


INVALID_SESSIONS = {
    "unknown session type": session_with(type="tournament"),
    "unknown session status": session_with(status="done"),
    "unknown instance status": session_with_instance(status="crashed"),
    "unknown message role": session_with_message(role="tool"),
    "empty id": session_with(id=""),
    "empty task": session_with(task=""),
    "empty message content": session_with_message(content=""),
    "missing id": {k: v for k, v in SAMPLES[0].items() if k != "id"},
    "list for task": session_with(task=["Implement", "auth"]),
    "number for id": session_with(id=7),
    "string for instanceId": session_with_instance(instanceId="0"),
    "bool for instanceId": session_with_instance(instanceId=True),
    "bool for totalFilesChanged": session_with(totalFilesChanged=False),
    "float for totalDuration": session_with(totalDuration=90.5),
    "string for preserveWorktrees": session_with(preserveWorktrees="yes"),
    "negative filesChanged": session_with_instance(filesChanged=-1),
    "u32 overflow in linesAdded": session_with_instance(linesAdded=2**32),
    "u32 overflow in timeoutSeconds": session_with(timeoutSeconds=2**32),
    "i64 overflow in totalDuration": session_with(totalDuration=2**63),
    "repeated instanceId": session_with_instance(instanceId=1),
    "object for instances": session_with(instances={"0": {}}),
    "string in runtimeMix list": session_with(runtimeMix=["claude", 3]),
    "NUL in task": session_with(task="a\x00b"),
    "date-only createdAt": session_with(createdAt="2025-01-13"),
    "createdAt without offset": session_with(createdAt="2025-01-13T10:00:00"),
    "impossible updatedAt": session_with(updatedAt="2025-02-30T10:00:00Z"),
    "hour 24 in updatedAt": session_with(updatedAt="2025-01-13T24:00:00Z"),
    "free text message timestamp": session_with_message(timestamp="yesterday"),
    "session not an object": ["not", "an", "object"],
}


@pytest.mark.parametrize("data", INVALID_SESSIONS.values(), ids=INVALID_SESSIONS.keys())
def test_a_session_that_breaks_the_rules_is_rejected(data: Any) -> None:
    with pytest.raises(ValidationError):
        WorktreeSession.from_json(data)


def test_validation_error_is_a_value_error_and_a_session_error() -> None:
    from ait42_session.errors import SessionError

    with pytest.raises(ValidationError) as caught:
        WorktreeSession.from_json(session_with(type="tournament"))
    assert isinstance(caught.value, ValueError) and isinstance(
        caught.value, SessionError
    )


def test_the_largest_u32_and_u64_values_are_accepted() -> None:
    data = session_with(timeoutSeconds=2**32 - 1, totalDuration=2**63 - 1)
    session = WorktreeSession.from_json(data)
    assert (session.timeout_seconds, session.total_duration) == (2**32 - 1, 2**63 - 1)


def test_validate_catches_a_bad_value_set_after_construction() -> None:
    session = WorktreeSession.from_json(SAMPLES[0])
    session.instances[0].status = "exploded"
    with pytest.raises(ValidationError):
        session.validate()


def test_extra_may_not_shadow_a_known_key() -> None:
    message = ChatMessage(
        "m", "user", "hi", "2025-01-13T10:00:00Z", extra={"content": "x"}
    )
    with pytest.raises(ValidationError):
        message.validate()


def test_instance_and_message_from_json_validate_too() -> None:
    with pytest.raises(ValidationError):
        WorktreeInstance.from_json({"instanceId": 0})
    with pytest.raises(ValidationError):
        ChatMessage.from_json(
            {"id": "m", "role": "user", "content": "hi", "timestamp": 5}
        )


# --- workspace hash ------------------------------------------------------------------------


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def test_an_existing_folder_hashes_its_canonical_path(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    expected = sha16(os.path.realpath(folder))
    assert compute_workspace_hash(str(folder)) == expected
    assert compute_workspace_hash(str(folder) + "/") == expected
    assert compute_workspace_hash(folder) == expected


def test_a_symlink_hashes_like_the_folder_it_points_to(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    link = tmp_path / "link"
    link.symlink_to(folder)
    assert compute_workspace_hash(str(link)) == sha16(os.path.realpath(folder))


def test_a_missing_path_hashes_as_written_without_trailing_slashes() -> None:
    path = "/no/such/workspace-for-ait42-tests"
    assert compute_workspace_hash(path + "//") == sha16(path)
    assert compute_workspace_hash(path) == sha16(path)


def test_a_symlink_re_pointed_to_another_folder_hashes_like_its_new_target(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    link = tmp_path / "link"
    link.symlink_to(first)
    assert compute_workspace_hash(str(link)) == sha16(os.path.realpath(first))
    link.unlink()
    link.symlink_to(second)
    assert compute_workspace_hash(str(link)) == sha16(os.path.realpath(second))


def test_a_folder_that_goes_and_comes_back_is_hashed_as_it_is_each_time(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    folder = tmp_path / "project"
    folder.mkdir()
    text = str(folder) + "/"
    assert compute_workspace_hash(text) == sha16(os.path.realpath(folder))
    folder.rmdir()
    assert compute_workspace_hash(text) == sha16(str(folder))  # missing: as written
    folder.symlink_to(real)  # back, as a symlink to another folder
    assert compute_workspace_hash(text) == sha16(os.path.realpath(real))


def test_a_workspace_hash_is_16_lowercase_hex_digits(tmp_path: Path) -> None:
    value = compute_workspace_hash(str(tmp_path))
    assert len(value) == 16 and set(value) <= set("0123456789abcdef")


# --- timestamps ----------------------------------------------------------------------------


SAME_INSTANT = [
    "2025-01-13T10:00:00Z",
    "2025-01-13T10:00:00+00:00",
    "2025-01-13T12:00:00+02:00",
    "2025-01-13T05:30:00-04:30",
    "2025-01-13T10:00:00.000000000+00:00",
]


@pytest.mark.parametrize("text", SAME_INSTANT)
def test_offsets_and_precisions_name_the_same_instant(text: str) -> None:
    assert to_instant_ns(text) == to_instant_ns("2025-01-13T10:00:00Z")


def test_nanoseconds_and_milliseconds_order_by_instant() -> None:
    nanos = to_instant_ns("2025-01-13T10:00:00.123456789+00:00")
    millis = to_instant_ns("2025-01-13T10:00:00.123Z")
    assert nanos - millis == 456_789


def test_timestamps_are_stored_exactly_as_given() -> None:
    data = session_with(
        createdAt="2025-01-13T12:00:00+02:00",
        updatedAt="2025-01-13T10:00:00.123456789+00:00",
    )
    written = WorktreeSession.from_json(data).to_json()
    assert written["createdAt"] == "2025-01-13T12:00:00+02:00"
    assert written["updatedAt"] == "2025-01-13T10:00:00.123456789+00:00"


@settings(max_examples=500, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime.datetime(1678, 1, 1),
        max_value=datetime.datetime(2261, 12, 31),
    ),
    digits=st.integers(min_value=0, max_value=9),
    nanos=st.integers(min_value=0, max_value=999_999_999),
    offset=st.one_of(
        st.sampled_from(["Z", "z", "+00:00"]),
        st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)).map(
            lambda t: f"{t[0]}{t[1]:02d}:{t[2]:02d}"
        ),
    ),
    separator=st.sampled_from("Tt "),
)
def test_stored_timestamps_order_by_the_same_instant_as_the_strict_parser(
    moment: datetime.datetime, digits: int, nanos: int, offset: str, separator: str
) -> None:
    fraction = f".{nanos:09d}"[: digits + 1] if digits else ""
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction + offset
    assert stored_instant_ns(text) == to_instant_ns(text)


@pytest.mark.parametrize("text", ["yesterday", "2025-01-13", "2025-01-13T10:00:00", ""])
def test_a_stored_timestamp_that_names_no_instant_is_a_validation_error(
    text: str,
) -> None:
    with pytest.raises(ValidationError):
        stored_instant_ns(text)


def test_a_timestamp_parsed_again_is_the_same_instant_a_bad_one_fails_again() -> None:
    first = to_instant_ns("2025-01-13T12:00:00+02:00")
    # More than the parser remembers: it starts over, and every answer is still right.
    for n in range(10_000):
        text = f"2025-01-13T10:00:{n % 60:02d}.{n:09d}Z"
        assert to_instant_ns(text) == first + (n % 60) * 10**9 + n
    assert to_instant_ns("2025-01-13T12:00:00+02:00") == first
    for field in ("message.timestamp", "createdAt"):
        with pytest.raises(ValidationError, match=field):
            to_instant_ns("2025-02-30T10:00:00Z", field)
