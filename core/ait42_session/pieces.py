"""Long text in pieces: where an agent's output is cut, for storage and for search.

An output is cut into pieces of about ``PIECE_CHARS`` characters, each ending just after the
first space or newline at or past that length (the last piece ends with the text). A cut
depends only on the text before it, so an output that grows by appending keeps every cut but
the last: appending rewrites the last piece and adds new ones, and only those are indexed
again. A cut is never inside a token (it follows whitespace).

Search indexes each piece with the ``LEAD_TOKENS`` tokens before it in front (its *lead*), so
a term of up to ``LEAD_TOKENS + 1`` tokens that crosses a cut is found whole in the piece
where it ends (``fulltext.MAX_TERM_TOKENS`` caps a query term at that). Which outputs match
a query is decided over the whole output; an output is ranked by its best piece (each store by
its own measure: bm25 on SQLite, occurrences in the JSON store's scan).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from .fulltext import MAX_TERM_TOKENS, token_spans

__all__ = ["PIECE_CHARS", "LEAD_TOKENS", "Piece", "cuts", "pieces"]

PIECE_CHARS = 16_384  # a 1 KB append re-indexes and recompresses at most about this much
LEAD_TOKENS = MAX_TERM_TOKENS - 1
_LEAD_WINDOW = 1_024  # characters looked at first for a lead; widened when they hold too few


class Piece(NamedTuple):
    """One piece of a text: ``text[start:end]``, indexed as ``text[lead:end]``."""

    lead: int
    start: int
    end: int


def pieces(text: str, start: int = 0) -> Iterator[Piece]:
    """The pieces of ``text`` from ``start`` (0, or where a piece begins) to its end.

    ``text`` may be a window of a longer output that begins at a token (the stored lead of
    the piece at ``start``): leads are found inside it, and none reaches before it.
    """
    for begin, end in cuts(text, start):
        yield Piece(_lead(text, begin), begin, end)


def cuts(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """Where the pieces of ``text`` from ``start`` begin and end, without their leads (what a
    save compares with the stored pieces)."""
    size = len(text)
    while start < size:
        end = _cut(text, start)
        yield start, end
        start = end


def _cut(text: str, start: int) -> int:
    """Where the piece beginning at ``start`` ends: after the first space or newline at or
    past ``PIECE_CHARS`` characters, or at the end of the text."""
    at = start + PIECE_CHARS - 1
    space = text.find(" ", at)
    # a newline only matters before that space: never scan past it
    newline = text.find("\n", at, len(text) if space < 0 else space)
    found = newline if newline >= 0 else space
    return found + 1 if found >= 0 else len(text)


def _lead(text: str, start: int) -> int:
    """Where the ``LEAD_TOKENS`` tokens before ``start`` begin (0 when fewer stand before)."""
    if start == 0:
        return 0
    window = _LEAD_WINDOW
    while True:
        begin = max(0, start - window)
        spans = token_spans(text[begin:start])
        # The window's first token may be cut by the window: it counts only at the text's start.
        if len(spans) > LEAD_TOKENS or begin == 0:
            if len(spans) <= LEAD_TOKENS:
                return 0
            return begin + spans[-LEAD_TOKENS][0]
        window *= 4
