"""The editor's original store: one pretty-printed JSON array of sessions per workspace.

It is the baseline the benchmarks measure, so it does the editor's work at the editor's speed
class, no less and no more: every call reads and decodes the whole
``<sessions_dir>/<workspace_hash>.json`` with serde's checks only (``editor_files``); every
write decodes it into the editor's structs, changes one session, encodes the whole array as
serde_json's pretty printer does and writes it in place: no temporary file, no lock, no fsync.
A crash mid-write can leave a truncated file, which the next read reports as
``StoreCorruptedError``. The contract's deeper checks (allowed values, timestamps) run on what
callers pass in, as the SQLite store runs them, not on every re-read of the file.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any, Callable

from . import editor_files, fulltext, paths
from .checks import (
    require_instance_id,
    require_instance_status,
    require_message,
    require_output_text,
    require_search,
    require_session,
    require_session_id,
)
from .errors import (
    AlreadyExistsError,
    NotFoundError,
    StoreCorruptedError,
    ValidationError,
)
from .models import ChatMessage, WorktreeInstance, WorktreeSession
from .pieces import pieces
from .queries import SearchHit, SessionFilters, SessionSort, SessionSummary
from .queries import check_page, check_query, filter_sort_page
from .timestamps import now_rfc3339
from .workspace import compute_workspace_hash, require_workspace_path

__all__ = ["JsonSessionRepository"]


class JsonSessionRepository:
    """``SessionRepository`` over the editor's per-workspace JSON files."""

    def __init__(self, sessions_dir: str | os.PathLike[str]) -> None:
        self.sessions_dir = Path(sessions_dir)

    @classmethod
    def new_default(cls) -> "JsonSessionRepository":
        """The store at ``$AIT42_HOME/sessions``."""
        return cls(paths.default_sessions_dir())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.sessions_dir)!r})"

    # --- sessions --------------------------------------------------------------------------

    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        """Store a new session; AlreadyExistsError when the workspace has its id."""
        workspace = require_workspace_path(workspace_path)
        require_session(session)
        file, ws_hash, records = self._records(workspace)
        if any(editor_files.record_id(r) == session.id for r in records):
            raise AlreadyExistsError(
                f"session {session.id!r} already exists in {workspace!r}"
            )
        records.append(editor_files.record_of(session))
        self._save(file, records)
        return session.stored_copy(ws_hash)

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        """The stored session; NotFoundError when the workspace has no such id."""
        workspace = require_workspace_path(workspace_path)
        require_session_id(session_id)
        _, sessions = self._load(workspace)
        for session in sessions:
            if session.id == session_id:
                return session
        raise _not_found(session_id, workspace)

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]:
        """Every copy of a repeated id in the file, in file order (the first is the one the
        commands act on); NotFoundError when the workspace has no such id."""
        workspace = require_workspace_path(workspace_path)
        require_session_id(session_id)
        _, sessions = self._load(workspace)
        copies = [session for session in sessions if session.id == session_id]
        if not copies:
            raise _not_found(session_id, workspace)
        return copies

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        """Every session of the workspace, ``updated_at`` descending; ``[]`` for a blank path."""
        if isinstance(workspace_path, str) and not workspace_path.strip():
            return []
        return self.query_sessions(workspace_path)

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        """Replace the stored session whole, ``updated_at`` included, in its place in the file."""
        workspace = require_workspace_path(workspace_path)
        require_session(session)
        file, ws_hash, records = self._records(workspace)
        records[_index(records, session.id, workspace)] = editor_files.record_of(
            session
        )
        self._save(file, records)
        return session.stored_copy(ws_hash)

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        """Replace the session with its id (the first copy) in its place, or append it when
        the workspace has none: the debate runner's update-or-insert."""
        workspace = require_workspace_path(workspace_path)
        require_session(session)
        file, ws_hash, records = self._records(workspace)
        record = editor_files.record_of(session)
        try:
            records[_index(records, session.id, workspace)] = record
        except NotFoundError:
            records.append(record)
        self._save(file, records)
        return session.stored_copy(ws_hash)

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        """Remove the session; NotFoundError when the workspace has no such id."""
        workspace = require_workspace_path(workspace_path)
        require_session_id(session_id)
        file, _, records = self._records(workspace)
        _index(records, session_id, workspace)
        # The editor's `retain`: a hand-edited file with a repeated id loses every copy.
        self._save(
            file, [r for r in records if editor_files.record_id(r) != session_id]
        )

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None:
        """Append the message to the chat history and set ``updated_at`` to now."""
        require_message(message)
        self._touch(
            workspace_path, session_id, lambda s: s.chat_history.append(message)
        )

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        """Set one instance's status and the session's ``updated_at`` to now."""
        require_instance_id(instance_id)
        require_instance_status(new_status)

        def change(session: WorktreeSession) -> None:
            _instance(session, instance_id).status = new_status

        self._touch(workspace_path, session_id, change)

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        """Add ``text`` at the end of one instance's output (an output never set becomes
        ``text``) and set the session's ``updated_at`` to now: the editor's whole-file
        rewrite, so it costs the file, not the text."""
        require_instance_id(instance_id)
        require_output_text(text)

        def change(session: WorktreeSession) -> None:
            instance = _instance(session, instance_id)
            instance.output = (instance.output or "") + text

        self._touch(workspace_path, session_id, change)

    # --- queries ---------------------------------------------------------------------------

    def query_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[WorktreeSession]:
        """The matching sessions, whole, in the asked order, one page."""
        workspace = require_workspace_path(workspace_path)
        query = check_query(filters, sort)
        limit, offset = check_page(limit, offset)
        file, sessions = self._load(workspace)
        try:
            return filter_sort_page(sessions, query, limit, offset)
        except ValidationError as exc:  # a timestamp in the file that names no instant
            raise StoreCorruptedError(f"{file}: {exc}") from exc

    def list_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        """Summaries of the page ``query_sessions`` returns (the file is read whole anyway)."""
        page = self.query_sessions(workspace_path, filters, sort, limit, offset)
        return [SessionSummary.of(s) for s in page]

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        """How many sessions match the filters."""
        return len(self.query_sessions(workspace_path, filters))

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]:
        """Every task, message and output holding all terms of ``text``, best first; with
        ``prefix``, the last word also matches the words it begins.

        A linear scan: rank is minus the number of term occurrences (lower is better), in an
        output those of its best piece (``pieces``); ties keep the session order of
        ``get_all_sessions``, then task, messages, outputs.
        """
        workspace = require_workspace_path(workspace_path)
        text, limit = require_search(text, limit)
        terms = fulltext.query_terms(text)
        if not terms or limit == 0:
            return []
        hits: list[SearchHit] = []
        for session in self.get_all_sessions(workspace):
            for kind, doc, ids in _documents(session):
                # an output is ranked by its best piece, as the database indexes it
                in_pieces = partial(_indexed_ranges, doc) if kind == "output" else None
                hit = fulltext.match(doc, terms, bool(prefix), in_pieces)
                if hit is not None:
                    occurrences, snippet = hit
                    hits.append(
                        SearchHit(session.id, kind, snippet, -float(occurrences), **ids)
                    )
        hits.sort(key=lambda h: h.rank)
        return hits[:limit]

    # --- lifecycle -------------------------------------------------------------------------

    def idle(self) -> None:
        """Nothing to do while the caller is idle: every write is done when it returns."""

    def close(self) -> None:
        """Nothing to release: every call opens and closes its file."""

    def __enter__(self) -> "JsonSessionRepository":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the file --------------------------------------------------------------------------

    def _touch(
        self,
        workspace_path: str,
        session_id: str,
        change: Callable[[WorktreeSession], None],
    ) -> None:
        """Load, change one session, set its ``updated_at`` to now, write the file back."""
        workspace = require_workspace_path(workspace_path)
        require_session_id(session_id)
        file, _, records = self._records(workspace)
        index = _index(records, session_id, workspace)
        session = editor_files.session_of(records[index])
        change(session)
        session.updated_at = now_rfc3339()
        records[index] = editor_files.record_of(session)
        self._save(file, records)

    def _file(self, workspace: str) -> tuple[Path, str]:
        ws_hash = compute_workspace_hash(workspace)
        return editor_files.session_file(self.sessions_dir, ws_hash), ws_hash

    def _load(self, workspace: str) -> tuple[Path, list[WorktreeSession]]:
        """The workspace's file and its sessions as models (each with ``workspace_hash``)."""
        file, ws_hash = self._file(workspace)
        raw = editor_files.read(file)
        if raw is None:
            return file, []
        return file, editor_files.decode_sessions(raw, file, ws_hash)

    def _records(self, workspace: str) -> tuple[Path, str, list[editor_files.Record]]:
        """The workspace's file, hash and sessions as the editor's structs, for a rewrite."""
        file, ws_hash = self._file(workspace)
        raw = editor_files.read(file)
        records = [] if raw is None else editor_files.decode_records(raw, file)
        return file, ws_hash, records

    @staticmethod
    def _save(file: Path, records: list[editor_files.Record]) -> None:
        """Rewrite the file whole, as the editor does."""
        editor_files.write_in_place(file, editor_files.encode(records))


