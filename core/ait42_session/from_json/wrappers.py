"""The repositories that run the phases of the move from JSON files to a database store.

1. ``DualWriteRepository(json_store, sqlite_store)``: every write goes to both, reads come from
   the primary. ``verify_consistency`` lists every difference between the two.
2. ``FallbackRepository(sqlite_store, json_store, backup_writes=True)``: SQLite is read first;
   a storage failure (damaged or unreadable file, disk error) falls back to the JSON store,
   which keeps receiving writes so that the way back stays open.
3. The bare database store (record ``"sqlite_only"`` with ``record_migration_phase``).

The database store is a ``SqliteSessionRepository`` or a ``PostgresSessionRepository``;
wrapping one records the phase in its ``migration_metadata`` (``phases``); ``verify_consistency`` lists differences with ``diff``.

A write is copied to the second store as the *whole session the first store now holds* (read
back after ``add_chat_message``, ``update_instance_status`` and ``append_instance_output``,
which stamp ``updated_at`` themselves), so both stores hold the same session, timestamps included. A copy that fails is
logged (logger ``ait42_session``) and kept in ``copy_failures``; it never fails the write the
first store accepted. Running ``import_json`` later brings the SQLite store up to date again.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Callable
from typing import TypeVar

from ..errors import AlreadyExistsError, NotFoundError, SessionError, ValidationError
from ..models import ChatMessage, WorktreeSession
from ..queries import SearchHit, SessionFilters, SessionSort, SessionSummary
from ..repository import SessionRepository
from .diff import Difference, diff_sessions
from .targets import target_of

__all__ = ["DualWriteRepository", "FallbackRepository", "MAX_KEPT_FAILURES"]

log = logging.getLogger("ait42_session")
T = TypeVar("T")

MAX_KEPT_FAILURES = 100
_PASS_THROUGH = (
    NotFoundError,
    ValidationError,
    AlreadyExistsError,
)  # answers, not failures


def _record_quietly(phase: str, repo: object) -> None:
    """Record the phase when ``repo`` is a database store; a damaged store must not stop the
    wrapper."""
    try:
        target = target_of(repo)
    except ValidationError:  # the JSON store keeps no phase
        return
    try:
        target.set_phase(phase)
    except SessionError as exc:
        log.warning("could not record migration phase %r: %s", phase, exc)


# --- copying a write to the other store -----------------------------------------------------


def _put(
    target: SessionRepository, workspace_path: str, session: WorktreeSession
) -> None:
    """Make ``target`` hold ``session`` whole: update it, or create it when missing."""
    try:
        target.update_session(workspace_path, session)
    except NotFoundError:
        target.create_session(workspace_path, session)


def _drop(target: SessionRepository, workspace_path: str, session_id: str) -> None:
    with contextlib.suppress(NotFoundError):
        target.delete_session(workspace_path, session_id)


class _Copier:
    """Copies writes to a second store; failures are logged and kept, never raised."""

    def __init__(self, target: SessionRepository) -> None:
        self.target = target
        self.failures: collections.deque[str] = collections.deque(
            maxlen=MAX_KEPT_FAILURES
        )

    def run(self, what: str, copy: Callable[[], None]) -> None:
        try:
            copy()
        except SessionError as exc:
            message = f"{what}: {type(exc).__name__}: {exc}"
            self.failures.append(message)
            log.warning("copy to %s failed: %s", type(self.target).__name__, message)

    def session(self, workspace_path: str, session: WorktreeSession) -> None:
        self.run(
            f"copy session {session.id!r}",
            lambda: _put(self.target, workspace_path, session),
        )

    def session_from(
        self, source: SessionRepository, workspace_path: str, session_id: str
    ) -> None:
        def copy() -> None:
            _put(
                self.target,
                workspace_path,
                source.get_session(workspace_path, session_id),
            )

        self.run(f"copy session {session_id!r}", copy)

    def delete(self, workspace_path: str, session_id: str) -> None:
        self.run(
            f"delete session {session_id!r}",
            lambda: _drop(self.target, workspace_path, session_id),
        )


# --- the wrappers ---------------------------------------------------------------------------


class DualWriteRepository:
    """Phase 1: writes go to ``primary`` and then ``secondary``; reads come from ``primary``.

    A write the primary refuses (NotFoundError, ValidationError, AlreadyExistsError, or a
    storage error) raises and is not copied. The copy to the secondary makes it hold the
    primary's session whole; a failed copy is logged and kept in ``copy_failures``.
    """

    def __init__(
        self, primary: SessionRepository, secondary: SessionRepository
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self._copy = _Copier(secondary)
        _record_quietly("dual_write", primary)
        _record_quietly("dual_write", secondary)

    @property
    def copy_failures(self) -> list[str]:
        """The last failed copies to the secondary (at most MAX_KEPT_FAILURES), oldest first."""
        return list(self._copy.failures)

    def verify_consistency(self, workspace_path: str) -> list[Difference]:
        """Every difference between the two stores' sessions of the workspace, by session id."""
        a = {s.id: s.to_json() for s in self.primary.get_all_sessions(workspace_path)}
        b = {s.id: s.to_json() for s in self.secondary.get_all_sessions(workspace_path)}
        out: list[Difference] = []
        for sid in sorted(set(a) | set(b)):
            if sid not in b:
                out.append(Difference(sid, "missing_in_secondary", "", a[sid], None))
            elif sid not in a:
                out.append(Difference(sid, "missing_in_primary", "", None, b[sid]))
            else:
                out += diff_sessions(sid, a[sid], b[sid])
        return out

    # writes
    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        stored = self.primary.create_session(workspace_path, session)
        self._copy.session(workspace_path, stored)
        return stored

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        stored = self.primary.update_session(workspace_path, session)
        self._copy.session(workspace_path, stored)
        return stored

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        stored = self.primary.upsert_session(workspace_path, session)
        self._copy.session(workspace_path, stored)
        return stored

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        self.primary.delete_session(workspace_path, session_id)
        self._copy.delete(workspace_path, session_id)

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None:
        self.primary.add_chat_message(workspace_path, session_id, message)
        self._copy.session_from(self.primary, workspace_path, session_id)

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        self.primary.update_instance_status(
            workspace_path, session_id, instance_id, new_status
        )
        self._copy.session_from(self.primary, workspace_path, session_id)

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        self.primary.append_instance_output(workspace_path, session_id, instance_id, text)
        self._copy.session_from(self.primary, workspace_path, session_id)

    # reads
    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        return self.primary.get_session(workspace_path, session_id)

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]:
        return self.primary.get_session_copies(workspace_path, session_id)

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        return self.primary.get_all_sessions(workspace_path)

    def query_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                       sort: SessionSort | None = None, limit: int | None = None,
                       offset: int = 0) -> list[WorktreeSession]:  # fmt: skip
        return self.primary.query_sessions(workspace_path, filters, sort, limit, offset)

    def list_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                      sort: SessionSort | None = None, limit: int | None = None,
                      offset: int = 0) -> list[SessionSummary]:  # fmt: skip
        return self.primary.list_sessions(workspace_path, filters, sort, limit, offset)

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        return self.primary.count_sessions(workspace_path, filters)

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]:
        return self.primary.search(workspace_path, text, limit, prefix=prefix)

    def idle(self) -> None:
        self.primary.idle()
        self.secondary.idle()

    def close(self) -> None:
        """Close both stores (the secondary even when closing the primary fails)."""
        try:
            self.primary.close()
        finally:
            self.secondary.close()

    def __enter__(self) -> DualWriteRepository:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class FallbackRepository:
    """Phase 2: reads ``primary``; on a storage failure reads ``fallback`` instead.

    A storage failure is any SessionError except NotFoundError, ValidationError and
    AlreadyExistsError, which are answers and pass through. Writes go to the primary. With
    ``backup_writes=True`` each accepted write is also copied to the fallback (which so stays
    a complete way back), and a write the primary fails to store is made on the fallback
    alone instead of failing (re-run ``import_json`` once the primary is repaired).
    ``fallback_count`` counts the calls the fallback answered; ``last_primary_error`` is the
    latest failure.
    """

    def __init__(self, primary: SessionRepository, fallback: SessionRepository, *,
                 backup_writes: bool = False) -> None:  # fmt: skip
        self.primary = primary
        self.fallback = fallback
        self.backup_writes = backup_writes
        self.fallback_count = 0
        self.last_primary_error: SessionError | None = None
        self._copy = _Copier(fallback)
        _record_quietly("sqlite_primary", primary)

    @property
    def copy_failures(self) -> list[str]:
        """The last failed copies to the fallback (at most MAX_KEPT_FAILURES), oldest first."""
        return list(self._copy.failures)

    def _failed(self, what: str, exc: SessionError) -> None:
        self.fallback_count += 1
        self.last_primary_error = exc
        log.warning("primary store failed (%s): %s; using the fallback", what, exc)

    def _read(self, what: str, call: Callable[[SessionRepository], T]) -> T:
        try:
            return call(self.primary)
        except _PASS_THROUGH:
            raise
        except SessionError as exc:
            self._failed(what, exc)
        return call(self.fallback)

    def _write(self, what: str, call: Callable[[SessionRepository], T],
               copy: Callable[[T], None]) -> T:  # fmt: skip
        try:
            result = call(self.primary)
        except _PASS_THROUGH:
            raise
        except SessionError as exc:
            if not self.backup_writes:
                raise
            self._failed(what, exc)
            return call(self.fallback)
        if self.backup_writes:
            copy(result)
        return result

    # writes
    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        return self._write(
            "create_session",
            lambda r: r.create_session(workspace_path, session),
            lambda stored: self._copy.session(workspace_path, stored),
        )

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        return self._write(
            "update_session",
            lambda r: r.update_session(workspace_path, session),
            lambda stored: self._copy.session(workspace_path, stored),
        )

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        return self._write(
            "upsert_session",
            lambda r: r.upsert_session(workspace_path, session),
            lambda stored: self._copy.session(workspace_path, stored),
        )

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        self._write(
            "delete_session",
            lambda r: r.delete_session(workspace_path, session_id),
            lambda _: self._copy.delete(workspace_path, session_id),
        )

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None:
        self._write(
            "add_chat_message",
            lambda r: r.add_chat_message(workspace_path, session_id, message),
            lambda _: self._copy.session_from(self.primary, workspace_path, session_id),
        )

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        self._write(
            "update_instance_status",
            lambda r: r.update_instance_status(
                workspace_path, session_id, instance_id, new_status
            ),
            lambda _: self._copy.session_from(self.primary, workspace_path, session_id),
        )

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        self._write(
            "append_instance_output",
            lambda r: r.append_instance_output(
                workspace_path, session_id, instance_id, text
            ),
            lambda _: self._copy.session_from(self.primary, workspace_path, session_id),
        )

    # reads
    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        return self._read(
            "get_session", lambda r: r.get_session(workspace_path, session_id)
        )

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]:
        return self._read(
            "get_session_copies",
            lambda r: r.get_session_copies(workspace_path, session_id),
        )

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        return self._read(
            "get_all_sessions", lambda r: r.get_all_sessions(workspace_path)
        )

    def query_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                       sort: SessionSort | None = None, limit: int | None = None,
                       offset: int = 0) -> list[WorktreeSession]:  # fmt: skip
        return self._read(
            "query_sessions",
            lambda r: r.query_sessions(workspace_path, filters, sort, limit, offset),
        )

    def list_sessions(self, workspace_path: str, filters: SessionFilters | None = None,
                      sort: SessionSort | None = None, limit: int | None = None,
                      offset: int = 0) -> list[SessionSummary]:  # fmt: skip
        return self._read(
            "list_sessions",
            lambda r: r.list_sessions(workspace_path, filters, sort, limit, offset),
        )

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        return self._read(
            "count_sessions", lambda r: r.count_sessions(workspace_path, filters)
        )

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]:
        return self._read(
            "search", lambda r: r.search(workspace_path, text, limit, prefix=prefix)
        )

    def idle(self) -> None:
        self.primary.idle()
        self.fallback.idle()

    def close(self) -> None:
        """Close both stores (the fallback even when closing the primary fails)."""
        try:
            self.primary.close()
        finally:
            self.fallback.close()

    def __enter__(self) -> FallbackRepository:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
