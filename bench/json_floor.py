"""The JSON store's floor: the editor's own work on its file, in bare msgspec.

What the editor's Rust store does on each call, and nothing more: read the workspace's file
and decode it (reads: into the package's models, as ``JsonSessionRepository`` returns them);
decode it into the editor's structs, change one session, encode, pretty-print and write the
file in place (writes). No repository around it: no workspace hashing (the file is found
once, beforehand), no checks of the caller's session, no ordering, filtering, paging or
search - whatever the JSON store spends above this floor is its Python layer and the
contract's extra work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import msgspec

from ait42_session import ChatMessage, WorktreeSession
from ait42_session.editor_files import MessageRecord, SessionRecord, record_of

__all__ = ["JsonFloor", "session_record", "message_record"]

NOW = "2030-01-01T00:00:00.000000+00:00"  # the floor's fixed "now" (the store reads the clock)
_MODELS = msgspec.json.Decoder(list[WorktreeSession])
_RECORDS = msgspec.json.Decoder(list[SessionRecord])
_ENCODER = msgspec.json.Encoder()

Records = list[SessionRecord]


def session_record(data: dict[str, Any]) -> SessionRecord:
    """A workload session (editor JSON) as the editor's struct."""
    record = record_of(WorktreeSession.from_json(data))
    if not isinstance(record, SessionRecord):
        raise AssertionError(
            "workload sessions have no keys beyond the editor's structs"
        )
    return record


def message_record(data: dict[str, Any]) -> MessageRecord:
    m = ChatMessage.from_json(data)
    return MessageRecord(m.id, m.role, m.content, m.timestamp, m.instance_id)


def _position(records: Records, session_id: str) -> int:
    for index, record in enumerate(records):
        if record.id == session_id:
            return index
    raise AssertionError(f"session {session_id!r} is not stored")


class JsonFloor:
    """One workspace file, read and written with nothing around it."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def models(self) -> list[WorktreeSession]:
        """Every read: the whole file, decoded into the models."""
        with open(self.file, "rb") as f:
            return _MODELS.decode(f.read())

    def rewrite(self, change: Callable[[Records], Records]) -> None:
        """Every write: decode into the editor's structs, change, encode, write in place."""
        with open(self.file, "rb") as f:
            records = _RECORDS.decode(f.read())
        data = msgspec.json.format(_ENCODER.encode(change(records)), indent=2)
        with open(self.file, "wb") as f:
            f.write(data)

    def append(self, record: SessionRecord) -> None:
        self.rewrite(lambda records: records + [record])

    def remove(self, session_id: str) -> None:
        self.rewrite(lambda records: [r for r in records if r.id != session_id])

    def replace(self, record: SessionRecord) -> None:
        def change(records: Records) -> Records:
            records[_position(records, record.id)] = record
            return records

        self.rewrite(change)

    def add_message(self, session_id: str, message: MessageRecord) -> None:
        def change(records: Records) -> Records:
            session = records[_position(records, session_id)]
            session.chat_history.append(message)
            session.updated_at = NOW
            return records

        self.rewrite(change)

    def append_output(self, session_id: str, instance_id: int, text: str) -> None:
        def change(records: Records) -> Records:
            session = records[_position(records, session_id)]
            instance = next(
                i for i in session.instances if i.instance_id == instance_id
            )
            instance.output = (instance.output or "") + text
            session.updated_at = NOW
            return records

        self.rewrite(change)

    def set_status(self, session_id: str, instance_id: int, status: str) -> None:
        def change(records: Records) -> Records:
            session = records[_position(records, session_id)]
            instance = next(
                i for i in session.instances if i.instance_id == instance_id
            )
            instance.status = status
            session.updated_at = NOW
            return records

        self.rewrite(change)

    def close(self) -> None:
        """Nothing to release."""
