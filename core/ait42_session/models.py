"""The editor's session, instance and chat-message records, and their JSON form.

The records are msgspec Structs: construction, JSON decoding and attribute access run in
compiled code, as serde's do in the editor. Decoding a record checks what serde checks (JSON
types, required keys, integer ranges); ``validate()`` checks the rest of the contract (allowed
values, RFC 3339 timestamps, non-empty ids, ``extra`` as plain JSON).

``to_json`` writes keys in the order of the shipping editor's Rust structs (upstream
``src-tauri/src/commands/session_history.rs``: a session's ``instances`` and ``chatHistory``
right after ``completedAt``), ``None`` as ``null`` (serde's default), then any keys the model
does not know (kept in ``extra``) in the order they were read. The editor's file format as
bytes (serde_json's pretty printer) lives in ``editor_files``.

A session read from JSON without ``instances`` or ``chatHistory`` gets empty lists; they are
of the list subclass ``AbsentList``, so that the editor's file format, where both lists are
required, can refuse such a session at no cost to the decode (``editor_files``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Mapping

import msgspec

from .errors import ValidationError
from .timestamps import now_rfc3339, to_instant_ns

__all__ = [
    "ChatMessageFields",
    "WorktreeInstanceFields",
    "WorktreeSessionFields",
    "AbsentList",
    "SESSION_TYPES",
    "BOARD_SESSION_STATUSES",
    "DEBATE_ROUND_STATUSES",
    "SESSION_STATUSES",
    "INSTANCE_STATUSES",
    "MESSAGE_ROLES",
    "ChatMessage",
    "WorktreeInstance",
    "WorktreeSession",
    "checked_text",
]

SESSION_TYPES = ("competition", "ensemble", "debate")
# The four the board's types list (and filter on), and the debate runner's statuses while its
# rounds run (upstream ait42.rs, execute_debate_rounds), which the shipping editor writes too.
BOARD_SESSION_STATUSES = ("running", "completed", "failed", "paused")
DEBATE_ROUND_STATUSES = ("round_1", "round_2", "round_3")
SESSION_STATUSES = BOARD_SESSION_STATUSES + DEBATE_ROUND_STATUSES
INSTANCE_STATUSES = ("idle", "running", "completed", "failed", "paused", "archived")
MESSAGE_ROLES = ("user", "assistant", "system")

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
# The editor types total_duration as u64; SQLite integers are signed 64-bit.
I64_MAX = 2**63 - 1
# Deepest nesting of an extra value. The editor's serde_json reads no JSON deeper than 128
# levels, and a value near Python's recursion limit could be stored yet fail to load again.
MAX_EXTRA_DEPTH = 100

# serde's integer types, checked while decoding. msgspec bounds stop at i64, so u64's upper end
# is checked after decoding (``exceeds_u64``).
U32 = Annotated[int, msgspec.Meta(ge=0, le=U32_MAX)]
U64 = Annotated[int, msgspec.Meta(ge=0)]
# ``workspace_hash`` and ``extra`` are never in the editor's JSON. Decoding refuses any value
# under their names, so a file that happens to hold such a key leaves the fast typed decode and
# keeps the key in ``extra``, like any other key the model does not know.
_NotDecodedStr = Annotated[str, msgspec.Meta(pattern=r"[^\s\S]")]
_NotDecodedDict = Annotated[dict[str, Any], msgspec.Meta(min_length=1, max_length=0)]
_WORKSPACE_HASH = "workspace_hash (never in the JSON)"
_EXTRA = "extra (never in the JSON)"


class AbsentList(list):  # type: ignore[type-arg]
    """An empty list standing for a key the JSON did not have (see the module docstring)."""

    __slots__ = ()


def _list_field() -> Any:
    return msgspec.field(default_factory=AbsentList)


def _extra_field() -> Any:
    return msgspec.field(default_factory=dict, name=_EXTRA)


class _Record(msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    """Options shared by the three records. ``forbid_unknown_fields`` makes a typed decode fail
    on a key the model does not know, so such input takes the path that keeps it in ``extra``.
    ``gc=False``: records hold only strings, numbers, lists and dicts of plain JSON, never a
    reference cycle, so the cyclic garbage collector need not track them."""


# --- field checks: each returns the value or raises ValidationError -------------------------


def _text(
    value: Any, name: str, *, required: bool = True, nonempty: bool = False
) -> Any:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    if nonempty and not value:
        raise ValidationError(f"{name} must not be empty")
    if "\x00" in value:
        raise ValidationError(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{name} is not valid Unicode text (lone surrogate)"
        ) from exc
    return value


def checked_text(value: Any, name: str) -> str:
    """``value`` when it is text a field may hold (a string, no NUL, no lone surrogate);
    ValidationError naming ``name`` otherwise."""
    return _text(value, name)


def _choice(
    value: Any, name: str, allowed: tuple[str, ...], unknown: list[str] | None
) -> str:
    """The value when ``allowed`` lists it. Otherwise ValidationError, unless ``unknown`` is a
    list: then text outside the list is recorded there and kept (the editor's files hold
    values the contract does not list, and an import keeps them)."""
    if isinstance(value, str) and unknown is not None and value not in allowed:
        _text(value, name, nonempty=True)
        unknown.append(f"{name} {value!r:.80}")
        return value
    if value not in allowed or not isinstance(value, str):
        raise ValidationError(
            f"{name} must be one of {', '.join(allowed)}; got {value!r:.80}"
        )
    return value


def _uint(
    value: Any, name: str, maximum: int = U32_MAX, *, required: bool = False
) -> Any:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValidationError(f"{name} must be between 0 and {maximum}; got {value}")
    return value


def _bool(value: Any, name: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(
        f"{name} must be true, false or null, got {type(value).__name__}"
    )


def _timestamp(value: Any, name: str, *, required: bool = True) -> Any:
    if value is None and not required:
        return None
    _text(value, name)
    to_instant_ns(value, name)
    return value


def _string_list(value: Any, name: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError(
            f"{name} must be a list of strings, got {type(value).__name__}"
        )
    return [_text(item, f"{name}[{i}]") for i, item in enumerate(value)]


def _extra(value: Any, name: str, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(
            f"{name}.extra must be a dict, got {type(value).__name__}"
        )
    if not value:
        return value  # the usual case: nothing to check
    clash = [key for key in value if key in known]
    if clash:
        raise ValidationError(f"{name}.extra repeats known keys: {', '.join(clash)}")
    if _nesting(value) > MAX_EXTRA_DEPTH:
        raise ValidationError(
            f"{name}.extra nests deeper than {MAX_EXTRA_DEPTH} levels"
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"{name}.extra is not plain JSON: {exc}") from exc
    return value


def _nesting(value: Any) -> int:
    """How deep lists and dicts nest in ``value`` (without recursion; stops past the limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_EXTRA_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _plain_copy(extra: dict[str, Any]) -> dict[str, Any]:
    """A detached copy of validated extra keys, shaped as a JSON read returns them."""
    return json.loads(json.dumps(extra)) if extra else {}


def _object(data: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(
            f"{name} must be a JSON object, got {type(data).__name__}"
        )
    return data


def _unknown(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known}


def _decode(cls: Any, data: Any, name: str, children: tuple[str, ...] = ()) -> Any:
    """A record of ``cls`` from a JSON object, with serde's checks (types, required keys,
    integer ranges) and no others; keys the model does not know are kept in ``extra``.

    An object with only known keys converts in one compiled call; otherwise the known keys are
    converted and the rest kept. ``children`` (a session's lists of records) are left to the
    caller. Raises ValidationError naming the field."""
    data = _object(data, name)
    if not children and type(data) is dict:
        try:
            return msgspec.convert(data, cls)
        except (msgspec.ValidationError, UnicodeEncodeError):
            pass  # a key the model does not know, or an error the slower path names
    known = {k: v for k, v in data.items() if k in cls.JSON_KEYS and k not in children}
    try:
        record = msgspec.convert(known, cls)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from exc
    except UnicodeEncodeError as exc:
        # msgspec fails this way on text holding a lone surrogate (which no JSON file can
        # carry), even where the field wants another type.
        raise ValidationError(
            f"{name}: a field holds text that is not valid Unicode ({exc.reason})"
        ) from exc
    record.extra = _unknown(data, cls.JSON_KEYS)
    return record


def _records(cls: Any, items: Any, name: str) -> list[Any]:
    if type(items) is AbsentList:
        return items
    if not isinstance(items, list):  # null is not a list
        raise ValidationError(f"{name} must be a list, got {type(items).__name__}")
    return [_decode(cls, item, f"{name}[{n}]") for n, item in enumerate(items)]


class ChatMessageFields(_Record):
    """The editor's struct: what its files hold of a message."""

    id: str
    role: str
    content: str
    timestamp: str
    instance_id: U32 | None = None


class ChatMessage(ChatMessageFields):
    extra: _NotDecodedDict = _extra_field()

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "id",
        "role",
        "content",
        "timestamp",
        "instanceId",
    )

    def validate(self, *, unknown: list[str] | None = None) -> "ChatMessage":
        """Raise ValidationError when a field breaks the contract; return self. With a list
        as ``unknown``, a role the contract does not list is recorded there instead."""
        _text(self.id, "message.id", nonempty=True)
        _choice(self.role, "message.role", MESSAGE_ROLES, unknown)
        _text(self.content, "message.content", nonempty=True)
        _timestamp(self.timestamp, "message.timestamp")
        _uint(self.instance_id, "message.instanceId")
        _extra(self.extra, "message", self.JSON_KEYS)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ChatMessage":
        """The message in the editor's JSON shape, validated; unknown keys go to ``extra``."""
        return cls.decode(data).validate()

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> "ChatMessage":
        """The message in the editor's JSON shape with only serde's checks (as
        ``WorktreeSession.decode``); unknown keys go to ``extra``."""
        message: ChatMessage = _decode(cls, data, "message")
        return message

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "role": self.role,
            "content": self.content,
            "timestamp": self.timestamp,
            "instanceId": self.instance_id,
        }
        out.update(self.extra)
        return out

    def detached(self) -> "ChatMessage":
        """A copy sharing nothing mutable; assumes ``validate`` passed."""
        return ChatMessage(
            self.id, self.role, self.content, self.timestamp, self.instance_id,
            _plain_copy(self.extra),
        )  # fmt: skip