# --- helpers --------------------------------------------------------------------------------


def _not_found(session_id: str, workspace: str) -> NotFoundError:
    return NotFoundError(f"session {session_id!r} not found in {workspace!r}")


def _instance(session: WorktreeSession, instance_id: int) -> WorktreeInstance:
    for instance in session.instances:
        if instance.instance_id == instance_id:
            return instance
    raise NotFoundError(f"instance {instance_id} not found in session {session.id!r}")


def _index(records: list[editor_files.Record], session_id: str, workspace: str) -> int:
    """Position of the first session with that id (the editor's ``find``); else NotFoundError."""
    for index, record in enumerate(records):
        if editor_files.record_id(record) == session_id:
            return index
    raise _not_found(session_id, workspace)


# --- full-text scan -------------------------------------------------------------------------


def _indexed_ranges(output: str) -> list[tuple[int, int]]:
    """The ranges of ``output`` its pieces are indexed as (their leads, then the piece)."""
    return [(p.lead, p.end) for p in pieces(output)]


def _documents(session: WorktreeSession) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, text, SearchHit ids) of each searchable text: task, messages, outputs."""
    docs: list[tuple[str, str, dict[str, Any]]] = [("task", session.task, {})]
    docs += [("message", m.content, {"message_id": m.id}) for m in session.chat_history]
    docs += [
        ("output", i.output, {"instance_id": i.instance_id})
        for i in session.instances
        if i.output is not None
    ]
    return docs
