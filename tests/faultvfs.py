"""A SQLite VFS that fails on command: the fault injection SQLite's own test suite does.

``FaultVFS`` wraps the default VFS (``apsw.VFS`` with base ``""``, so WAL and shared memory
keep working) and passes every call through until a ``Fault`` is armed. An armed fault lets
``skip`` matching calls through, then fails the next ``count`` of them (``None``: every one
until lifted, SQLite's "persistent" mode):

- ``write``: ``xWrite`` raises SQLITE_IOERR_WRITE (an I/O error while writing);
- ``full``: ``xWrite`` raises SQLITE_FULL (the disk is full);
- ``sync``: ``xSync`` raises SQLITE_IOERR_FSYNC;
- ``short_read``: ``xRead`` returns nothing, as when the file ends before the asked range
  (APSW zero-fills the buffer and reports SQLITE_IOERR_SHORT_READ, which SQLite reads as
  "past the end of the file": the page comes back as zeros);
- ``read``: ``xRead`` raises SQLITE_IOERR_READ;
- ``stop``: the process stops itself with SIGSTOP just before the matching ``xWrite`` or
  ``xSync`` would run, so that a parent can SIGKILL it at exactly that point (crash tests).

``files`` limits a fault to some files by kind (``main``, ``wal``, ``journal``, ``other``).
Tests only: every read and write goes through Python. Run as a program, this file is the child
process of the crash tests (see the end of the file).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from dataclasses import dataclass, field

import apsw

KINDS = ("write", "full", "sync", "short_read", "read", "stop")
ALL_FILES = ("main", "wal", "journal", "other")
_ERROR_CODES = {
    "write": apsw.SQLITE_IOERR_WRITE,
    "full": apsw.SQLITE_FULL,
    "sync": apsw.SQLITE_IOERR_FSYNC,
    "read": apsw.SQLITE_IOERR_READ,
}
_METHOD_OF = {
    "write": "xWrite",
    "full": "xWrite",
    "sync": "xSync",
    "short_read": "xRead",
    "read": "xRead",
}
_names = itertools.count()


@dataclass
class Fault:
    """What to fail: ``kind`` (see KINDS), after ``skip`` matching calls, ``count`` times."""

    kind: str
    skip: int = 0
    count: int | None = None
    files: tuple[str, ...] = ALL_FILES
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {KINDS}")

    def methods(self) -> tuple[str, ...]:
        return ("xWrite", "xSync") if self.kind == "stop" else (_METHOD_OF[self.kind],)


def _file_kind(flags: int) -> str:
    if flags & apsw.SQLITE_OPEN_MAIN_DB:
        return "main"
    if flags & apsw.SQLITE_OPEN_WAL:
        return "wal"
    if flags & (apsw.SQLITE_OPEN_MAIN_JOURNAL | apsw.SQLITE_OPEN_SUPER_JOURNAL):
        return "journal"
    return "other"


class FaultVFS(apsw.VFS):
    """The default VFS, with one armable fault; also counts calls per (method, file kind)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"fault-{os.getpid()}-{next(_names)}"
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._seen = 0
        self.calls: dict[tuple[str, str], int] = {}
        super().__init__(self.name, base="")

    def xOpen(
        self, name: apsw.URIFilename | str | None, flags: list[int]
    ) -> "FaultFile":
        return FaultFile(self, name, flags)

    # --- arming --------------------------------------------------------------------------

    def arm(self, fault: Fault) -> Fault:
        with self._lock:
            self._fault, self._seen = fault, 0
        return fault

    def lift(self) -> None:
        with self._lock:
            self._fault = None

    def armed(self, fault: Fault) -> "_Armed":
        """``with vfs.armed(Fault("write")):`` — lifted on leaving the block."""
        return _Armed(self, fault)

    def reset_counts(self) -> None:
        with self._lock:
            self.calls = {}

    def count(self, method: str, files: tuple[str, ...] = ALL_FILES) -> int:
        return sum(
            n for (m, kind), n in self.calls.items() if m == method and kind in files
        )

    def close(self) -> None:
        self.lift()
        self.unregister()

    # --- called by FaultFile --------------------------------------------------------------

    def _should_fail(self, method: str, file_kind: str) -> Fault | None:
        with self._lock:
            key = (method, file_kind)
            self.calls[key] = self.calls.get(key, 0) + 1
            fault = self._fault
            if (
                fault is None
                or method not in fault.methods()
                or file_kind not in fault.files
            ):
                return None
            self._seen += 1
            if self._seen <= fault.skip:
                return None
            if fault.count is not None and fault.fired >= fault.count:
                return None
            fault.fired += 1
            return fault


class _Armed:
    def __init__(self, vfs: FaultVFS, fault: Fault) -> None:
        self.vfs, self.fault = vfs, fault

    def __enter__(self) -> Fault:
        return self.vfs.arm(self.fault)

    def __exit__(self, *exc_info: object) -> None:
        self.vfs.lift()


