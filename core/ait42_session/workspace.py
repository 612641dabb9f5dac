"""Workspace identity: the editor's 16-hex-digit hash of the workspace path."""

from __future__ import annotations

import hashlib
import os
import re

from .errors import ValidationError


# How a workspace hash is written: the first 16 lowercase hex digits of a SHA-256.
WORKSPACE_HASH = re.compile(r"[0-9a-f]{16}")


def compute_workspace_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the canonical path (symlinks resolved) when it exists, else of the path with
    trailing ``/`` removed; the first 16 lowercase hex digits. Same as the editor's backend.
    """
    return workspace_identity(path)[0]


# Path text -> (hash, canonical path, device, inode of the folder it named). Bounded: cleared
# when full (a process sees few workspaces).
_IDENTITIES: dict[str, tuple[str, str, int, int]] = {}
_IDENTITIES_MAX = 1024


def workspace_identity(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(hash, the path it was computed from) — one filesystem look-up for both.

    The canonical path of an existing folder costs a ``realpath`` (a look-up per component)
    and a SHA-256; both are remembered per path text, and reused while one ``stat`` of the
    path still reaches the same folder (device and inode). A path re-pointed elsewhere (a
    symlink changed, a folder replaced) reaches another inode and is resolved anew. Not seen:
    a path re-pointed to the very same folder under another canonical name (a bind mount of
    it), whose hash would change while its inode does not.
    """
    text = os.fspath(path)
    try:
        found = os.stat(text)
    except (OSError, ValueError):
        found = None
    if found is not None:
        known = _IDENTITIES.get(text)
        if known is not None and known[2] == found.st_dev and known[3] == found.st_ino:
            return known[0], known[1]
        normalized = os.path.realpath(text)
    else:
        normalized = text.rstrip("/")
    # Rust's to_string_lossy: bytes that are not UTF-8 become U+FFFD before hashing.
    lossy = os.fsencode(normalized).decode("utf-8", "replace")
    digest = hashlib.sha256(lossy.encode("utf-8")).hexdigest()[:16]
    if found is not None:
        if len(_IDENTITIES) >= _IDENTITIES_MAX:
            _IDENTITIES.clear()
        _IDENTITIES[text] = (digest, lossy, found.st_dev, found.st_ino)
    return digest, lossy


_SPELLINGS: dict[str, tuple[str, ...]] = {}


def spelled_hashes(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The other hashes the editor may have filed this workspace's sessions under: its debate
    runner hashes the working directory as spelled (no canonicalisation, no trimmed slash;
    upstream ait42.rs, execute_debate_rounds), so a workspace opened through a symlink or with
    a trailing slash has a second file. SHA-256 of the path as given, with and without a
    trailing slash, and of its canonical path with one; not the workspace's own hash."""
    text = os.fspath(path)
    known = _SPELLINGS.get(text)
    if known is not None:
        return known
    own, canonical = workspace_identity(text)
    bare = text.rstrip("/") or text
    spellings = (text, bare, bare + "/", canonical.rstrip("/") + "/")
    found = []
    for spelling in spellings:
        lossy = os.fsencode(spelling).decode("utf-8", "replace")
        digest = hashlib.sha256(lossy.encode("utf-8")).hexdigest()[:16]
        if digest != own and digest not in found:
            found.append(digest)
    if len(_SPELLINGS) >= _IDENTITIES_MAX:
        _SPELLINGS.clear()
    _SPELLINGS[text] = result = tuple(found)
    return result


def known_hash(workspace: object) -> str:
    """The hash of a workspace named by path, or by its hash (16 lowercase hex digits that
    name no existing path): the form a store lists a workspace known only by hash in."""
    text = require_workspace_path(workspace)
    if WORKSPACE_HASH.fullmatch(text) and not os.path.exists(text):
        return text
    return workspace_identity(text)[0]


def require_workspace_path(path: object) -> str:
    """The workspace path as text; ValidationError when it is not a non-blank string."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise ValidationError(
            f"workspace_path must be a string, got {type(path).__name__}"
        )
    if not path.strip():
        raise ValidationError("workspace_path must not be blank")
    if "\x00" in path:
        raise ValidationError("workspace_path must not contain NUL characters")
    try:
        os.fsencode(path)  # a lone surrogate (not from undecodable bytes) names no file
    except UnicodeEncodeError as exc:
        raise ValidationError("workspace_path is not a valid file path") from exc
    return path
