"""SqliteSessionRepository: the session repository on one SQLite file (APSW)."""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from itertools import starmap
from operator import itemgetter
from typing import Any, Sequence

import apsw
import msgspec

from . import sql
from .db import DbPool
from .errors import AlreadyExistsError, NotFoundError, ValidationError
from .fulltext import fts5_expression, query_terms
from .models import I64_MAX, INSTANCE_STATUSES, ChatMessage, WorktreeInstance, WorktreeSession
from .queries import (
    CheckedQuery,
    SearchHit,
    SessionFilters,
    SessionSort,
    SessionSummary,
    check_page,
    check_query,
    joined_agent_names,
)
from .timestamps import now_rfc3339, to_instant_ns
from .workspace import require_workspace_path, workspace_identity

__all__ = ["SqliteSessionRepository"]

TRIGRAM = 3  # shortest needle the trigram index can serve


# Stored JSON (runtime_mix, extra) was written by this code: decoded in compiled code.
_stored_json = msgspec.json.decode


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, allow_nan=False)


def _extra(value: dict[str, Any]) -> str | None:
    return _dump(value) if value else None


def _require_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise ValidationError("session_id must be a non-empty string")
    return session_id


def _require_session(session: object) -> None:
    if not isinstance(session, WorktreeSession):
        raise ValidationError(f"session must be a WorktreeSession, got {type(session).__name__}")
    session.validate()


def _workspace(workspace_path: object) -> tuple[str, str]:
    """(hash, recorded path) of a workspace path; ValidationError when blank."""
    return workspace_identity(require_workspace_path(workspace_path))


def _session_params(session: WorktreeSession, ws: str) -> dict[str, Any]:
    return {
        "ws": ws,
        "id": session.id,
        "type": session.type,
        "task": session.task,
        "status": session.status,
        "created_at": session.created_at,
        "created_ns": to_instant_ns(session.created_at),
        "updated_at": session.updated_at,
        "updated_ns": to_instant_ns(session.updated_at),
        "completed_at": session.completed_at,
        "model": session.model,
        "timeout_seconds": session.timeout_seconds,
        "preserve_worktrees": session.preserve_worktrees,
        "winner_id": session.winner_id,
        "runtime_mix": _dump(session.runtime_mix),
        "total_duration": session.total_duration,
        "total_files_changed": session.total_files_changed,
        "total_lines_added": session.total_lines_added,
        "total_lines_deleted": session.total_lines_deleted,
        "agent_names": joined_agent_names(session),
        "extra": _extra(session.extra),
    }


def _instance_params(pk: int, instance: WorktreeInstance) -> dict[str, Any]:
    return {
        "session_pk": pk,
        "instance_id": instance.instance_id,
        "worktree_path": instance.worktree_path,
        "branch": instance.branch,
        "agent_name": instance.agent_name,
        "status": instance.status,
        "tmux_session_id": instance.tmux_session_id,
        "output": instance.output,
        "start_time": instance.start_time,
        "end_time": instance.end_time,
        "files_changed": instance.files_changed,
        "lines_added": instance.lines_added,
        "lines_deleted": instance.lines_deleted,
        "runtime": instance.runtime,
        "model": instance.model,
        "runtime_label": instance.runtime_label,
        "extra": _extra(instance.extra),
    }


def _message_params(pk: int, position: int, message: ChatMessage) -> dict[str, Any]:
    return {
        "session_pk": pk,
        "position": position,
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "timestamp": message.timestamp,
        "timestamp_ns": to_instant_ns(message.timestamp),
        "instance_id": message.instance_id,
        "extra": _extra(message.extra),
    }


def _session_from_row(row: Sequence[Any], ws: str) -> WorktreeSession:
    # SESSION_COLUMNS lists the model's fields in order after pk (instances and chat history
    # are filled in afterwards).
    preserve, runtime_mix, extra = row[10], row[12], row[17]
    return WorktreeSession(
        *row[1:10],
        None if preserve is None else bool(preserve),
        row[11],
        None if runtime_mix is None else _stored_json(runtime_mix),
        *row[13:17],
        [],
        [],
        ws,
        {} if extra is None else _stored_json(extra),
    )


def _summary_from_row(row: Sequence[Any], ws: str) -> SessionSummary:
    (_, id_, type_, task, status, created_at, updated_at, completed_at, model, timeout,
     preserve, winner, runtime_mix, duration, files, added, deleted, n_inst, n_msg) = row  # fmt: skip
    return SessionSummary(
        id=id_, type=type_, task=task, status=status, created_at=created_at,
        updated_at=updated_at, completed_at=completed_at, model=model, timeout_seconds=timeout,
        preserve_worktrees=None if preserve is None else bool(preserve), winner_id=winner,
        runtime_mix=None if runtime_mix is None else _stored_json(runtime_mix),
        total_duration=duration, total_files_changed=files, total_lines_added=added,
        total_lines_deleted=deleted, workspace_hash=ws, instance_count=n_inst,
        message_count=n_msg,
    )  # fmt: skip


