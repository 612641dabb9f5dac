"""The SessionRepository protocol that both stores implement."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .models import ChatMessage, WorktreeSession
from .queries import SearchHit, SessionFilters, SessionSort, SessionSummary


@runtime_checkable
class SessionRepository(Protocol):
    """Workspace-scoped session storage. ``workspace_path`` scopes every call."""

    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession: ...

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession: ...

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]: ...

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]: ...

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession: ...

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession: ...

    def delete_session(self, workspace_path: str, session_id: str) -> None: ...

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None: ...

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None: ...

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None: ...

    def query_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[WorktreeSession]: ...

    def list_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]: ...

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int: ...

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]: ...

    # The caller has been idle a while (the sidecar, between requests): work a store can do
    # then rather than during the next write (SQLite: a WAL checkpoint); others do nothing.
    def idle(self) -> None: ...

    def close(self) -> None: ...
