"""Agent output as the SQLite store keeps it: in pieces, each zstd-compressed when that is
worth it.

An output is stored as its pieces (``pieces``: cut where a grown output keeps its cuts), one
row each in ``output_pieces`` (migration 0010) with its place, its length, a digest of its
text, the lead the index holds with it, and its text (``pack``). A save compares digests and
rewrites from the first piece that changed; an append rewrites the last piece and adds new
ones (``StoredPiece``, ``stored_pieces``).

Outputs are the bulk of a session (tens to hundreds of KB of logs each), and text compresses
well, so an output of ``COMPRESS_FROM`` bytes or more is stored as a zstd frame (a BLOB);
shorter ones, and outputs that do not shrink, stay TEXT. A BLOB in ``instances.output`` is
always such a frame, so reading needs no flag: ``unpack`` returns TEXT as it is and
decompresses a BLOB.

The schema calls ``unpack`` as the SQL function ``ait42_unpack`` (the output index's triggers
hand it the text, and search reads the kept hits' outputs for their snippets) and migration
0006 calls ``pack`` as ``ait42_pack``, so every connection that opens the database registers
both (``register_functions``). Writes compress in Python, where the text is at hand.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import apsw
import apsw.ext
import zstandard

from .pieces import pieces

__all__ = [
    "COMPRESS_FROM",
    "DamagedOutput",
    "StoredPiece",
    "digest",
    "pack",
    "stored_pieces",
    "unpack",
    "register_functions",
]

COMPRESS_FROM = 512  # bytes of UTF-8; below this a frame's header eats most of the gain
LEVEL = 3  # zstd's default: 2.7x on generated agent output, about 1 ms per 200 KB here


class DamagedOutput(ValueError):
    """A stored output that does not decompress; ``Database`` reports it as
    ``StoreCorruptedError`` naming the file."""


_local = threading.local()  # zstandard's (de)compressors are not safe across threads


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        # The checksum (4 bytes a frame) makes a damaged frame an error, never other text.
        compressor = _local.compressor = zstandard.ZstdCompressor(
            level=LEVEL, write_content_size=True, write_checksum=True
        )
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def pack(text: str | None) -> str | bytes | None:
    """What to store for the text ``text``: a zstd frame when that is smaller, else the text
    (``ait42_pack``, for migration 0006; pieces are packed by ``stored_pieces``)."""
    if text is None:
        return None
    return _packed(text, text.encode("utf-8"))


# The output index's triggers ask ait42_unpack for the text of each frame just written; the
# frames this thread made last are answered from memory instead of being decompressed again.
# Keyed by length, so a read's unpack costs a dict lookup, and bytes are compared only on a
# length match. A frame is only ever the compression of its text, so an equal frame is the
# same text.
RECENT_FRAMES = 256  # a save of many pieces is indexed by one statement after all are packed


def _remember(frame: bytes, text: str) -> None:
    recent = getattr(_local, "recent", None)
    if recent is None or len(recent) >= RECENT_FRAMES:
        recent = _local.recent = {}
    recent[len(frame)] = (frame, text)


def _recalled(frame: bytes) -> str | None:
    recent = getattr(_local, "recent", None)
    found = recent.get(len(frame)) if recent else None
    return found[1] if found is not None and found[0] == frame else None


def unpack(value: Any) -> Any:
    """The output stored as ``value``: TEXT and NULL as they are, a BLOB decompressed.

    A BLOB that is not a zstd frame of UTF-8 text was not written by this code: damage.
    """
    if value.__class__ is not bytes:
        return value
    text = _recalled(value)
    if text is not None:
        return text
    try:
        return _decompressor().decompress(value).decode("utf-8")
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise DamagedOutput(
            f"a stored agent output does not decompress ({exc})"
        ) from exc


def digest(data: bytes) -> bytes:
    """What tells a stored piece unchanged without reading it: 16 bytes of SHA-256 of its
    UTF-8 (a change detector, fast in hardware; not a security boundary)."""
    return hashlib.sha256(data).digest()[:16]


class StoredPiece(NamedTuple):
    """One piece of an output as ``output_pieces`` holds it."""

    number: int
    start: int  # where it begins in the output, in characters
    size: int  # its length in characters
    digest: bytes
    lead: str  # the tokens before it that the index holds with it
    body: str | bytes  # its text, or a zstd frame of it (``pack``)


def stored_pieces(
    window: str, start: int = 0, number: int = 0, offset: int = 0
) -> Iterator[StoredPiece]:
    """The pieces of ``window`` from ``start`` on, as stored, numbered from ``number``.

    ``window`` is the output, or the part of it from the stored lead of the piece at
    ``start`` on; ``offset`` is where ``window`` begins in the output.
    """
    for n, piece in enumerate(pieces(window, start), number):
        text = window[piece.start : piece.end]
        data = text.encode("utf-8")
        yield StoredPiece(
            n, offset + piece.start, len(text), digest(data),
            window[piece.lead : piece.start], _packed(text, data),
        )  # fmt: skip


def _packed(text: str, data: bytes) -> str | bytes:
    if len(data) < COMPRESS_FROM:
        return text
    frame = _compressor().compress(data)
    if len(frame) >= len(data):
        return text
    _remember(frame, text)
    return frame


def _output_pieces(output: Any = None) -> Iterator[StoredPiece]:
    """The table-valued function ``ait42_output_pieces(output)`` (migration 0010): the pieces
    of a stored output value (TEXT or a zstd frame), as stored."""
    text = unpack(output)
    if text is not None:
        yield from stored_pieces(text)


_output_pieces.columns = StoredPiece._fields  # type: ignore[attr-defined]
_output_pieces.column_access = apsw.ext.VTColumnAccess.By_Index  # type: ignore[attr-defined]


def register_functions(con: apsw.Connection) -> None:
    """Make ``ait42_pack`` and ``ait42_unpack`` callable on ``con``, from queries, views and
    triggers alike (innocuous: each reads nothing but its argument, so ``trusted_schema=OFF``
    allows them), and ``ait42_output_pieces`` from queries."""
    for name, function in (("ait42_pack", pack), ("ait42_unpack", unpack)):
        con.create_scalar_function(
            name, function, 1, deterministic=True, flags=apsw.SQLITE_INNOCUOUS
        )
    apsw.ext.make_virtual_module(con, "ait42_output_pieces", _output_pieces)