class FaultFile(apsw.VFSFile):
    def __init__(
        self, vfs: FaultVFS, name: apsw.URIFilename | str | None, flags: list[int]
    ):
        self._vfs = vfs
        self._kind = _file_kind(flags[0])
        super().__init__("", name, flags)

    def xRead(self, amount: int, offset: int) -> bytes:
        fault = self._vfs._should_fail("xRead", self._kind)
        if fault is not None and fault.kind == "read":
            raise apsw.exception_for(_ERROR_CODES["read"])
        data = super().xRead(amount, offset)
        if fault is not None and fault.kind == "short_read":
            return b""
        return data

    def xWrite(self, data: bytes, offset: int) -> None:
        fault = self._vfs._should_fail("xWrite", self._kind)
        if fault is not None:
            _fail(fault)
        super().xWrite(data, offset)

    def xSync(self, flags: int) -> None:
        fault = self._vfs._should_fail("xSync", self._kind)
        if fault is not None:
            _fail(fault)
        super().xSync(flags)


def _fail(fault: Fault) -> None:
    if fault.kind == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)  # the parent SIGKILLs us here
        return
    raise apsw.exception_for(_ERROR_CODES[fault.kind])


# --- a child program for crash tests -----------------------------------------------------------
#
# ``python tests/faultvfs.py STORE PATH WORKSPACE ACK_FILE STOP_AT [checkpoint]`` makes three
# writes, acknowledging each (a line in ACK_FILE, flushed and fsynced), then the "in flight"
# write with the process set to stop itself (SIGSTOP) at a chosen point so that the parent can
# SIGKILL it exactly there. SQLite: before the write or sync numbered STOP_AT (from 0) of the
# database or WAL file, through FaultVFS. JSON: after STOP_AT bytes of the editor's in-place
# rewrite (0: just after the file was truncated). With ``checkpoint`` (SQLite) the in-flight
# write commits and is acknowledged, and the stop comes inside the checkpoint that follows.


def crash_sessions() -> tuple[list[object], object]:
    """Three small sessions, then a large one that spans many database pages."""
    from ait42_session import ChatMessage, WorktreeInstance, WorktreeSession

    def session(sid: str, size: int) -> WorktreeSession:
        stamp = "2025-01-13T10:00:00Z"
        return WorktreeSession(
            id=sid, type="ensemble", task=f"task of {sid}", status="running", created_at=stamp,
            updated_at=stamp,
            instances=[WorktreeInstance(n, f"/wt/{n}", f"b{n}", f"agent-{n}", "running", f"t{n}",
                                        output=f"{sid} output {n} " * size) for n in range(3)],
            chat_history=[ChatMessage(f"{sid}-m{n}", "assistant", f"{sid} says {n} " * size, stamp)
                          for n in range(10)],
        )  # fmt: skip

    return [session(f"acked-{n}", 5) for n in range(3)], session("in-flight", 400)


class _StopMidWrite:
    """The JSON store's file object, stopping the process after ``at`` bytes of its write."""

    def __init__(self, fd: int, at: int) -> None:
        self.fd, self.at = fd, at

    def write(self, data: bytes) -> int:
        os.write(self.fd, data[: self.at])
        os.kill(os.getpid(), signal.SIGSTOP)
        os.write(self.fd, data[self.at :])
        return len(data)

    def __enter__(self) -> "_StopMidWrite":
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


def _child(argv: list[str]) -> int:
    from ait42_session import JsonSessionRepository, SqliteSessionRepository

    store, path, workspace, ack_file, stop_at = argv[:5]
    checkpoint = argv[5:] == ["checkpoint"]
    ack = os.open(ack_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def acknowledge(what: str) -> None:
        os.write(ack, f"{what}\n".encode())
        os.fsync(ack)

    acked, in_flight = crash_sessions()
    vfs = FaultVFS() if store == "sqlite" else None
    repo = (
        SqliteSessionRepository.with_path(path, vfs=vfs.name)
        if vfs is not None
        else JsonSessionRepository(path)
    )
    for session in acked:
        repo.create_session(workspace, session)
        acknowledge(session.id)
    if vfs is not None:
        if checkpoint:
            repo.create_session(workspace, in_flight)
            acknowledge(in_flight.id)
            vfs.arm(Fault("stop", skip=int(stop_at), files=("main", "wal")))
            repo.pool.optimize()
            acknowledge("checkpointed")
            return 0
        vfs.arm(Fault("stop", skip=int(stop_at), files=("main", "wal")))
    else:
        os.fdopen = lambda fd, mode="r": _StopMidWrite(fd, int(stop_at))  # type: ignore[assignment]
    repo.create_session(workspace, in_flight)
    acknowledge(in_flight.id)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_child(sys.argv[1:]))
