"""JSON-RPC 2.0 over the repository: the editor board's commands, one request at a time.

``Dispatcher.handle(line)`` takes one line of input (a request, a notification or a batch) and
returns the line to write back, or None when nothing is owed (notifications only). Methods are
the board's seven commands with its own parameter objects and results (``board``), plus
queries, search and day-to-day operations; ``METHODS`` lists them, ``ERROR_CODES`` the error
codes. ``sidecar`` runs a dispatcher over stdin and stdout.

Errors are JSON-RPC error objects: -32700 parse error, -32600 invalid request, -32601 unknown
method, -32602 invalid params (a ``ValidationError`` too), -32603 an internal error, and one
code per ``SessionError`` subclass (``ERROR_CODES``); ``error.data.class`` names the class.

Every answer carries its request's id whenever the line has a readable one. A line that
JavaScript's ``JSON.stringify`` wrote with a lone surrogate escape (the board cuts a task to 47
UTF-16 units for an agent name, and may cut an emoji in half) is valid JSON that msgspec
refuses; it is read again with Python's ``json``, and the text that UTF-8 cannot hold is
refused with -32602 naming the field, as the editor's serde refuses it.

``Dispatcher(repo, omit_nulls=True)`` (``serve --omit-nulls``) leaves the unset optional fields
of sessions, instances, messages and summaries out of its answers instead of writing ``null``:
the board tests ``!== undefined`` (``WinnerSelectionPanel.tsx``: ``isWinnerConfirmed =
session.winnerId !== undefined``), so with ``null`` every stored competition looks decided.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from . import board
from .errors import (
    AlreadyExistsError,
    DatabaseError,
    MigrationError,
    NotFoundError,
    SessionError,
    StoreCorruptedError,
    ValidationError,
)
from .models import ChatMessage, WorktreeInstance, WorktreeSession
from .queries import SessionSummary

__all__ = ["Dispatcher", "METHODS", "ERROR_CODES", "PARSE_ERROR", "INVALID_REQUEST"]

log = logging.getLogger("ait42_session.sidecar")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# One code per error class of the package; a subclass not listed takes its base's code.
ERROR_CODES: dict[type[SessionError], int] = {
    ValidationError: INVALID_PARAMS,
    NotFoundError: -32001,
    AlreadyExistsError: -32002,
    StoreCorruptedError: -32003,
    DatabaseError: -32004,
    MigrationError: -32005,
    SessionError: -32000,
}

_encode = msgspec.json.Encoder().encode


# --- the board's parameter objects --------------------------------------------------------------


class _Params(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Every method's parameters are one object with the board's camelCase names."""


class WorkspaceParams(_Params):
    workspace_path: str


class SessionParams(_Params):
    workspace_path: str
    session: dict[str, Any]


class SessionIdParams(_Params):
    workspace_path: str
    session_id: str


class MessageParams(_Params):
    workspace_path: str
    session_id: str
    message: dict[str, Any]


class InstanceStatusParams(_Params):
    workspace_path: str
    session_id: str
    instance_id: int
    new_status: str


class AppendOutputParams(_Params):
    workspace_path: str
    session_id: str
    instance_id: int
    text: str


class QueryParams(_Params):
    workspace_path: str
    filters: board.BoardFilters | None = None
    sort: board.BoardSort | None = None
    limit: int | None = None
    offset: int = 0
    time_zone: str | None = None  # for dates without an offset in the filters


class CountParams(_Params):
    workspace_path: str
    filters: board.BoardFilters | None = None
    time_zone: str | None = None


class SearchParams(_Params):
    workspace_path: str
    query: str
    limit: int = 50
    prefix: bool = False  # the last word matches as a prefix too (search as you type)


class PruneParams(_Params):
    workspace_path: str
    older_than: str | None = None  # an instant: RFC 3339, or a date/time as in filters
    statuses: list[str] | None = None
    dry_run: bool = False
    time_zone: str | None = None


class NoParams(_Params):
    pass


# --- the methods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    params: type[_Params]
    call: Callable[
        [Any, Any], Any
    ]  # (repository, params) -> a result msgspec can encode


def _stored(repo: Any, workspace: str, session_id: str) -> Any:
    return board.session_out(repo.get_session(workspace, session_id))


def _add_chat_message(repo: Any, p: MessageParams) -> Any:
    message = ChatMessage.decode(p.message)
    repo.add_chat_message(p.workspace_path, p.session_id, message)
    return _stored(repo, p.workspace_path, p.session_id)


def _update_instance_status(repo: Any, p: InstanceStatusParams) -> Any:
    repo.update_instance_status(
        p.workspace_path, p.session_id, p.instance_id, p.new_status
    )
    return _stored(repo, p.workspace_path, p.session_id)


def _append_instance_output(repo: Any, p: AppendOutputParams) -> None:
    # Answers null, not the session: a streamed output is appended many times a second, and
    # sending the whole output back each time is what the verb exists to avoid.
    repo.append_instance_output(p.workspace_path, p.session_id, p.instance_id, p.text)