class WorktreeInstanceFields(_Record):
    """The editor's struct: what its files hold of an instance."""

    instance_id: U32
    worktree_path: str
    branch: str
    agent_name: str
    status: str
    tmux_session_id: str
    output: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    files_changed: U32 | None = None
    lines_added: U32 | None = None
    lines_deleted: U32 | None = None
    runtime: str | None = None
    model: str | None = None
    runtime_label: str | None = None


class WorktreeInstance(WorktreeInstanceFields):
    extra: _NotDecodedDict = _extra_field()

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "instanceId", "worktreePath", "branch", "agentName", "status", "tmuxSessionId",
        "output", "startTime", "endTime", "filesChanged", "linesAdded", "linesDeleted",
        "runtime", "model", "runtimeLabel",
    )  # fmt: skip

    def validate(self, *, unknown: list[str] | None = None) -> "WorktreeInstance":
        """Raise ValidationError when a field breaks the contract; return self. With a list
        as ``unknown``, a status the contract does not list is recorded there instead."""
        _uint(self.instance_id, "instance.instanceId", required=True)
        for name in ("worktree_path", "branch", "agent_name", "tmux_session_id"):
            _text(getattr(self, name), f"instance.{name}")
        _choice(self.status, "instance.status", INSTANCE_STATUSES, unknown)
        for name in ("output", "runtime", "model", "runtime_label"):
            _text(getattr(self, name), f"instance.{name}", required=False)
        # The editor writes start/end times itself; keep whatever string it wrote.
        for name in ("start_time", "end_time"):
            _text(getattr(self, name), f"instance.{name}", required=False)
        for name in ("files_changed", "lines_added", "lines_deleted"):
            _uint(getattr(self, name), f"instance.{name}")
        _extra(self.extra, "instance", self.JSON_KEYS)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "WorktreeInstance":
        """The instance in the editor's JSON shape, validated; unknown keys go to ``extra``."""
        instance: WorktreeInstance = _decode(cls, data, "instance")
        return instance.validate()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instanceId": self.instance_id,
            "worktreePath": self.worktree_path,
            "branch": self.branch,
            "agentName": self.agent_name,
            "status": self.status,
            "tmuxSessionId": self.tmux_session_id,
            "output": self.output,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "filesChanged": self.files_changed,
            "linesAdded": self.lines_added,
            "linesDeleted": self.lines_deleted,
            "runtime": self.runtime,
            "model": self.model,
            "runtimeLabel": self.runtime_label,
        }
        out.update(self.extra)
        return out

    def detached(self) -> "WorktreeInstance":
        """A copy sharing nothing mutable; assumes ``validate`` passed."""
        return WorktreeInstance(
            self.instance_id, self.worktree_path, self.branch, self.agent_name, self.status,
            self.tmux_session_id, self.output, self.start_time, self.end_time,
            self.files_changed, self.lines_added, self.lines_deleted, self.runtime, self.model,
            self.runtime_label, _plain_copy(self.extra),
        )  # fmt: skip


