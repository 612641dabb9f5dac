"""Importing the editor's JSON session files into a database store, as often as needed.

Import can run at any time, not only when the database file is new: each source file's SHA-256
and size are recorded (table ``import_sources``) in the same transaction as the sessions it
brought in. A file unchanged since a clean import is skipped unread; a changed one brings in
its new and changed sessions (a changed session replaces the stored one, keeping its place;
one identical to the stored copy counts as skipped). Sessions missing from a file are never
deleted from the database, and the JSON files are only ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..editor_files import JSON_WHITESPACE, SESSION_FILE, loads_strict
from ..errors import MigrationError, SessionError
from ..models import WorktreeSession
from ..timestamps import now_rfc3339
from .targets import FileTransaction, Refused, Target, target_of

__all__ = [
    "ImportIssue",
    "ImportReport",
    "ProgressHook",
    "REPEATED_ID",
    "UNKNOWN_VALUE",
    "NO_PATH",
    "WARNING_KINDS",
    "import_json",
]

_BOM = b"\xef\xbb\xbf"


# --- reports --------------------------------------------------------------------------------


# What a warning is about: something the editor's files hold that the store keeps as it is.
REPEATED_ID = "repeated id"
UNKNOWN_VALUE = "unknown value"
NO_PATH = "no known path"  # a workspace known only by its hash
WARNING_KINDS = (REPEATED_ID, UNKNOWN_VALUE, NO_PATH)


@dataclass(frozen=True)
class ImportIssue:
    """A problem with one source file (``index`` None) or one session in it (its position).
    ``kind`` is None for an error (nothing of it was stored), or one of ``WARNING_KINDS`` for
    a warning (stored as it is, and said)."""

    file: str
    index: int | None
    reason: str
    kind: str | None = None

    def __str__(self) -> str:
        where = (
            self.file if self.index is None else f"{self.file} [session {self.index}]"
        )
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    """What an import brought in.

    ``files``: files that brought in at least one session; ``sessions``, ``instances``,
    ``messages``: what was written (new sessions and changed ones, whole); ``replaced``: how
    many of those sessions replaced a stored one; ``skipped``: sessions already stored and
    identical (a file unchanged since the last import counts all its sessions here);
    ``errors``: every problem that kept a file or a session out, in file order;
    ``warnings``: what was stored as the file holds it and is worth knowing (a repeated id's
    later copy, a value the contract does not list), in file order, said once: by the import
    that stored it. ``files_seen``: source files found;
    ``unchanged_files``: of those, skipped unread because unchanged since their last import.
    ``backup_path``: the backup taken before this import, if one was.
    """

    files: int = 0
    sessions: int = 0
    instances: int = 0
    messages: int = 0
    skipped: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    replaced: int = 0
    warnings: list[ImportIssue] = field(default_factory=list)
    files_seen: int = 0
    unchanged_files: int = 0
    dry_run: bool = field(default=False, compare=False)
    backup_path: str | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when everything the files hold is in the store (warnings aside)."""
        return not self.errors

    def warning_counts(self) -> dict[str, int]:
        """How many warnings of each kind (every kind, zero included)."""
        counts = dict.fromkeys(WARNING_KINDS, 0)
        for warning in self.warnings:
            counts[str(warning.kind)] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` output."""
        return asdict(self)


# --- progress -------------------------------------------------------------------------------


class TqdmLike(Protocol):
    """What import_json uses of a tqdm bar."""

    total: Any

    def update(self, n: int = 1) -> Any: ...


ProgressHook = Callable[[int, int, Path], Any] | TqdmLike


class _Progress:
    """Drives ``progress``: a tqdm-like object, a callable, or None."""

    def __init__(self, hook: ProgressHook | None, total: int) -> None:
        self._hook, self._total, self._done = hook, total, 0
        if hook is not None and hasattr(hook, "update"):
            try:
                hook.total = total  # type: ignore[union-attr]
                refresh = getattr(hook, "refresh", None)
                if callable(refresh):
                    refresh()
            except AttributeError:
                pass

    def advance(self, path: Path) -> None:
        self._done += 1
        if self._hook is None:
            return
        if hasattr(self._hook, "update"):
            self._hook.update(1)  # type: ignore[union-attr]
        else:
            self._hook(self._done, self._total, path)  # type: ignore[operator]


# --- import ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A source file that cannot be parsed as the editor's array of sessions."""


class _Rollback(Exception):
    """Raised at the end of a dry run's transaction to undo it, carrying the outcome."""

    def __init__(self, outcome: _FileOutcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


@dataclass
class _Candidate:
    index: int
    session: WorktreeSession
    text: str  # canonical JSON, to compare with the stored copy
    occurrence: int  # which copy of its id in the file (0 the first)
    warnings: list[ImportIssue]  # said when it is stored


@dataclass
class _FileOutcome:
    sessions: int = 0
    replaced: int = 0
    instances: int = 0
    messages: int = 0
    skipped: int = 0
    issues: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)


def _parse(raw: bytes) -> list[Any]:
    """The file's top-level JSON array; _Unreadable with the reason otherwise."""
    if raw.startswith(_BOM):
        raise _Unreadable(
            "starts with a UTF-8 byte order mark (the editor never writes one)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip(JSON_WHITESPACE):
        raise _Unreadable(
            "the file is empty (a write interrupted by a crash leaves this)"
        )
    if "\x00" in text:
        raise _Unreadable(
            f"contains NUL bytes (first at character {text.index(chr(0))})"
        )
    try:
        data = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(
            f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise _Unreadable(f"not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise _Unreadable(
            f"holds a JSON {type(data).__name__}, not an array of sessions"
        )
    return data


def _canonical(session: WorktreeSession) -> str:
    return json.dumps(session.to_json(), ensure_ascii=False)


def _candidates(
    file: str, items: list[Any]
) -> tuple[list[_Candidate], list[ImportIssue]]:
    """The sessions of a parsed file that can be stored (every copy of a repeated id, values
    the contract does not list kept with a warning), and the ones that cannot."""
    found: list[_Candidate] = []
    issues: list[ImportIssue] = []
    first_at: dict[str, int] = {}
    copies: dict[str, int] = {}
    for index, item in enumerate(items):
        unknown: list[str] = []
        try:
            session = WorktreeSession.decode(item).validate(unknown=unknown)
            text = _canonical(session)
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            issues.append(
                ImportIssue(file, index, f"text cannot be stored as UTF-8: {exc}")
            )
            continue
        except (SessionError, TypeError, ValueError, RecursionError) as exc:
            issues.append(ImportIssue(file, index, str(exc) or type(exc).__name__))
            continue
        warnings = [
            ImportIssue(file, index, f"kept as written: {value}", UNKNOWN_VALUE)
            for value in unknown
        ]
        copy_number = copies.get(session.id, 0)
        copies[session.id] = copy_number + 1
        if copy_number:
            warnings.append(ImportIssue(
                file, index,
                f"session id {session.id!r} repeats the one at index {first_at[session.id]}"
                f" (kept as copy {copy_number}; the editor's commands act on the first)",
                REPEATED_ID,
            ))  # fmt: skip
        else:
            first_at[session.id] = index
        found.append(_Candidate(index, session, text, copy_number, warnings))
    return found, issues


def _stored(tx: FileTransaction, file: str) -> dict[tuple[str, int], tuple[int, str]]:
    """Stored sessions from the file: (id, which copy of it in file order) -> (pk, canonical
    JSON)."""
    seen: dict[str, int] = {}
    found = {}
    for pk, session in tx.stored(file):
        occurrence = seen.get(session.id, 0)
        seen[session.id] = occurrence + 1
        found[session.id, occurrence] = (pk, _canonical(session))
    return found


def _write_file(
    tx: FileTransaction,
    source: _Source,
    items: int,
    candidates: list[_Candidate],
    issues: int,
    dry_run: bool,
) -> _FileOutcome:
    """The file's transaction: store what is new or changed, record the file."""
    outcome = _FileOutcome()
    stored = _stored(tx, source.ws)
    if candidates and tx.ensure_workspace(source.ws):
        outcome.warnings.append(ImportIssue(
            source.name, None,
            "a workspace known only by its hash: its sessions appear when the editor opens it"
            " (a debate runner's file under another spelling of the path joins it then), or"
            " after `ait42-session rebind HASH PATH`",
            NO_PATH,
        ))  # fmt: skip
    for candidate in candidates:
        session = candidate.session
        pk, text = stored.get((session.id, candidate.occurrence), (None, None))
        if text == candidate.text:
            outcome.skipped += 1
            continue
        try:
            tx.store(source.ws, session, pk)
        except Refused as exc:
            reason = f"rejected by the database: {exc}"
            outcome.issues.append(ImportIssue(source.name, candidate.index, reason))
            continue
        outcome.sessions += 1
        outcome.warnings += candidate.warnings
        outcome.replaced += pk is not None
        outcome.instances += len(session.instances)
        outcome.messages += len(session.chat_history)
    tx.put_source({
        "path": source.key, "ws": source.ws, "sha256": source.sha256, "size": source.size,
        "session_count": items, "issue_count": issues + len(outcome.issues),
        "now": now_rfc3339(),
    })  # fmt: skip
    if dry_run:
        raise _Rollback(outcome)
    return outcome


@dataclass
class _Source:
    """One source file as read once: its bytes and their digest, its name and workspace."""

    path: Path
    raw: bytes
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.raw).hexdigest()

    @property
    def name(self) -> str:
        """The path as given, for reports."""
        return str(self.path)

    @property
    def key(self) -> str:
        """The absolute path, as recorded in import_sources."""
        return str(self.path.absolute())

    @property
    def ws(self) -> str:
        """The workspace hash: the file name without ``.json``."""
        return self.path.stem

    @property
    def size(self) -> int:
        return len(self.raw)


def _source_files(folder: Path) -> list[Path]:
    """The editor's session files in ``folder`` (``<16 lowercase hex>.json``), sorted."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError as exc:
        raise MigrationError(f"no sessions folder at {folder}") from exc
    except OSError as exc:
        raise MigrationError(f"cannot list {folder}: {exc.strerror or exc}") from exc
    return [Path(e.path) for e in entries if SESSION_FILE.match(e.name) and e.is_file()]


class _Importer:
    """One run of import_json: the files in order, each in its own transaction."""

    def __init__(self, target: Target, report: ImportReport, dry_run: bool) -> None:
        self.target, self.report, self.dry_run = target, report, dry_run
        self.backup_due = not dry_run and target.needs_backup()

    def run_file(self, path: Path) -> None:
        report = self.report
        try:
            source = _Source(path, path.read_bytes())
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
            report.errors.append(ImportIssue(str(path), None, reason))
            return
        if self._unchanged(source, report):
            return
        try:
            items = _parse(source.raw)
        except _Unreadable as exc:
            report.errors.append(ImportIssue(source.name, None, str(exc)))
            return
        candidates, issues = _candidates(source.name, items)
        if self.backup_due:
            report.backup_path = self.target.take_backup()
            self.backup_due = False
        outcome = self._transaction(source, len(items), candidates, len(issues))
        report.errors += sorted(issues + outcome.issues, key=lambda i: i.index or 0)
        report.warnings += outcome.warnings
        report.files += outcome.sessions > 0
        for name in ("sessions", "replaced", "instances", "messages", "skipped"):
            setattr(report, name, getattr(report, name) + getattr(outcome, name))

    def _unchanged(self, source: _Source, report: ImportReport) -> bool:
        """True (and counted as skipped) when the file is as it was at a clean last import."""
        row = self.target.source_state(source.key)
        if row is None:
            return False
        sha256, size, session_count, issue_count = row
        if (sha256, size, issue_count) != (source.sha256, source.size, 0):
            return False
        report.skipped += session_count
        report.unchanged_files += 1
        return True

    def _transaction(self, source: _Source, items: int, candidates: list[_Candidate],
                     issues: int) -> _FileOutcome:  # fmt: skip

        def work(tx: FileTransaction) -> _FileOutcome:
            return _write_file(tx, source, items, candidates, issues, self.dry_run)

        try:
            return self.target.import_file(work)
        except _Rollback as done:
            return done.outcome
        except SessionError as exc:
            raise type(exc)(f"importing {source.name}: {exc}") from exc


def import_json(
    sessions_dir: str | os.PathLike[str],
    repo: object,
    *,
    dry_run: bool = False,
    progress: ProgressHook | None = None,
) -> ImportReport:
    """Import the editor's JSON session files from ``sessions_dir`` into the store ``repo``.

    ``repo`` is a SqliteSessionRepository or PostgresSessionRepository (of a migration
    wrapper, pass its database store; anything else is a ValidationError).
    Files named ``<16 lowercase hex digits>.json`` are read in name order, each imported in
    one transaction; the name is the workspace hash, so the sessions appear when that
    workspace is opened by path. A file that cannot be parsed (empty, truncated, not UTF-8,
    a byte order mark, NUL bytes, not an array) is reported as ``ImportIssue(file, None,
    reason)`` and changes nothing; a session that breaks the rules is reported with its index
    and skipped, the rest of its file imports. The first import into a SQLite database that
    already holds sessions first takes a backup (SQLite online backup, mode 0600, next to the
    database; its path goes to ``migration_metadata.json_backup_path`` and
    ``report.backup_path``); a PostgreSQL server's backups are left to its operator.

    ``dry_run=True`` runs every transaction and rolls it back: the database is unchanged and
    the report is the one a real run would return (no backup is taken).

    ``progress`` is told after each file (read, skipped or failed alike): a tqdm-like object
    (anything with ``update``) gets ``total`` set to the number of files up front and
    ``update(1)`` per file; any other callable is called as ``progress(done, total, path)``.

    A MigrationError is raised when ``sessions_dir`` cannot be listed or the backup fails; a
    storage failure (DatabaseError, StoreCorruptedError) stops the run at that file, whose
    transaction is rolled back — files before it stay imported and a re-run continues.
    """
    target = target_of(repo)
    files = _source_files(Path(sessions_dir))
    report = ImportReport(files_seen=len(files), dry_run=dry_run)
    importer = _Importer(target, report, dry_run)
    ticker = _Progress(progress, len(files))
    for path in files:
        importer.run_file(path)
        ticker.advance(path)
    if report.sessions and not dry_run:
        target.mark_imported()
    return report
