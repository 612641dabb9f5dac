"""Sessions as rows of the SQLite schema, and back.

Statement parameters from the models (``session_params``...), the models from rows
(``sessions_from_rows`` loads the children of any number of sessions in two statements), the
statements that store whole sessions (``insert_sessions``, ``replace_session``), and the
filtered queries' text and parameters (``select_statement``, ``count_statement``). The
repository, the import, the export and the benchmark's floors all go through these, so each
rule of the mapping has one home. Every function here runs inside a transaction the caller
holds (``Database.read``/``write``).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from itertools import starmap
from operator import itemgetter
from typing import Any, Callable, Sequence

import apsw
import msgspec

from . import scratch_index, sql
from .fulltext import fts5_expression
from .models import I64_MAX, ChatMessage, WorktreeInstance, WorktreeSession
from .queries import (
    CheckedQuery,
    SearchHit,
    SessionSummary,
    joined_agent_names,
    text_matches,
)
from .pieces import cuts
from .stored_text import StoredPiece, digest, stored_pieces, unpack
from .timestamps import to_instant_ns

__all__ = [
    "TRIGRAM",
    "stored_text_matches",
    "session_params",
    "instance_params",
    "message_params",
    "touch_params",
    "trigram_params",
    "session_from_row",
    "summary_from_row",
    "search_params",
    "search_rows",
    "search_hit",
    "sessions_from_rows",
    "assemble_sessions",
    "insert_session",
    "insert_sessions",
    "replace_session",
    "stored_piece_digests",
    "append_output",
    "write_children",
    "upsert_rows",
    "field_filters",
    "where_clause",
    "select_statement",
    "count_statement",
]

TRIGRAM = 3  # shortest needle the trigram index can serve

# Stored JSON (runtime_mix, extra) was written by this code: decoded in compiled code.
_stored_json = msgspec.json.decode


def stored_text_matches(
    needle: Any, task: Any, session_id: Any, agent_names: Any
) -> bool:
    """``queries.text_matches`` on a session's stored columns, as the SQL function
    ``ait42_text_matches``: a column that is not text there (a damaged file) is damage, not a
    crash inside the query."""
    if not (
        task.__class__ is str
        and session_id.__class__ is str
        and agent_names.__class__ is str
    ):
        raise msgspec.ValidationError("a stored session's text columns are damaged")
    return text_matches(needle, task, session_id, agent_names)


def _dump(value: Any) -> str | None:
    return (
        None
        if value is None
        else json.dumps(value, ensure_ascii=False, allow_nan=False)
    )


def _extra(value: dict[str, Any]) -> str | None:
    return _dump(value) if value else None


# --- parameters from models ------------------------------------------------------------------


def session_params(
    session: WorktreeSession, ws: str, copy_number: int = 0, file_hash: str | None = None
) -> dict[str, Any]:
    """The session row's parameters; ``copy_number``: which copy of its id (0 the first),
    ``file_hash``: the editor file it came from when not its workspace's own."""
    return {
        "ws": ws,
        "id": session.id,
        "copy_number": copy_number,
        "file_hash": file_hash,
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


def instance_params(
    pk: int, instance: WorktreeInstance, *, in_pieces: bool = True
) -> dict[str, Any]:
    """The instance row's parameters. ``in_pieces`` (SQLite): the output column only says
    whether there is one (NULL or ''), its text goes to ``output_pieces`` (``piece_params``);
    otherwise it is the text itself (PostgreSQL, which compresses its own)."""
    output = instance.output
    if in_pieces and output is not None:
        output = ""
    return {
        "session_pk": pk,
        "instance_id": instance.instance_id,
        "worktree_path": instance.worktree_path,
        "branch": instance.branch,
        "agent_name": instance.agent_name,
        "status": instance.status,
        "tmux_session_id": instance.tmux_session_id,
        "output": output,
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


def piece_params(instance_pk: int, piece: StoredPiece) -> dict[str, Any]:
    """A row of ``output_pieces``: one piece of instance ``instance_pk``'s output."""
    return {
        "pk": instance_pk * sql.PIECES_PER_OUTPUT + piece.number,
        "number": piece.number, "start": piece.start, "size": piece.size,
        "digest": piece.digest, "lead": piece.lead, "body": piece.body,
    }  # fmt: skip


def _piece_range(instance_pk: int, first: int = 0) -> dict[str, int]:
    """The pks of instance ``instance_pk``'s pieces from number ``first`` on."""
    base = instance_pk * sql.PIECES_PER_OUTPUT
    return {"first_pk": base + first, "last_pk": base + sql.PIECES_PER_OUTPUT - 1}


def message_params(pk: int, position: int, message: ChatMessage) -> dict[str, Any]:
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


def touch_params(pk: int, now: str) -> dict[str, Any]:
    """``TOUCH_SESSION``'s parameters: the session's ``updated_at`` set to ``now``."""
    return {"pk": pk, "updated_at": now, "updated_ns": to_instant_ns(now)}


def trigram_params(
    pk: int, task: str, session_id: str, agent_names: str
) -> dict[str, Any]:
    """``INSERT_TRIGRAMS``'s parameters: the casefolded text the substring filter searches."""
    return {"pk": pk, "task": task.casefold(), "id": session_id.casefold(),
            "agents": agent_names.casefold()}  # fmt: skip


# --- models from rows ------------------------------------------------------------------------


def session_from_row(row: Sequence[Any], ws: str) -> WorktreeSession:
    """A session (without children) from a ``SESSION_COLUMNS`` row: the model's fields in
    order after pk (instances and chat history are filled in afterwards)."""
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


def summary_from_row(row: Sequence[Any], ws: str) -> SessionSummary:
    """A summary from a ``SUMMARY_COLUMNS`` row."""
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


def _search_candidate(kind: str, row: Sequence[Any]) -> tuple[str, Sequence[Any]]:
    """``(kind, row)`` for a ``SEARCH_*`` row, checked: a damaged full-text index can yield
    NULL ranks or ids, which must surface as damage, not break sorting or the contract's types.
    """
    _, session_id, _, _, rank = row
    if not (isinstance(session_id, str) and isinstance(rank, float)):
        raise msgspec.ValidationError(f"a {kind} search hit has damaged columns")
    return kind, row


def search_params(
    ws: str, terms: list[tuple[str, ...]], limit: int, prefix: bool = False
) -> dict[str, Any]:
    """The parameters of ``search_rows`` for query ``terms`` (``fulltext.query_terms``) in
    workspace ``ws``: every term (``query``, ANDed), any of them (``any``, ORed: an output's
    pieces are ranked by it), and each alone (``term0``..., ``terms`` of them)."""
    expressions = [
        fts5_expression([term], prefix=prefix and n == len(terms) - 1)
        for n, term in enumerate(terms)
    ]
    params: dict[str, Any] = {f"term{n}": e for n, e in enumerate(expressions)}
    params.update(
        query=fts5_expression(terms, prefix=prefix), any=" OR ".join(expressions),
        ws=ws, limit=min(limit, I64_MAX), terms=len(terms), matched=None,
    )  # fmt: skip
    return params


def search_rows(
    con: Any, params: dict[str, Any]
) -> list[tuple[str, Sequence[Any], Any]]:
    """``(kind, row, snippet)`` of the ``params["limit"]`` best hits of every kind: each
    kind's search statement, a stable merge by rank, then its snippets for the hits kept only
    (``params``: from ``search_params``)."""
    params = dict(params)
    if params["terms"] > 1:  # outputs holding each term, perhaps in different pieces
        matched = con.execute(sql.matched_outputs(params["terms"]), params).fetchall()
        params["matched"] = sql.pk_list(pk for (pk,) in matched) if matched else None
    found = [
        _search_candidate(kind.kind, row)
        for kind in sql.SEARCHES
        if not (kind.in_pieces and params["terms"] > 1 and params["matched"] is None)
        for row in con.execute(kind.search, params)
    ]
    found.sort(key=lambda candidate: candidate[1][4])  # by rank
    del found[params["limit"] :]
    snippets: dict[tuple[str, int], Any] = {}
    for kind in sql.SEARCHES:
        rowids = [row[0] for of, row in found if of == kind.kind]
        if not rowids:
            continue
        chosen = {"query": params["query"], "rowids": sql.pk_list(rowids)}
        if kind.texts is None:
            made = con.execute(kind.snippets, chosen)
        else:
            made = scratch_index.snippets(chosen, con.execute(kind.texts, chosen))
        for rowid, snippet in made:
            snippets[kind.kind, rowid] = snippet
    return [(kind, row, snippets.get((kind, row[0]))) for kind, row in found]


def search_hit(kind: str, row: Sequence[Any], snippet: Any) -> SearchHit:
    """The hit of one of ``search_rows``' answers."""
    _, session_id, message_id, instance_id, rank = row
    if not isinstance(snippet, str):
        raise msgspec.ValidationError(f"a {kind} search hit has no snippet")
    return SearchHit(session_id, kind, snippet, rank, message_id, instance_id)


# INSTANCE_COLUMNS and MESSAGE_COLUMNS list the model's fields in order between session_pk and
# extra, so a row's middle is the constructor's positional arguments: ``starmap`` builds the
# records without running Python code per row (loading is the hot path of get_all_sessions).
_PK = itemgetter(0)
_CHILDREN = (
    ("instances", WorktreeInstance, itemgetter(*range(1, 16)), itemgetter(16)),
    ("chat_history", ChatMessage, itemgetter(*range(1, 6)), itemgetter(6)),
)
_CHILD_STATEMENTS = {"instances": sql.INSTANCES_OF, "chat_history": sql.MESSAGES_OF}


def _records(rows: list[Sequence[Any]], cls: Any, fields: Any, extra: Any) -> list[Any]:
    """Child records from their rows, in row order; extra keys decoded where a row has them."""
    records = list(starmap(cls, map(fields, rows)))
    if any(map(extra, rows)):
        for record, text in zip(records, map(extra, rows)):
            if text is not None:
                record.extra = _stored_json(text)
    return records


def _attach(
    rows: list[Sequence[Any]], records: list[Any], by_pk: dict[int, Any], name: str
) -> None:
    """Give each session its slice of ``records``: rows come ordered by session pk, so each
    session's run of rows is found by bisection."""
    pks = list(map(_PK, rows))
    start, end = 0, len(pks)
    for pk in sorted(by_pk):
        stop = bisect_right(pks, pk, start, end)
        if stop > start:
            setattr(by_pk[pk], name, records[start:stop])
            start = stop


ChildRows = Callable[[str, list[int]], list[Sequence[Any]]]


def assemble_sessions(
    rows: list[Sequence[Any]], ws: str, children: ChildRows
) -> list[WorktreeSession]:
    """Whole sessions from their ``SESSION_COLUMNS`` rows, in row order. ``children(name,
    pks)`` returns the rows of ``instances`` or ``chat_history`` of those sessions, in
    ``INSTANCE_COLUMNS`` / ``MESSAGE_COLUMNS`` order, sorted by session pk (any engine).
    """
    sessions = [session_from_row(row, ws) for row in rows]
    if not sessions:
        return sessions
    by_pk = {row[0]: session for row, session in zip(rows, sessions)}
    for name, cls, fields, extra in _CHILDREN:
        found = children(name, list(by_pk))
        if found:
            records = _records(found, cls, fields, extra)
            if len(sessions) == 1:
                setattr(sessions[0], name, records)
            else:
                _attach(found, records, by_pk, name)
    return sessions


def sessions_from_rows(
    con: apsw.Connection, rows: list[Sequence[Any]], ws: str
) -> list[WorktreeSession]:
    """Whole sessions from their rows; the children of all of them in two statements."""

    def children(name: str, pks: list[int]) -> list[Sequence[Any]]:
        return con.execute(
            _CHILD_STATEMENTS[name], {"pks": sql.pk_list(pks)}
        ).fetchall()

    return assemble_sessions(rows, ws, children)


# --- one whole session -----------------------------------------------------------------------


def insert_session(
    con: apsw.Connection,
    ws: str,
    session: WorktreeSession,
    copy_number: int = 0,
    file_hash: str | None = None,
) -> int:
    """Insert a validated session with its children and index rows; its new pk.
    ``copy_number``: which copy of its id it is (0 the first; see sql.SESSION_PK);
    ``file_hash``: the editor file it came from when not its workspace's own."""
    con.execute(sql.INSERT_SESSION, session_params(session, ws, copy_number, file_hash))
    pk = con.last_insert_rowid()
    _insert_children(con, [(pk, session)])
    return pk


def insert_sessions(
    con: apsw.Connection, ws: str, sessions: Sequence[WorktreeSession]
) -> list[int]:
    """Insert validated new sessions (first copies) with their children and index rows;
    their new pks. The children of all of them are written as one set per table (see
    sql.Staged)."""
    pks = []
    for session in sessions:
        con.execute(sql.INSERT_SESSION, session_params(session, ws))
        pks.append(con.last_insert_rowid())
    _insert_children(con, list(zip(pks, sessions)))
    return pks


def _insert_children(
    con: apsw.Connection, stored: Sequence[tuple[int, WorktreeSession]]
) -> None:
    instances, messages = [], []
    for pk, session in stored:
        instances += [instance_params(pk, i) for i in session.instances]
        messages += [
            message_params(pk, n, m) for n, m in enumerate(session.chat_history)
        ]
        _index_text(con, pk, session)
    upsert_rows(con, sql.INSTANCES, instances)
    upsert_rows(con, sql.MESSAGES, messages)
    outputs = [(pk, i) for pk, session in stored for i in session.instances if i.output]
    if outputs:
        pks = _instance_pks(con, [pk for pk, _ in stored])
        upsert_rows(con, sql.PIECES, [
            piece_params(pks[pk, i.instance_id], piece)
            for pk, i in outputs
            for piece in stored_pieces(i.output or "")
        ])  # fmt: skip


def _instance_pks(con: apsw.Connection, session_pks: list[int]) -> dict[tuple[int, int], int]:
    """The pk of each instance of those sessions, by (session pk, instance id)."""
    rows = con.execute(sql.INSTANCE_PKS, {"pks": sql.pk_list(session_pks)})
    return {(session_pk, instance_id): pk for session_pk, instance_id, pk in rows}


def move_sessions(
    con: Any, statements: Any, from_ws: str, ws: str, *, keep_file: bool
) -> int:
    """Move every session of ``from_ws`` into workspace ``ws``, each as the next copy of its
    id there, and mark ``from_ws`` joined to ``ws``; how many moved. ``keep_file``: each
    remembers the editor file it came from (a join: export writes that file back as it was);
    otherwise they belong to ``ws``'s file from now on (a rebind). Works on an APSW and a
    psycopg connection alike, given the engine's module of statements."""
    moved = con.execute(statements.SESSIONS_TO_MOVE, {"from_ws": from_ws}).fetchall()
    for pk, session_id, file_hash in moved:
        copy_number = con.execute(
            statements.NEXT_COPY_NUMBER, {"ws": ws, "id": session_id}
        ).fetchone()[0]
        origin = (file_hash or from_ws) if keep_file else None
        con.execute(statements.MOVE_SESSION, {
            "pk": pk, "ws": ws, "copy_number": copy_number,
            "file_hash": None if origin == ws else origin,
        })  # fmt: skip
    con.execute(statements.MARK_JOINED, {"from_ws": from_ws, "ws": ws})
    return len(moved)


def replace_session(
    con: apsw.Connection, pk: int, ws: str, session: WorktreeSession
) -> None:
    """Make the stored session ``pk`` equal ``session`` whole, keeping its place (pk)."""
    con.execute(sql.UPDATE_SESSION, {**session_params(session, ws), "pk": pk})
    write_children(con, pk, session, stored_piece_digests(con, pk))
    con.execute(sql.DELETE_TRIGRAMS, {"pk": pk})
    _index_text(con, pk, session)


def stored_piece_digests(con: Any, pk: int) -> dict[int, list[tuple[int, bytes]]]:
    """The pieces stored now for session ``pk``'s outputs, as (size, digest) in order, by
    instance id."""
    stored: dict[int, list[tuple[int, bytes]]] = {}
    for instance_id, number, size, piece_digest in con.execute(
        sql.STORED_PIECES, {"session_pk": pk}
    ):
        kept = stored.setdefault(instance_id, [])
        if number is not None:
            kept.append((size, piece_digest))
    return stored


def append_output(con: apsw.Connection, instance_pk: int, text: str) -> None:
    """Add ``text`` at the end of instance ``instance_pk``'s output: its last piece is
    rewritten and new ones added, so the cost is the last piece and ``text``."""
    con.execute(sql.MARK_OUTPUT, {"pk": instance_pk})
    if not text:
        return
    window, start, number, offset = text, 0, 0, 0
    last = con.execute(sql.LAST_PIECE, _piece_range(instance_pk)).fetchone()
    if last is not None:
        number, piece_start, lead, body = last
        window, start, offset = lead + unpack(body) + text, len(lead), piece_start - len(lead)
    upsert_rows(con, sql.PIECES, [
        piece_params(instance_pk, piece)
        for piece in stored_pieces(window, start, number, offset)
    ])  # fmt: skip


def _changed_pieces(
    text: str, stored: list[tuple[int, bytes]]
) -> tuple[int, list[StoredPiece]]:
    """(number of the first piece of ``text`` that differs from ``stored``, the pieces from
    there on); unchanged pieces are hashed, never compressed."""
    count = 0
    for number, (start, end) in enumerate(cuts(text)):
        if number < len(stored):
            size, stored_digest = stored[number]
            body = text[start:end]
            if len(body) == size and digest(body.encode("utf-8")) == stored_digest:
                count = number + 1
                continue
        return number, list(stored_pieces(text, start, number))
    return count, []


def write_children(
    con: apsw.Connection,
    pk: int,
    session: WorktreeSession,
    stored: dict[int, list[tuple[int, bytes]]],
) -> None:
    """Make the stored children equal the session's, rewriting only rows that differ;
    ``stored``: the outputs' pieces stored now (``stored_piece_digests``), kept from the
    start up to the first that changed."""
    con.execute(
        sql.DELETE_INSTANCES_NOT_IN,
        {
            "session_pk": pk,
            "keep": sql.pk_list(i.instance_id for i in session.instances),
        },
    )
    upsert_rows(con, sql.INSTANCES, [instance_params(pk, i) for i in session.instances])
    _write_pieces(con, pk, session, stored)
    con.execute(
        sql.DELETE_MESSAGES_FROM, {"session_pk": pk, "count": len(session.chat_history)}
    )
    upsert_rows(
        con,
        sql.MESSAGES,
        [message_params(pk, n, m) for n, m in enumerate(session.chat_history)],
    )


def _write_pieces(
    con: apsw.Connection,
    pk: int,
    session: WorktreeSession,
    stored: dict[int, list[tuple[int, bytes]]],
) -> None:
    """Rewrite each output's pieces from the first that changed on, and drop those past its
    new end."""
    pks: dict[tuple[int, int], int] | None = None
    rows = []
    for instance in session.instances:
        before = stored.get(instance.instance_id, [])
        first, changed = _changed_pieces(instance.output or "", before)
        if not changed and first >= len(before):
            continue
        if pks is None:
            pks = _instance_pks(con, [pk])
        instance_pk = pks[pk, instance.instance_id]
        rows += [piece_params(instance_pk, piece) for piece in changed]
        ends = first + len(changed)
        if ends < len(before):
            con.execute(sql.DELETE_PIECES_FROM, _piece_range(instance_pk, ends))
    upsert_rows(con, sql.PIECES, rows)


def upsert_rows(
    con: Any, statements: sql.Staged, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or update child rows (instances or messages) as one set (see sql.Staged)."""
    if not rows:
        return
    con.execute(statements.create)
    con.executemany(statements.stage, rows)
    con.execute(statements.upsert)
    con.execute(statements.clear)


def _index_text(con: apsw.Connection, pk: int, session: WorktreeSession) -> None:
    params = trigram_params(pk, session.task, session.id, joined_agent_names(session))
    con.execute(sql.INSERT_TRIGRAMS, params)


# --- filtered queries ------------------------------------------------------------------------


def field_filters(
    ws: str, query: CheckedQuery, statements: Any = sql
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE fragments and parameters of a query's workspace, types, statuses and dates,
    from ``statements`` (this module's ``sql``, or ``postgres.sql``: the same names)."""
    where = [statements.FILTER_WORKSPACE]
    params: dict[str, Any] = {"ws": ws}
    if query.types:
        where.append(statements.filter_in("s.type", "type", len(query.types)))
        params.update({f"type{n}": v for n, v in enumerate(query.types)})
    if query.statuses:
        where.append(statements.filter_in("s.status", "status", len(query.statuses)))
        params.update({f"status{n}": v for n, v in enumerate(query.statuses)})
    if query.from_ns is not None:
        where.append(statements.FILTER_FROM)
        params["from_ns"] = query.from_ns
    if query.to_ns is not None:
        where.append(statements.FILTER_TO)
        params["to_ns"] = query.to_ns
    return where, params


def where_clause(
    ws: str, query: CheckedQuery
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The WHERE fragments (ANDed) and parameters of a checked query in workspace ``ws``."""
    where, params = field_filters(ws, query)
    if query.needle_matches_nothing:
        where.append(sql.FILTER_NOTHING)
    elif query.needle is not None:
        if len(query.needle) >= TRIGRAM:
            where.append(sql.FILTER_TRIGRAMS)
            params["trigram_query"] = '"' + query.needle.replace('"', '""') + '"'
        where.append(sql.FILTER_TEXT)
        params["needle"] = query.needle
    return tuple(where), params


def select_statement(
    columns: str, ws: str, query: CheckedQuery, limit: int | None, offset: int
) -> tuple[str, dict[str, Any]]:
    """A query's SELECT (``columns`` of the matching sessions, ordered, one page) and params."""
    where, params = where_clause(ws, query)
    paged = limit is not None or offset > 0
    if paged:
        # Pages past SQLite's integer range mean "all of it", as they do in Python.
        params.update(
            {
                "limit": -1 if limit is None else min(limit, I64_MAX),
                "offset": min(offset, I64_MAX),
            }
        )
    return (
        sql.select_sessions(columns, where, query.sort_field, query.descending, paged),
        params,
    )


def count_statement(ws: str, query: CheckedQuery) -> tuple[str, dict[str, Any]]:
    """A query's ``count(*)`` statement and parameters."""
    where, params = where_clause(ws, query)
    return sql.count_sessions(where), params