class WorktreeSessionFields(_Record):
    """The editor's struct's own fields of a session (without its lists of children), which
    the session, the editor's file record and the summary all start with."""

    id: str
    type: str
    task: str
    status: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    model: str | None = None
    timeout_seconds: U32 | None = None
    preserve_worktrees: bool | None = None
    winner_id: U32 | None = None
    runtime_mix: list[str] | None = None
    total_duration: U64 | None = None
    total_files_changed: U32 | None = None
    total_lines_added: U32 | None = None
    total_lines_deleted: U32 | None = None


class WorktreeSession(WorktreeSessionFields):
    instances: list[WorktreeInstance] = _list_field()
    chat_history: list[ChatMessage] = _list_field()
    workspace_hash: _NotDecodedStr | None = msgspec.field(
        default=None, name=_WORKSPACE_HASH
    )
    extra: _NotDecodedDict = _extra_field()

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "id", "type", "task", "status", "createdAt", "updatedAt", "completedAt", "instances",
        "chatHistory", "model", "timeoutSeconds", "preserveWorktrees", "winnerId", "runtimeMix",
        "totalDuration", "totalFilesChanged", "totalLinesAdded", "totalLinesDeleted",
    )  # fmt: skip

    @classmethod
    def new(
        cls, id: str, workspace_hash: str, session_type: str, task: str
    ) -> "WorktreeSession":
        """A running session created now (``created_at == updated_at``, RFC 3339 UTC)."""
        now = now_rfc3339()
        return cls(
            id=id, type=session_type, task=task, status="running",
            created_at=now, updated_at=now, workspace_hash=workspace_hash,
        )  # fmt: skip

    def validate(self, *, unknown: list[str] | None = None) -> "WorktreeSession":
        """Raise ValidationError when a field breaks the contract; return self.

        Checks the children too, and that instance ids are unique within the session. With a
        list as ``unknown``, a type, status or role the contract does not list (in the session
        or its children) is recorded there, as ``"session.status 'cancelled'"``, and kept:
        import stores what the editor's files hold.
        """
        _text(self.id, "session.id", nonempty=True)
        _choice(self.type, "session.type", SESSION_TYPES, unknown)
        _text(self.task, "session.task", nonempty=True)
        _choice(self.status, "session.status", SESSION_STATUSES, unknown)
        _timestamp(self.created_at, "session.createdAt")
        _timestamp(self.updated_at, "session.updatedAt")
        _text(self.completed_at, "session.completedAt", required=False)
        _text(self.model, "session.model", required=False)
        _uint(self.timeout_seconds, "session.timeoutSeconds")
        _bool(self.preserve_worktrees, "session.preserveWorktrees")
        _uint(self.winner_id, "session.winnerId")
        _string_list(self.runtime_mix, "session.runtimeMix")
        _uint(self.total_duration, "session.totalDuration", I64_MAX)
        for name in ("total_files_changed", "total_lines_added", "total_lines_deleted"):
            _uint(getattr(self, name), f"session.{name}")
        _text(self.workspace_hash, "session.workspace_hash", required=False)
        if not isinstance(self.instances, list) or not isinstance(
            self.chat_history, list
        ):
            raise ValidationError(
                "session.instances and session.chatHistory must be lists"
            )
        seen: set[int] = set()
        for instance in self.instances:
            if not isinstance(instance, WorktreeInstance):
                raise ValidationError(
                    "session.instances must hold WorktreeInstance objects"
                )
            instance.validate(unknown=unknown)
            if instance.instance_id in seen:
                raise ValidationError(
                    f"instanceId {instance.instance_id} appears twice"
                )
            seen.add(instance.instance_id)
        for message in self.chat_history:
            if not isinstance(message, ChatMessage):
                raise ValidationError(
                    "session.chatHistory must hold ChatMessage objects"
                )
            message.validate(unknown=unknown)
        _extra(self.extra, "session", self.JSON_KEYS)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "WorktreeSession":
        """The session in the editor's JSON shape, validated; unknown keys go to ``extra``."""
        return cls.decode(data).validate()

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> "WorktreeSession":
        """The session in the editor's JSON shape with only serde's checks (JSON types,
        required keys, integer ranges), as the editor reads its files; unknown keys go to
        ``extra``. ``from_json`` adds the contract's checks (``validate``)."""
        if type(data) is dict:
            try:
                return msgspec.convert(data, cls)
            except (msgspec.ValidationError, UnicodeEncodeError):
                pass  # a key the model does not know, or an error the slower path names
        session: WorktreeSession = _decode(
            cls, data, "session", ("instances", "chatHistory")
        )
        instances = data.get("instances", AbsentList())
        messages = data.get("chatHistory", AbsentList())
        session.instances = _records(WorktreeInstance, instances, "session.instances")
        session.chat_history = _records(ChatMessage, messages, "session.chatHistory")
        return session

    def to_json(self) -> dict[str, Any]:
        """The editor's JSON object; instances in ``instance_id`` order, no workspace_hash."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "task": self.task,
            "status": self.status,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "completedAt": self.completed_at,
            "instances": [
                i.to_json() for i in sorted(self.instances, key=lambda i: i.instance_id)
            ],
            "chatHistory": [m.to_json() for m in self.chat_history],
            "model": self.model,
            "timeoutSeconds": self.timeout_seconds,
            "preserveWorktrees": self.preserve_worktrees,
            "winnerId": self.winner_id,
            "runtimeMix": self.runtime_mix,
            "totalDuration": self.total_duration,
            "totalFilesChanged": self.total_files_changed,
            "totalLinesAdded": self.total_lines_added,
            "totalLinesDeleted": self.total_lines_deleted,
        }
        out.update(self.extra)
        return out

    def stored_copy(self, workspace_hash: str) -> "WorktreeSession":
        """What a read returns after this session is stored in ``workspace_hash``: a copy
        sharing nothing mutable, instances in ``instance_id`` order. Assumes ``validate``
        passed, so it skips the second validation a JSON round trip would run."""
        return WorktreeSession(
            self.id, self.type, self.task, self.status, self.created_at, self.updated_at,
            self.completed_at, self.model, self.timeout_seconds, self.preserve_worktrees,
            self.winner_id, None if self.runtime_mix is None else list(self.runtime_mix),
            self.total_duration, self.total_files_changed, self.total_lines_added,
            self.total_lines_deleted,
            [i.detached() for i in sorted(self.instances, key=lambda i: i.instance_id)],
            [m.detached() for m in self.chat_history],
            workspace_hash, _plain_copy(self.extra),
        )  # fmt: skip
