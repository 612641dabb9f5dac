"""Building, caching and copying the benchmark stores.

A workload is built once into ``<cache>/<workload key>/``: ``sqlite-v<schema>-l<loader>/
sessions.db`` (bulk-loaded, then ``optimize``d as ``ait42-session optimize`` leaves it: PRAGMA
optimize and a truncated WAL) and ``json/`` (one ``<workspace hash>.json`` per workspace,
written exactly as the JSON store writes it, by ``editor_files``, streamed one session at a
time). Both come from one pass over the generator, together with the facts
the scenarios check their answers against (``facts.json``, from the editor's filter rules in
``ait42_session.queries``, the JSON store's own code) and the scenarios' inputs
(``scenario-data.json``). Each part is built in a temporary
folder and renamed into place, so an interrupted build leaves nothing half-made in the cache.

Write scenarios run on a copy (``working_copy``); the cache is never opened for writing again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ait42_session import (
    SqliteSessionRepository,
    WorktreeSession,
    compute_workspace_hash,
)
from ait42_session import editor_files
from ait42_session.db import migration_scripts
from ait42_session.fulltext import tokens
from ait42_session.queries import check_query, matches, sort_value

from .loader import bulk_loading, load_sessions
from .scenarios import SCENARIOS_VERSION, query_plan, scenario_data
from .text import SEARCH_WORD
from .workloads import Workload

__all__ = ["StorePaths", "build", "working_copy", "default_cache_dir"]

BATCH = 500  # sessions per SQLite transaction while loading
LOADER_VERSION = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("AIT42_BENCH_CACHE", ".bench-cache"))


def schema_version() -> int:
    return migration_scripts()[-1][0]


@dataclass(frozen=True)
class StorePaths:
    """Where one workload's stores live."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def db(self) -> Path:
        return (
            self.root / f"sqlite-v{schema_version()}-l{LOADER_VERSION}" / "sessions.db"
        )

    @property
    def sessions_dir(self) -> Path:
        return self.root / "json"

    @property
    def facts_file(self) -> Path:
        return self.root / "facts.json"

    @property
    def data_file(self) -> Path:
        return self.root / "scenario-data.json"

    @property
    def postgres_dsn_file(self) -> Path:
        """Where a working copy names its PostgreSQL database (``postgres_store``)."""
        return self.root / "postgres.dsn"

    def postgres_dsn(self) -> str:
        return self.postgres_dsn_file.read_text()

    def has_sqlite(self) -> bool:
        return self.db.exists()

    def has_json(self) -> bool:
        return (self.root / "json-meta.json").exists()

    def facts(self) -> dict[str, Any]:
        return json.loads(self.facts_file.read_text())

    def data(self) -> dict[str, Any]:
        return json.loads(self.data_file.read_text())

    def json_file(self, workspace: str) -> Path:
        """The JSON store's file of ``workspace`` (a path)."""
        return editor_files.session_file(
            self.sessions_dir, compute_workspace_hash(workspace)
        )

    def json_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.sessions_dir.glob("*.json"))


class _Facts:
    """What the scenarios' answers must be, gathered while the main workspace streams past."""

    def __init__(self, workload: Workload) -> None:
        self.plan = query_plan(workload)
        self.light: list[WorktreeSession] = (
            []
        )  # sessions without texts that queries don't read
        self.instances = 0
        self.messages = 0
        self.tasks_with_word = 0
        self.added = 0
        self.largest = (-1, 0)  # (characters of text, index) of the largest session

    def add(self, session: WorktreeSession) -> None:
        chars = (
            len(session.task)
            + sum(len(i.output or "") for i in session.instances)
            + sum(len(m.content) for m in session.chat_history)
        )
        self.largest = max(self.largest, (chars, self.added))
        self.added += 1
        self.instances += len(session.instances)
        self.messages += len(session.chat_history)
        self.tasks_with_word += SEARCH_WORD in tokens(session.task)
        self.light.append(
            msgspec.structs.replace(
                session,
                instances=[
                    msgspec.structs.replace(i, output=None) for i in session.instances
                ],
                chat_history=[],
                extra={},
            )
        )

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instances": self.instances,
            "messages": self.messages,
            "tasks_with_word": self.tasks_with_word,
            "largest": {"index": self.largest[1], "chars": self.largest[0]},
        }
        for name, (filters, sort, limit) in self.plan.items():
            query = check_query(filters, sort)
            chosen = [s for s in self.light if matches(s, query)]
            chosen.sort(
                key=lambda s: (sort_value(s, query.sort_field), s.id),
                reverse=query.descending,
            )
            out[name] = {
                "count": len(chosen),
                "ids": [s.id for s in chosen[: limit or 50]],
            }
        return out


def _version(path: Path) -> int | None:
    try:
        return json.loads(path.read_text()).get("version")
    except (OSError, ValueError):
        return None


