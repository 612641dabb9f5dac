"""The ``ait42-session`` command line: import, export, verify, optimize, purge, stats, search,
serve, workspaces, prune, backup, restore.

Each command opens the store, calls one library function and prints the result (``--json``
for scripts). ``--db`` names a SQLite file or a PostgreSQL server (``postgresql://...``); every
command but ``backup`` and ``restore`` (SQLite's own) works on either. Exit status: 0 success, 1 a reported failure (import problems, a failed check,
a library error, printed as one line on stderr), 2 bad usage (argparse's own).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from . import __version__
from .backup import backup, restore
from .duplicates import RULES
from .errors import SessionError
from .health import store_stats, verify_store
from .migration import ImportReport, export_json, import_json
from .paths import default_db_path, default_sessions_dir
from .sidecar import IDLE_AFTER_SECONDS, UnavailableStore, serve
from .sqlite_repo import SqliteSessionRepository

__all__ = ["build_parser", "main"]

PROG = "ait42-session"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandFailed(Exception):
    """A failure the command reports on stderr as one line, exiting 1."""


# --- output ---------------------------------------------------------------------------------


def _emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> None:
    """Print rows as aligned columns; all-number columns right-aligned."""
    body = [[str(cell) for cell in row] for row in rows]
    if header:
        body.insert(0, list(header))
    if not body:
        return
    columns = range(len(body[0]))
    widths = [max(len(row[i]) for row in body) for i in columns]
    data = body[1:] if header else body
    numeric = [all(row[i].lstrip("-").isdigit() for row in data) for i in columns]
    for row in body:
        cells = [
            cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


# --- opening the store ----------------------------------------------------------------------


SERVER_SCHEMES = ("postgresql://", "postgres://")


def _on_server(args: argparse.Namespace) -> bool:
    """Whether --db names a PostgreSQL server rather than a SQLite file."""
    return bool(args.db) and str(args.db).startswith(SERVER_SCHEMES)


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if args.db else default_db_path()


def _connect(args: argparse.Namespace) -> Any:
    """The PostgreSQL store at --db (its schema created or upgraded)."""
    from .postgres import PostgresSessionRepository

    try:
        return PostgresSessionRepository.connect(args.db)
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc


def _open_existing(args: argparse.Namespace) -> Any:
    """The store at --db; a missing SQLite file is an error (only import creates one)."""
    if _on_server(args):
        return _connect(args)
    path = _db_path(args)
    if not path.is_file():
        raise CommandFailed(
            f"no database at {path} (run `{PROG} import` first, or pass --db)"
        )
    return SqliteSessionRepository.with_path(path)


def _sqlite_only(args: argparse.Namespace, what: str) -> None:
    if _on_server(args):
        raise CommandFailed(
            f"{what} works on a SQLite file; for a PostgreSQL server use pg_dump and pg_restore"
        )


@contextlib.contextmanager
def _store_for_import(args: argparse.Namespace) -> Iterator[Any]:
    """The store to import into; a dry run against a missing database uses a throwaway one."""
    if _on_server(args):
        with _connect(args) as repo:
            yield repo
        return
    path = _db_path(args)
    if args.dry_run and not path.exists():
        with (
            tempfile.TemporaryDirectory(prefix="ait42-dry-run-") as scratch,
            SqliteSessionRepository.with_path(Path(scratch) / "sessions.db") as repo,
        ):
            yield repo
        return
    with SqliteSessionRepository.with_path(path) as repo:
        yield repo


class _PlainProgress:
    """A one-line counter on stderr, when tqdm is not installed."""

    def __call__(self, done: int, total: int, path: Path) -> None:
        end = "\n" if done == total else ""
        print(f"\rimporting {done}/{total} files", end=end, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A progress hook for import_json: a tqdm bar on a terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield _PlainProgress()
        return
    with tqdm(
        total=0, unit="file", desc="importing", file=sys.stderr, leave=False
    ) as bar:
        yield bar


# --- commands -------------------------------------------------------------------------------


def _print_import(report: ImportReport, source: Path) -> None:
    note = " (dry run: nothing was written)" if report.dry_run else ""
    done = "to import" if report.dry_run else "imported"
    print(f"Import from {source}{note}")
    _table([
        ("source files", report.files_seen),
        ("unchanged files", report.unchanged_files),
        (f"files {done}", report.files),
        (f"sessions {done}", report.sessions),
        ("  replacing stored", report.replaced),
        ("instances", report.instances),
        ("messages", report.messages),
        ("skipped (already stored)", report.skipped),
        ("problems", len(report.errors)),
        *((f"warnings: {kind}", n) for kind, n in report.warning_counts().items()),
    ])  # fmt: skip
    if report.backup_path:
        print(f"Backup of the database before this first import: {report.backup_path}")
    if report.errors:
        would = "would be" if report.dry_run else "was"
        print(f"Problems (nothing of these {would} imported):")
        for issue in report.errors:
            print(f"  {issue}")
    if report.warnings:
        kept = "would be kept" if report.dry_run else "kept"
        print(f"Warnings (stored as the files hold them, {kept}):")
        for issue in report.warnings:
            print(f"  {issue}")


def cmd_import(args: argparse.Namespace) -> int:
    source = (
        Path(args.sessions_dir).expanduser()
        if args.sessions_dir
        else default_sessions_dir()
    )
    with (
        _store_for_import(args) as repo,
        _progress(not args.json and not args.no_progress) as bar,
    ):
        report = import_json(source, repo, dry_run=args.dry_run, progress=bar)
    ok = report.ok and not (args.strict and report.warnings)
    if args.json:
        _emit_json({
            "source": str(source), **report.to_dict(),
            "warning_counts": report.warning_counts(), "ok": ok,
        })  # fmt: skip
    else:
        _print_import(report, source)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    out_dir = Path(args.out_dir).expanduser()
    with _open_existing(args) as repo:
        report = export_json(repo, out_dir)
    if args.json:
        _emit_json(
            {
                "out_dir": str(out_dir),
                "files": report.files,
                "sessions": report.sessions,
            }
        )
    else:
        print(
            f"Exported {report.sessions} sessions to {report.files} files in {out_dir}"
        )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        report = verify_store(repo)
    if args.json:
        _emit_json(report.to_dict())
        return EXIT_OK if report.ok else EXIT_FAILED
    ok = lambda good: "ok" if good else "FAILED"  # noqa: E731
    rows: list[tuple[str, Any]] = [
        ("integrity check", ok(report.integrity == ["ok"])),
        ("foreign keys", ok(report.foreign_key_violations == 0)),
    ]
    rows += [(f"full-text index {name}", ok(good)) for name, good in report.fts.items()]
    rows.append(
        ("substring index rows", ok(report.trigram_rows == report.counts["sessions"]))
    )
    rows += [(name, count) for name, count in report.counts.items()]
    rows += [(f"orphan {name}", count) for name, count in report.orphans.items()]
    _table(rows)
    for line in report.integrity if report.integrity != ["ok"] else []:
        print(f"  {line}")
    for note in report.notes:
        print(f"  note: {note}")
    print("OK" if report.ok else "PROBLEMS FOUND")
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_optimize(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        before = store_stats(repo)
        freed = (repo.database if _on_server(args) else repo.pool).optimize()
        after = store_stats(repo)
    sizes = {
        "db_bytes_before": before.db_bytes, "wal_bytes_before": before.wal_bytes,
        "db_bytes_after": after.db_bytes, "wal_bytes_after": after.wal_bytes,
        "bytes_freed": freed,
    }  # fmt: skip
    if args.json:
        _emit_json(sizes)
    else:
        print(f"Optimized {after.path}: freed {_size(freed)}; database {_size(before.db_bytes)} "
              f"-> {_size(after.db_bytes)}, WAL {_size(before.wal_bytes)} -> "
              f"{_size(after.wal_bytes)}")  # fmt: skip
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        if _on_server(args):
            repo.database.optimize()
            note = ("VACUUM ran; PostgreSQL makes the space of deleted rows reusable but does "
                    "not overwrite it")  # fmt: skip
        else:
            repo.pool.purge()
            note = "deleted and replaced text is gone from the database and its WAL"
    if args.json:
        _emit_json({"purged": True, "note": note})
    else:
        print(f"Purged: {note}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        stats = store_stats(repo)
    if args.json:
        _emit_json(stats.to_dict())
        return EXIT_OK
    print(f"Database {stats.path} (schema {stats.schema_version}, "
          f"migration status {stats.migration_status})")  # fmt: skip
    files: list[tuple[str, Any]] = [("database size", _size(stats.db_bytes))]
    if not _on_server(args):
        files = [
            ("database file", _size(stats.db_bytes)),
            ("WAL file", _size(stats.wal_bytes)),
            ("shared-memory file", _size(stats.shm_bytes)),
            ("pages (free)", f"{stats.page_count} ({stats.freelist_pages}) x {stats.page_size} B"),
        ]  # fmt: skip
    _table(files + [
        ("imported JSON files", stats.imported_files),
        ("JSON files with problems", stats.files_with_problems),
        ("backup", stats.json_backup_path or "-"),
    ])  # fmt: skip
    print()
    rows = [(w.hash, w.sessions, w.instances, w.messages, w.path or "(imported, not opened yet)")
            for w in stats.workspaces]  # fmt: skip
    totals = stats.totals
    rows.append(
        ("total", totals["sessions"], totals["instances"], totals["messages"], "")
    )
    _table(rows, header=("workspace", "sessions", "instances", "messages", "path"))
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        if not repo.workspace_known(args.workspace):
            raise CommandFailed(
                f"unknown workspace {args.workspace}: the store holds no session of it "
                f"(`{PROG} workspaces` lists the ones it knows)"
            )
        hits = repo.search(
            args.workspace, args.text, limit=args.limit, prefix=args.prefix
        )
    if args.json:
        _emit_json([msgspec.structs.asdict(hit) for hit in hits])
        return EXIT_OK
    for hit in hits:
        where = hit.kind
        if hit.message_id is not None:
            where += f" {hit.message_id}"
        if hit.instance_id is not None:
            where += f" #{hit.instance_id}"
        print(f"{hit.session_id}\t{where}\t{' '.join(hit.snippet.split())}")
    if not hits:
        print("no matches", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING,
        format="ait42-session serve: %(message)s",
    )  # fmt: skip
    try:
        repo: Any = (
            _connect(args)
            if _on_server(args)
            else SqliteSessionRepository.with_path(_db_path(args))
        )
    except (
        SessionError,
        CommandFailed,
    ) as exc:  # answered with every request, so the editor learns why
        logging.getLogger("ait42_session.sidecar").error(
            "the store cannot be opened: %s", exc
        )
        repo = UnavailableStore(exc)
    return serve(repo, omit_nulls=args.omit_nulls, idle_after=args.idle_after or None)


def _idle_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 3600, got {text!r}")
    return seconds


def cmd_workspaces(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        workspaces = repo.list_workspaces()
    if args.json:
        _emit_json([msgspec.structs.asdict(w) for w in workspaces])
        return EXIT_OK
    rows = [(w.hash, w.session_count, w.last_activity or "-", _where(w)) for w in workspaces]
    _table(rows, header=("workspace", "sessions", "last activity", "path"))
    return EXIT_OK


def _where(workspace: Any) -> str:
    if workspace.joined_to:
        return f"(joined {workspace.joined_to})"
    return workspace.path or "(no known path: imported, not opened yet; see rebind)"


def cmd_duplicates(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        if args.resolve:
            groups = repo.resolve_duplicates(args.workspace, dry_run=args.dry_run)
        else:
            groups = repo.duplicates(args.workspace)
    if args.json:
        _emit_json({
            "resolved": args.resolve and not args.dry_run,
            "groups": [group.to_dict() for group in groups],
        })  # fmt: skip
        return EXIT_OK
    if not groups:
        print("No repeated ids to resolve." if args.resolve else "No repeated ids.")
        return EXIT_OK
    for group in groups:
        print(f"{group.workspace_hash}  {group.session_id}  {len(group.copies)} copies: "
              f"{group.pattern}")  # fmt: skip
        rows = [
            (f"  [{n}]", copy.type, copy.status, copy.updated_at, len(copy.instances),
             len(copy.chat_history), copy.task[:48])
            for n, copy in enumerate(group.copies)
        ]  # fmt: skip
        _table(rows)
    patterns = dict.fromkeys(group.pattern for group in groups)
    print()
    for pattern in patterns:
        print(f"{pattern}: {RULES[pattern]}")
    if args.resolve:
        done = "Would resolve" if args.dry_run else "Resolved"
        print(f"\n{done} {len(groups)} repeated ids.")
    else:
        resolvable = sum(group.resolution is not None for group in groups)
        print(f"\n{resolvable} of {len(groups)} can be resolved by a rule (--resolve).")
    return EXIT_OK


def cmd_rebind(args: argparse.Namespace) -> int:
    with _open_existing(args) as repo:
        moved = repo.rebind(args.from_workspace, args.to_workspace)
    if args.json:
        _emit_json({"from": args.from_workspace, "to": args.to_workspace, "moved": moved})
    else:
        print(f"Moved {moved} sessions to {args.to_workspace}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    if args.older_than_days is None and args.before is None and not args.status:
        raise CommandFailed(
            "say what to prune: --older-than-days, --before and/or --status"
        )
    older_than: Any = args.before
    if args.older_than_days is not None:
        older_than = datetime.timedelta(days=args.older_than_days)
    with _open_existing(args) as repo:
        report = repo.prune(
            args.workspace, older_than=older_than, statuses=args.status or None,
            dry_run=args.dry_run,
        )  # fmt: skip
    if args.json:
        _emit_json(msgspec.structs.asdict(report))
        return EXIT_OK
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(report.session_ids)} sessions")
    for session_id in report.session_ids:
        print(f"  {session_id}")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    _sqlite_only(args, "backup")
    with _open_existing(args) as repo:
        target = backup(repo.pool, args.file, overwrite=args.force)
    print(f"Backed up {repo.pool.path} to {target} ({_size(target.stat().st_size)})")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    _sqlite_only(args, "restore")
    path = _db_path(args)
    with SqliteSessionRepository.with_path(path) as repo:
        sessions = restore(repo.pool, args.file, force=args.force)
    print(f"Restored {path} from {args.file}: {sessions} sessions")
    return EXIT_OK


# --- parser ---------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global --db, one subcommand each with its own --help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Manage the AIT42 editor's session store (SQLite or PostgreSQL) and its "
        "move from JSON.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    db_help = (
        "the SQLite database file (default: $AIT42_HOME/sessions.db), or a PostgreSQL server "
        "as postgresql://user@host/dbname (needs the postgres extra)"
    )
    parser.add_argument("--db", metavar="PATH", help=db_help)
    # --db is accepted after the command too; there it only overrides when given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=db_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], summary: str,
                details: str, json_flag: bool = True) -> argparse.ArgumentParser:  # fmt: skip
        sub = commands.add_parser(name, parents=[common], help=summary,
                                  description=f"{summary} {details}")  # fmt: skip
        if json_flag:
            sub.add_argument(
                "--json", action="store_true", help="print the result as JSON"
            )
        sub.set_defaults(handler=handler)
        return sub

    sub = command(
        "import", cmd_import, "Import the editor's JSON session files into the database.",
        "Safe to run again: unchanged files are skipped, changed files bring in their new and "
        "changed sessions, the JSON files are never modified. Every session the files hold is "
        "stored: a repeated id's later copies and values the contract does not list are kept "
        "and reported as warnings, once. Exits 1 when a file or a session could not be read "
        "or stored (or, with --strict, on a warning). Creates the database if needed; the "
        "first import into a SQLite database that already holds sessions backs it up first.",
    )  # fmt: skip
    sub.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on warnings too (repeated ids, values the contract does not list, "
        "workspaces with no known path)",
    )
    sub.add_argument(
        "sessions_dir",
        nargs="?",
        metavar="SESSIONS_DIR",
        help="folder of <hash>.json files (default: $AIT42_HOME/sessions)",
    )
    sub.add_argument(
        "--dry-run",
        action="store_true",
        help="report what would be imported, change nothing",
    )
    sub.add_argument(
        "--no-progress", action="store_true", help="no progress bar on a terminal"
    )

    sub = command(
        "export", cmd_export, "Write the database back as the editor's JSON files.",
        "One <hash>.json per workspace, written atomically (0600 files, 0700 folder). "
        "Exporting into $AIT42_HOME/sessions returns the editor to its JSON store.",
    )  # fmt: skip
    sub.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the files to")

    command(
        "verify", cmd_verify, "Check the database.",
        "SQLite's integrity check (on PostgreSQL: amcheck, when installed), foreign keys, "
        "every full-text index, row counts and orphan rows. Exits 1 when a check fails.",
    )  # fmt: skip
    command(
        "optimize", cmd_optimize, "Optimize the database, and reclaim free space.",
        "Runs PRAGMA optimize, VACUUM when deleted data left free pages, and truncates the "
        "write-ahead log (on PostgreSQL: VACUUM (ANALYZE) of the tables); reports the bytes "
        "freed.",
    )  # fmt: skip
    command(
        "purge", cmd_purge, "Make deleted and replaced text unrecoverable from the files.",
        "Deletes and updates hide old text from every read at once; its words stay in the "
        "full-text indexes' older segments until this (or optimize) merges them and truncates "
        "the write-ahead log. Takes longer the larger the indexes.",
    )  # fmt: skip
    command(
        "stats", cmd_stats, "Show sizes and counts.",
        "Sessions, instances and messages per workspace; database, WAL and shared-memory "
        "file sizes; the recorded migration phase.",
    )  # fmt: skip
    sub = command(
        "search", cmd_search, "Full-text search of one workspace.",
        "Searches tasks, chat messages and agent output; prints session id, kind and a "
        "snippet with matches in [brackets], best first.",
    )  # fmt: skip
    sub.add_argument("text", metavar="TEXT", help="the words to find (any text)")
    sub.add_argument(
        "--workspace", required=True, metavar="PATH", help="the workspace folder"
    )
    sub.add_argument(
        "--limit", type=_positive, default=20, help="most hits shown (default 20)"
    )
    sub.add_argument(
        "--prefix", action="store_true",
        help="the last word also matches the words it begins (search as you type)",
    )  # fmt: skip

    sub = command(
        "serve", cmd_serve, "Serve the store to the editor: JSON-RPC 2.0 over stdin/stdout.",
        "One request per line in, one response per line out; the editor board's commands "
        "(create_session, get_all_sessions, ...), queries, search and operations. Ends at "
        "the end of input or on SIGTERM, after answering the request in flight. Logs go to "
        "stderr. See README.md.",
        json_flag=False,
    )  # fmt: skip
    sub.add_argument("--verbose", action="store_true", help="log each signal and error")
    sub.add_argument(
        "--omit-nulls",
        action="store_true",
        help="leave unset optional fields out of answers instead of null (the board tests "
        "`!== undefined`, e.g. WinnerSelectionPanel's winnerId)",
    )
    sub.add_argument(
        "--idle-after", type=_idle_seconds, default=IDLE_AFTER_SECONDS, metavar="SECONDS",
        help="checkpoint the WAL (on a thread of its own) after this long without a "
        f"request, off the path of the next write (default {IDLE_AFTER_SECONDS:g}; 0: never)",
    )  # fmt: skip

    command(
        "workspaces", cmd_workspaces, "List the workspaces the store knows.",
        "Hash, sessions, last activity and path: unknown until the editor opens a workspace "
        "whose sessions were imported by hash, or the workspace a hash joined (a debate "
        "runner's file under another spelling of the path joins it when the workspace is "
        "opened by that spelling; rebind joins by hand).",
    )  # fmt: skip

    sub = command(
        "duplicates", cmd_duplicates, "List repeated session ids, or resolve them.",
        "The editor stores a session twice under one id when it is created twice (the "
        "dialog, then App.tsx) and when the debate runner and the board both write a debate. "
        "Lists each id's copies in file order and the pattern they make; --resolve applies "
        "the written rule of each known pattern (printed with the list) and leaves any other "
        "group as it is; --dry-run shows what --resolve would do.",
    )  # fmt: skip
    sub.add_argument(
        "--workspace", metavar="PATH", help="one workspace folder (default: every workspace)"
    )
    sub.add_argument(
        "--resolve", action="store_true", help="resolve the groups a rule knows"
    )
    sub.add_argument(
        "--dry-run", action="store_true", help="with --resolve: change nothing"
    )

    sub = command(
        "rebind", cmd_rebind, "Move a workspace's sessions to another path.",
        "For a renamed or moved project folder, or a hash `workspaces` lists with no known "
        "path: every session of FROM becomes TO's (a copy after any of the same id TO holds), "
        "and later imports of FROM's file go to TO.",
    )  # fmt: skip
    sub.add_argument(
        "from_workspace", metavar="FROM", help="the old path, or the workspace's hash"
    )
    sub.add_argument("to_workspace", metavar="TO", help="the workspace folder now")

    sub = command(
        "prune", cmd_prune, "Delete old sessions of one workspace.",
        "Deletes whole sessions last updated before a date or an age, optionally only those in "
        "given statuses; deleted text is purged as a delete purges it. --dry-run lists them.",
    )  # fmt: skip
    sub.add_argument(
        "--workspace", required=True, metavar="PATH", help="the workspace folder"
    )
    sub.add_argument("--older-than-days", type=float, metavar="DAYS",
                     help="last updated more than DAYS days ago")  # fmt: skip
    sub.add_argument("--before", metavar="WHEN",
                     help="last updated before this RFC 3339 instant")  # fmt: skip
    sub.add_argument("--status", action="append", metavar="STATUS",
                     help="only sessions in this status (repeatable)")  # fmt: skip
    sub.add_argument(
        "--dry-run", action="store_true", help="list what would go, delete nothing"
    )

    sub = command(
        "backup", cmd_backup, "Copy the live database to a file.",
        "SQLite's online backup: consistent while other processes write. Refuses to replace "
        "an existing file unless --force.",
        json_flag=False,
    )  # fmt: skip
    sub.add_argument("file", metavar="FILE", help="the backup file to create")
    sub.add_argument("--force", action="store_true", help="replace FILE if it exists")

    sub = command(
        "restore", cmd_restore, "Replace the database's content with a backup.",
        "Checks the backup first (an ait42-session database, sound, of a known schema). "
        "Refuses to replace a store that holds sessions unless --force.",
        json_flag=False,
    )  # fmt: skip
    sub.add_argument("file", metavar="FILE", help="the backup file to restore from")
    sub.add_argument(
        "--force", action="store_true", help="replace sessions the store holds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits 2 on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except (SessionError, CommandFailed) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
