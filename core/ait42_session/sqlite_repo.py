"""SqliteSessionRepository: the session repository on one SQLite file (APSW).

Each call checks its arguments (``checks``), names its workspace by hash (``workspace``), and
runs its statements (``sql``, with parameters and models from ``sqlite_rows``) in one
transaction of the database (``db``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import apsw

from . import sql, sqlite_rows
from .checks import (
    require_instance_id,
    require_instance_status,
    require_message,
    require_output_text,
    require_search,
    require_session,
    require_session_id,
)
from .db import Database
from .duplicates import DuplicateGroup, group_of
from .errors import AlreadyExistsError, NotFoundError, ValidationError
from .fulltext import query_terms
from .models import I64_MAX, ChatMessage, WorktreeSession
from .queries import (
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
from .timestamps import now_rfc3339
from .workspace import (
    known_hash,
    require_workspace_path,
    spelled_hashes,
    workspace_identity,
)

__all__ = ["SqliteSessionRepository"]


def _workspace(workspace_path: object) -> tuple[str, str]:
    """(hash, recorded path) of a workspace path; ValidationError when blank."""
    return workspace_identity(require_workspace_path(workspace_path))


def _page(
    columns: str,
    ws: str,
    filters: SessionFilters | None,
    sort: SessionSort | None,
    limit: int | None,
    offset: int,
) -> tuple[str, dict[str, Any]]:
    """(statement, parameters) of one page of a query of workspace ``ws``, all checked."""
    query = check_query(filters, sort)
    check_page(limit, offset)
    return sqlite_rows.select_statement(columns, ws, query, limit, offset)


def _groups(
    con: apsw.Connection, ws: str | None
) -> list[tuple[DuplicateGroup, list[int]]]:
    """Each repeated id's group, with the pks of its copies in file order."""
    found = []
    for group_ws, session_id in con.execute(sql.REPEATED_IDS, {"ws": ws}).fetchall():
        params = {"ws": group_ws, "id": session_id}
        rows = con.execute(sql.SESSION_COPIES, params).fetchall()
        copies = sqlite_rows.sessions_from_rows(con, rows, group_ws)
        found.append((group_of(group_ws, session_id, copies), [row[0] for row in rows]))
    return found


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id!r} not found in this workspace")


def _pk(con: apsw.Connection, ws: str, session_id: str) -> int:
    pk = con.execute(sql.SESSION_PK, {"ws": ws, "id": session_id}).get
    if pk is None:
        raise _not_found(session_id)
    return pk


