"""The write scenarios: each one object, with its case on a repository and on both floors.

Every write keeps the store at its stated size: a created session is deleted after the call,
a deleted one created again, an added message removed (all untimed); updates and status
changes alternate between two versions, so every timed call really changes something. The
streams leave their grown output behind (``leaves_text_behind``: run after the other writes).
"""

from __future__ import annotations

from typing import Any, Callable

from ait42_session import ChatMessage, WorktreeSession
from ait42_session.sqlite_rows import message_params

from ..floors import Prepared, SqlFloor
from ..json_floor import JsonFloor, message_record, session_record
from .base import Case, Context, Scenario, expect
from .data import (
    STREAM_HUGE_CHARS,
    STREAM_LARGE_CHARS,
    largest_versions,
    streaming_versions,
)

__all__ = ["WRITES"]


def _nothing(got: Any) -> None:
    expect(got is None, "expected None")


def _floor_answer(got: Any) -> None:
    """Writes on a floor answer nothing worth checking; the restores check the store."""


def _returns(session_id: str) -> Callable[[Any], None]:
    return lambda got: expect(got.id == session_id, "wrong session returned")


def _alternate(calls: list[Callable[[], Any]]) -> Callable[[], Any]:
    """A call that runs ``calls[1]``, then ``calls[0]``, then ``calls[1]``... in turn."""
    turn = [0]

    def call() -> Any:
        turn[0] ^= 1
        return calls[turn[0]]()

    return call


# --- create -----------------------------------------------------------------------------------


def _create_on_repository(repo: Any, ctx: Context) -> Case:
    new = WorktreeSession.from_json(ctx.data["create"])
    return Case(
        lambda: repo.create_session(ctx.workspace, new),
        _returns(new.id),
        after=lambda: repo.delete_session(ctx.workspace, new.id),
    )


def _create_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    new = Prepared(WorktreeSession.from_json(ctx.data["create"]), floor.ws)
    return Case(
        lambda: floor.create(new), _floor_answer, after=lambda: floor.delete(new.id)
    )


def _create_on_json_floor(floor: JsonFloor, ctx: Context) -> Case:
    new = session_record(ctx.data["create"])
    return Case(
        lambda: floor.append(new), _floor_answer, after=lambda: floor.remove(new.id)
    )


CREATE_SESSION = Scenario(
    "create_session", "write", "create_session(ws, new session)",
    _create_on_repository, _create_on_sql_floor, _create_on_json_floor,
    trace_ops=("create_session",),
    seed_row="Insert session", target_ratio=12, target_ms=5.0,
)  # fmt: skip


# --- update -----------------------------------------------------------------------------------


_LARGE_STREAMS = {"large": STREAM_LARGE_CHARS, "huge": STREAM_HUGE_CHARS}


def _version_data(ctx: Context, key: str) -> list[dict[str, Any]]:
    """The two versions an update alternates between, as JSON: ``update``, the stored original
    and the one the editor writes when the session finishes; ``stream``, an output of 200 KB
    and the same grown by 1 KB (``large``: 2 MB, ``huge``: 20 MB); ``largest``, as
    ``update`` for the store's largest session.
    """
    if key == "largest":
        versions = largest_versions(ctx.workload, ctx.facts["largest"]["index"])
    elif key in _LARGE_STREAMS:
        versions = streaming_versions(
            ctx.data["stream"]["a"], ctx.workload, _LARGE_STREAMS[key]
        )
    else:
        versions = ctx.data[key]
    return [versions["a"], versions["b"]]


def _versions(ctx: Context, key: str = "update") -> list[WorktreeSession]:
    return [WorktreeSession.from_json(v) for v in _version_data(ctx, key)]


def _update_on_repository(repo: Any, ctx: Context, key: str = "update") -> Case:
    versions = _versions(ctx, key)
    repo.update_session(ctx.workspace, versions[0])  # start from the stored original
    update = _alternate(
        [lambda v=v: repo.update_session(ctx.workspace, v) for v in versions]
    )
    return Case(update, _returns(versions[0].id))


def _update_on_sql_floor(floor: SqlFloor, ctx: Context, key: str = "update") -> Case:
    versions = [Prepared(v, floor.ws) for v in _versions(ctx, key)]
    floor.replace(
        versions[0]
    )  # start from the stored original, as the repository case does
    return Case(
        _alternate([lambda v=v: floor.replace(v) for v in versions]), _floor_answer
    )


