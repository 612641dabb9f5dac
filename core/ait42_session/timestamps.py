"""RFC 3339 timestamps as the editor writes them, turned into comparable instants.

The editor's backend writes ``2025-01-13T10:00:00.123456789+00:00`` (nanoseconds) and its web
front end ``2025-01-13T10:00:00.123Z``; both are stored as given and compared as integer
nanoseconds since the Unix epoch, so offsets and precisions order correctly.
"""

from __future__ import annotations

import datetime as _dt
import re

from .errors import ValidationError

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))\Z"
)
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_NS_PER_S = 1_000_000_000
# Instants compare as signed 64-bit nanoseconds (SQLite's integers): 1677-09-21 to 2262-04-11.
_MIN_NS, _MAX_NS = -(2**63), 2**63 - 1


# Timestamps parsed lately, by text: the editor saves a whole session at every change, so a
# chat history's timestamps come back save after save (and each is read twice per save: to
# validate it and to store its instant). Only valid ones are kept; emptied when full.
_PARSED: dict[str, int] = {}
_PARSED_MAX = 8192


def to_instant_ns(value: str, field: str = "timestamp") -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp; ValidationError if it is not one,
    or if it falls outside the years 1677-2262 that 64-bit nanoseconds can hold."""
    instant = _PARSED.get(value) if value.__class__ is str else None
    if instant is not None:
        return instant
    instant = _instant_ns(value, field)
    if not _MIN_NS <= instant <= _MAX_NS:
        raise ValidationError(f"{field} is outside the years 1677-2262: {value[:64]!r}")
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[value] = instant
    return instant


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_DIGITS = frozenset("0123456789")


def stored_instant_ns(value: str) -> int:
    """``to_instant_ns`` of a stored timestamp, for ordering and filtering: the shapes the
    editor writes (``...Z``, ``...+00:00``, up to nine fractional digits) parse in compiled
    code (``datetime.fromisoformat``); anything else takes ``to_instant_ns``, which raises
    ValidationError for text that names no instant. Both give the same instant for every
    RFC 3339 timestamp; this one also orders other ISO 8601 forms by their meaning."""
    try:
        moment = _dt.datetime.fromisoformat(value)
    except (ValueError, TypeError):
        return to_instant_ns(value)
    if moment.tzinfo is None:
        return to_instant_ns(value)
    delta = moment - _EPOCH
    nanos = (
        (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    ) * 1000
    # fromisoformat keeps microseconds; a longer fraction's 7th to 9th digits are added here.
    if value[19:20] == "." and value[20:27].isdigit():
        end = 27
        while end < 29 and value[end : end + 1] in _DIGITS:
            end += 1
        nanos += int(value[26:end].ljust(3, "0"))
    return nanos


def _instant_ns(value: str, field: str) -> int:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}")
    match = _RFC3339.match(value)
    if match is None:
        raise ValidationError(f"{field} is not an RFC 3339 timestamp: {value[:64]!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = (
        match.groups()
    )
    try:
        days = _dt.date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError as exc:
        raise ValidationError(
            f"{field} has an impossible date: {value[:64]!r}"
        ) from exc
    h, mi, s = int(hour), int(minute), int(second)
    if h > 23 or mi > 59 or s > 60:
        raise ValidationError(f"{field} has an impossible time: {value[:64]!r}")
    seconds = days * 86_400 + h * 3_600 + mi * 60 + s
    if not zulu:
        oh, om = int(off_h), int(off_m)
        if oh > 23 or om > 59:
            raise ValidationError(f"{field} has an impossible offset: {value[:64]!r}")
        offset = oh * 3_600 + om * 60
        seconds -= offset if sign == "+" else -offset
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return seconds * _NS_PER_S + nanos


def now_rfc3339() -> str:
    """The current instant as RFC 3339 UTC with microseconds (``...+00:00``)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def to_date_bound_ns(value: str | _dt.datetime | _dt.date, field: str) -> int:
    """A filter bound: an RFC 3339 string, an aware datetime, or a date (midnight UTC); one
    beyond the years 1677-2262 is held at the nearest end (every stored instant is inside).
    """
    return min(max(_bound_ns(value, field), _MIN_NS), _MAX_NS)


def _bound_ns(value: str | _dt.datetime | _dt.date, field: str) -> int:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValidationError(f"{field} must be timezone-aware")
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (
            delta.days * 86_400 + delta.seconds
        ) * _NS_PER_S + delta.microseconds * 1000
    if isinstance(value, _dt.date):
        return (value.toordinal() - _EPOCH_ORDINAL) * 86_400 * _NS_PER_S
    return _instant_ns(value, field)
