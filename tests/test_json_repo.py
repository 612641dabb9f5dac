"""What only the JSON store promises: the editor's file format, on disk, and its failure modes."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable

import pytest

from ait42_session.errors import DatabaseError, StoreCorruptedError, ValidationError
from ait42_session.json_repo import JsonSessionRepository
from ait42_session.models import WorktreeSession
from ait42_session.workspace import compute_workspace_hash

from conftest import (
    EDITOR_WRITTEN,
    SAMPLE_SESSIONS,
    make_message,
    make_session,
    sample_session_dicts,
)


@pytest.fixture
def repo(tmp_path: Path) -> JsonSessionRepository:
    return JsonSessionRepository(tmp_path / "sessions")


@pytest.fixture
def file(repo: JsonSessionRepository, workspace: str) -> Path:
    """Where the workspace's sessions live."""
    return repo.sessions_dir / f"{compute_workspace_hash(workspace)}.json"


def editor_text(sessions: list[WorktreeSession]) -> str:
    """serde_json::to_string_pretty of the sessions, as the editor writes the file."""
    return json.dumps([s.to_json() for s in sessions], indent=2, ensure_ascii=False)


# --- the file format -----------------------------------------------------------------------


@pytest.mark.parametrize("source", EDITOR_WRITTEN, ids=lambda f: f.name)
def test_a_file_the_editor_wrote_is_rewritten_byte_for_byte(
    repo: JsonSessionRepository, workspace: str, file: Path, source: Path
) -> None:
    """Every session of a shipping editor's file written back unchanged (``update_session``
    acts on the first copy of a repeated id, as the editor's ``find`` does) leaves the file's
    bytes as the editor wrote them: its key order, its ``null``s, its repeated ids."""
    raw = source.read_bytes()
    file.parent.mkdir(parents=True)
    file.write_bytes(raw)
    stored = repo.get_all_sessions(workspace)
    assert len(stored) == len(json.loads(raw))  # every copy of a repeated id is read
    for session_id in {s.id for s in stored}:
        copies = repo.get_session_copies(workspace, session_id)
        assert len(copies) == [s.id for s in stored].count(session_id)
        assert copies[0] == repo.get_session(workspace, session_id)
        repo.update_session(workspace, repo.get_session(workspace, session_id))
        assert file.read_bytes() == raw


