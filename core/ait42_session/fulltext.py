"""Turning any user text into safe full-text terms, for FTS5 and for the JSON store's scan.

A term is a whitespace-separated word of the user's text, split into tokens the way FTS5's
``unicode61`` tokenizer does (letters and digits; everything else separates). A term matches
where its tokens stand next to each other, so ``pane_pid``, ``foo.bar`` and ``CamelCase`` are
found as written. Every term must match (AND). FTS5 operators in the text (``AND``, ``OR``,
``NEAR``, ``*``, ``-``, quotes, parentheses) are plain words here, never syntax.
"""

from __future__ import annotations

import re

MAX_TERMS = 64  # longer texts keep their first 64 terms
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


def query_terms(text: str) -> list[tuple[str, ...]]:
    """The user's text as terms, each a tuple of tokens; empty when nothing is searchable."""
    terms: list[tuple[str, ...]] = []
    for word in text.split():
        term = tuple(tokens(word))
        if term and term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


def fts5_expression(terms: list[tuple[str, ...]]) -> str:
    """An FTS5 MATCH expression: every term as a quoted phrase, ANDed."""
    return " ".join('"' + " ".join(term).replace('"', '""') + '"' for term in terms)
