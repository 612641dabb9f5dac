"""``ait42-session serve``: the store as a sidecar process of the editor, JSON-RPC over stdio.

One JSON-RPC request (or batch) per line on stdin, one response per line on stdout, in the
order the requests came (``rpc.Dispatcher``); nothing else is ever written to stdout (logs go
to stderr). A malformed line gets an error response and the server goes on. End of input
closes the store and ends the process with status 0; SIGTERM (or SIGINT) lets the request in
flight finish and be answered, then does the same. Several sidecars (several editor windows)
may serve one database at once: SQLite in WAL mode, one connection each.

After ``idle_after`` seconds without a request the store does its idle work (SQLite: a
passive WAL checkpoint) on a thread of its own (``_Idler``).

``subscribe {workspacePath}`` makes it send notifications ``sessionsChanged`` on writes by
anyone (``notifications``). Runs where Tauri runs (macOS, Linux, Windows): stdin is read by a thread of its own, in
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
import time
from typing import Any, BinaryIO

from .errors import SessionError
from .notifications import Subscriptions
from .rpc import Dispatcher, encode_line

__all__ = ["serve", "UnavailableStore"]

log = logging.getLogger("ait42_session.sidecar")

_WAKE_SECONDS = 0.2  # how often an idle loop looks whether a signal asked it to stop
# Quiet after a request before the store's idle work (its checkpoint): at the editor's pace
# 0.1 and 0.25 s did alike and best, 0.05 s less well (python -m bench open-loop,
# results/open-loop/); the shorter checkpoints sooner.
IDLE_AFTER_SECONDS = 0.1


def serve(
    repo: Any,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    *,
    omit_nulls: bool = False,
    idle_after: float | None = IDLE_AFTER_SECONDS,
) -> int:
    """Answer requests from ``stdin`` on ``stdout`` until end of input or a signal; close the
    store; the exit status (0). ``idle_after`` seconds without a request after one, the store
    does its idle work (``repo.idle()``: SQLite checkpoints its WAL, so the editor's writes
    rarely pay for it); None: never."""
    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout.buffer
    writing = threading.Lock()  # answers and notifications come from two threads

    def send(data: bytes) -> None:
        with writing:
            _write_all(sink, data + b"\n")

    subscriptions = Subscriptions(repo, lambda message: send(encode_line(message)))
    dispatcher = Dispatcher(repo, omit_nulls=omit_nulls, subscriptions=subscriptions)
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
    # The start of a line not yet ended, in pieces: a line of megabytes arrives in many
    # chunks, and joining it once (not at every chunk) keeps reading it linear.
    parts: list[bytes] = []
    idle_at: float | None = None  # when the store's idle work is due (None: nothing since)
    idler = _Idler(repo)
    try:
        while not stopping:
            wait = _WAKE_SECONDS
            if idle_at is not None:
                wait = min(wait, max(0.0, idle_at - time.monotonic()))
            try:
                chunk = chunks.get(timeout=wait)
            except queue.Empty:
                if idle_at is not None and time.monotonic() >= idle_at:
                    idle_at = None
                    idler.start()
                continue
            if not chunk:  # end of input: a last line without its newline still counts
                rest = b"".join(parts)
                if rest.strip():
                    _answer(dispatcher, rest, send)
                break
            start = 0
            while not stopping and (end := chunk.find(b"\n", start)) >= 0:
                line = b"".join([*parts, chunk[start:end]])
                parts, start = [], end + 1
                if line.strip():
                    _answer(dispatcher, line, send)
            if start < len(chunk):
                parts.append(chunk[start:])
            if idle_after is not None and start:  # a request was answered
                idle_at = time.monotonic() + idle_after
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        subscriptions.close()
        idler.join()
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

    def idle(self) -> None:
        """Nothing was opened."""

    def close(self) -> None:
        """Nothing was opened."""


class _Idler:
    """Runs the store's idle work on one thread of its own (its own SQLite connection), so a
    request that arrives meanwhile is served at once: a passive checkpoint holds up no
    reader or writer, but its copying and fsync take milliseconds that the serving loop
    would otherwise wait out. A call while the work runs asks for one more run after it."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self.wanted = threading.Event()
        self.stopping = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="idle", daemon=True)
            self.thread.start()
        self.wanted.set()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            if self.stopping:
                return
            try:
                self.repo.idle()
            except SessionError as exc:  # the next request will meet it, and be told
                log.warning("idle work failed: %s", exc)

    def join(self) -> None:
        """Stop after the work in progress (the store is closed next)."""
        if self.thread is not None:
            self.stopping = True
            self.wanted.set()
            self.thread.join()


def _answer(dispatcher: Dispatcher, line: bytes, send: Any) -> None:
    response = dispatcher.handle(line)
    if response is not None:
        send(response)


def _write_all(sink: BinaryIO, data: bytes) -> None:
    """Write all of ``data``: a signal that arrives while a large answer waits for the pipe
    makes ``write`` return after part of it (CPython hands back the count written so far).
    """
    view = memoryview(data)
    while view:
        written = sink.write(view)
        view = view[written or 0 :]
    sink.flush()
