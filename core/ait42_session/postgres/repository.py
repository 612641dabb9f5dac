"""PostgresSessionRepository: the session repository on a PostgreSQL server.

The same protocol, results, errors, order and tie-breaks as ``SqliteSessionRepository``: it
checks its arguments with ``checks``, writes and reads rows with ``rows`` (on top of
``sqlite_rows``: the columns are the same), and differs in what a server needs. Every write runs in one
transaction that first locks the session's row (``SELECT ... FOR UPDATE``), so concurrent
``add_chat_message`` calls get distinct positions and status changes never interleave, on one
machine or many; a write that loses a race or its connection is run again (``database``).

Search: each text's words (``fulltext.tokens``, the same split SQLite's FTS5 uses here) are
stored as a tsvector; a search finds candidates holding every word through GIN indexes, best
first by ``ts_rank``, then checks the exact phrases in Python (``fulltext.match``), which also
makes the snippet, as the JSON store makes it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from .. import sqlite_rows
from ..checks import (
    require_instance_id,
    require_instance_status,
    require_message,
    require_output_text,
    require_search,
    require_session,
    require_session_id,
)
from ..duplicates import DuplicateGroup, group_of
from ..errors import AlreadyExistsError, NotFoundError, ValidationError
from ..fulltext import match, query_terms
from ..models import I64_MAX, ChatMessage, WorktreeSession
from ..queries import (
    DateBound,
    PruneReport,
    SearchHit,
    SessionFilters,
    SessionSort,
    SessionSummary,
    WorkspaceInfo,
    check_page,
    check_query,
)
from ..timestamps import now_rfc3339
from ..workspace import (
    known_hash,
    require_workspace_path,
    spelled_hashes,
    workspace_identity,
)
from . import rows, sql
from .rows import indexable
from .database import PostgresDatabase

__all__ = ["PostgresSessionRepository"]

_SEARCHES = (("task", sql.SEARCH_TASKS), ("message", sql.SEARCH_MESSAGES),
             ("output", sql.SEARCH_OUTPUTS))  # fmt: skip


def _tsquery(terms: list[tuple[str, ...]], prefix: bool) -> str | None:
    """Every word of every term, ANDed (the phrases are checked afterwards); None when no word
    can be in the index (PostgreSQL indexes no word over 2 KiB)."""
    parts = [f"'{token}'" for term in terms for token in term if indexable(token)]
    if not parts:
        return None
    if prefix and indexable(terms[-1][-1]):
        parts[-1] += ":*"
    return " & ".join(parts)


def _like(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _workspace(workspace_path: object) -> tuple[str, str]:
    return workspace_identity(require_workspace_path(workspace_path))


def _groups(
    con: psycopg.Connection[Any], ws: str | None
) -> list[tuple[DuplicateGroup, list[int]]]:
    """Each repeated id's group, with the pks of its copies in file order."""
    found = []
    for group_ws, session_id in con.execute(sql.REPEATED_IDS, {"ws": ws}).fetchall():
        params = {"ws": group_ws, "id": session_id}
        copy_rows = con.execute(sql.SESSION_COPIES, params).fetchall()
        copies = rows.sessions_from_rows(con, copy_rows, group_ws)
        found.append((group_of(group_ws, session_id, copies), [r[0] for r in copy_rows]))
    return found


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id!r} not found in this workspace")


