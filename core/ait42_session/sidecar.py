"""``ait42-session serve``: the store as a sidecar process of the editor, JSON-RPC over stdio.

One JSON-RPC request (or batch) per line on stdin, one response per line on stdout, in the
order the requests came (``rpc.Dispatcher``); nothing else is ever written to stdout (logs go
to stderr). A malformed line gets an error response and the server goes on. End of input
closes the store and ends the process with status 0; SIGTERM (or SIGINT) lets the request in
flight finish and be answered, then does the same. Several sidecars (several editor windows)
may serve one database at once: SQLite in WAL mode, one connection each.

Runs where Tauri runs (macOS, Linux, Windows): stdin is read by a thread of its own, in
blocking reads of the raw file descriptor (Windows pipes have no ``select``; and no Python lock
is held while it waits, so the interpreter can always exit past it), and the serving loop
waits on what it reads with a timeout, so that a signal ends an idle server. ``omit_nulls``
(``serve --omit-nulls``): see ``rpc``.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
from typing import Any, BinaryIO

from .errors import SessionError
from .rpc import Dispatcher

__all__ = ["serve", "UnavailableStore"]

log = logging.getLogger("ait42_session.sidecar")

_WAKE_SECONDS = 0.2  # how often an idle loop looks whether a signal asked it to stop


def serve(
    repo: Any,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    *,
    omit_nulls: bool = False,
) -> int:
    """Answer requests from ``stdin`` on ``stdout`` until end of input or a signal; close the
    store; the exit status (0)."""
    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout.buffer
    dispatcher = Dispatcher(repo, omit_nulls=omit_nulls)
    stopping = []

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: finishing the request in flight, then stopping", signum)
        stopping.append(signum)

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    chunks: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(
        target=_read_chunks, args=(source.fileno(), chunks), name="stdin", daemon=True
    )
    reader.start()
    pending = b""
    try:
        while not stopping:
            try:
                chunk = chunks.get(timeout=_WAKE_SECONDS)
            except queue.Empty:
                continue
            if not chunk:  # end of input: a last line without its newline still counts
                if pending.strip():
                    _answer(dispatcher, pending, sink)
                break
            pending += chunk
            while b"\n" in pending and not stopping:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    _answer(dispatcher, line, sink)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        repo.close()
    return 0


def _read_chunks(fd: int, chunks: "queue.Queue[bytes]") -> None:
    """Hand over what arrives on ``fd`` until end of input (or a read error), then ``b""``."""
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.put(chunk)
    except OSError as exc:
        log.error("cannot read stdin: %s", exc)
    finally:
        chunks.put(b"")


class UnavailableStore:
    """Stands in for a store that could not be opened (damaged, newer than this code, no
    room): every call raises the error that opening raised, so the editor is told with each
    answer, by its class, instead of losing its sidecar at start."""

    def __init__(self, error: SessionError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return unavailable

    def close(self) -> None:
        """Nothing was opened."""


def _answer(dispatcher: Dispatcher, line: bytes, sink: BinaryIO) -> None:
    response = dispatcher.handle(line)
    if response is not None:
        _write_all(sink, response + b"\n")


def _write_all(sink: BinaryIO, data: bytes) -> None:
    """Write all of ``data``: a signal that arrives while a large answer waits for the pipe
    makes ``write`` return after part of it (CPython hands back the count written so far).
    """
    view = memoryview(data)
    while view:
        written = sink.write(view)
        view = view[written or 0 :]
    sink.flush()