# INSTANCE_COLUMNS and MESSAGE_COLUMNS list the model's fields in order between session_pk and
# extra, so a row's middle is the constructor's positional arguments: ``starmap`` builds the
# records without running Python code per row (loading is the hot path of get_all_sessions).
_PK = itemgetter(0)
_INSTANCE_FIELDS = itemgetter(*range(1, 16))
_INSTANCE_EXTRA = itemgetter(16)
_MESSAGE_FIELDS = itemgetter(*range(1, 6))
_MESSAGE_EXTRA = itemgetter(6)


def _records(
    rows: list[Sequence[Any]], cls: Any, fields: itemgetter, extra: itemgetter
) -> list[Any]:
    """Child records from their rows, in row order; extra keys decoded where a row has them."""
    records = list(starmap(cls, map(fields, rows)))
    if any(map(extra, rows)):
        for record, text in zip(records, map(extra, rows)):
            if text is not None:
                record.extra = _stored_json(text)
    return records


_CHILDREN = (
    (sql.INSTANCES_OF, WorktreeInstance, _INSTANCE_FIELDS, _INSTANCE_EXTRA, "instances"),
    (sql.MESSAGES_OF, ChatMessage, _MESSAGE_FIELDS, _MESSAGE_EXTRA, "chat_history"),
)


def _attach(rows: list[Sequence[Any]], records: list[Any], by_pk: dict[int, Any], name: str) -> None:
    """Give each session its slice of ``records``: rows come ordered by session pk, so each
    session's run of rows is found by bisection."""
    pks = list(map(_PK, rows))
    start, end = 0, len(pks)
    for pk in sorted(by_pk):
        stop = bisect_right(pks, pk, start, end)
        if stop > start:
            setattr(by_pk[pk], name, records[start:stop])
            start = stop