def _where(ws: str, query: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    where, params = sqlite_rows.field_filters(ws, query, sql)
    if query.needle_matches_nothing:
        where.append(sql.FILTER_NOTHING)
    elif query.needle is not None:
        where.append(sql.FILTER_TEXT)
        params["like"] = _like(query.needle)
    return tuple(where), params


class PostgresSessionRepository:
    """Sessions of every workspace in one PostgreSQL database; see ``SessionRepository``."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    @classmethod
    def connect(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 8
    ) -> "PostgresSessionRepository":
        """The store in the database at ``dsn`` (``postgresql://user@host/db`` or key=value);
        its schema is created or upgraded first."""
        return cls(PostgresDatabase(dsn, min_size=min_size, max_size=max_size))

    @property
    def database(self) -> PostgresDatabase:
        return self._db

    def idle(self) -> None:
        """Nothing to do while the caller is idle: the server checkpoints on its own."""

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "PostgresSessionRepository":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._db.name!r})"

    # --- one workspace, one place (as SqliteSessionRepository) -----------------------------------

    def _opened(self, workspace_path: object) -> tuple[str, str]:
        """(hash, recorded path) of a workspace whose sessions are listed or created, after
        sessions the debate runner filed under another spelling of its path joined it."""
        ws, real_path = _workspace(workspace_path)
        params = {"hashes": list(spelled_hashes(workspace_path)), "ws": ws}
        if self._db.read(lambda con: con.execute(sql.UNJOINED_SPELLINGS, params).fetchall()):

            def work(con: psycopg.Connection[Any]) -> None:
                found = con.execute(sql.UNJOINED_SPELLINGS_LOCKED, params).fetchall()
                self._ensure_workspace(con, ws, real_path)
                for (alias,) in found:
                    sqlite_rows.move_sessions(con, sql, alias, ws, keep_file=True)

            self._db.write(work)
        return ws, real_path

    def rebind(self, from_workspace: str, to_workspace: str) -> int:
        """As ``SqliteSessionRepository.rebind``."""
        from_ws = known_hash(from_workspace)
        ws, real_path = _workspace(to_workspace)
        if from_ws == ws:
            raise ValidationError("rebind needs two different workspaces")

        def work(con: psycopg.Connection[Any]) -> int:
            if not con.execute(sql.WORKSPACE_KNOWN, {"ws": from_ws}).fetchone()[0]:  # type: ignore[index]
                raise NotFoundError(f"no workspace {from_workspace!r} in this store")
            self._ensure_workspace(con, ws, real_path)
            return sqlite_rows.move_sessions(con, sql, from_ws, ws, keep_file=False)

        return self._db.write(work)

    # --- repeated ids (as SqliteSessionRepository) ------------------------------------------

    def duplicates(self, workspace_path: str | None = None) -> list[DuplicateGroup]:
        """As ``SqliteSessionRepository.duplicates``."""
        ws = None if workspace_path is None else self._opened(workspace_path)[0]
        return [group for group, _ in self._db.read(lambda con: _groups(con, ws))]

    def resolve_duplicates(
        self, workspace_path: str | None = None, *, dry_run: bool = False
    ) -> list[DuplicateGroup]:
        """As ``SqliteSessionRepository.resolve_duplicates``."""
        ws = None if workspace_path is None else self._opened(workspace_path)[0]

        def work(con: psycopg.Connection[Any]) -> list[DuplicateGroup]:
            resolved = []
            for group, pks in _groups(con, ws):
                if group.resolution is None:
                    continue
                resolved.append(group)
                if dry_run:
                    continue
                if group.resolution is not group.copies[0]:
                    rows.replace_session(con, pks[0], group.workspace_hash, group.resolution)
                with con.cursor() as cur:
                    cur.executemany(sql.DELETE_SESSION, [{"pk": pk} for pk in pks[1:]])
            return resolved

        return self._db.read(work) if dry_run else self._db.write(work)

    # --- writes --------------------------------------------------------------------------------

    def _ensure_workspace(
        self, con: psycopg.Connection[Any], ws: str, real_path: str
    ) -> None:
        con.execute(
            sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": now_rfc3339()}
        )

    @staticmethod
    def _locked(con: psycopg.Connection[Any], ws: str, session_id: str) -> int:
        row = con.execute(sql.LOCK_SESSION, {"ws": ws, "id": session_id}).fetchone()
        if row is None:
            raise _not_found(session_id)
        return row[0]

    def create_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        require_session(session)
        ws, real_path = self._opened(workspace_path)
        self._insert(ws, real_path, [session])
        return session.stored_copy(ws)

    def create_sessions(
        self, workspace_path: str, sessions: Iterable[WorktreeSession]
    ) -> int:
        """Store many new sessions in one transaction; how many (see the SQLite store's)."""
        batch = [require_session(session) for session in sessions]
        ws, real_path = self._opened(workspace_path)
        self._insert(ws, real_path, batch)
        return len(batch)

    def _insert(self, ws: str, real_path: str, batch: list[WorktreeSession]) -> None:
        seen: set[str] = set()
        for session in batch:
            if session.id in seen:
                raise AlreadyExistsError(
                    f"session {session.id!r} appears twice in the batch"
                )
            seen.add(session.id)

        def work(con: psycopg.Connection[Any]) -> None:
            self._ensure_workspace(con, ws, real_path)
            for session in batch:
                if con.execute(sql.SESSION_PK, {"ws": ws, "id": session.id}).fetchone():
                    raise AlreadyExistsError(
                        f"session {session.id!r} already exists in this workspace"
                    )
                rows.insert_session(con, ws, session)

        self._db.write(work)

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        require_session(session)

        def work(con: psycopg.Connection[Any]) -> None:
            pk = self._locked(con, ws, session.id)
            rows.replace_session(con, pk, ws, session)

        self._db.write(work)
        return session.stored_copy(ws)

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        """As ``SqliteSessionRepository.upsert_session``; two writers of one new id wait for
        each other (a transaction-scoped lock on the id), so one inserts and one updates."""
        require_session(session)
        ws, real_path = self._opened(workspace_path)

        def work(con: psycopg.Connection[Any]) -> None:
            con.execute(sql.LOCK_SESSION_ID, {"ws": ws, "id": session.id})
            row = con.execute(sql.LOCK_SESSION, {"ws": ws, "id": session.id}).fetchone()
            if row is not None:
                rows.replace_session(con, row[0], ws, session)
                return
            self._ensure_workspace(con, ws, real_path)
            rows.insert_session(con, ws, session)

        self._db.write(work)
        return session.stored_copy(ws)

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: psycopg.Connection[Any]) -> None:
            self._locked(con, ws, session_id)
            con.execute(sql.DELETE_SESSION_COPIES, {"ws": ws, "id": session_id})

        self._db.write(work)

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)
        require_message(message)
        now = now_rfc3339()

        def work(con: psycopg.Connection[Any]) -> None:
            pk = self._locked(con, ws, session_id)
            position = con.execute(
                sql.NEXT_MESSAGE_POSITION, {"session_pk": pk}
            ).fetchone()[0]
            params = sqlite_rows.message_params(pk, position, message)
            con.execute(
                sql.UPSERT_MESSAGE,
                {**params, "content_words": rows.words(message.content)},
            )
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._db.write(work)

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)
        require_instance_id(instance_id)
        require_instance_status(new_status)
        now = now_rfc3339()
        missing = NotFoundError(
            f"instance {instance_id} not found in session {session_id!r}"
        )

        def work(con: psycopg.Connection[Any]) -> None:
            pk = self._locked(con, ws, session_id)
            if not 0 <= instance_id <= I64_MAX:
                raise missing
            params = {
                "status": new_status,
                "session_pk": pk,
                "instance_id": instance_id,
            }
            if con.execute(sql.SET_INSTANCE_STATUS, params).rowcount == 0:
                raise missing
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._db.write(work)

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        """Add ``text`` at the end of one instance's output (an output never set becomes
        ``text``) and set the session's ``updated_at`` to now. The output's words are made
        again whole (a tsvector cannot be extended at a token cut in two)."""
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)
        require_instance_id(instance_id)
        require_output_text(text)
        now = now_rfc3339()

        def work(con: psycopg.Connection[Any]) -> None:
            pk = self._locked(con, ws, session_id)
            found = None
            if 0 <= instance_id <= I64_MAX:
                params = {"session_pk": pk, "instance_id": instance_id}
                found = con.execute(sql.INSTANCE_OUTPUT, params).fetchone()
            if found is None:
                raise NotFoundError(
                    f"instance {instance_id} not found in session {session_id!r}"
                )
            output = (found[1] or "") + text
            con.execute(sql.SET_OUTPUT, {
                "pk": found[0], "output": output, "output_words": rows.words(output),
            })  # fmt: skip
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._db.write(work)

    # --- reads ---------------------------------------------------------------------------------

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: psycopg.Connection[Any]) -> WorktreeSession:
            row = con.execute(sql.GET_SESSION, {"ws": ws, "id": session_id}).fetchone()
            if row is None:
                raise _not_found(session_id)
            return rows.sessions_from_rows(con, [row], ws)[0]

        return self._db.read(work)

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]:
        """Every stored copy of a repeated id, in file order (the first is the one the
        commands act on); NotFoundError when the workspace has no such id."""
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: psycopg.Connection[Any]) -> list[WorktreeSession]:
            found = con.execute(sql.SESSION_COPIES, {"ws": ws, "id": session_id}).fetchall()
            if not found:
                raise _not_found(session_id)
            return rows.sessions_from_rows(con, found, ws)

        return self._db.read(work)

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        if isinstance(workspace_path, str) and not workspace_path.strip():
            return []  # the editor relies on an empty list for a blank path
        return self.query_sessions(workspace_path)

    def _page(self, columns: str, workspace_path: object, filters: SessionFilters | None,
              sort: SessionSort | None, limit: int | None,
              offset: int) -> tuple[str, str, dict[str, Any]]:  # fmt: skip
        ws, _ = self._opened(workspace_path)
        query = check_query(filters, sort)
        check_page(limit, offset)
        where, params = _where(ws, query)
        paged = limit is not None or offset > 0
        if paged:
            params.update({"limit": None if limit is None else min(limit, I64_MAX),
                           "offset": min(offset, I64_MAX)})  # fmt: skip
        statement = sql.select_sessions(
            columns, where, query.sort_field, query.descending, paged
        )
        return ws, statement, params

    def query_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[WorktreeSession]:
        ws, statement, params = self._page(sql.SESSION_COLUMNS, workspace_path, filters, sort,
                                           limit, offset)  # fmt: skip
        return self._db.read(
            lambda con: rows.sessions_from_rows(
                con, con.execute(statement, params).fetchall(), ws
            )
        )

    def list_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        ws, statement, params = self._page(sql.SUMMARY_COLUMNS, workspace_path, filters, sort,
                                           limit, offset)  # fmt: skip
        found = self._db.read(lambda con: con.execute(statement, params).fetchall())
        return [sqlite_rows.summary_from_row(row, ws) for row in found]

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        ws, _ = self._opened(workspace_path)
        where, params = _where(ws, check_query(filters, None))
        statement = sql.count_sessions(where)
        return self._db.read(lambda con: con.execute(statement, params).fetchone()[0])

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]:
        """Full text over tasks, messages and outputs, best first; with ``prefix``, the last
        word also matches the words it begins. Rank: minus the number of occurrences."""
        ws, _ = self._opened(workspace_path)
        text, limit = require_search(text, limit)
        terms = query_terms(text)
        if not terms or limit == 0:
            return []
        query = _tsquery(terms, bool(prefix))
        if query is None:
            return []
        params = {"ws": ws, "query": query}

        def work(con: psycopg.Connection[Any]) -> list[SearchHit]:
            hits: list[SearchHit] = []
            for kind, statement in _SEARCHES:
                found = 0
                # A server-side cursor: candidates come in batches, best first, until enough
                # of them hold the exact phrases.
                with con.cursor(name=f"ait42_search_{kind}") as cur:
                    cur.itersize = 64
                    cur.execute(statement, params)
                    for session_id, message_id, instance_id, doc, _ in cur:
                        matched = match(doc, terms, bool(prefix))
                        if matched is None:
                            continue  # every word is there, but not as the phrase asked
                        occurrences, snippet = matched
                        hits.append(SearchHit(session_id, kind, snippet, -float(occurrences),
                                              message_id, instance_id))  # fmt: skip
                        found += 1
                        if found == limit:
                            break
            hits.sort(key=lambda hit: hit.rank)
            return hits[:limit]

        return self._db.read(work)

    # --- day-to-day operations -------------------------------------------------------------------

    def list_workspaces(self) -> list[WorkspaceInfo]:
        found = self._db.read(lambda con: con.execute(sql.LIST_WORKSPACES).fetchall())
        return [WorkspaceInfo(*row) for row in found]

    def workspace_known(self, workspace_path: str) -> bool:
        ws, _ = _workspace(workspace_path)
        return self._db.read(
            lambda con: con.execute(sql.WORKSPACE_KNOWN, {"ws": ws}).fetchone()[0]
        )

    def data_version(self) -> int:
        return self._db.read(lambda con: con.execute(sql.DATA_VERSION).fetchone()[0])

    def prune(
        self,
        workspace_path: str,
        *,
        older_than: _dt.timedelta | DateBound | None = None,
        statuses: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """Delete old sessions of the workspace (see the SQLite store's ``prune``)."""
        ws, _ = _workspace(workspace_path)
        if older_than is None and not statuses:
            raise ValidationError("prune needs older_than, statuses or both")
        if isinstance(older_than, _dt.timedelta):
            if older_than < _dt.timedelta(0):
                raise ValidationError("older_than must not be a negative age")
            older_than = _dt.datetime.now(_dt.timezone.utc) - older_than
        query = check_query(SessionFilters(statuses=statuses, date_to=older_than), None)
        params = {"ws": ws, "before_ns": I64_MAX if query.to_ns is None else query.to_ns,
                  "any_status": not query.statuses, "statuses": list(query.statuses)}  # fmt: skip

        def work(con: psycopg.Connection[Any]) -> list[str]:
            found = con.execute(sql.PRUNABLE, params).fetchall()
            if not dry_run:
                with con.cursor() as cur:
                    cur.executemany(sql.DELETE_SESSION, [{"pk": pk} for pk, _ in found])
            return [session_id for _, session_id in found]

        return PruneReport(self._db.write(work), dry_run)