def build(
    workload: Workload,
    cache_dir: Path,
    *,
    json_store: bool = True,
    sqlite_store: bool = True,
    progress: bool | None = None,
) -> StorePaths:
    """Build the missing stores of ``workload`` into the cache; return their paths."""
    paths = StorePaths(cache_dir / workload.key)
    need_sqlite = sqlite_store and not paths.has_sqlite()
    need_json = json_store and not paths.has_json()
    need_facts = _version(paths.facts_file) != SCENARIOS_VERSION
    if _version(paths.data_file) != SCENARIOS_VERSION and paths.root.exists():
        paths.data_file.write_text(
            json.dumps({"version": SCENARIOS_VERSION, **scenario_data(workload)})
        )
    if not (need_sqlite or need_json or need_facts):
        return paths
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.root / f"tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = time.perf_counter()
    repo = (
        SqliteSessionRepository.with_path(tmp / "sessions.db") if need_sqlite else None
    )
    facts = _Facts(workload) if need_facts else None
    total = sum(count for _, count in workload.workspaces())
    from tqdm import tqdm  # imported here: worker processes never build

    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(
        total=total,
        desc=f"build {workload.key}",
        unit="session",
        disable=not progress,
        leave=False,
    )
    try:
        with bulk_loading(repo) if repo is not None else contextlib.nullcontext():
            for index, (workspace, _count) in enumerate(workload.workspaces()):
                _build_workspace(
                    workload,
                    index,
                    workspace,
                    tmp,
                    repo,
                    facts if index == 0 else None,
                    need_json,
                    bar,
                )
        if repo is not None:
            repo.close()
            repo = None
        seconds = round(time.perf_counter() - started, 2)
        if need_json:
            shutil.rmtree(paths.sessions_dir, ignore_errors=True)
            os.replace(tmp / "json", paths.sessions_dir)
            meta = {"workload": workload.key, "build_seconds": seconds}
            (paths.root / "json-meta.json").write_text(json.dumps(meta))
        if need_sqlite:
            paths.db.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / "sessions.db", paths.db)
            (paths.db.parent / "meta.json").write_text(
                json.dumps({"build_seconds": seconds})
            )
        if facts is not None:
            paths.data_file.write_text(
                json.dumps({"version": SCENARIOS_VERSION, **scenario_data(workload)})
            )
            paths.facts_file.write_text(
                json.dumps({"version": SCENARIOS_VERSION, **facts.result()})
            )
    finally:
        bar.close()
        if repo is not None:
            repo.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return paths


def _build_workspace(
    workload: Workload,
    index: int,
    workspace: str,
    tmp: Path,
    repo: SqliteSessionRepository | None,
    facts: _Facts | None,
    write_json: bool,
    bar: Any,
) -> None:
    out = None
    writer = None
    if write_json:
        (tmp / "json").mkdir(exist_ok=True)
        out = open(
            editor_files.session_file(tmp / "json", compute_workspace_hash(workspace)),
            "wb",
        )
        writer = editor_files.ArrayWriter(out)
    try:
        batch: list[WorktreeSession] = []
        for data in workload.sessions(index):
            session = WorktreeSession.from_json(data)
            if writer is not None:
                writer.write(editor_files.record_of(session))
            if facts is not None:
                facts.add(session)
            if repo is not None:
                batch.append(session)
                if len(batch) == BATCH:
                    load_sessions(repo, workspace, batch)
                    batch = []
            bar.update()
        if repo is not None and batch:
            load_sessions(repo, workspace, batch)
        if writer is not None:
            writer.close()
    finally:
        if out is not None:
            out.close()


def working_copy(
    paths: StorePaths, dest: Path, *, json_store: bool, sqlite_store: bool
) -> StorePaths:
    """A copy of the built stores under ``dest`` (for runs that write)."""
    copy = StorePaths(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("facts.json", "scenario-data.json", "json-meta.json"):
        if (paths.root / name).exists():
            shutil.copy2(paths.root / name, dest / name)
    if sqlite_store and paths.has_sqlite():
        copy.db.parent.mkdir(parents=True)
        shutil.copy2(paths.db, copy.db)
    if json_store and paths.has_json():
        shutil.copytree(paths.sessions_dir, copy.sessions_dir)
    elif copy.has_json():
        (dest / "json-meta.json").unlink()
    _write_out(dest)
    return copy


def _write_out(folder: Path) -> None:
    """fsync every file under ``folder``. A copy just made sits in the OS page cache, still to
    be written; left so, the first fsync a store makes (SQLite's at its first checkpoint)
    would wait for the whole copy to reach the disk, up to seconds at 10,000 realistic
    sessions, and charge that to whichever call came first. A user's store is on disk."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.stores --cache DIR --profile P --sessions N [--seed S] [--no-json]``:
    build (or find) one workload's stores; print their folder. ``compare`` runs it as a child
    process, so the generator's memory goes with it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench.stores", description=main.__doc__
    )
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument(
        "--no-json", action="store_true", help="build the SQLite store only"
    )
    Workload.add_arguments(parser)
    args = parser.parse_args(argv)
    print(build(Workload.from_args(args), args.cache, json_store=not args.no_json).root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
