"""The editor's session files: their names, their bytes, and how they are read and written.

One JSON array of sessions per workspace, ``<sessions_dir>/<workspace hash>.json``, written by
serde_json's pretty printer: two-space indent, ``"key": value``, no final newline, non-ASCII
text as UTF-8, control characters escaped, ``null`` for a missing value. The editor's Rust
store decodes the file into its structs (serde checks JSON types, required keys and integer
ranges, nothing more) and re-encodes the whole array on every write; this module does the
same work at the same speed class, with msgspec:

- ``decode_sessions``: the file as the package's models (``WorktreeSession``...), for reads;
- ``decode_records``: the file as the editor's own structs (``SessionRecord``...), for rewrites:
  they encode back exactly as serde does;
- ``encode``: records (or models, through ``record_of``) as serde_json's pretty bytes;
- ``write_in_place`` (the editor's ``fs::write``) and ``write_atomic`` (for export).

Keys the editor's structs do not know (its front end adds some) are kept: a file holding any
takes a slower path, session by session, that keeps them in ``extra`` and writes them back
after the known keys. Files the editor wrote have none (serde drops them).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, Union

import msgspec

from . import paths
from .errors import DatabaseError, StoreCorruptedError, ValidationError
from .models import U32, U64, U64_MAX, AbsentList, ChatMessage, ChatMessageFields
from .models import WorktreeInstance, WorktreeInstanceFields, WorktreeSession

__all__ = [
    "SESSION_FILE",
    "JSON_WHITESPACE",
    "MessageRecord",
    "InstanceRecord",
    "SessionRecord",
    "Record",
    "session_file",
    "read",
    "decode_sessions",
    "decode_records",
    "record_id",
    "record_of",
    "session_of",
    "encode",
    "ArrayWriter",
    "write_in_place",
    "write_atomic",
    "loads_strict",
]

SESSION_FILE = re.compile(r"^[0-9a-f]{16}\.json$")
JSON_WHITESPACE = " \t\r\n"  # what JSON counts as blank; str.strip() would take more
_BLANK = JSON_WHITESPACE.encode()


# --- the editor's structs (upstream src-tauri/src/commands/session_history.rs) -------------

# serde's derive: camelCase keys, fields in declaration order; a key the structs do not know
# fails the typed decode (``forbid_unknown_fields``), which sends the file to the path that
# keeps it. A message and an instance are the models' own field sets. A session's record holds
# records where the model holds models, and declares its fields as the shipping editor does:
# ``instances`` and ``chatHistory`` right after ``completedAt`` and required (no
# ``#[serde(default)]``); an ``Option`` may be missing (serde reads it as None).
MessageRecord = ChatMessageFields
InstanceRecord = WorktreeInstanceFields


class SessionRecord(
    msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False, kw_only=True
):
    id: str
    type: str
    task: str
    status: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    instances: list[InstanceRecord]
    chat_history: list[MessageRecord]
    model: str | None = None
    timeout_seconds: U32 | None = None
    preserve_worktrees: bool | None = None
    winner_id: U32 | None = None
    runtime_mix: list[str] | None = None
    total_duration: U64 | None = None
    total_files_changed: U32 | None = None
    total_lines_added: U32 | None = None
    total_lines_deleted: U32 | None = None


# A session as it is rewritten: the editor's struct, or (when it has keys the structs do not
# know) its ``to_json()`` object, known keys first.
Record = Union[SessionRecord, dict[str, Any]]

_instance_id = attrgetter("instance_id")
_SESSIONS = msgspec.json.Decoder(list[WorktreeSession])
_RECORDS = msgspec.json.Decoder(list[SessionRecord])
_ENCODER = msgspec.json.Encoder()


def session_file(sessions_dir: Path, workspace_hash: str) -> Path:
    """Where a workspace's sessions live."""
    return sessions_dir / f"{workspace_hash}.json"


# --- reading -------------------------------------------------------------------------------


def read(file: Path) -> bytes | None:
    """The file's bytes; None when there is no file. DatabaseError when it cannot be read."""
    try:
        return file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DatabaseError(f"cannot read {file}: {exc}") from exc