def _update_on_json_floor(floor: JsonFloor, ctx: Context, key: str = "update") -> Case:
    versions = [session_record(v) for v in _version_data(ctx, key)]
    floor.replace(versions[0])
    return Case(
        _alternate([lambda v=v: floor.replace(v) for v in versions]), _floor_answer
    )


UPDATE_SESSION = Scenario(
    "update_session", "write", "update_session(ws, changed session)",
    _update_on_repository, _update_on_sql_floor, _update_on_json_floor,
    # the debate runner's update-or-insert of a stored session is the same whole-session write
    trace_ops=("update_session", "upsert_session"),
    seed_row="Update session", target_ratio=15, target_ms=4.0, opens_with_write=True,
)  # fmt: skip


def _stream(name: str, key: str, size: str, **options: Any) -> Scenario:
    """The editor's save of a running session whose ``size`` output grew by 1 KB."""
    return Scenario(
        name, "write", f"update_session(ws, session whose {size} output grew by 1 KB)",
        lambda repo, ctx: _update_on_repository(repo, ctx, key),
        lambda floor, ctx: _update_on_sql_floor(floor, ctx, key),
        lambda floor, ctx: _update_on_json_floor(floor, ctx, key),
        opens_with_write=True, **options,
    )  # fmt: skip


STREAM_OUTPUT = _stream("stream_output", "stream", "200 KB")
STREAM_LARGE = _stream("stream_large", "large", "2 MB", leaves_text_behind=True)
STREAM_HUGE = _stream("stream_huge", "huge", "20 MB", leaves_text_behind=True)


# --- append to an output ----------------------------------------------------------------------


def _append_target(ctx: Context) -> tuple[dict[str, Any], int, str]:
    """The streaming session with its 200 KB output (as stored before each call), the
    instance, and the 1 KB its agent printed since."""
    versions = ctx.data["stream"]
    before, grown = versions["a"], versions["b"]
    instance = before["instances"][0]
    step = grown["instances"][0]["output"][len(instance["output"]) :]
    return before, instance["instanceId"], step


def _append_on_repository(repo: Any, ctx: Context) -> Case:
    data, instance_id, step = _append_target(ctx)
    before = WorktreeSession.from_json(data)
    repo.update_session(ctx.workspace, before)
    return Case(
        lambda: repo.append_instance_output(ctx.workspace, before.id, instance_id, step),
        _nothing,
        after=lambda: repo.update_session(ctx.workspace, before),
    )


def _append_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    data, instance_id, step = _append_target(ctx)
    before = Prepared(WorktreeSession.from_json(data), floor.ws)
    floor.replace(before)
    return Case(
        lambda: floor.append_output(before.id, instance_id, step),
        _floor_answer,
        after=lambda: floor.replace(before),
    )


def _append_on_json_floor(floor: JsonFloor, ctx: Context) -> Case:
    data, instance_id, step = _append_target(ctx)
    before = session_record(data)
    floor.replace(before)
    return Case(
        lambda: floor.append_output(before.id, instance_id, step),
        _floor_answer,
        after=lambda: floor.replace(before),
    )


APPEND_OUTPUT = Scenario(
    "append_output", "write", "append_instance_output(ws, id, instance, 1 KB onto 200 KB)",
    _append_on_repository, _append_on_sql_floor, _append_on_json_floor,
    trace_ops=("append_instance_output",), opens_with_write=True,
)  # fmt: skip


UPDATE_LARGEST = Scenario(
    "update_largest", "write", "update_session(ws, the store's largest session, changed)",
    lambda repo, ctx: _update_on_repository(repo, ctx, "largest"),
    lambda floor, ctx: _update_on_sql_floor(floor, ctx, "largest"),
    lambda floor, ctx: _update_on_json_floor(floor, ctx, "largest"),
    opens_with_write=True, write_p99_ms=25.0,
)  # fmt: skip


# --- delete -----------------------------------------------------------------------------------


