"""Workspace identity: the editor's 16-hex-digit hash of the workspace path."""

from __future__ import annotations

import hashlib
import os

from .errors import ValidationError


def compute_workspace_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the canonical path (symlinks resolved) when it exists, else of the path with
    trailing ``/`` removed; the first 16 lowercase hex digits. Same as the editor's backend."""
    return workspace_identity(path)[0]


def workspace_identity(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(hash, the path it was computed from) — one filesystem look-up for both."""
    text = os.fspath(path)
    if os.path.exists(text):
        normalized = os.path.realpath(text)
    else:
        normalized = text.rstrip("/")
    # Rust's to_string_lossy: bytes that are not UTF-8 become U+FFFD before hashing.
    lossy = os.fsencode(normalized).decode("utf-8", "replace")
    return hashlib.sha256(lossy.encode("utf-8")).hexdigest()[:16], lossy


def require_workspace_path(path: object) -> str:
    """The workspace path as text; ValidationError when it is not a non-blank string."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise ValidationError(f"workspace_path must be a string, got {type(path).__name__}")
    if not path.strip():
        raise ValidationError("workspace_path must not be blank")
    if "\x00" in path:
        raise ValidationError("workspace_path must not contain NUL characters")
    try:
        os.fsencode(path)  # a lone surrogate (not from undecodable bytes) names no file
    except UnicodeEncodeError as exc:
        raise ValidationError("workspace_path is not a valid file path") from exc
    return path
