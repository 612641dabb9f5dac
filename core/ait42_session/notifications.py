"""Change notifications for the sidecar: ``subscribe {workspacePath}`` and what it sends.

Several editor windows (several sidecars), an import and the debate runner may write one
database. A subscribed sidecar sends the JSON-RPC notification ``sessionsChanged
{workspacePath, dataVersion}`` for each workspace it was asked about, within ``POLL_SECONDS``
of a commit by anyone, its own connection included: a thread of its own polls the store's
``data_version()`` (SQLite's ``PRAGMA data_version`` on its own connection, or PostgreSQL's
change sequence), which changes with every commit to the database. A write to another
workspace of the same database is announced too (the store keeps no version per workspace;
keeping one would cost every write a row more): a board re-reads what it shows, which is
cheap next to the write it missed. ``unsubscribe`` stops them; no thread runs until the
first subscription.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .errors import SessionError
from .workspace import require_workspace_path

__all__ = ["POLL_SECONDS", "Subscriptions"]

log = logging.getLogger("ait42_session.sidecar")

POLL_SECONDS = 0.1  # well inside the 250 ms a board may wait to hear of a change


class Subscriptions:
    """The workspaces a sidecar announces changes of, and the thread that watches."""

    def __init__(self, repo: Any, send: Callable[[dict[str, Any]], None]) -> None:
        self._repo = repo
        self._send = send  # writes one notification line (thread-safe)
        self._paths: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The watcher's last reading. A data version is one connection's count, so only
        # readings of the watcher's own connection are compared (and announced).
        self._version: int | None = None
        self._ready = threading.Event()

    def subscribe(self, workspace_path: str) -> dict[str, Any]:
        """Announce changes for ``workspace_path`` from now on; the data version the
        notifications count from."""
        path = require_workspace_path(workspace_path)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="notifications", daemon=True
                )
                self._thread.start()
        self._ready.wait()
        if self._version is None:  # the store could not be read: answered as the error
            self._repo.data_version()
        with self._lock:
            if path not in self._paths:
                self._paths.append(path)
            return {"workspacePath": path, "dataVersion": self._version}

    def unsubscribe(self, workspace_path: str) -> None:
        """Stop announcing ``workspace_path`` (nothing when it was not subscribed)."""
        path = require_workspace_path(workspace_path)
        with self._lock:
            if path in self._paths:
                self._paths.remove(path)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * POLL_SECONDS)

    def _watch(self) -> None:
        try:
            self._version = self._repo.data_version()
        except SessionError as exc:
            log.warning("cannot read the data version: %s", exc)
        finally:
            self._ready.set()
        while not self._stop.wait(POLL_SECONDS):
            try:
                version = self._repo.data_version()
            except SessionError as exc:  # the store is unwell: say so, go on watching
                log.warning("cannot read the data version: %s", exc)
                continue
            if version == self._version:
                continue
            self._version = version
            with self._lock:
                paths = list(self._paths)
            for path in paths:
                self._send({
                    "jsonrpc": "2.0", "method": "sessionsChanged",
                    "params": {"workspacePath": path, "dataVersion": version},
                })  # fmt: skip
