"""Snippets for hits of an index that keeps no copy of its text (the output index).

FTS5's ``snippet()`` needs the text and the places the query matched in it. The output index
is contentless (migration 0007), so the outputs of the hits a search keeps are put in a
private in-memory FTS5 table with the same tokenizer, and the same ``snippet()`` call runs
there: the same tokens and matches, hence the same snippets as an index holding the text.
Only the kept hits (at most the search's limit) are tokenized, and the table is emptied by
rolling back, so it never holds more than one search's texts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import apsw

from . import sql

__all__ = ["snippets"]

_local = threading.local()  # one in-memory database per thread, as connections are


def _scratch() -> apsw.Connection:
    con = getattr(_local, "con", None)
    if con is None:
        con = apsw.Connection(":memory:")
        con.execute(sql.SCRATCH_TABLE)
        _local.con = con
    return con


def snippets(
    params: dict[str, Any], texts: Iterable[tuple[int, str | None]]
) -> list[tuple[int, str]]:
    """``(rowid, snippet)`` of each of ``texts`` (``(rowid, text)``) that matches
    ``params["query"]``, for the rowids in ``params["rowids"]``."""
    con = _scratch()
    con.execute("BEGIN")
    try:
        con.executemany(sql.SCRATCH_INSERT, texts)
        return con.execute(sql.SNIPPETS_SCRATCH, params).fetchall()
    finally:
        con.execute("ROLLBACK")