class SqliteSessionRepository:
    """Sessions of every workspace in one SQLite database; see ``SessionRepository``."""

    def __init__(self, pool: Database) -> None:
        self._pool = pool

    @classmethod
    def with_path(
        cls,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        vfs: str | None = None,
    ) -> "SqliteSessionRepository":
        return cls(Database(path, synchronous=synchronous, vfs=vfs))

    @classmethod
    def new_default(cls, *, synchronous: str = "NORMAL") -> "SqliteSessionRepository":
        """The store at ``$AIT42_HOME/sessions.db`` (``~/.ait42/sessions.db``)."""
        return cls(Database.new_default(synchronous=synchronous))

    @property
    def pool(self) -> Database:
        """The database: its file, its per-thread connections, checks and maintenance."""
        return self._pool

    def idle(self) -> None:
        """Its caller has been idle a while: checkpoint the WAL now (passive), off the path
        of the next write (``Database.checkpoint``)."""
        self._pool.checkpoint()

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> "SqliteSessionRepository":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- one workspace, one place ------------------------------------------------------------

    def _opened(self, workspace_path: object) -> tuple[str, str]:
        """(hash, recorded path) of a workspace whose sessions are listed or created: first,
        sessions the debate runner filed under another spelling of its path (imported under
        that hash, never opened) join it. Point reads and writes of one session skip this:
        the board lists a workspace before it acts on its sessions."""
        ws, real_path = _workspace(workspace_path)
        params = {"hashes": json.dumps(spelled_hashes(workspace_path)), "ws": ws}
        if self._pool.read_rows(sql.UNJOINED_SPELLINGS, params):

            def work(con: apsw.Connection) -> None:
                found = con.execute(sql.UNJOINED_SPELLINGS, params).fetchall()
                con.execute(
                    sql.ENSURE_WORKSPACE,
                    {"hash": ws, "path": real_path, "now": now_rfc3339()},
                )
                for (alias,) in found:
                    sqlite_rows.move_sessions(con, sql, alias, ws, keep_file=True)

            self._pool.write(work)
        return ws, real_path

    def rebind(self, from_workspace: str, to_workspace: str) -> int:
        """Move every session of one workspace to another path (a renamed or moved project
        folder); how many moved. ``from_workspace`` is its old path, or its hash as
        ``list_workspaces`` shows it; the sessions become copies after any of the same id
        that ``to_workspace`` holds, and belong to its file from now on. NotFoundError when
        the store knows no such workspace; ValidationError when both name one workspace."""
        from_ws = known_hash(from_workspace)
        ws, real_path = _workspace(to_workspace)
        if from_ws == ws:
            raise ValidationError("rebind needs two different workspaces")

        def work(con: apsw.Connection) -> int:
            if not con.execute(sql.WORKSPACE_KNOWN, {"ws": from_ws}).get:
                raise NotFoundError(f"no workspace {from_workspace!r} in this store")
            con.execute(
                sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": now_rfc3339()}
            )
            return sqlite_rows.move_sessions(con, sql, from_ws, ws, keep_file=False)

        return self._pool.write(work)

    # --- repeated ids ---------------------------------------------------------------------

    def duplicates(self, workspace_path: str | None = None) -> list[DuplicateGroup]:
        """Every id stored more than once, in ``workspace_path`` or in every workspace: its
        copies in file order and the pattern they make (``ait42_session.duplicates``)."""
        ws = None if workspace_path is None else self._opened(workspace_path)[0]
        return [group for group, _ in self._pool.read(lambda con: _groups(con, ws))]

    def resolve_duplicates(
        self, workspace_path: str | None = None, *, dry_run: bool = False
    ) -> list[DuplicateGroup]:
        """Resolve every group whose pattern has a rule (``duplicates.RULES``): the first copy
        becomes what the rule says, the later copies go; one transaction. The groups resolved
        (with ``dry_run``, that would be; nothing is written)."""
        ws = None if workspace_path is None else self._opened(workspace_path)[0]

        def work(con: apsw.Connection) -> list[DuplicateGroup]:
            resolved = []
            for group, pks in _groups(con, ws):
                if group.resolution is None:
                    continue
                resolved.append(group)
                if dry_run:
                    continue
                if group.resolution is not group.copies[0]:
                    sqlite_rows.replace_session(
                        con, pks[0], group.workspace_hash, group.resolution
                    )
                con.executemany(sql.DELETE_SESSION, [{"pk": pk} for pk in pks[1:]])
            return resolved

        return self._pool.read(work) if dry_run else self._pool.write(work)

    # --- writes ---------------------------------------------------------------------------

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
        """Store many new sessions in one transaction (a bulk load, as import and the
        benchmark's builds do); how many. Every session is validated first; AlreadyExistsError
        when an id is stored already or repeats in ``sessions``. All are stored or none.
        """
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

        def work(con: apsw.Connection) -> None:
            con.execute(
                sql.ENSURE_WORKSPACE,
                {"hash": ws, "path": real_path, "now": now_rfc3339()},
            )
            for session in batch:
                if (
                    con.execute(sql.SESSION_PK, {"ws": ws, "id": session.id}).get
                    is not None
                ):
                    raise AlreadyExistsError(
                        f"session {session.id!r} already exists in this workspace"
                    )
            sqlite_rows.insert_sessions(con, ws, batch)

        self._pool.write(work)

    def update_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        require_session(session)

        def work(con: apsw.Connection) -> None:
            sqlite_rows.replace_session(con, _pk(con, ws, session.id), ws, session)

        self._pool.write(work)
        return session.stored_copy(ws)

    def upsert_session(
        self, workspace_path: str, session: WorktreeSession
    ) -> WorktreeSession:
        """Replace the stored session with its id (the first copy), or store it as new when
        the workspace has none: the debate runner's update-or-insert, one transaction."""
        require_session(session)
        ws, real_path = self._opened(workspace_path)

        def work(con: apsw.Connection) -> None:
            pk = con.execute(sql.SESSION_PK, {"ws": ws, "id": session.id}).get
            if pk is not None:
                sqlite_rows.replace_session(con, pk, ws, session)
                return
            con.execute(
                sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": now_rfc3339()}
            )
            sqlite_rows.insert_session(con, ws, session)

        self._pool.write(work)
        return session.stored_copy(ws)

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: apsw.Connection) -> None:
            con.execute(sql.DELETE_SESSION_COPIES, {"ws": ws, "id": session_id})
            if con.changes() == 0:
                raise _not_found(session_id)

        self._pool.write(work)

    def add_chat_message(
        self, workspace_path: str, session_id: str, message: ChatMessage
    ) -> None:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)
        require_message(message)
        now = now_rfc3339()

        def work(con: apsw.Connection) -> None:
            pk = _pk(con, ws, session_id)
            position = con.execute(sql.NEXT_MESSAGE_POSITION, {"session_pk": pk}).get
            con.execute(
                sql.UPSERT_MESSAGE, sqlite_rows.message_params(pk, position, message)
            )
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._pool.write(work)

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

        def work(con: apsw.Connection) -> None:
            pk = _pk(con, ws, session_id)
            if not 0 <= instance_id <= I64_MAX:  # no stored instance can have it
                raise missing
            con.execute(
                sql.SET_INSTANCE_STATUS,
                {"status": new_status, "session_pk": pk, "instance_id": instance_id},
            )
            if con.changes() == 0:
                raise missing
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._pool.write(work)

    def append_instance_output(
        self, workspace_path: str, session_id: str, instance_id: int, text: str
    ) -> None:
        """Add ``text`` at the end of one instance's output (an output never set becomes
        ``text``) and set the session's ``updated_at`` to now."""
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)
        require_instance_id(instance_id)
        require_output_text(text)
        now = now_rfc3339()

        def work(con: apsw.Connection) -> None:
            pk = _pk(con, ws, session_id)
            instance_pk = None
            if 0 <= instance_id <= I64_MAX:  # no stored instance can have another
                params = {"session_pk": pk, "instance_id": instance_id}
                instance_pk = con.execute(sql.INSTANCE_PK, params).get
            if instance_pk is None:
                raise NotFoundError(
                    f"instance {instance_id} not found in session {session_id!r}"
                )
            sqlite_rows.append_output(con, instance_pk, text)
            con.execute(sql.TOUCH_SESSION, sqlite_rows.touch_params(pk, now))

        self._pool.write(work)

    # --- reads ----------------------------------------------------------------------------

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: apsw.Connection) -> WorktreeSession:
            row = con.execute(sql.GET_SESSION, {"ws": ws, "id": session_id}).fetchone()
            if row is None:
                raise _not_found(session_id)
            return sqlite_rows.sessions_from_rows(con, [row], ws)[0]

        return self._pool.read(work)

    def get_session_copies(
        self, workspace_path: str, session_id: str
    ) -> list[WorktreeSession]:
        """Every stored copy of a repeated id, in file order (the first is the one the
        commands act on); NotFoundError when the workspace has no such id."""
        ws, _ = _workspace(workspace_path)
        require_session_id(session_id)

        def work(con: apsw.Connection) -> list[WorktreeSession]:
            rows = con.execute(sql.SESSION_COPIES, {"ws": ws, "id": session_id}).fetchall()
            if not rows:
                raise _not_found(session_id)
            return sqlite_rows.sessions_from_rows(con, rows, ws)

        return self._pool.read(work)

    def get_all_sessions(self, workspace_path: str) -> list[WorktreeSession]:
        if isinstance(workspace_path, str) and not workspace_path.strip():
            return []  # the editor relies on an empty list for a blank path
        return self.query_sessions(workspace_path)

    def query_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[WorktreeSession]:
        ws, _ = self._opened(workspace_path)
        statement, params = _page(sql.SESSION_COLUMNS, ws, filters, sort, limit, offset)

        def work(con: apsw.Connection) -> list[WorktreeSession]:
            rows = con.execute(statement, params).fetchall()
            return sqlite_rows.sessions_from_rows(con, rows, ws)

        return self._pool.read(work)

    def list_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        ws, _ = self._opened(workspace_path)
        statement, params = _page(sql.SUMMARY_COLUMNS, ws, filters, sort, limit, offset)
        return self._pool.read_rows(
            statement, params, lambda row: sqlite_rows.summary_from_row(row, ws)
        )

    def count_sessions(
        self, workspace_path: str, filters: SessionFilters | None = None
    ) -> int:
        ws, _ = self._opened(workspace_path)
        statement, params = sqlite_rows.count_statement(ws, check_query(filters, None))
        return self._pool.read_rows(statement, params)[0][0]

    def search(
        self, workspace_path: str, text: str, limit: int = 50, *, prefix: bool = False
    ) -> list[SearchHit]:
        """Full text over tasks, messages and outputs, best first (bm25); with ``prefix``,
        the last word also matches the words it begins (search as you type)."""
        ws, _ = self._opened(workspace_path)
        text, limit = require_search(text, limit)
        terms = query_terms(text)
        if not terms or limit == 0:
            return []
        params = sqlite_rows.search_params(ws, terms, limit, bool(prefix))

        def work(con: apsw.Connection) -> list[SearchHit]:
            return [
                sqlite_rows.search_hit(kind, row, snippet)
                for kind, row, snippet in sqlite_rows.search_rows(con, params)
            ]

        return self._pool.read(work)

    # --- day-to-day operations --------------------------------------------------------------

    def list_workspaces(self) -> list[WorkspaceInfo]:
        """Every workspace the store knows, by hash."""
        return self._pool.read_rows(
            sql.LIST_WORKSPACES, {}, lambda row: WorkspaceInfo(*row)
        )

    def workspace_known(self, workspace_path: str) -> bool:
        """Whether any session was ever stored (or imported) for this workspace."""
        ws, _ = _workspace(workspace_path)
        return bool(self._pool.read_rows(sql.WORKSPACE_KNOWN, {"ws": ws})[0][0])

    def data_version(self) -> int:
        """A number that changes whenever anyone writes to the store (see ``Database``): poll
        it to know when to read again."""
        return self._pool.data_version()

    def prune(
        self,
        workspace_path: str,
        *,
        older_than: _dt.timedelta | DateBound | None = None,
        statuses: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """Delete whole sessions of the workspace last updated before ``older_than`` (an age,
        as a timedelta, or an instant: RFC 3339 text, an aware datetime, a date) and, when
        ``statuses`` is given, in one of those statuses; at least one of the two is required.
        Deleted text is purged as ``delete_session`` purges it. ``dry_run`` deletes nothing and
        reports what would go."""
        ws, _ = _workspace(workspace_path)
        if older_than is None and not statuses:
            raise ValidationError("prune needs older_than, statuses or both")
        if isinstance(older_than, _dt.timedelta):
            if older_than < _dt.timedelta(0):
                raise ValidationError("older_than must not be a negative age")
            older_than = _dt.datetime.now(_dt.timezone.utc) - older_than
        query = check_query(SessionFilters(statuses=statuses, date_to=older_than), None)
        params = {
            "ws": ws,
            "before_ns": I64_MAX if query.to_ns is None else query.to_ns,
            "any_status": not query.statuses,
            "statuses": json.dumps(list(query.statuses)),
        }

        def work(con: apsw.Connection) -> list[str]:
            found = con.execute(sql.PRUNABLE, params).fetchall()
            if not dry_run:
                con.executemany(sql.DELETE_SESSION, [{"pk": pk} for pk, _ in found])
            return [session_id for _, session_id in found]

        return PruneReport(self._pool.write(work), dry_run)

    def rebuild_search_index(self) -> None:
        """Rebuild every full-text and substring index from the stored rows."""

        def work(con: apsw.Connection) -> None:
            for statement in sql.REBUILD_FTS:
                con.execute(statement)
            con.execute(sql.CLEAR_TRIGRAMS)
            rows = con.execute(sql.ALL_TRIGRAM_SOURCES).fetchall()
            con.executemany(
                sql.INSERT_TRIGRAMS, [sqlite_rows.trigram_params(*r) for r in rows]
            )

        self._pool.write(work)
