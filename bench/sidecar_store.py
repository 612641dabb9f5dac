"""The SQLite store behind its sidecar: the ``SessionRepository`` protocol over a real
``ait42-session serve`` process, as the editor reaches it.

Each call is one JSON-RPC request written to the sidecar's stdin and one response read from
its stdout, decoded straight into the models (msgspec, as the board would ``JSON.parse``), so
a scenario on backend ``sidecar`` against the same scenario on ``sqlite`` is what the process
boundary costs: the pipe both ways, JSON in and out, the dispatcher.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from ait42_session import errors
from ait42_session.models import WorktreeSession
from ait42_session.queries import SearchHit, SessionFilters, SessionSort, SessionSummary

__all__ = ["SidecarStore"]

_CAMEL_SORT = {"created_at": "createdAt", "updated_at": "updatedAt", "duration": "duration",
               "files_changed": "filesChanged"}  # fmt: skip


class _Error(msgspec.Struct):
    code: int
    message: str
    data: dict[str, Any] | None = None


T = TypeVar("T")


class _Response(msgspec.Struct, Generic[T]):
    id: int
    result: T | None = None
    error: _Error | None = None
    jsonrpc: str = "2.0"


def _response(result: Any) -> Any:
    return msgspec.json.Decoder(_Response[result])


_SESSION = _response(WorktreeSession)
_SESSIONS = _response(list[WorktreeSession])
_SUMMARIES = _response(list[SessionSummary])
_HITS = _response(list[SearchHit])
_ANY = _response(Any)
_ENCODE = msgspec.json.Encoder().encode


def _filters(filters: SessionFilters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    board = {"type": filters.types, "status": filters.statuses, "dateFrom": filters.date_from,
             "dateTo": filters.date_to, "searchQuery": filters.search_query}  # fmt: skip
    return {key: value for key, value in board.items() if value is not None}


def _sort(sort: SessionSort | None) -> dict[str, str] | None:
    return (
        None
        if sort is None
        else {"field": _CAMEL_SORT[sort.field], "direction": sort.direction}
    )


class SidecarStore:
    """A session repository that is a sidecar process on the database at ``db``."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ait42_session", "--db", str(db), "serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        self.next_id = 0

    def _call(self, decoder: Any, method: str, params: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        request = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": method,
            "params": params,
        }
        self.proc.stdin.write(_ENCODE(request) + b"\n")
        self.proc.stdin.flush()
        answer = decoder.decode(self.proc.stdout.readline())
        if answer.error is not None:
            name = (answer.error.data or {}).get("class", "SessionError")
            raise getattr(errors, name, errors.SessionError)(answer.error.message)
        return answer.result

    # --- the repository protocol ---------------------------------------------------------------

    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        params = {"workspacePath": workspace_path, "session": session.to_json()}
        return self._call(_SESSION, "create_session", params)

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        params = {"workspacePath": workspace_path, "session": session.to_json()}
        return self._call(_SESSION, "update_session", params)

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        params = {"workspacePath": workspace_path, "session": session.to_json()}
        return self._call(_SESSION, "upsert_session", params)

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        params = {"workspacePath": workspace_path, "sessionId": session_id}
        return self._call(_SESSION, "get_session", params)

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        return self._call(
            _SESSIONS, "get_all_sessions", {"workspacePath": workspace_path}
        )

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        params = {"workspacePath": workspace_path, "sessionId": session_id}
        self._call(_ANY, "delete_session", params)

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: Any
    ) -> None:
        params = {"workspacePath": workspace_path, "sessionId": session_id,
                  "message": message.to_json()}  # fmt: skip
        self._call(_SESSION, "add_chat_message", params)

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        params = {"workspacePath": workspace_path, "sessionId": session_id,
                  "instanceId": instance_id, "newStatus": new_status}  # fmt: skip
        self._call(_SESSION, "update_instance_status", params)

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        params = {"workspacePath": workspace_path, "sessionId": session_id,
                  "instanceId": instance_id, "text": text}  # fmt: skip
        self._call(_ANY, "append_instance_output", params)

    def _query(self, method: str, decoder: Any, workspace_path: str, filters: Any, sort: Any,
               limit: int | None, offset: int) -> Any:  # fmt: skip
        params = {"workspacePath": workspace_path, "filters": _filters(filters),
                  "sort": _sort(sort), "limit": limit, "offset": offset}  # fmt: skip
        return self._call(
            decoder, method, {k: v for k, v in params.items() if v is not None}
        )

    def query_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                       sort: SessionSort | None = None, limit: int | None = None,
                       offset: int = 0) -> list[WorktreeSession]:  # fmt: skip
        return self._query(
            "query_sessions", _SESSIONS, workspace_path, filters, sort, limit, offset
        )

    def list_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                      sort: SessionSort | None = None, limit: int | None = None,
                      offset: int = 0) -> list[SessionSummary]:  # fmt: skip
        return self._query(
            "list_sessions", _SUMMARIES, workspace_path, filters, sort, limit, offset
        )

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        params = {"workspacePath": workspace_path, "filters": _filters(filters)}
        return self._call(
            _ANY, "count_sessions", {k: v for k, v in params.items() if v is not None}
        )

    def search(self, workspace_path: str, text: str, limit: int = 50, *,
               prefix: bool = False) -> list[SearchHit]:  # fmt: skip
        params = {
            "workspacePath": workspace_path,
            "query": text,
            "limit": limit,
            "prefix": prefix,
        }
        return self._call(_HITS, "search", params)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
