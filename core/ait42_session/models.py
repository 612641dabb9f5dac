"""The editor's session, instance and chat-message records, and their JSON form.

``to_json`` writes keys in the order of the editor's Rust structs, ``None`` as ``null`` (serde's
default), then any keys the model does not know (kept in ``extra``) in the order they were read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from .errors import ValidationError
from .timestamps import now_rfc3339, to_instant_ns

__all__ = [
    "SESSION_TYPES",
    "SESSION_STATUSES",
    "INSTANCE_STATUSES",
    "MESSAGE_ROLES",
    "ChatMessage",
    "WorktreeInstance",
    "WorktreeSession",
]

SESSION_TYPES = ("competition", "ensemble", "debate")
SESSION_STATUSES = ("running", "completed", "failed", "paused")
INSTANCE_STATUSES = ("idle", "running", "completed", "failed", "paused", "archived")
MESSAGE_ROLES = ("user", "assistant", "system")

U32_MAX = 2**32 - 1
# The editor types total_duration as u64; SQLite integers are signed 64-bit.
I64_MAX = 2**63 - 1
# Deepest nesting of an extra value. The editor's serde_json reads no JSON deeper than 128
# levels, and a value near Python's recursion limit could be stored yet fail to load again.
MAX_EXTRA_DEPTH = 100


# --- field checks: each returns the value or raises ValidationError -------------------------


def _text(value: Any, name: str, *, required: bool = True, nonempty: bool = False) -> Any:
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
        raise ValidationError(f"{name} is not valid Unicode text (lone surrogate)") from exc
    return value


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed or not isinstance(value, str):
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}; got {value!r:.80}")
    return value


def _uint(value: Any, name: str, maximum: int = U32_MAX, *, required: bool = False) -> Any:
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
    raise ValidationError(f"{name} must be true, false or null, got {type(value).__name__}")


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
        raise ValidationError(f"{name} must be a list of strings, got {type(value).__name__}")
    return [_text(item, f"{name}[{i}]") for i, item in enumerate(value)]


def _extra(value: Any, name: str, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{name}.extra must be a dict, got {type(value).__name__}")
    clash = [key for key in value if key in known]
    if clash:
        raise ValidationError(f"{name}.extra repeats known keys: {', '.join(clash)}")
    if _nesting(value) > MAX_EXTRA_DEPTH:
        raise ValidationError(f"{name}.extra nests deeper than {MAX_EXTRA_DEPTH} levels")
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
        raise ValidationError(f"{name} must be a JSON object, got {type(data).__name__}")
    return data


def _unknown(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known}


@dataclass(slots=True)
class ChatMessage:
    id: str
    role: str
    content: str
    timestamp: str
    instance_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    JSON_KEYS: ClassVar[tuple[str, ...]] = ("id", "role", "content", "timestamp", "instanceId")

    def validate(self) -> "ChatMessage":
        """Raise ValidationError when a field breaks the contract; return self."""
        _text(self.id, "message.id", nonempty=True)
        _choice(self.role, "message.role", MESSAGE_ROLES)
        _text(self.content, "message.content", nonempty=True)
        _timestamp(self.timestamp, "message.timestamp")
        _uint(self.instance_id, "message.instanceId")
        _extra(self.extra, "message", self.JSON_KEYS)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ChatMessage":
        data = _object(data, "message")
        return cls(
            id=data.get("id"),  # type: ignore[arg-type]
            role=data.get("role"),  # type: ignore[arg-type]
            content=data.get("content"),  # type: ignore[arg-type]
            timestamp=data.get("timestamp"),  # type: ignore[arg-type]
            instance_id=data.get("instanceId"),
            extra=_unknown(data, cls.JSON_KEYS),
        ).validate()

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


@dataclass(slots=True)
class WorktreeInstance:
    instance_id: int
    worktree_path: str
    branch: str
    agent_name: str
    status: str
    tmux_session_id: str
    output: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    files_changed: int | None = None
    lines_added: int | None = None
    lines_deleted: int | None = None
    runtime: str | None = None
    model: str | None = None
    runtime_label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "instanceId", "worktreePath", "branch", "agentName", "status", "tmuxSessionId",
        "output", "startTime", "endTime", "filesChanged", "linesAdded", "linesDeleted",
        "runtime", "model", "runtimeLabel",
    )  # fmt: skip

    def validate(self) -> "WorktreeInstance":
        """Raise ValidationError when a field breaks the contract; return self."""
        _uint(self.instance_id, "instance.instanceId", required=True)
        for name in ("worktree_path", "branch", "agent_name", "tmux_session_id"):
            _text(getattr(self, name), f"instance.{name}")
        _choice(self.status, "instance.status", INSTANCE_STATUSES)
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
        data = _object(data, "instance")
        return cls(
            instance_id=data.get("instanceId"),  # type: ignore[arg-type]
            worktree_path=data.get("worktreePath"),  # type: ignore[arg-type]
            branch=data.get("branch"),  # type: ignore[arg-type]
            agent_name=data.get("agentName"),  # type: ignore[arg-type]
            status=data.get("status"),  # type: ignore[arg-type]
            tmux_session_id=data.get("tmuxSessionId"),  # type: ignore[arg-type]
            output=data.get("output"),
            start_time=data.get("startTime"),
            end_time=data.get("endTime"),
            files_changed=data.get("filesChanged"),
            lines_added=data.get("linesAdded"),
            lines_deleted=data.get("linesDeleted"),
            runtime=data.get("runtime"),
            model=data.get("model"),
            runtime_label=data.get("runtimeLabel"),
            extra=_unknown(data, cls.JSON_KEYS),
        ).validate()

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


@dataclass(slots=True)
class WorktreeSession:
    id: str
    type: str
    task: str
    status: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    model: str | None = None
    timeout_seconds: int | None = None
    preserve_worktrees: bool | None = None
    winner_id: int | None = None
    runtime_mix: list[str] | None = None
    total_duration: int | None = None
    total_files_changed: int | None = None
    total_lines_added: int | None = None
    total_lines_deleted: int | None = None
    instances: list[WorktreeInstance] = field(default_factory=list)
    chat_history: list[ChatMessage] = field(default_factory=list)
    workspace_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "id", "type", "task", "status", "createdAt", "updatedAt", "completedAt", "model",
        "timeoutSeconds", "preserveWorktrees", "winnerId", "runtimeMix", "totalDuration",
        "totalFilesChanged", "totalLinesAdded", "totalLinesDeleted", "instances", "chatHistory",
    )  # fmt: skip

    @classmethod
    def new(cls, id: str, workspace_hash: str, session_type: str, task: str) -> "WorktreeSession":
        """A running session created now (``created_at == updated_at``, RFC 3339 UTC)."""
        now = now_rfc3339()
        return cls(
            id=id, type=session_type, task=task, status="running",
            created_at=now, updated_at=now, workspace_hash=workspace_hash,
        )  # fmt: skip

    def validate(self) -> "WorktreeSession":
        """Raise ValidationError when a field breaks the contract; return self.

        Checks the children too, and that instance ids are unique within the session.
        """
        _text(self.id, "session.id", nonempty=True)
        _choice(self.type, "session.type", SESSION_TYPES)
        _text(self.task, "session.task", nonempty=True)
        _choice(self.status, "session.status", SESSION_STATUSES)
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
        if not isinstance(self.instances, list) or not isinstance(self.chat_history, list):
            raise ValidationError("session.instances and session.chatHistory must be lists")
        seen: set[int] = set()
        for instance in self.instances:
            if not isinstance(instance, WorktreeInstance):
                raise ValidationError("session.instances must hold WorktreeInstance objects")
            instance.validate()
            if instance.instance_id in seen:
                raise ValidationError(f"instanceId {instance.instance_id} appears twice")
            seen.add(instance.instance_id)
        for message in self.chat_history:
            if not isinstance(message, ChatMessage):
                raise ValidationError("session.chatHistory must hold ChatMessage objects")
            message.validate()
        _extra(self.extra, "session", self.JSON_KEYS)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "WorktreeSession":
        data = _object(data, "session")
        instances = data.get("instances")
        messages = data.get("chatHistory")
        if instances is not None and not isinstance(instances, list):
            raise ValidationError("session.instances must be a list")
        if messages is not None and not isinstance(messages, list):
            raise ValidationError("session.chatHistory must be a list")
        return cls(
            id=data.get("id"),  # type: ignore[arg-type]
            type=data.get("type"),  # type: ignore[arg-type]
            task=data.get("task"),  # type: ignore[arg-type]
            status=data.get("status"),  # type: ignore[arg-type]
            created_at=data.get("createdAt"),  # type: ignore[arg-type]
            updated_at=data.get("updatedAt"),  # type: ignore[arg-type]
            completed_at=data.get("completedAt"),
            model=data.get("model"),
            timeout_seconds=data.get("timeoutSeconds"),
            preserve_worktrees=data.get("preserveWorktrees"),
            winner_id=data.get("winnerId"),
            runtime_mix=data.get("runtimeMix"),
            total_duration=data.get("totalDuration"),
            total_files_changed=data.get("totalFilesChanged"),
            total_lines_added=data.get("totalLinesAdded"),
            total_lines_deleted=data.get("totalLinesDeleted"),
            instances=[WorktreeInstance.from_json(item) for item in instances or []],
            chat_history=[ChatMessage.from_json(item) for item in messages or []],
            extra=_unknown(data, cls.JSON_KEYS),
        ).validate()

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
            "model": self.model,
            "timeoutSeconds": self.timeout_seconds,
            "preserveWorktrees": self.preserve_worktrees,
            "winnerId": self.winner_id,
            "runtimeMix": self.runtime_mix,
            "totalDuration": self.total_duration,
            "totalFilesChanged": self.total_files_changed,
            "totalLinesAdded": self.total_lines_added,
            "totalLinesDeleted": self.total_lines_deleted,
            "instances": [
                i.to_json() for i in sorted(self.instances, key=lambda i: i.instance_id)
            ],
            "chatHistory": [m.to_json() for m in self.chat_history],
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
