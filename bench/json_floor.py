"""The JSON store's floor: the editor's own work on its file, in bare msgspec.

What the editor's Rust store does on each call, and nothing more: read the workspace's file
and decode it (reads: into the package's models, as ``JsonSessionRepository`` returns them);
decode it into the editor's structs, change one session, encode, pretty-print and write the
file in place (writes). No repository around it: no workspace hashing (the file is found
once, beforehand), no validation of the caller's session, no ordering, filtering, paging or
search - whatever the JSON store spends above this floor is its Python layer and the
contract's extra work. The writes restore the file after every call as the repository cases
do, through the same bare operations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import msgspec

from ait42_session import ChatMessage, WorktreeSession, compute_workspace_hash
from ait42_session.editor_files import MessageRecord, SessionRecord, record_of

from .scenarios import Case, expect
from .stores import StorePaths

__all__ = ["JsonFloor", "json_floor_case"]

_NOW = "2030-01-01T00:00:00.000000+00:00"  # the floor's fixed "now" (the store reads the clock)
_MODELS = msgspec.json.Decoder(list[WorktreeSession])
_RECORDS = msgspec.json.Decoder(list[SessionRecord])
_ENCODER = msgspec.json.Encoder()


class JsonFloor:
    """One workspace file, read and written with nothing around it."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def models(self) -> list[WorktreeSession]:
        with open(self.file, "rb") as f:
            return _MODELS.decode(f.read())

    def rewrite(self, change: Callable[[list[SessionRecord]], list[SessionRecord]]) -> None:
        with open(self.file, "rb") as f:
            records = _RECORDS.decode(f.read())
        data = msgspec.json.format(_ENCODER.encode(change(records)), indent=2)
        with open(self.file, "wb") as f:
            f.write(data)

    def close(self) -> None:
        """Nothing to release."""


def _position(records: list[SessionRecord], session_id: str) -> int:
    for index, record in enumerate(records):
        if record.id == session_id:
            return index
    raise AssertionError(f"session {session_id!r} is not stored")


def _record(data: dict[str, Any]) -> SessionRecord:
    record = record_of(WorktreeSession.from_json(data))
    expect(isinstance(record, SessionRecord), "workload sessions have no unknown keys")
    return record  # type: ignore[return-value]


def json_floor_case(name: str, floor: JsonFloor, data: dict[str, Any]) -> Case:
    """The Case of scenario ``name`` on the JSON floor."""
    n = data["n"]
    if name in (
        "get_all_sessions",
        "type_filter_query",
        "type_filter_list",
        "complex_query",
        "get_session",
        "count_sessions",
        "search",
    ):
        return Case(floor.models, lambda got: expect(len(got) == n, f"{len(got)} != {n}"))
    nothing = lambda got: None  # noqa: E731 - writes answer nothing on the floor

    def append(record: SessionRecord) -> Callable[[], None]:
        return lambda: floor.rewrite(lambda records: records + [record])

    def remove(session_id: str) -> Callable[[], None]:
        return lambda: floor.rewrite(lambda rs: [r for r in rs if r.id != session_id])

    def replace(record: SessionRecord) -> Callable[[], None]:
        def change(records: list[SessionRecord]) -> list[SessionRecord]:
            records[_position(records, record.id)] = record
            return records

        return lambda: floor.rewrite(change)

    if name == "create_session":
        new = _record(data["create"])
        return Case(append(new), nothing, after=remove(new.id))
    if name == "delete_session":
        old = _record(data["delete"])
        return Case(remove(old.id), nothing, after=append(old))
    if name == "update_session":
        versions = [_record(data["update"][v]) for v in ("a", "b")]
        turn = [1]

        def update() -> None:
            turn[0] ^= 1
            replace(versions[turn[0]])()

        update()  # start from the stored original, as the repository cases do
        return Case(update, nothing)
    if name == "add_chat_message":
        original = _record(data["message"]["session"])
        m = ChatMessage.from_json(data["message"]["message"])
        message = MessageRecord(m.id, m.role, m.content, m.timestamp, m.instance_id)

        def add(records: list[SessionRecord]) -> list[SessionRecord]:
            session = records[_position(records, original.id)]
            session.chat_history.append(message)
            session.updated_at = _NOW
            return records

        return Case(lambda: floor.rewrite(add), nothing, after=replace(original))
    if name == "update_instance_status":
        sid, statuses = data["status"]["session"]["id"], data["status"]["statuses"]
        turn = [0]

        def toggle() -> None:
            turn[0] ^= 1

            def change(records: list[SessionRecord]) -> list[SessionRecord]:
                session = records[_position(records, sid)]
                instance = next(i for i in session.instances if i.instance_id == 0)
                instance.status = statuses[turn[0]]
                session.updated_at = _NOW
                return records

            floor.rewrite(change)

        toggle()  # the stored status, as the repository cases start
        return Case(toggle, nothing)
    raise KeyError(f"unknown scenario {name!r}")


def open_json_floor(paths: StorePaths, workspace: str) -> JsonFloor:
    return JsonFloor(paths.sessions_dir / f"{compute_workspace_hash(workspace)}.json")
