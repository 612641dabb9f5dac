"""Turning any user text into safe full-text terms, for FTS5 and for the JSON store's scan.

A term is a whitespace-separated word of the user's text, split into tokens the way FTS5's
``unicode61`` tokenizer does (letters and digits; everything else separates). A term matches
where its tokens stand next to each other, so ``pane_pid``, ``foo.bar`` and ``CamelCase`` are
found as written. Every term must match (AND). FTS5 operators in the text (``AND``, ``OR``,
``NEAR``, ``*``, ``-``, quotes, parentheses) are plain words here, never syntax.

``match`` is the same search as a scan of one text, for the JSON store (which has no index):
whether every term occurs, and the snippet FTS5's ``snippet()`` would make of the text.

A term keeps its first ``MAX_TERM_TOKENS`` tokens: outputs are indexed in pieces whose leads
hold that many tokens less one (``pieces``), so a longer term could not be found across a cut.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence

MAX_TERMS = 64  # longer texts keep their first 64 terms
MAX_TERM_TOKENS = 64  # a longer term keeps its first 64 tokens
SNIPPET_TOKENS = 12
_TOKEN = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """``text`` case-folded one character to one, as unicode61 folds (``ß`` stays ``ß``).

    ``str.casefold`` writes ``ß`` as ``ss`` and ``ﬁ`` as ``fi``, tokens the FTS5 index never
    holds; a character whose full folding is longer keeps its one-character lower case, or
    itself. Positions in the result are positions in ``text``.
    """
    folded = text.casefold()
    if len(folded) == len(text):
        return folded
    return "".join(_fold_char(char) for char in text)


def _fold_char(char: str) -> str:
    for candidate in (char.casefold(), char.lower()):
        if len(candidate) == 1:
            return candidate
    return char


def tokens(text: str) -> list[str]:
    """Case-folded tokens of ``text``, as unicode61 splits it."""
    return _TOKEN.findall(fold(text))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where each token of ``text`` begins and ends (positions in ``text``)."""
    return [m.span() for m in _TOKEN.finditer(fold(text))]


def query_terms(text: str) -> list[tuple[str, ...]]:
    """The user's text as terms, each a tuple of tokens; empty when nothing is searchable."""
    terms: list[tuple[str, ...]] = []
    for word in text.split():
        term = tuple(tokens(word)[:MAX_TERM_TOKENS])
        if term and term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


def fts5_expression(terms: list[tuple[str, ...]], prefix: bool = False) -> str:
    """An FTS5 MATCH expression: every term as a quoted phrase, ANDed; with ``prefix``, the
    last phrase's last token is a prefix (``"..."*``), for search as you type."""
    phrases = ['"' + " ".join(term).replace('"', '""') + '"' for term in terms]
    if prefix and phrases:
        phrases[-1] += "*"
    return " ".join(phrases)


# --- the same search as a scan of one text (the JSON store has no index) ----------------

_ELLIPSIS = "…"


# An occurrence of a term in a document: (first token, token after the last, term number).
_Hit = tuple[int, int, int]


def match(
    doc: str,
    terms: list[tuple[str, ...]],
    prefix: bool = False,
    pieces: Callable[[], Sequence[tuple[int, int]]] | None = None,
) -> tuple[int, str] | None:
    """(occurrences, snippet) when every term occurs in ``doc``; None otherwise. With
    ``prefix``, the last token of the last term matches any word it begins. With ``pieces``
    (making the ``(begin, end)`` ranges of ``doc`` that ``pieces.pieces`` indexes an output
    in; called only for a match), the occurrences are those of the piece holding the most."""
    folded = fold(doc)  # same length as doc: spans fit the original text
    spans = [m.span() for m in _TOKEN.finditer(folded)]
    words = [folded[start:end] for start, end in spans]
    found: list[_Hit] = []
    for number, term in enumerate(terms):
        size = len(term)
        last_as_prefix = prefix and number == len(terms) - 1
        starts = [
            i
            for i in range(len(words) - size + 1)
            if tuple(words[i : i + size - 1]) == term[:-1]
            and (
                words[i + size - 1].startswith(term[-1])
                if last_as_prefix
                else words[i + size - 1] == term[-1]
            )
        ]
        if not starts:
            return None
        found += [(i, i + size, number) for i in starts]
    found.sort()
    occurrences = len(found) if pieces is None else _best_piece(spans, found, pieces())
    return occurrences, _snippet(doc, spans, found)


