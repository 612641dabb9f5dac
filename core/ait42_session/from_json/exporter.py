"""Writing a database store back as the editor's JSON files: the way back from the move.

One file per workspace, ``<workspace_hash>.json``, in the editor's own format and in stored
order, so that a file the editor wrote comes back byte for byte after an import and export.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import editor_files
from ..editor_files import write_atomic
from ..errors import DatabaseError
from ..models import WorktreeSession
from ..paths import make_private_dirs
from .targets import Snapshot, target_of

__all__ = ["ExportReport", "editor_json", "export_json", "write_atomic"]


@dataclass
class ExportReport:
    """``files`` written (one per workspace that has sessions) holding ``sessions`` sessions."""

    files: int = 0
    sessions: int = 0


def editor_json(sessions: Sequence[WorktreeSession]) -> bytes:
    """A workspace file as the editor writes it (serde_json's pretty form, no final newline)."""
    return editor_files.encode([editor_files.record_of(s) for s in sessions])


def _fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def export_json(repo: object, out_dir: str | os.PathLike[str]) -> ExportReport:
    """Write every workspace that has sessions to ``out_dir/<workspace_hash>.json``, and
    sessions that joined a workspace from a debate runner's file under another spelling of its
    path back to that file (as the editor wrote them).

    ``repo`` is a SqliteSessionRepository or PostgresSessionRepository (of a migration
    wrapper, pass its database store). The editor's format (``editor_json``), sessions in
    stored order (the order they were imported or created).
    ``out_dir`` is created 0700 if missing (an existing folder keeps its mode); each file is
    written atomically and is 0600. Everything comes from one read snapshot. Exporting into
    the editor's sessions folder (``$AIT42_HOME/sessions``) is the way back to the JSON store.
    Raises DatabaseError when a file cannot be written.
    """
    target = target_of(repo)
    folder = Path(out_dir)
    make_private_dirs(folder)
    if not folder.is_dir():
        raise DatabaseError(f"{folder} is not a folder")

    def work(snapshot: Snapshot) -> ExportReport:
        report = ExportReport()
        for file in snapshot.files():
            sessions = snapshot.sessions(file)
            write_atomic(editor_files.session_file(folder, file), editor_json(sessions))
            report.files += 1
            report.sessions += len(sessions)
        return report

    report = target.export(work)
    _fsync_dir(folder)
    return report
