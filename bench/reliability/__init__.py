"""Reliability figures: what the editor's JSON store and the SQLite store lose, side by side.

Two scenarios, each run on both stores with the same deterministic writes:

1. **Concurrent processes** — ``--processes`` processes each make ``--writes`` mixed writes
   (create a session, add a chat message, change an instance's status, update a session) on one
   store at once, as several editor windows do. Each process writes only its own sessions, so
   every write that is acknowledged (returned without an error) must be visible at the end.
2. **Killed writers** — one process makes the same kind of writes and is killed with SIGKILL at
   a random moment, ``--kills`` times, on the same store. The writer acknowledges each write
   that returned by appending a line to a file with flush + fsync; after each kill the store is
   opened again (SQLite: ``verify_integrity()``) and every acknowledged write must be there.

Counted per store: writes attempted, acknowledged, errors that reached the caller, writes lost
(acknowledged but not visible, and not overwritten by a later write of the same field) and the
sessions among them, sessions left half written, files left empty and files or databases left
unreadable. The Markdown table is printed and saved with the raw figures under
``results/reliability/`` (``report.md``, ``results.json``).

``python -m bench reliability [--processes 8] [--writes 500] [--kills 100] [--quick]``; this
package also runs alone (``python -m bench.reliability ...``). Exit status 1 when the SQLite
store lost, damaged or refused anything, else 0. Self-contained: it imports only
``ait42_session`` and the standard library (and ``bench.environment`` to save the report), and
its worker processes load this package by path, nothing else of ``bench/``.

Modules: ``writes`` (the deterministic writes, applied through the public API), ``workers``
(the worker process, starting it, its acknowledgements), ``losses`` (a store read back against
what was acknowledged; the figures), ``runs`` (the two scenarios), ``report`` (Markdown,
environment, the saved files), ``cli`` (the command line).
"""

from __future__ import annotations

from .cli import main
from .losses import Figures, half_written, lost_writes, read_state
from .report import environment, markdown
from .runs import make_workspace, run, run_concurrent, run_kills, store_path
from .workers import Acks, read_acks, run_worker, start_worker, wait_until
from .writes import (
    INSTANCES,
    STORES,
    apply_op,
    iter_ops,
    new_session,
    open_store,
    plan_ops,
)

__all__ = [
    "INSTANCES", "STORES", "Acks", "Figures", "apply_op", "environment", "half_written",
    "iter_ops", "lost_writes", "main", "make_workspace", "markdown", "new_session", "open_store",
    "plan_ops", "read_acks", "read_state", "run", "run_concurrent", "run_kills", "run_worker",
    "start_worker", "store_path", "wait_until",
]  # fmt: skip
