"""Query values shared by both stores, and the editor's filter and order rules in Python.

Order: the sort key in the asked direction, ties broken by session id in the same direction,
so a page boundary is deterministic on both stores. ``duration`` and ``files_changed`` sort on
``total_duration`` / ``total_files_changed`` with None counting as 0; ``created_at`` and
``updated_at`` sort on the instant, not the string.
"""

from __future__ import annotations

import datetime as _dt
from operator import attrgetter
from typing import Callable, Iterable, Sequence

import msgspec

from .errors import ValidationError
from .models import (
    SESSION_STATUSES,
    SESSION_TYPES,
    WorktreeSession,
    WorktreeSessionFields,
)
from .timestamps import stored_instant_ns, to_date_bound_ns

__all__ = [
    "SessionFilters",
    "SessionSort",
    "SearchHit",
    "SessionSummary",
    "WorkspaceInfo",
    "PruneReport",
    "SORT_FIELDS",
]

SORT_FIELDS = ("created_at", "updated_at", "duration", "files_changed")
SORT_DIRECTIONS = ("asc", "desc")
# Sequences of agent names are kept joined by this separator, which no needle may contain.
AGENT_SEPARATOR = "\x1f"

DateBound = str | _dt.datetime | _dt.date


class SessionFilters(msgspec.Struct, frozen=True):
    """The editor's session-list filters. None (or an empty list) means no filter."""

    types: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    date_from: DateBound | None = None  # created_at >= date_from (inclusive)
    date_to: DateBound | None = None  # created_at <= date_to (inclusive)
    search_query: str | None = (
        None  # case-insensitive substring of task, id or an agent name
    )


class SessionSort(msgspec.Struct, frozen=True):
    field: str = "updated_at"
    direction: str = "desc"