def _delete_on_repository(repo: Any, ctx: Context) -> Case:
    old = WorktreeSession.from_json(ctx.data["delete"])
    return Case(
        lambda: repo.delete_session(ctx.workspace, old.id),
        _nothing,
        after=lambda: repo.create_session(ctx.workspace, old),
    )


def _delete_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    old = Prepared(WorktreeSession.from_json(ctx.data["delete"]), floor.ws)
    return Case(
        lambda: floor.delete(old.id), _floor_answer, after=lambda: floor.create(old)
    )


def _delete_on_json_floor(floor: JsonFloor, ctx: Context) -> Case:
    old = session_record(ctx.data["delete"])
    return Case(
        lambda: floor.remove(old.id), _floor_answer, after=lambda: floor.append(old)
    )


DELETE_SESSION = Scenario(
    "delete_session", "write", "delete_session(ws, id)",
    _delete_on_repository, _delete_on_sql_floor, _delete_on_json_floor,
    trace_ops=("delete_session",),
    seed_row="Delete session (appendix; no absolute target given)", target_ratio=29,
)  # fmt: skip


# --- add a chat message -----------------------------------------------------------------------


def _message_on_repository(repo: Any, ctx: Context) -> Case:
    original = WorktreeSession.from_json(ctx.data["message"]["session"])
    message = ChatMessage.from_json(ctx.data["message"]["message"])
    return Case(
        lambda: repo.add_chat_message(ctx.workspace, original.id, message),
        _nothing,
        after=lambda: repo.update_session(ctx.workspace, original),
    )


def _message_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    session = ctx.data["message"]["session"]
    message = message_params(
        0, 0, ChatMessage.from_json(ctx.data["message"]["message"])
    )
    count = len(session["chatHistory"])
    return Case(
        lambda: floor.add_message(session["id"], message),
        _floor_answer,
        after=lambda: floor.cut_messages(session["id"], count),
    )


def _message_on_json_floor(floor: JsonFloor, ctx: Context) -> Case:
    original = session_record(ctx.data["message"]["session"])
    message = message_record(ctx.data["message"]["message"])
    return Case(
        lambda: floor.add_message(original.id, message),
        _floor_answer,
        after=lambda: floor.replace(original),
    )


ADD_CHAT_MESSAGE = Scenario(
    "add_chat_message", "write", "add_chat_message(ws, id, message)",
    _message_on_repository, _message_on_sql_floor, _message_on_json_floor,
    trace_ops=("add_chat_message",),
)  # fmt: skip


# --- change an instance's status --------------------------------------------------------------


def _status_calls(
    ctx: Context, set_status: Callable[[str, int, str], Any]
) -> Callable[[], Any]:
    """Alternates instance 0 of the target session between two statuses, starting from (and
    first setting) the stored one."""
    session_id, statuses = (
        ctx.data["status"]["session"]["id"],
        ctx.data["status"]["statuses"],
    )
    toggle = _alternate([lambda s=s: set_status(session_id, 0, s) for s in statuses])
    toggle()  # the stored status, so the timed calls alternate from where the store is
    return toggle


def _status_on_repository(repo: Any, ctx: Context) -> Case:
    def set_status(session_id: str, instance_id: int, status: str) -> None:
        return repo.update_instance_status(
            ctx.workspace, session_id, instance_id, status
        )

    return Case(_status_calls(ctx, set_status), _nothing)


def _status_on_sql_floor(floor: SqlFloor, ctx: Context) -> Case:
    return Case(_status_calls(ctx, floor.set_status), _floor_answer)


def _status_on_json_floor(floor: JsonFloor, ctx: Context) -> Case:
    return Case(_status_calls(ctx, floor.set_status), _floor_answer)


UPDATE_INSTANCE_STATUS = Scenario(
    "update_instance_status", "write", "update_instance_status(ws, id, 0, status)",
    _status_on_repository, _status_on_sql_floor, _status_on_json_floor,
    trace_ops=("update_instance_status",), opens_with_write=True,
)  # fmt: skip

WRITES = (
    CREATE_SESSION,
    UPDATE_SESSION,
    STREAM_OUTPUT,
    APPEND_OUTPUT,
    UPDATE_LARGEST,
    DELETE_SESSION,
    ADD_CHAT_MESSAGE,
    UPDATE_INSTANCE_STATUS,
    STREAM_LARGE,
    STREAM_HUGE,
)