def decode_sessions(
    raw: bytes, file: Path, workspace_hash: str
) -> list[WorktreeSession]:
    """The sessions of a file as models carrying ``workspace_hash``, instances in
    ``instance_id`` order; ``[]`` for a blank file. StoreCorruptedError (naming the file, and
    the session's index when one session is at fault) when serde would refuse the file.
    """
    if not raw.strip(_BLANK):
        return []
    try:
        sessions = _SESSIONS.decode(raw)
    except msgspec.ValidationError:
        sessions = [_decoded(item, file, n) for n, item in enumerate(_items(raw, file))]
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _unreadable(file, exc) from exc
    for index, session in enumerate(sessions):
        session.workspace_hash = workspace_hash
        instances = session.instances
        if type(instances) is AbsentList or type(session.chat_history) is AbsentList:
            raise _missing_list(file, index, session)
        if len(instances) > 1:
            instances.sort(key=_instance_id)
        if session.total_duration is not None and session.total_duration > U64_MAX:
            raise _out_of_range(file, index)
    return sessions


def decode_records(raw: bytes, file: Path) -> list[Record]:
    """The sessions of a file as the editor's structs, ready to be changed and re-encoded;
    ``[]`` for a blank file. StoreCorruptedError as for ``decode_sessions``."""
    if not raw.strip(_BLANK):
        return []
    try:
        records: list[Record] = _RECORDS.decode(raw)  # type: ignore[assignment]
    except msgspec.ValidationError:
        records = [
            record_of(_decoded(item, file, n))
            for n, item in enumerate(_items(raw, file))
        ]
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _unreadable(file, exc) from exc
    for index, record in enumerate(records):
        duration = record.total_duration if type(record) is SessionRecord else None
        if duration is not None and duration > U64_MAX:
            raise _out_of_range(file, index)
    return records


def _items(raw: bytes, file: Path) -> list[Any]:
    """The file's array as plain JSON values, for the session-by-session path."""
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _unreadable(file, exc) from exc
    if not isinstance(data, list):
        raise StoreCorruptedError(f"{file} does not hold a JSON array of sessions")
    return data


def _decoded(item: Any, file: Path, index: int) -> WorktreeSession:
    try:
        session = WorktreeSession.decode(item)
    except ValidationError as exc:
        raise StoreCorruptedError(f"{file}: session at index {index}: {exc}") from exc
    if type(session.instances) is AbsentList or type(session.chat_history) is AbsentList:
        raise _missing_list(file, index, session)
    return session


def _missing_list(file: Path, index: int, session: WorktreeSession) -> StoreCorruptedError:
    """serde's refusal of a session without one of its required lists."""
    key = "instances" if type(session.instances) is AbsentList else "chatHistory"
    return StoreCorruptedError(
        f"{file}: session at index {index}: missing field `{key}`"
    )


def _unreadable(file: Path, exc: BaseException) -> StoreCorruptedError:
    if isinstance(exc, RecursionError):
        return StoreCorruptedError(f"{file} is not valid JSON: nested too deeply")
    return StoreCorruptedError(f"{file} is not valid JSON: {exc}")


def _out_of_range(file: Path, index: int) -> StoreCorruptedError:
    error = StoreCorruptedError(
        f"{file}: session at index {index}: totalDuration is not a u64"
    )
    error.__cause__ = ValidationError("totalDuration is larger than a u64")
    return error


# --- between records and models ------------------------------------------------------------


def record_id(record: Record) -> str:
    """The id of a session as it is rewritten."""
    return record.id if type(record) is SessionRecord else record["id"]  # type: ignore[union-attr,index]


