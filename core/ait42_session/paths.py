"""Where the stores live by default, and private (owner-only) files and folders."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DatabaseError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ait42_home() -> Path:
    """``$AIT42_HOME``, defaulting to ``~/.ait42``."""
    configured = os.environ.get("AIT42_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".ait42"


def default_db_path() -> Path:
    return ait42_home() / "sessions.db"


def default_sessions_dir() -> Path:
    return ait42_home() / "sessions"


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and missing parents as 0700 (existing folders are left as they are)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise DatabaseError(f"cannot create folder {folder}: {exc}") from exc
        os.chmod(folder, PRIVATE_DIR_MODE)