def _delete_session(repo: Any, p: SessionIdParams) -> None:
    # The editor deletes an id it does not have without complaint (``retain``); a board with
    # two windows relies on that, so the sidecar does too (the Python API raises).
    try:
        repo.delete_session(p.workspace_path, p.session_id)
    except NotFoundError:
        pass


def _query(repo: Any, p: QueryParams, summaries: bool) -> Any:
    filters = board.filters_of(p.filters, p.time_zone)
    sort = board.sort_of(p.sort)
    if summaries:
        return repo.list_sessions(p.workspace_path, filters, sort, p.limit, p.offset)
    found = repo.query_sessions(p.workspace_path, filters, sort, p.limit, p.offset)
    return [board.session_out(s) for s in found]


def _prune(repo: Any, p: PruneParams) -> Any:
    zone = board.time_zone(p.time_zone)
    before = (
        None
        if p.older_than is None
        else board.date_bound(p.older_than, end=False, zone=zone, name="olderThan")
    )
    return repo.prune(
        p.workspace_path, older_than=before, statuses=p.statuses, dry_run=p.dry_run
    )


METHODS: dict[str, Method] = {
    # the board's seven commands (src/services/tauri.ts)
    "create_session": Method(
        SessionParams,
        lambda r, p: board.session_out(
            r.create_session(p.workspace_path, board.session_in(p.session))
        ),
    ),
    "update_session": Method(
        SessionParams,
        lambda r, p: board.session_out(
            r.update_session(p.workspace_path, board.session_in(p.session))
        ),
    ),
    "upsert_session": Method(
        SessionParams,
        lambda r, p: board.session_out(
            r.upsert_session(p.workspace_path, board.session_in(p.session))
        ),
    ),
    "get_session": Method(
        SessionIdParams, lambda r, p: _stored(r, p.workspace_path, p.session_id)
    ),
    "get_all_sessions": Method(
        WorkspaceParams,
        lambda r, p: [
            board.session_out(s) for s in r.get_all_sessions(p.workspace_path)
        ],
    ),
    "delete_session": Method(SessionIdParams, _delete_session),
    "add_chat_message": Method(MessageParams, _add_chat_message),
    "update_instance_status": Method(InstanceStatusParams, _update_instance_status),
    "append_instance_output": Method(AppendOutputParams, _append_instance_output),
    # queries and search, with the board's filter and sort objects
    "list_sessions": Method(QueryParams, lambda r, p: _query(r, p, summaries=True)),
    "query_sessions": Method(QueryParams, lambda r, p: _query(r, p, summaries=False)),
    "count_sessions": Method(
        CountParams,
        lambda r, p: r.count_sessions(
            p.workspace_path, board.filters_of(p.filters, p.time_zone)
        ),
    ),
    "search": Method(
        SearchParams,
        lambda r, p: r.search(p.workspace_path, p.query, p.limit, prefix=p.prefix),
    ),
    # day-to-day operations
    "list_workspaces": Method(NoParams, lambda r, p: r.list_workspaces()),
    "data_version": Method(NoParams, lambda r, p: r.data_version()),
    "prune": Method(PruneParams, _prune),
}


# Offered by a sidecar (``Dispatcher(subscriptions=...)``): called on its subscriptions.
SUBSCRIPTION_METHODS: dict[str, Method] = {
    "subscribe": Method(WorkspaceParams, lambda s, p: s.subscribe(p.workspace_path)),
    "unsubscribe": Method(WorkspaceParams, lambda s, p: s.unsubscribe(p.workspace_path)),
}


# --- requests and responses -----------------------------------------------------------------------