class SearchHit(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    session_id: str
    kind: str  # task | message | output
    snippet: str
    rank: float  # lower is better (bm25 on SQLite)
    message_id: str | None = None
    instance_id: int | None = None


class SessionSummary(WorktreeSessionFields):
    """A session without instances, chat history or extra keys, with child counts."""

    workspace_hash: str | None = None
    instance_count: int = 0
    message_count: int = 0

    @classmethod
    def of(cls, session: WorktreeSession) -> "SessionSummary":
        s = session
        return cls(
            s.id, s.type, s.task, s.status, s.created_at, s.updated_at, s.completed_at, s.model,
            s.timeout_seconds, s.preserve_worktrees, s.winner_id, s.runtime_mix,
            s.total_duration, s.total_files_changed, s.total_lines_added,
            s.total_lines_deleted, s.workspace_hash, len(s.instances), len(s.chat_history),
        )  # fmt: skip


class CheckedQuery(msgspec.Struct, frozen=True):
    """Filters and sort after validation, in the form both stores evaluate."""

    types: tuple[str, ...]
    statuses: tuple[str, ...]
    from_ns: int | None
    to_ns: int | None
    needle: str | None  # casefolded search_query, None for no text filter
    sort_field: str
    descending: bool

    @property
    def needle_matches_nothing(self) -> bool:
        """True when the needle holds a NUL, which no stored task, id or agent name can
        (``validate`` refuses them): the text filter then matches no session, and the SQL
        stores must not hand the needle to their indexes (FTS5 reads a query only up to a
        NUL; PostgreSQL text cannot hold one)."""
        return self.needle is not None and "\x00" in self.needle


class WorkspaceInfo(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """A workspace the store knows: its hash, its path (None until first opened by path, for
    sessions imported by hash), how many sessions it holds, and its latest ``updated_at``.
    ``joined_to``: for a hash whose sessions joined another workspace (another spelling of
    its path, or a rebind), that workspace's hash.
    """

    hash: str
    path: str | None
    joined_to: str | None
    session_count: int
    last_activity: str | None


class PruneReport(msgspec.Struct, rename="camel", gc=False):
    """What ``prune`` deleted (or, in a dry run, would delete): the sessions' ids."""

    session_ids: list[str]
    dry_run: bool = False


def _members(
    values: Iterable[str] | None, allowed: tuple[str, ...], name: str
) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    checked = []
    for value in values:
        if value not in allowed or not isinstance(value, str):
            raise ValidationError(
                f"{name} must hold only {', '.join(allowed)}; got {value!r:.80}"
            )
        if value not in checked:
            checked.append(value)
    return tuple(sorted(checked))


def check_query(
    filters: SessionFilters | None, sort: SessionSort | None
) -> CheckedQuery:
    """Validate filters and sort; ValidationError on an unknown value."""
    filters = filters or SessionFilters()
    sort = sort or SessionSort()
    if not isinstance(filters, SessionFilters):
        raise ValidationError("filters must be a SessionFilters")
    if not isinstance(sort, SessionSort):
        raise ValidationError("sort must be a SessionSort")
    if sort.field not in SORT_FIELDS:
        raise ValidationError(f"sort.field must be one of {', '.join(SORT_FIELDS)}")
    if sort.direction not in SORT_DIRECTIONS:
        raise ValidationError("sort.direction must be asc or desc")
    needle = filters.search_query
    if needle is not None:
        if not isinstance(needle, str):
            raise ValidationError("search_query must be a string")
        needle = needle.casefold() or None
    from_ns = (
        None
        if filters.date_from is None
        else to_date_bound_ns(filters.date_from, "date_from")
    )
    to_ns = (
        None
        if filters.date_to is None
        else to_date_bound_ns(filters.date_to, "date_to")
    )
    return CheckedQuery(
        types=_members(filters.types, SESSION_TYPES, "types"),
        statuses=_members(filters.statuses, SESSION_STATUSES, "statuses"),
        from_ns=from_ns,
        to_ns=to_ns,
        needle=needle,
        sort_field=sort.field,
        descending=sort.direction == "desc",
    )


def check_page(limit: int | None, offset: int) -> tuple[int | None, int]:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be a non-negative integer")
    return limit, offset


def text_matches(needle: str, task: str, session_id: str, agent_names: str) -> bool:
    """True when the casefolded needle is a substring of the task, the id, or one agent name.

    ``agent_names`` holds the session's agent names joined by AGENT_SEPARATOR. Both stores use
    this one function so that they agree on every unicode subtlety of case folding.
    """
    if needle in task.casefold() or needle in session_id.casefold():
        return True
    return any(needle in name.casefold() for name in agent_names.split(AGENT_SEPARATOR))


def joined_agent_names(session: WorktreeSession) -> str:
    return AGENT_SEPARATOR.join(i.agent_name for i in session.instances)


def sort_value(session: WorktreeSession, field: str) -> int:
    return _SORT_KEYS[field](session)


_SORT_KEYS: dict[str, Callable[[WorktreeSession], int]] = {
    "created_at": lambda s: stored_instant_ns(s.created_at),
    "updated_at": lambda s: stored_instant_ns(s.updated_at),
    "duration": lambda s: s.total_duration or 0,
    "files_changed": lambda s: s.total_files_changed or 0,
}
_ID = attrgetter("id")


def matches(session: WorktreeSession, query: CheckedQuery) -> bool:
    """The editor's filter semantics, evaluated in Python (the JSON store's path)."""
    if query.types and session.type not in query.types:
        return False
    if query.statuses and session.status not in query.statuses:
        return False
    if query.from_ns is not None or query.to_ns is not None:
        created = stored_instant_ns(session.created_at)
        if query.from_ns is not None and created < query.from_ns:
            return False
        if query.to_ns is not None and created > query.to_ns:
            return False
    if query.needle is not None:
        return text_matches(
            query.needle, session.task, session.id, joined_agent_names(session)
        )
    return True


def filter_sort_page(
    sessions: Iterable[WorktreeSession],
    query: CheckedQuery,
    limit: int | None,
    offset: int,
) -> list[WorktreeSession]:
    """Filter, order (key, id, then place in the file: copies of a repeated id in the same
    direction, as the SQL stores order them by copy number) and page sessions in Python."""
    if (
        query.types
        or query.statuses
        or query.needle is not None
        or (query.from_ns is not None or query.to_ns is not None)
    ):
        chosen = [s for s in sessions if matches(s, query)]
    else:
        chosen = list(sessions)
    # Two stable sorts, ids first: ties on the key keep the ids' order, in the same direction;
    # ties on both keep the file's order, reversed first for a descending sort.
    if query.descending:
        chosen.reverse()
    chosen.sort(key=_ID, reverse=query.descending)
    chosen.sort(key=_SORT_KEYS[query.sort_field], reverse=query.descending)
    end = None if limit is None else offset + limit
    return chosen[offset:end]
