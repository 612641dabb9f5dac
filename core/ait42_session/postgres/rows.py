"""Sessions as PostgreSQL rows: the parameters, words and child rows of one session, written
or read inside a caller's transaction. Shared by the repository and the move from JSON files
(``migration``); the columns are the SQLite store's, so ``sqlite_rows`` does most of the work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import psycopg

from .. import sqlite_rows
from ..fulltext import tokens
from ..models import WorktreeSession
from . import sql

__all__ = [
    "MAX_WORD_BYTES",
    "indexable",
    "insert_session",
    "replace_session",
    "session_params",
    "sessions_from_rows",
    "words",
    "write_children",
]

# PostgreSQL keeps at most 256 positions per word, each at most 16383, and words under 2 KiB;
# a whole tsvector must stay under 1 MiB.
_MAX_POSITIONS, _MAX_POSITION, MAX_WORD_BYTES = 256, 16383, 2046
# The tsvector's size as PostgreSQL lays it out: per word a 4-byte entry, its bytes, up to one
# byte of alignment, a 2-byte count and 2 bytes per position; kept clear of the 1 MiB limit.
_WORD_OVERHEAD, _POSITION_BYTES, _TSVECTOR_BUDGET = 7, 2, 1_000_000
_CHILD_STATEMENTS = {"instances": sql.INSTANCES_OF, "chat_history": sql.MESSAGES_OF}


def indexable(token: str) -> bool:
    """Whether PostgreSQL can hold ``token`` in a tsvector."""
    return len(token.encode("utf-8")) <= MAX_WORD_BYTES


def words(text: str | None) -> str | None:
    """A tsvector literal of ``text``'s words with their positions (for phrase ranking).

    A text with more distinct words than a tsvector holds (about 1 MiB of them: a huge log)
    keeps its first ones; the later ones cannot be found by search on this store.
    """
    if text is None:
        return None
    positions: dict[str, list[int]] = defaultdict(list)
    for n, token in enumerate(tokens(text), 1):
        kept = positions[token]
        if len(kept) < _MAX_POSITIONS:
            kept.append(min(n, _MAX_POSITION))
    entries, size = [], 0
    for token, found in positions.items():
        if not indexable(token):
            continue
        size += (
            _WORD_OVERHEAD + len(token.encode("utf-8")) + _POSITION_BYTES * len(found)
        )
        if size > _TSVECTOR_BUDGET:
            break
        entries.append(f"'{token}':{','.join(map(str, found))}")
    return " ".join(entries)


def session_params(
    session: WorktreeSession, ws: str, copy_number: int = 0, file_hash: str | None = None
) -> dict[str, Any]:
    """The session row's parameters: the SQLite store's, plus folded text and task words."""
    params = sqlite_rows.session_params(session, ws, copy_number, file_hash)
    params.update(
        task_folded=session.task.casefold(),
        id_folded=session.id.casefold(),
        agents_folded=params["agent_names"].casefold(),
        task_words=words(session.task),
    )
    return params


def write_children(
    con: psycopg.Connection[Any], pk: int, session: WorktreeSession
) -> None:
    """Make the session's instances and messages exactly ``session``'s."""
    keep = [i.instance_id for i in session.instances]
    con.execute(sql.DELETE_INSTANCES_NOT_IN, {"session_pk": pk, "keep": keep})
    with con.cursor() as cur:
        if session.instances:
            cur.executemany(sql.UPSERT_INSTANCE, [
                {**sqlite_rows.instance_params(pk, i, in_pieces=False), "output_words": words(i.output)}
                for i in session.instances
            ])  # fmt: skip
        count = len(session.chat_history)
        cur.execute(sql.DELETE_MESSAGES_FROM, {"session_pk": pk, "count": count})
        if session.chat_history:
            cur.executemany(sql.UPSERT_MESSAGE, [
                {**sqlite_rows.message_params(pk, n, m), "content_words": words(m.content)}
                for n, m in enumerate(session.chat_history)
            ])  # fmt: skip


def insert_session(
    con: psycopg.Connection[Any],
    ws: str,
    session: WorktreeSession,
    copy_number: int = 0,
    file_hash: str | None = None,
) -> int:
    """Insert the session and its children; its pk. ``copy_number``: which copy of its id it
    is (0 the first); ``file_hash``: the editor file it came from when not its workspace's."""
    params = session_params(session, ws, copy_number, file_hash)
    pk: int = con.execute(sql.INSERT_SESSION, params).fetchone()[0]  # type: ignore[index]
    write_children(con, pk, session)
    return pk


def replace_session(
    con: psycopg.Connection[Any], pk: int, ws: str, session: WorktreeSession
) -> None:
    """Make the stored session ``pk`` exactly ``session``, keeping its place."""
    con.execute(sql.UPDATE_SESSION, {**session_params(session, ws), "pk": pk})
    write_children(con, pk, session)


def sessions_from_rows(
    con: psycopg.Connection[Any], rows: list[Sequence[Any]], ws: str
) -> list[WorktreeSession]:
    """The sessions of ``rows`` (SESSION_COLUMNS), with their children, in the rows' order."""

    def children(name: str, pks: list[int]) -> list[Sequence[Any]]:
        return con.execute(_CHILD_STATEMENTS[name], {"pks": pks}).fetchall()

    return sqlite_rows.assemble_sessions(rows, ws, children)