def _error(
    request_id: Any, code: int, message: str, data: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def error_of(exc: SessionError) -> int:
    """The JSON-RPC code of a package error: its class's, or its nearest base's."""
    return next(ERROR_CODES[cls] for cls in type(exc).__mro__ if cls in ERROR_CODES)


def _lone_surrogate(value: Any, where: str) -> str | None:
    """The path of the first text in ``value`` (keys too) that UTF-8 cannot hold, or None."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if _lone_surrogate(key, "") is not None:
                    return f"{path} (a key)"
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{n}]") for n, child in enumerate(item))
    return None


def encode_line(message: Any) -> bytes:
    """A JSON-RPC message as the line the sidecar writes (without its newline)."""
    return _encode_answer(message)


def _encode_answer(answer: Any) -> bytes:
    """The answer's line. An id that holds a lone surrogate (read by ``_read_again``) is
    echoed as the escape it came as, which UTF-8 output cannot hold as text."""
    try:
        return _encode(answer)
    except UnicodeEncodeError:
        return json.dumps(msgspec.to_builtins(answer), ensure_ascii=True).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_again(line: bytes) -> Any:
    """The line as Python's ``json`` reads it (lone surrogate escapes kept), for an id to
    answer with; msgspec.DecodeError when that fails too."""
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise msgspec.DecodeError(str(exc)) from exc


# Known keys of each record, whose null an answer may leave out (``omit_nulls``); keys only the
# board writes (``extra``) are answered as they were stored.
_SESSION_KEYS = frozenset(WorktreeSession.JSON_KEYS)
_INSTANCE_KEYS = frozenset(WorktreeInstance.JSON_KEYS)
_MESSAGE_KEYS = frozenset(ChatMessage.JSON_KEYS)


def _without_nulls(result: Any) -> Any:
    """``result`` with the unset optional fields of its records left out."""
    if isinstance(result, list):
        return [_without_nulls(item) for item in result]
    if isinstance(result, SessionSummary):
        return {k: v for k, v in msgspec.to_builtins(result).items() if v is not None}
    if isinstance(result, msgspec.Struct) or isinstance(result, dict):
        data = msgspec.to_builtins(result)
        if isinstance(data, dict) and "chatHistory" in data and "instances" in data:
            return _session_without_nulls(data)
        return data
    return result


def _session_without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if v is not None or k not in _SESSION_KEYS}
    out["instances"] = [
        {k: v for k, v in i.items() if v is not None or k not in _INSTANCE_KEYS}
        for i in data["instances"]
    ]
    out["chatHistory"] = [
        {k: v for k, v in m.items() if v is not None or k not in _MESSAGE_KEYS}
        for m in data["chatHistory"]
    ]
    return out


class Dispatcher:
    """Answers JSON-RPC requests with a repository, in the order they come; with
    ``omit_nulls``, unset optional fields are left out of the answers (module docstring)."""

    def __init__(
        self, repo: Any, *, omit_nulls: bool = False, subscriptions: Any = None
    ) -> None:
        self.repo = repo
        self.omit_nulls = omit_nulls
        # ``notifications.Subscriptions`` of the sidecar; None: subscribe is not offered
        self.subscriptions = subscriptions

    def handle(self, line: bytes) -> bytes | None:
        """One input line in; the response line (without its newline) or None."""
        try:
            message = msgspec.json.decode(line)
        except (msgspec.DecodeError, RecursionError) as first:
            try:
                message = _read_again(line)
            except msgspec.DecodeError:
                return _encode(_error(None, PARSE_ERROR, f"parse error: {first}"))
        if isinstance(message, list):
            if not message:
                return _encode(_error(None, INVALID_REQUEST, "an empty batch"))
            answers = [a for a in (self.answer(m) for m in message) if a is not None]
            return _encode_answer(answers) if answers else None
        answer = self.answer(message)
        return None if answer is None else _encode_answer(answer)

    def answer(self, message: Any) -> dict[str, Any] | None:
        """The response to one request; None for a notification."""
        if not isinstance(message, dict):
            return _error(None, INVALID_REQUEST, "a request must be a JSON object")
        request_id = message.get("id")
        if not isinstance(request_id, (str, int, type(None))) or isinstance(
            request_id, bool
        ):
            return _error(
                None, INVALID_REQUEST, "id must be a string, a number or null"
            )
        if message.get("jsonrpc") != "2.0" or not isinstance(
            message.get("method"), str
        ):
            return _error(
                request_id,
                INVALID_REQUEST,
                'a request needs "jsonrpc": "2.0" and a method',
            )
        notification = "id" not in message
        result = self.call(message["method"], message.get("params", {}), request_id)
        if notification:
            return None
        return result

    def call(self, name: str, params: Any, request_id: Any) -> dict[str, Any]:
        method = METHODS.get(name)
        if name in SUBSCRIPTION_METHODS and self.subscriptions is not None:
            method = SUBSCRIPTION_METHODS[name]
        if method is None:
            return _error(request_id, METHOD_NOT_FOUND, f"unknown method {name!r:.80}")
        if not isinstance(params, dict):
            return _error(
                request_id, INVALID_PARAMS, "params must be an object of named values"
            )
        where = _lone_surrogate(params, "params")
        if where is not None:
            return _error(request_id, INVALID_PARAMS,
                          f"{where} is not valid Unicode text (a lone surrogate)",
                          {"class": "ValidationError"})  # fmt: skip
        try:
            args = msgspec.convert(params, method.params)
        except (msgspec.ValidationError, UnicodeEncodeError) as exc:
            return _error(request_id, INVALID_PARAMS, f"invalid params: {exc}",
                          {"class": "ValidationError"})  # fmt: skip
        try:
            target = self.subscriptions if name in SUBSCRIPTION_METHODS else self.repo
            result = method.call(target, args)
        except SessionError as exc:
            code = error_of(exc)
            return _error(request_id, code, str(exc), {"class": type(exc).__name__})
        except Exception as exc:  # answered, logged; the sidecar goes on
            log.exception("internal error in %s", name)
            return _error(
                request_id,
                INTERNAL_ERROR,
                f"internal error: {type(exc).__name__}: {exc}",
            )
        if self.omit_nulls:
            result = _without_nulls(result)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