def _best_piece(
    spans: list[tuple[int, int]], found: list[_Hit], pieces: Sequence[tuple[int, int]]
) -> int:
    """The most occurrences (of any term) wholly inside one of ``pieces``."""
    starts = [spans[begin][0] for begin, _, _ in found]  # sorted: found is
    best = 0
    for begin, end in pieces:
        count = 0
        for k in range(bisect_left(starts, begin), len(found)):
            if starts[k] >= end:
                break
            count += spans[found[k][1] - 1][1] <= end
        best = max(best, count)
    return best


def _window_score(found: list[_Hit], start: int, size: int) -> tuple[int, int, int]:
    """FTS5's snippet score of the window at ``start``: 1000 per distinct term, 1 per repeat;
    with the first and end token of the occurrences inside it."""
    score, seen, first, last = 0, set(), -1, -1
    for begin, end, number in found:
        if start <= begin < start + size:
            score += 1 if number in seen else 1000
            seen.add(number)
            first = begin if first < 0 else first
            last = end
    return score, first, last


def _sentence_starts(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Tokens that begin a sentence as FTS5 sees it: the first, and any after ". " or ": "."""
    starts = [0]
    for k in range(1, len(spans)):
        gap = text[spans[k - 1][1] : spans[k][0]]
        stripped = gap.rstrip(" \t\n\r")
        if len(stripped) < len(gap) and stripped[-1:] in (".", ":"):
            starts.append(k)
    return starts


def _best_window(text: str, spans: list[tuple[int, int]], found: list[_Hit]) -> int:
    """First token of the snippet window, chosen as FTS5's ``snippet()`` chooses it."""
    size, count = SNIPPET_TOKENS, len(spans)
    sentences = _sentence_starts(text, spans) if count > size else []
    best_score, best_start = 0, 0
    for begin, _, _ in found:
        score, first, last = _window_score(found, begin, size)
        if score > best_score:
            adjusted = first - int((size - (last - first)) / 2)  # C division truncates
            best_score, best_start = score, max(0, min(adjusted, count - size))
        # A window that starts at the sentence holding the occurrence wins a bonus.
        sentence = max((s for s in sentences if s <= begin), default=begin)
        if sentence < begin:
            score = _window_score(found, sentence, size)[0] + (
                120 if sentence == 0 else 100
            )
            if score > best_score:
                best_score, best_start = score, sentence
    return best_start


def _snippet(text: str, spans: list[tuple[int, int]], found: list[_Hit]) -> str:
    """About SNIPPET_TOKENS tokens of ``text`` with every occurrence in ``[`` ``]``, "…" where
    cut; overlapping occurrences share one bracket. Mirrors FTS5's ``snippet()``."""
    lo = _best_window(text, spans, found)
    hi = min(len(spans), lo + SNIPPET_TOKENS) - 1
    merged: list[list[int]] = []  # [first token, last token]
    for begin, end, _ in found:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end - 1)
        else:
            merged.append([begin, end - 1])
    pieces = [_ELLIPSIS] if lo > 0 else []
    position = spans[lo][0] if lo > 0 else 0
    for first, last in merged:
        first, last = max(first, lo), min(last, hi)
        if first > last:
            continue
        begin, stop = spans[first][0], spans[last][1]
        pieces += [text[position:begin], "[", text[begin:stop], "]"]
        position = stop
    if hi == len(spans) - 1:
        pieces.append(text[position:])
    else:
        pieces += [text[position : spans[hi][1]], _ELLIPSIS]
    return "".join(pieces)