def test_a_file_whose_session_lacks_a_required_list_is_damaged(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    """The editor's struct declares both lists without a default: serde refuses the file."""
    data = [make_session("s").to_json()]
    del data[0]["chatHistory"]
    file.parent.mkdir(parents=True)
    file.write_text(json.dumps(data))
    with pytest.raises(StoreCorruptedError, match="chatHistory"):
        repo.get_all_sessions(workspace)
    with pytest.raises(StoreCorruptedError, match="chatHistory"):
        repo.update_session(workspace, make_session("s"))


def test_sessions_are_written_as_the_editors_pretty_json_array(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    sessions = [WorktreeSession.from_json(d) for d in sample_session_dicts()]
    sessions.append(make_session("ünïcode", task='認証 🚀 «quotes» "escaped"'))
    for session in sessions:
        repo.create_session(workspace, session)
    text = file.read_text(encoding="utf-8")
    assert text == editor_text(sessions)
    assert text.startswith(
        '[\n  {\n    "id": "fixture_session_1",\n    "type": "competition"'
    )
    assert not text.endswith("\n")
    assert "認証 🚀" in text  # not \u-escaped


def test_an_update_keeps_the_sessions_place_in_the_file(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    for name in ["first", "second", "third"]:
        repo.create_session(workspace, make_session(name))
    repo.update_session(
        workspace, make_session("second", updated_at="2030-01-01T00:00:00Z")
    )
    repo.add_chat_message(workspace, "first", make_message())
    assert [s["id"] for s in json.loads(file.read_text())] == [
        "first",
        "second",
        "third",
    ]


def test_deleting_the_last_session_leaves_an_empty_array(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    repo.create_session(workspace, make_session("s1"))
    repo.delete_session(workspace, "s1")
    assert file.read_text() == "[]"


def test_new_files_and_folders_are_private(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    repo.create_session(workspace, make_session("s1"))
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(repo.sessions_dir.stat().st_mode) == 0o700


def test_reading_creates_no_file(repo: JsonSessionRepository, workspace: str) -> None:
    assert repo.get_all_sessions(workspace) == []
    assert repo.search(workspace, "anything") == []
    assert not repo.sessions_dir.exists()


def test_new_default_is_the_sessions_folder_under_ait42_home(ait42_home: Path) -> None:
    assert JsonSessionRepository.new_default().sessions_dir == ait42_home / "sessions"


# --- files the editor wrote ----------------------------------------------------------------


def test_a_file_the_editor_wrote_is_read_as_is(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    file.parent.mkdir()
    original = SAMPLE_SESSIONS.read_bytes()
    file.write_bytes(original)
    sessions = repo.get_all_sessions(workspace)
    assert [s.id for s in sessions] == [f"fixture_session_{n}" for n in (3, 2, 1)]
    assert repo.search(workspace, "JWT")[0].message_id == "msg_1"
    assert file.read_bytes() == original  # reads never rewrite


def test_instances_the_editor_wrote_out_of_order_come_back_sorted(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    data = sample_session_dicts()[:1]
    data[0]["instances"].reverse()
    file.parent.mkdir()
    file.write_text(json.dumps(data))
    assert [
        i.instance_id for i in repo.get_session(workspace, data[0]["id"]).instances
    ] == [0, 1]


def test_every_call_reads_the_file_again(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    repo.create_session(workspace, make_session("s1", task="before"))
    data = json.loads(file.read_text())
    data[0]["task"] = "edited by the editor"
    file.write_text(json.dumps(data))
    assert repo.get_session(workspace, "s1").task == "edited by the editor"


@pytest.mark.parametrize("content", ["", "   ", "\n\t\r\n "], ids=repr)
def test_an_empty_or_blank_file_holds_no_sessions(
    repo: JsonSessionRepository, workspace: str, file: Path, content: str
) -> None:
    file.parent.mkdir()
    file.write_text(content)
    assert repo.get_all_sessions(workspace) == []
    repo.create_session(workspace, make_session("s1"))
    assert [s.id for s in repo.get_all_sessions(workspace)] == ["s1"]


# --- damaged files -------------------------------------------------------------------------


def _truncated() -> bytes:
    text = SAMPLE_SESSIONS.read_bytes()
    return text[: len(text) // 2]  # a crash in the middle of the editor's plain write


DAMAGED = {
    "truncated write": _truncated(),
    "not json": b"sessions: none",
    "object, not array": b'{"id": "s1"}',
    "array of strings": b'["s1"]',
    "invalid utf-8": b'[{"id": "\xff\xfe"}]',
    "NUL bytes": b"[]\x00\x00",
    "NaN": b'[{"evaluation": NaN}]',
    "Infinity": b"[Infinity]",
    "utf-8 BOM": b"\xef\xbb\xbf[]",
    "deeply nested": b"[" * 100_000,
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_file_is_reported_with_its_name(
    repo: JsonSessionRepository, workspace: str, file: Path, content: bytes
) -> None:
    file.parent.mkdir()
    file.write_bytes(content)
    with pytest.raises(StoreCorruptedError, match=file.name):
        repo.get_all_sessions(workspace)


@pytest.mark.parametrize(
    "write",
    [
        lambda r, w: r.create_session(w, make_session("new")),
        lambda r, w: r.delete_session(w, "s1"),
        lambda r, w: r.add_chat_message(w, "s1", make_message()),
    ],
    ids=["create", "delete", "add_chat_message"],
)
def test_a_write_to_a_damaged_file_leaves_it_untouched(
    repo: JsonSessionRepository, workspace: str, file: Path, write: Callable[..., Any]
) -> None:
    file.parent.mkdir()
    file.write_bytes(_truncated())
    with pytest.raises(StoreCorruptedError):
        write(repo, workspace)
    assert file.read_bytes() == _truncated()


SERDE_REFUSES = {
    "string for instanceId": ("instances", {"instanceId": "0"}),
    "negative totalFilesChanged": (None, {"totalFilesChanged": -1}),
    "u32 overflow in linesAdded": ("instances", {"linesAdded": 2**32}),
    "u64 overflow in totalDuration": (None, {"totalDuration": 2**64}),
    "missing id": (None, {"id": None}),
    "null instances": (None, {"instances": None}),
    "number for task": (None, {"task": 7}),
}


@pytest.mark.parametrize(
    "where, change", SERDE_REFUSES.values(), ids=SERDE_REFUSES.keys()
)
def test_a_session_serde_would_refuse_is_reported_with_file_and_index(
    repo: JsonSessionRepository,
    workspace: str,
    file: Path,
    where: str | None,
    change: dict,
) -> None:
    data = sample_session_dicts()
    target = data[1]["instances"][0] if where else data[1]
    target.update(change)
    if change == {"id": None}:
        del target["id"]
    file.parent.mkdir()
    file.write_text(json.dumps(data))
    for read in (
        repo.get_all_sessions,
        lambda w: repo.delete_session(w, "fixture_session_1"),
    ):
        with pytest.raises(
            StoreCorruptedError, match=rf"{file.name}.*index 1"
        ) as caught:
            read(workspace)
        assert isinstance(caught.value.__cause__, ValidationError)
    assert json.loads(file.read_text()) == data  # nothing was written


def test_values_serde_reads_are_read_though_the_contract_would_refuse_them(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    """The editor's structs hold plain strings: an unknown type or status, or a timestamp in
    another format, is read as it is (the contract's checks run on what callers pass in).
    """
    data = sample_session_dicts()
    data[1]["type"] = "tournament"
    data[1]["instances"][0]["status"] = "exploded"
    data[0]["chatHistory"][0]["timestamp"] = "yesterday"
    file.parent.mkdir()
    file.write_text(json.dumps(data))
    session = repo.get_session(workspace, "fixture_session_2")
    assert session.type == "tournament" and session.instances[0].status == "exploded"
    repo.update_instance_status(workspace, "fixture_session_1", 1, "archived")
    written = json.loads(file.read_text())
    assert written[1]["type"] == "tournament"
    assert written[0]["chatHistory"][0]["timestamp"] == "yesterday"
    assert written[0]["instances"][1]["status"] == "archived"


def test_a_stored_timestamp_that_names_no_instant_cannot_be_ordered(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    data = sample_session_dicts()
    data[2]["updatedAt"] = "last tuesday"
    file.parent.mkdir()
    file.write_text(json.dumps(data))
    assert repo.get_session(workspace, data[2]["id"]).updated_at == "last tuesday"
    with pytest.raises(StoreCorruptedError, match=rf"{file.name}.*last tuesday"):
        repo.get_all_sessions(workspace)


def test_a_sessions_folder_that_is_a_file_is_a_database_error(
    tmp_path: Path, workspace: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    repo = JsonSessionRepository(blocker)
    with pytest.raises(DatabaseError):
        repo.get_all_sessions(workspace)
    with pytest.raises(DatabaseError):
        repo.create_session(workspace, make_session("s1"))


def test_a_session_file_that_is_a_folder_is_a_database_error(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    file.mkdir(parents=True)
    with pytest.raises(DatabaseError):
        repo.get_all_sessions(workspace)


def test_text_that_cannot_be_utf8_is_rejected_before_writing(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    repo.create_session(workspace, make_session("s1"))
    before = file.read_bytes()
    with pytest.raises(ValidationError):
        repo.create_session(workspace, make_session("s2", task="lone \ud800 surrogate"))
    assert file.read_bytes() == before


def test_a_full_disk_is_a_database_error(
    repo: JsonSessionRepository, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def full_disk(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_WRONLY:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", full_disk)
    with pytest.raises(DatabaseError, match="No space left"):
        repo.create_session(workspace, make_session("s1"))


def test_a_rewrite_of_the_editors_fixture_is_serdes_output_byte_for_byte(
    repo: JsonSessionRepository, workspace: str, file: Path
) -> None:
    """The fixture leaves optional keys out; serde writes them back as null. Its output
    (``editor-sample-sessions.serde.json``, from tools/serde-reference) is then stable.
    """
    serde_output = SAMPLE_SESSIONS.with_name(
        "editor-sample-sessions.serde.json"
    ).read_bytes()
    file.parent.mkdir()
    file.write_bytes(SAMPLE_SESSIONS.read_bytes())
    repo.update_session(workspace, repo.get_session(workspace, "fixture_session_2"))
    assert file.read_bytes() == serde_output
    repo.update_session(workspace, repo.get_session(workspace, "fixture_session_1"))
    assert file.read_bytes() == serde_output