def record_of(session: WorktreeSession) -> Record:
    """A validated model as the editor's struct (instances in ``instance_id`` order); as its
    ``to_json()`` object when it, an instance or a message has keys in ``extra``."""
    if (
        session.extra
        or any(i.extra for i in session.instances)
        or any(m.extra for m in session.chat_history)
    ):
        return session.to_json()
    return SessionRecord(
        id=session.id, type=session.type, task=session.task, status=session.status,
        created_at=session.created_at, updated_at=session.updated_at,
        completed_at=session.completed_at,
        instances=[
            InstanceRecord(
                i.instance_id, i.worktree_path, i.branch, i.agent_name, i.status,
                i.tmux_session_id, i.output, i.start_time, i.end_time, i.files_changed,
                i.lines_added, i.lines_deleted, i.runtime, i.model, i.runtime_label,
            )
            for i in sorted(session.instances, key=_instance_id)
        ],
        chat_history=[
            MessageRecord(m.id, m.role, m.content, m.timestamp, m.instance_id)
            for m in session.chat_history
        ],
        model=session.model, timeout_seconds=session.timeout_seconds,
        preserve_worktrees=session.preserve_worktrees, winner_id=session.winner_id,
        runtime_mix=session.runtime_mix, total_duration=session.total_duration,
        total_files_changed=session.total_files_changed,
        total_lines_added=session.total_lines_added,
        total_lines_deleted=session.total_lines_deleted,
    )  # fmt: skip


def session_of(record: Record) -> WorktreeSession:
    """A session as it is rewritten, as a model (to change one session of the file)."""
    if type(record) is not SessionRecord:
        return WorktreeSession.decode(record)  # type: ignore[arg-type]
    r: SessionRecord = record  # type: ignore[assignment]
    return WorktreeSession(
        r.id, r.type, r.task, r.status, r.created_at, r.updated_at, r.completed_at, r.model,
        r.timeout_seconds, r.preserve_worktrees, r.winner_id, r.runtime_mix, r.total_duration,
        r.total_files_changed, r.total_lines_added, r.total_lines_deleted,
        [
            WorktreeInstance(
                i.instance_id, i.worktree_path, i.branch, i.agent_name, i.status,
                i.tmux_session_id, i.output, i.start_time, i.end_time, i.files_changed,
                i.lines_added, i.lines_deleted, i.runtime, i.model, i.runtime_label,
            )
            for i in r.instances
        ],
        [ChatMessage(m.id, m.role, m.content, m.timestamp, m.instance_id) for m in r.chat_history],
    )  # fmt: skip


# --- writing -------------------------------------------------------------------------------


def encode(records: list[Record] | Record) -> bytes:
    """serde_json's ``to_string_pretty`` of the sessions (or of one), as UTF-8 bytes.
    ValidationError for text that UTF-8 cannot hold (a lone surrogate)."""
    try:
        compact = _ENCODER.encode(records)
    except UnicodeEncodeError as exc:
        raise ValidationError(f"text cannot be stored as UTF-8: {exc}") from exc
    return msgspec.json.format(compact, indent=2)


class ArrayWriter:
    """Writes a file one session at a time, byte-identical to ``encode`` of the whole list
    (for files too big to hold twice): JSON text never holds a raw newline inside a string,
    so indenting every line of one session's own pretty text by two spaces nests it exactly
    as the whole array's text does."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._count = 0

    def write(self, record: Record) -> None:
        text = encode(record)  # type: ignore[arg-type]
        start = b"[\n  " if self._count == 0 else b",\n  "
        self._out.write(start + text.replace(b"\n", b"\n  "))
        self._count += 1

    def close(self) -> None:
        self._out.write(b"[]" if self._count == 0 else b"\n]")


def write_in_place(file: Path, data: bytes) -> None:
    """The editor's ``fs::write``: truncate and write in place (created 0600 in a 0700 folder),
    no temporary file, no fsync. DatabaseError when it fails."""
    paths.make_private_dirs(file.parent)
    try:
        fd = os.open(
            file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, paths.PRIVATE_FILE_MODE
        )
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise DatabaseError(f"cannot write {file}: {exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once: a 0600 temp file in the folder, fsync, rename."""
    try:
        fd, temp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise DatabaseError(f"cannot write in {path.parent}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, paths.PRIVATE_FILE_MODE)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise DatabaseError(f"cannot write {path}: {exc}") from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> Any:
    """``json.loads`` as strict as serde: NaN and Infinity raise ValueError."""
    return json.loads(text, parse_constant=_reject_constant)