class SqliteSessionRepository:
    """Sessions of every workspace in one SQLite database; see ``SessionRepository``."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    @classmethod
    def with_path(
        cls, path: str | os.PathLike[str], *, synchronous: str = "NORMAL", vfs: str | None = None
    ) -> "SqliteSessionRepository":
        return cls(DbPool(path, synchronous=synchronous, vfs=vfs))

    @classmethod
    def new_default(cls, *, synchronous: str = "NORMAL") -> "SqliteSessionRepository":
        """The store at ``$AIT42_HOME/sessions.db`` (``~/.ait42/sessions.db``)."""
        return cls(DbPool.new_default(synchronous=synchronous))

    @property
    def pool(self) -> DbPool:
        return self._pool

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> "SqliteSessionRepository":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writes ---------------------------------------------------------------------------

    def create_session(self, workspace_path: str, session: WorktreeSession) -> WorktreeSession:
        ws, real_path = _workspace(workspace_path)
        _require_session(session)
        params = _session_params(session, ws)

        def work(con: apsw.Connection) -> None:
            con.execute(sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": now_rfc3339()})
            if con.execute(sql.SESSION_PK, {"ws": ws, "id": session.id}).get is not None:
                raise AlreadyExistsError(f"session {session.id!r} already exists in this workspace")
            con.execute(sql.INSERT_SESSION, params)
            pk = con.last_insert_rowid()
            self._write_children(con, pk, session)
            self._index_text(con, pk, session)

        self._pool.write(work)
        return session.stored_copy(ws)

    def update_session(self, workspace_path: str, session: WorktreeSession) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        _require_session(session)
        params = _session_params(session, ws)

        def work(con: apsw.Connection) -> None:
            pk = self._pk(con, ws, session.id)
            con.execute(sql.UPDATE_SESSION, {**params, "pk": pk})
            self._write_children(con, pk, session)
            con.execute(sql.DELETE_TRIGRAMS, {"pk": pk})
            self._index_text(con, pk, session)

        self._pool.write(work)
        return session.stored_copy(ws)

    def delete_session(self, workspace_path: str, session_id: str) -> None:
        ws, _ = _workspace(workspace_path)
        _require_id(session_id)

        def work(con: apsw.Connection) -> None:
            con.execute(sql.DELETE_SESSION, {"pk": self._pk(con, ws, session_id)})

        self._pool.write(work)

    def add_chat_message(self, workspace_path: str, session_id: str, message: ChatMessage) -> None:
        ws, _ = _workspace(workspace_path)
        _require_id(session_id)
        if not isinstance(message, ChatMessage):
            raise ValidationError("message must be a ChatMessage")
        message.validate()
        now = now_rfc3339()

        def work(con: apsw.Connection) -> None:
            pk = self._pk(con, ws, session_id)
            position = con.execute(sql.NEXT_MESSAGE_POSITION, {"session_pk": pk}).get
            con.execute(sql.UPSERT_MESSAGE, _message_params(pk, position, message))
            con.execute(sql.TOUCH_SESSION, self._touch(pk, now))

        self._pool.write(work)

    def update_instance_status(
        self, workspace_path: str, session_id: str, instance_id: int, new_status: str
    ) -> None:
        ws, _ = _workspace(workspace_path)
        _require_id(session_id)
        if new_status not in INSTANCE_STATUSES or not isinstance(new_status, str):
            raise ValidationError(f"new_status must be one of {', '.join(INSTANCE_STATUSES)}")
        if isinstance(instance_id, bool) or not isinstance(instance_id, int):
            raise ValidationError("instance_id must be an integer")
        now = now_rfc3339()

        def work(con: apsw.Connection) -> None:
            pk = self._pk(con, ws, session_id)
            if not 0 <= instance_id <= I64_MAX:  # no stored instance can have it
                raise NotFoundError(f"instance {instance_id} not found in session {session_id!r}")
            con.execute(
                sql.SET_INSTANCE_STATUS,
                {"status": new_status, "session_pk": pk, "instance_id": instance_id},
            )
            if con.changes() == 0:
                raise NotFoundError(f"instance {instance_id} not found in session {session_id!r}")
            con.execute(sql.TOUCH_SESSION, self._touch(pk, now))

        self._pool.write(work)

    @staticmethod
    def _touch(pk: int, now: str) -> dict[str, Any]:
        return {"pk": pk, "updated_at": now, "updated_ns": to_instant_ns(now)}

    @staticmethod
    def _pk(con: apsw.Connection, ws: str, session_id: str) -> int:
        pk = con.execute(sql.SESSION_PK, {"ws": ws, "id": session_id}).get
        if pk is None:
            raise NotFoundError(f"session {session_id!r} not found in this workspace")
        return pk

    @staticmethod
    def _write_children(con: apsw.Connection, pk: int, session: WorktreeSession) -> None:
        """Make the stored children equal the session's, rewriting only rows that differ."""
        con.execute(
            sql.DELETE_INSTANCES_NOT_IN,
            {"session_pk": pk, "keep": sql.pk_list(i.instance_id for i in session.instances)},
        )
        if session.instances:
            con.executemany(
                sql.UPSERT_INSTANCE, [_instance_params(pk, i) for i in session.instances]
            )
        con.execute(sql.DELETE_MESSAGES_FROM, {"session_pk": pk, "count": len(session.chat_history)})
        if session.chat_history:
            con.executemany(
                sql.UPSERT_MESSAGE,
                [_message_params(pk, n, m) for n, m in enumerate(session.chat_history)],
            )

    @staticmethod
    def _index_text(con: apsw.Connection, pk: int, session: WorktreeSession) -> None:
        con.execute(
            sql.INSERT_TRIGRAMS,
            {
                "pk": pk,
                "task": session.task.casefold(),
                "id": session.id.casefold(),
                "agents": joined_agent_names(session).casefold(),
            },
        )

    # --- reads ----------------------------------------------------------------------------

    def get_session(self, workspace_path: str, session_id: str) -> WorktreeSession:
        ws, _ = _workspace(workspace_path)
        _require_id(session_id)

        def work(con: apsw.Connection) -> WorktreeSession:
            row = con.execute(sql.GET_SESSION, {"ws": ws, "id": session_id}).fetchone()
            if row is None:
                raise NotFoundError(f"session {session_id!r} not found in this workspace")
            return self._with_children(con, [row], ws)[0]

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
        ws, _ = _workspace(workspace_path)
        query = check_query(filters, sort)
        check_page(limit, offset)
        statement, params = self._select(sql.SESSION_COLUMNS, ws, query, limit, offset)

        def work(con: apsw.Connection) -> list[WorktreeSession]:
            return self._with_children(con, con.execute(statement, params).fetchall(), ws)

        return self._pool.read(work)

    def list_sessions(
        self,
        workspace_path: str,
        filters: SessionFilters | None = None,
        sort: SessionSort | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        ws, _ = _workspace(workspace_path)
        query = check_query(filters, sort)
        check_page(limit, offset)
        statement, params = self._select(sql.SUMMARY_COLUMNS, ws, query, limit, offset)
        return [_summary_from_row(row, ws) for row in self._pool.read_rows(statement, params)]

    def count_sessions(self, workspace_path: str, filters: SessionFilters | None = None) -> int:
        ws, _ = _workspace(workspace_path)
        where, params = self._where(ws, check_query(filters, None))
        statement = sql.count_sessions(where)
        return self._pool.read_rows(statement, params)[0][0]

    def search(self, workspace_path: str, text: str, limit: int = 50) -> list[SearchHit]:
        ws, _ = _workspace(workspace_path)
        if not isinstance(text, str):
            raise ValidationError("search text must be a string")
        if limit is None:
            raise ValidationError("limit must be a non-negative integer")
        check_page(limit, 0)
        terms = query_terms(text)
        if not terms or limit == 0:
            return []
        params = {"query": fts5_expression(terms), "ws": ws, "limit": min(limit, I64_MAX)}

        def work(con: apsw.Connection) -> list[SearchHit]:
            hits = []
            for kind, statement in (
                ("task", sql.SEARCH_TASKS),
                ("message", sql.SEARCH_MESSAGES),
                ("output", sql.SEARCH_OUTPUTS),
            ):
                for session_id, message_id, instance_id, snippet, rank in con.execute(
                    statement, params
                ):
                    hits.append(SearchHit(session_id, kind, snippet, rank, message_id, instance_id))
            hits.sort(key=lambda hit: hit.rank)
            return hits[:limit]

        return self._pool.read(work)

    def rebuild_search_index(self) -> None:
        """Rebuild every full-text and substring index from the stored rows."""

        def work(con: apsw.Connection) -> None:
            for statement in sql.REBUILD_FTS:
                con.execute(statement)
            con.execute(sql.CLEAR_TRIGRAMS)
            rows = con.execute(sql.ALL_TRIGRAM_SOURCES).fetchall()
            con.executemany(
                sql.INSERT_TRIGRAMS,
                [
                    {"pk": pk, "task": t.casefold(), "id": i.casefold(), "agents": a.casefold()}
                    for pk, t, i, a in rows
                ],
            )

        self._pool.write(work)

    # --- query building and loading -------------------------------------------------------

    @staticmethod
    def _where(ws: str, query: CheckedQuery) -> tuple[tuple[str, ...], dict[str, Any]]:
        where = [sql.FILTER_WORKSPACE]
        params: dict[str, Any] = {"ws": ws}
        if query.types:
            where.append(sql.filter_in("s.type", "type", len(query.types)))
            params.update({f"type{n}": v for n, v in enumerate(query.types)})
        if query.statuses:
            where.append(sql.filter_in("s.status", "status", len(query.statuses)))
            params.update({f"status{n}": v for n, v in enumerate(query.statuses)})
        if query.from_ns is not None:
            where.append(sql.FILTER_FROM)
            params["from_ns"] = query.from_ns
        if query.to_ns is not None:
            where.append(sql.FILTER_TO)
            params["to_ns"] = query.to_ns
        if query.needle is not None:
            if len(query.needle) >= TRIGRAM:
                where.append(sql.FILTER_TRIGRAMS)
                params["trigram_query"] = '"' + query.needle.replace('"', '""') + '"'
            where.append(sql.FILTER_TEXT)
            params["needle"] = query.needle
        return tuple(where), params

    def _select(
        self, columns: str, ws: str, query: CheckedQuery, limit: int | None, offset: int
    ) -> tuple[str, dict[str, Any]]:
        where, params = self._where(ws, query)
        paged = limit is not None or offset > 0
        if paged:
            # Pages past SQLite's integer range mean "all of it", as they do in Python.
            params.update(
                {"limit": -1 if limit is None else min(limit, I64_MAX), "offset": min(offset, I64_MAX)}
            )
        return sql.select_sessions(columns, where, query.sort_field, query.descending, paged), params

    @staticmethod
    def _with_children(
        con: apsw.Connection, rows: list[Sequence[Any]], ws: str
    ) -> list[WorktreeSession]:
        """Sessions from their rows, children loaded in two statements for all of them."""
        sessions = [_session_from_row(row, ws) for row in rows]
        if not sessions:
            return sessions
        by_pk = {row[0]: session for row, session in zip(rows, sessions)}
        pks = sql.pk_list(by_pk)
        for statement, cls, fields, extra, name in _CHILDREN:
            found = con.execute(statement, {"pks": pks}).fetchall()
            if found:
                records = _records(found, cls, fields, extra)
                if len(sessions) == 1:
                    setattr(sessions[0], name, records)
                else:
                    _attach(found, records, by_pk, name)
        return sessions
