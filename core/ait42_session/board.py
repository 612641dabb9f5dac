"""The editor board's objects, turned into the Python API's values and back.

The AIT42 editor's board (upstream ``src/types/worktree.ts``, ``src/services/tauri.ts``) speaks
camelCase JSON: its sessions are the editor's JSON shape; it filters with
``SessionFilters {type?, status?, dateFrom?, dateTo?, searchQuery?}`` (singular keys, each list
an array) and sorts with ``SessionSortOptions {field: 'createdAt'|'updatedAt'|'duration'|
'filesChanged', direction: 'asc'|'desc'}``. This module holds the board's semantics at that
boundary (the sidecar, ``rpc``):

- a ``searchQuery`` is trimmed, and one of only whitespace is no filter;
- ``dateFrom``/``dateTo`` take what the board's inputs produce: ``2025-01-13`` (the whole day,
  inclusive at both ends), ``2025-01-13T10:00`` (that minute, inclusive), or a full RFC 3339
  timestamp; the first two are read in the caller's time zone (``timeZone``: an IANA name such
  as ``Europe/Berlin``, or an offset such as ``+09:00``), UTC when none is given;
- sessions go out as the editor writes them (``editor_files.record_of``: camelCase keys,
  ``null`` for what is missing, keys the editor's structs do not know after the known ones).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import msgspec

from .editor_files import Record, record_of
from .errors import ValidationError
from .models import WorktreeSession
from .queries import SessionFilters, SessionSort

__all__ = [
    "BoardFilters",
    "BoardSort",
    "date_bound",
    "filters_of",
    "session_in",
    "session_out",
    "sort_of",
    "time_zone",
]

SORT_FIELDS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "duration": "duration",
    "filesChanged": "files_changed",
}

_LOCAL = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,9})?)?)?\Z"
)
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})\Z")
_NS = 1_000_000_000


class BoardFilters(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The board's ``SessionFilters``."""

    type: list[str] | None = None
    status: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    search_query: str | None = None


class BoardSort(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The board's ``SessionSortOptions``."""

    field: str
    direction: str


def time_zone(name: str | None) -> _dt.tzinfo:
    """The caller's time zone: an IANA name, an offset (``+09:00``), or UTC for None."""
    if name is None or name in ("UTC", "Z", "z"):
        return _dt.timezone.utc
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = _dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta >= _dt.timedelta(hours=24):
            raise ValidationError(f"timeZone offset out of range: {name!r}")
        return _dt.timezone(-delta if sign == "-" else delta)
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"timeZone is not a known time zone: {name!r:.80}"
        ) from exc


def _utc_text(nanos: int) -> str:
    """An instant (nanoseconds since the epoch) as RFC 3339 UTC with nine fractional digits."""
    seconds, rest = divmod(nanos, _NS)
    moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
        seconds=seconds
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


def _instant_ns(moment: _dt.datetime) -> int:
    delta = moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def date_bound(text: str, *, end: bool, zone: _dt.tzinfo, name: str) -> str:
    """A board date bound as an RFC 3339 instant. Without an offset, ``text`` is local time in
    ``zone`` at the precision given (a day, a minute, a second...): the start of that span for
    ``dateFrom``, its last nanosecond for ``dateTo``, so both ends are inclusive."""
    if not isinstance(text, str):
        raise ValidationError(f"{name} must be a string, got {type(text).__name__}")
    local = _LOCAL.match(text.strip())
    if local is None:
        return (
            text  # an RFC 3339 timestamp (or nonsense, which the query check refuses)
        )
    parts = local.groupdict()
    try:
        day = _dt.date.fromisoformat(parts["date"])
        hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
        second = int(parts["second"] or 0)
        start = _dt.datetime(
            day.year, day.month, day.day, hour, minute, second, tzinfo=zone
        )
    except ValueError as exc:
        raise ValidationError(f"{name} is not a date: {text!r:.80}") from exc
    fraction = parts["fraction"]
    nanos = _instant_ns(start)
    if fraction:
        digits = fraction[1:]
        nanos += int(digits.ljust(9, "0"))
        span = 10 ** (9 - len(digits))
    elif parts["second"] is not None:
        span = _NS
    elif parts["hour"] is not None:
        span = 60 * _NS
    else:  # a whole day, which is not always 24 hours where clocks change
        following = _dt.datetime.combine(
            day + _dt.timedelta(days=1), _dt.time(), tzinfo=zone
        )
        span = _instant_ns(following) - nanos
    return _utc_text(nanos + span - 1 if end else nanos)


def filters_of(
    board: BoardFilters | None, zone_name: str | None = None
) -> SessionFilters | None:
    """The board's filters as the Python API's; None when they filter nothing."""
    if board is None:
        return None
    zone = time_zone(zone_name)
    query = board.search_query.strip() if board.search_query is not None else None
    return SessionFilters(
        types=board.type,
        statuses=board.status,
        date_from=(
            None
            if board.date_from is None
            else date_bound(board.date_from, end=False, zone=zone, name="dateFrom")
        ),
        date_to=(
            None
            if board.date_to is None
            else date_bound(board.date_to, end=True, zone=zone, name="dateTo")
        ),
        search_query=query or None,
    )


def sort_of(board: BoardSort | None) -> SessionSort | None:
    """The board's sort options as the Python API's."""
    if board is None:
        return None
    field = SORT_FIELDS.get(board.field)
    if field is None:
        allowed = ", ".join(SORT_FIELDS)
        raise ValidationError(
            f"sort.field must be one of {allowed}; got {board.field!r:.80}"
        )
    return SessionSort(field, board.direction)


def session_in(data: Any) -> WorktreeSession:
    """A session from the board (the editor's JSON), keys it does not know kept in ``extra``."""
    if not isinstance(data, dict):
        raise ValidationError(
            f"session must be a JSON object, got {type(data).__name__}"
        )
    return WorktreeSession.decode(data)


def session_out(session: WorktreeSession) -> Record:
    """A session as the board receives it: the editor's JSON shape, ready to encode."""
    return record_of(session)
