"""The move from the editor's JSON files to SQLite and back: import, export, dual write,
fallback, and the recorded phase."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import threading
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import apsw
import pytest

from ait42_session.errors import (
    AlreadyExistsError,
    DatabaseError,
    MigrationError,
    NotFoundError,
    SessionError,
    ValidationError,
)
from ait42_session.health import store_stats, verify_store
from ait42_session.json_repo import JsonSessionRepository
from ait42_session.migration import (
    DualWriteRepository,
    FallbackRepository,
    ImportReport,
    export_json,
    import_json,
    migration_status,
    record_migration_phase,
)
from ait42_session.models import ChatMessage, WorktreeInstance, WorktreeSession
from ait42_session.repository import SessionRepository
from ait42_session.sqlite_repo import SqliteSessionRepository
from ait42_session.workspace import compute_workspace_hash

from conftest import (
    EDITOR_WRITTEN,
    SAMPLE_SESSIONS,
    at,
    make_message,
    make_session,
    sample_session_dicts,
)

# --- editor files, written the way the editor writes them -----------------------------------

STATUSES = ("running", "completed", "failed", "paused")
TYPES = ("competition", "ensemble", "debate")
TEXTS = ("Fix the login bug", "ログイン画面を直す", "Ajoute le café ☕", "emoji 🚀 and \"quotes\"",
         "tabs\tand\nnewlines", "back\\slash and \u0001 control")  # fmt: skip


def editor_text(sessions: list[dict[str, Any]]) -> bytes:
    """A workspace file exactly as the editor writes it (serde_json pretty, no newline)."""
    return json.dumps(sessions, indent=2, ensure_ascii=False).encode("utf-8")


def write_editor_file(
    folder: Path, ws_hash: str, sessions: list[dict[str, Any]]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ws_hash}.json"
    path.write_bytes(editor_text(sessions))
    return path


def editor_session(
    rng: random.Random, n: int, *, big_output: bool = False
) -> dict[str, Any]:
    """One session in the editor's JSON shape with every key present (null for None)."""
    instances = [
        WorktreeInstance(
            instance_id=i, worktree_path=f"/tmp/wt/{n}/{i}", branch=f"feat/{n}-{i}",
            agent_name=rng.choice(["coder", "tester", "レビュアー"]), status="completed",
            tmux_session_id=f"ait42_{n}_{i}",
            output=("log line ✓\n" * 12_000) if big_output and i == 0 else rng.choice(
                [None, f"output {n}.{i}: {rng.choice(TEXTS)}"]),
            start_time=rng.choice([None, at(i)]), end_time=None,
            files_changed=rng.choice([None, rng.randrange(50)]), lines_added=rng.randrange(900),
            lines_deleted=None, runtime=rng.choice([None, "claude", "codex"]), model=None,
            runtime_label=rng.choice([None, "Claude"]),
            extra={"testsPassed": rng.random() < 0.5} if i % 2 else {},
        )
        for i in range(rng.randrange(4))
    ]  # fmt: skip
    messages = [
        ChatMessage(
            id=f"m{n}_{k}", role=rng.choice(["user", "assistant", "system"]),
            content=f"{rng.choice(TEXTS)} #{k}", timestamp=at(k),
            instance_id=rng.choice([None, 0]), extra={"tokens": k} if k == 2 else {},
        )
        for k in range(rng.randrange(6))
    ]  # fmt: skip
    session = WorktreeSession(
        id=f"session_{n}", type=rng.choice(TYPES), task=f"{rng.choice(TEXTS)} ({n})",
        status=rng.choice(STATUSES), created_at=at(n % 600),
        updated_at=rng.choice([at(n % 600 + 5), "2025-01-13T12:00:00.123456789+02:00"]),
        completed_at=rng.choice([None, at(700)]), model=rng.choice([None, "claude-opus"]),
        timeout_seconds=rng.choice([None, 600]), preserve_worktrees=rng.choice([None, True, False]),
        winner_id=rng.choice([None, 0]), runtime_mix=rng.choice([None, [], ["claude", "codex"]]),
        total_duration=rng.choice([None, 2**40]), total_files_changed=rng.randrange(30),
        total_lines_added=None, total_lines_deleted=rng.randrange(99),
        instances=instances, chat_history=messages,
        extra=rng.choice([{}, {"evaluation": {"score": 0.5, "notes": ["ok"]},
                                "integrationPhase": "merged", "integrationInstanceId": None}]),
    )  # fmt: skip
    return session.validate().to_json()


WORKSPACES = 24
SESSIONS_PER_WORKSPACE = 90  # 2,160 sessions in all
BIG_OUTPUTS = 3  # outputs of ~130 KB


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sessions folder of editor files: many workspaces, thousands of sessions, big outputs.

    Shared by the module's tests, which only read it.
    """
    folder = tmp_path_factory.mktemp("corpus") / "sessions"
    rng = random.Random(42)
    n = 0
    for w in range(WORKSPACES):
        sessions = []
        for _ in range(SESSIONS_PER_WORKSPACE):
            sessions.append(editor_session(rng, n, big_output=n < BIG_OUTPUTS))
            n += 1
        write_editor_file(
            folder, hashlib.sha256(f"/ws/{w}".encode()).hexdigest()[:16], sessions
        )
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, modification time and mode."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(folder.iterdir())
    }


def totals(report: ImportReport) -> tuple[int, int, int]:
    return report.sessions, report.instances, report.messages


def file_counts(folder: Path) -> tuple[int, int, int]:
    sessions = [s for p in folder.glob("*.json") for s in json.loads(p.read_bytes())]
    return (
        len(sessions),
        sum(len(s["instances"]) for s in sessions),
        sum(len(s["chatHistory"]) for s in sessions),
    )


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteSessionRepository]:
    repo = SqliteSessionRepository.with_path(tmp_path / "sessions.db")
    yield repo
    repo.close()


def db_digest(repo: SqliteSessionRepository) -> str:
    """SHA-256 of the database file after a full checkpoint (so the WAL is folded in)."""
    repo.pool.connection().wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
    return hashlib.sha256(repo.pool.path.read_bytes()).hexdigest()


def sql_value(repo: SqliteSessionRepository, statement: str, params: Any = None) -> Any:
    return repo.pool.read(lambda con: con.execute(statement, params).get)


# --- import ---------------------------------------------------------------------------------


def test_import_brings_in_every_session_of_every_file(corpus, sqlite):
    report = import_json(corpus, sqlite)

    assert report.ok, report.errors
    assert totals(report) == file_counts(corpus)
    assert (report.files, report.files_seen) == (WORKSPACES, WORKSPACES)
    assert (report.skipped, report.replaced) == (0, 0)
    names = ("sessions", "instances", "messages")
    assert store_stats(sqlite).totals == dict(
        zip(names, file_counts(corpus), strict=True)
    )
    assert verify_store(sqlite).ok


def test_a_second_import_brings_in_nothing_and_reports_every_session_as_skipped(
    corpus, sqlite
):
    first = import_json(corpus, sqlite)
    before = db_digest(sqlite)

    again = import_json(corpus, sqlite)

    assert totals(again) == (0, 0, 0) and again.files == 0 and again.ok
    assert again.skipped == first.sessions
    assert again.unchanged_files == WORKSPACES
    assert db_digest(sqlite) == before


def test_import_then_export_reproduces_the_editor_files_byte_for_byte(
    corpus, sqlite, tmp_path
):
    import_json(corpus, sqlite)

    report = export_json(sqlite, tmp_path / "out")

    assert (report.files, report.sessions) == (
        WORKSPACES,
        WORKSPACES * SESSIONS_PER_WORKSPACE,
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in corpus.iterdir()
    )
    for source in corpus.iterdir():
        assert (
            tmp_path / "out" / source.name
        ).read_bytes() == source.read_bytes(), source.name
    assert max(p.stat().st_size for p in corpus.iterdir()) > 100_000


def test_a_changed_file_brings_in_its_new_and_changed_sessions(tmp_path, sqlite):
    rng = random.Random(7)
    folder = tmp_path / "sessions"
    sessions = [editor_session(rng, n) for n in range(40)]
    path = write_editor_file(folder, "00000000000000aa", sessions)
    other = write_editor_file(folder, "00000000000000bb", [editor_session(rng, 99)])
    import_json(folder, sqlite)

    # The editor changes one session, appends a message to another and creates a third.
    sessions[3]["task"] = "A new task"
    sessions[3]["instances"] = []
    sessions[10]["chatHistory"].append(make_message("late", "a late reply").to_json())
    sessions.append(editor_session(rng, 40))
    path.write_bytes(editor_text(sessions))

    report = import_json(folder, sqlite)

    assert (report.sessions, report.replaced, report.files) == (3, 2, 1)
    assert (
        report.skipped == 38 + 1
    )  # the file's 38 unchanged sessions + the unchanged file
    assert report.unchanged_files == 1
    assert report.ok
    export_json(sqlite, tmp_path / "out")
    assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    assert (tmp_path / "out" / other.name).read_bytes() == other.read_bytes()
    assert import_json(folder, sqlite).sessions == 0


def test_sessions_missing_from_a_changed_file_stay_in_the_database(tmp_path, sqlite):
    folder = tmp_path / "sessions"
    first = [make_session("a").to_json(), make_session("b").to_json()]
    write_editor_file(folder, "00000000000000aa", first)
    import_json(folder, sqlite)

    write_editor_file(folder, "00000000000000aa", first[:1])
    report = import_json(folder, sqlite)

    assert (report.sessions, report.skipped) == (0, 1)
    assert store_stats(sqlite).totals["sessions"] == 2


def test_imported_sessions_appear_when_their_workspace_is_opened_by_path(
    tmp_path, sqlite, workspace
):
    folder = tmp_path / "sessions"
    folder.mkdir()
    (folder / f"{compute_workspace_hash(workspace)}.json").write_bytes(
        SAMPLE_SESSIONS.read_bytes()
    )

    import_json(folder, sqlite)
    assert store_stats(sqlite).workspaces[0].path is None

    found = sqlite.get_all_sessions(workspace)
    assert sorted(s.id for s in found) == [f"fixture_session_{n}" for n in (1, 2, 3)]
    assert {h.session_id for h in sqlite.search(workspace, "JWT")} == {
        "fixture_session_1"
    }
    sqlite.create_session(workspace, make_session("new"))
    assert store_stats(sqlite).workspaces[0].path == os.path.realpath(workspace)


def test_the_original_fixture_survives_import_and_export(tmp_path, sqlite):
    folder = tmp_path / "sessions"
    folder.mkdir()
    (folder / "0123456789abcdef.json").write_bytes(SAMPLE_SESSIONS.read_bytes())

    import_json(folder, sqlite)
    export_json(sqlite, tmp_path / "out")

    exported = json.loads((tmp_path / "out" / "0123456789abcdef.json").read_bytes())
    expected = [WorktreeSession.from_json(d).to_json() for d in sample_session_dicts()]
    assert exported == expected  # the absent optional keys come back as null


def test_files_not_named_like_the_editors_are_left_alone(tmp_path, sqlite):
    folder = tmp_path / "sessions"
    for name in (
        "ABCDEF0123456789.json",
        "0123.json",
        "0123456789abcdef.json.tmp",
        "notes.txt",
    ):
        write_editor_file(folder, "x", [])
        (folder / "x.json").rename(folder / name)
    (folder / "0123456789abcdef.json").mkdir()

    report = import_json(folder, sqlite)

    assert (report.files_seen, report.errors) == (0, [])


def test_the_json_files_are_never_modified(corpus, sqlite):
    before = snapshot(corpus)
    import_json(corpus, sqlite)
    import_json(corpus, sqlite)
    assert snapshot(corpus) == before


MALFORMED = {
    "truncated": editor_text([make_session("x").to_json()])[:-40],
    "empty": b"",
    "whitespace only": b"  \n",
    "NUL bytes": b"[\x00]",
    "not an array": b'{"id": "x"}',
    "a bare number": b"42",
    "invalid UTF-8": b'[{"id": "\xff\xfe"}]',
    "byte order mark": b"\xef\xbb\xbf" + editor_text([make_session("x").to_json()]),
    "NaN": b"[NaN]",
    "not JSON at all": b"<html>",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_an_unreadable_file_is_reported_and_changes_nothing(kind, tmp_path, sqlite):
    folder = tmp_path / "sessions"
    good = write_editor_file(
        folder, "00000000000000aa", [make_session("good").to_json()]
    )
    bad = folder / "00000000000000bb.json"
    bad.write_bytes(MALFORMED[kind])

    report = import_json(folder, sqlite)

    assert [(i.file, i.index) for i in report.errors] == [(str(bad), None)]
    assert report.errors[0].reason
    assert (report.sessions, report.files) == (1, 1)
    assert [w.hash for w in store_stats(sqlite).workspaces] == [good.stem]
    assert bad.read_bytes() == MALFORMED[kind]
    # Still reported next time: an unreadable file is never recorded as imported.
    assert [i.file for i in import_json(folder, sqlite).errors] == [str(bad)]


def test_a_bad_session_is_reported_by_index_and_the_rest_of_its_file_imports(
    tmp_path, sqlite
):
    folder = tmp_path / "sessions"
    good = make_session("good", instances=1, messages=2).to_json()
    wrong_type = {**make_session("typed").to_json(), "type": "solo"}
    no_id = {k: v for k, v in make_session("anon").to_json().items() if k != "id"}
    bad_child = make_session("child", messages=1).to_json()
    bad_child["chatHistory"][0]["role"] = "robot"
    last = make_session("last").to_json()
    items = [good, wrong_type, "not an object", no_id, bad_child, dict(good), last]
    path = write_editor_file(folder, "00000000000000aa", items)

    report = import_json(folder, sqlite)

    # What cannot be stored is an error; what the file holds outside the contract's lists,
    # and a repeated id's later copy, are stored and said as warnings.
    assert [i.index for i in report.errors] == [2, 3]
    assert all(i.file == str(path) for i in report.errors + report.warnings)
    assert [(w.index, w.kind) for w in report.warnings] == [
        (None, "no known path"), (1, "unknown value"), (4, "unknown value"), (5, "repeated id"),
    ]  # fmt: skip
    assert "solo" in report.warnings[1].reason and "repeats" in report.warnings[3].reason
    assert (report.sessions, report.instances, report.messages) == (5, 2, 5)
    again = import_json(folder, sqlite)
    assert [i.index for i in again.errors] == [2, 3] and again.warnings == []
    assert (again.sessions, again.skipped) == (0, 5)


def test_text_that_cannot_be_stored_as_utf8_is_reported_and_the_rest_imports(
    tmp_path, sqlite
):
    folder = tmp_path / "sessions"
    lone_surrogate = {**make_session("bad").to_json(), "task": "broken \ud800 text"}
    folder.mkdir()
    path = folder / "00000000000000aa.json"
    path.write_text(
        json.dumps([make_session("a").to_json(), lone_surrogate]), encoding="ascii"
    )

    report = import_json(folder, sqlite)

    assert [i.index for i in report.errors] == [1]
    assert "surrogate" in report.errors[0].reason or "UTF-8" in report.errors[0].reason
    assert report.sessions == 1


def test_a_session_the_database_refuses_is_rolled_back_alone(tmp_path, sqlite):
    sqlite.pool.write(lambda con: con.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON sessions WHEN new.task = 'forbidden' "
        "BEGIN SELECT RAISE(ABORT, 'forbidden task'); END"
    ))  # fmt: skip
    folder = tmp_path / "sessions"
    items = [make_session("a", messages=1), make_session("b", task="forbidden", instances=2),
             make_session("c", messages=2)]  # fmt: skip
    write_editor_file(folder, "00000000000000aa", [s.to_json() for s in items])

    report = import_json(folder, sqlite)

    assert [(i.index, "forbidden task" in i.reason) for i in report.errors] == [
        (1, True)
    ]
    assert totals(report) == (2, 0, 3)
    assert store_stats(sqlite).totals == {"sessions": 2, "instances": 0, "messages": 3}
    assert verify_store(sqlite).ok


def test_a_missing_sessions_folder_is_a_migration_error(tmp_path, sqlite):
    with pytest.raises(MigrationError, match="no sessions folder"):
        import_json(tmp_path / "nowhere", sqlite)


def test_import_needs_a_sqlite_store(tmp_path, corpus):
    with pytest.raises(ValidationError):
        import_json(corpus, JsonSessionRepository(tmp_path / "json"))


# --- dry run and backup ---------------------------------------------------------------------


def test_a_dry_run_leaves_the_database_file_unchanged_and_reports_like_a_real_run(
    tmp_path, corpus, sqlite, workspace
):
    sqlite.create_session(workspace, make_session("already here"))
    folder = tmp_path / "sessions"
    rng = random.Random(3)
    write_editor_file(
        folder, "00000000000000aa", [editor_session(rng, n) for n in range(30)]
    )
    import_json(folder, sqlite)
    changed = [editor_session(rng, n) for n in range(35)]
    write_editor_file(folder, "00000000000000aa", changed)
    write_editor_file(folder, "00000000000000bb", [{"id": "bad"}] + changed[:3])
    (folder / "00000000000000cc.json").write_bytes(b"[")
    before = db_digest(sqlite)

    dry = import_json(folder, sqlite, dry_run=True)
    assert db_digest(sqlite) == before
    assert import_json(folder, sqlite, dry_run=True) == dry

    real = import_json(folder, sqlite)
    assert dry.dry_run and not real.dry_run
    assert real == dry
    assert real.sessions > 0 and len(real.errors) == 2


def test_the_first_import_into_a_database_with_sessions_takes_a_backup_first(
    tmp_path, sqlite, workspace
):
    sqlite.create_session(workspace, make_session("precious", messages=2))
    folder = tmp_path / "sessions"
    write_editor_file(folder, "00000000000000aa", [make_session("imported").to_json()])

    assert import_json(folder, sqlite, dry_run=True).backup_path is None
    report = import_json(folder, sqlite)

    backup = Path(report.backup_path)
    assert backup.parent == sqlite.pool.path.parent and backup != sqlite.pool.path
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert migration_status(sqlite).json_backup_path == str(backup)
    with SqliteSessionRepository.with_path(backup) as copy:
        assert [s.id for s in copy.get_all_sessions(workspace)] == ["precious"]
        assert len(copy.get_session(workspace, "precious").chat_history) == 2
    write_editor_file(folder, "00000000000000bb", [make_session("later").to_json()])
    assert import_json(folder, sqlite).backup_path is None


def test_an_import_into_an_empty_database_takes_no_backup(corpus, sqlite):
    assert import_json(corpus, sqlite).backup_path is None
    assert migration_status(sqlite).json_backup_path is None
    assert migration_status(sqlite).status == "imported"


# --- progress -------------------------------------------------------------------------------


def test_progress_callable_is_told_after_each_file(corpus, sqlite):
    calls: list[tuple[int, int, str]] = []
    import_json(
        corpus,
        sqlite,
        progress=lambda n, total, path: calls.append((n, total, path.name)),
    )
    assert [c[:2] for c in calls] == [(n, WORKSPACES) for n in range(1, WORKSPACES + 1)]
    assert [c[2] for c in calls] == sorted(p.name for p in corpus.iterdir())


def test_progress_accepts_a_tqdm_bar(corpus, sqlite):
    tqdm = pytest.importorskip("tqdm")
    stream = io.StringIO()
    with tqdm.tqdm(file=stream) as bar:
        import_json(corpus, sqlite, progress=bar)
        assert (bar.total, bar.n) == (WORKSPACES, WORKSPACES)


# --- export ---------------------------------------------------------------------------------


def test_export_writes_private_files_atomically_over_old_ones(
    tmp_path, sqlite, workspace
):
    sqlite.create_session(workspace, make_session("one"))
    out = tmp_path / "new" / "out"
    name = f"{compute_workspace_hash(workspace)}.json"
    export_json(sqlite, out)
    sqlite.create_session(workspace, make_session("two"))

    report = export_json(sqlite, out)

    assert (report.files, report.sessions) == (1, 2)
    assert os.listdir(out) == [name]  # no temporary files left behind
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    data = (out / name).read_bytes()
    assert [s["id"] for s in json.loads(data)] == ["one", "two"] and not data.endswith(
        b"\n"
    )
    assert (
        JsonSessionRepository(out).get_session(workspace, "two").task == "Task of two"
    )


def test_export_of_an_empty_store_writes_nothing(tmp_path, sqlite):
    report = export_json(sqlite, tmp_path / "out")
    assert (report.files, report.sessions) == (0, 0)
    assert os.listdir(tmp_path / "out") == []


# --- dual write -----------------------------------------------------------------------------

PROTOCOL_METHODS = [
    name
    for name in vars(SessionRepository)
    if not name.startswith("_") and name != "close"
] + ["close", "__enter__", "__exit__"]


@pytest.fixture
def dual(tmp_path: Path) -> Iterator[DualWriteRepository]:
    repo = DualWriteRepository(
        JsonSessionRepository(tmp_path / "sessions"),
        SqliteSessionRepository.with_path(tmp_path / "sessions.db"),
    )
    yield repo
    repo.close()


def test_both_wrappers_implement_the_whole_repository_protocol(dual):
    fallback = FallbackRepository(dual.secondary, dual.primary)
    for repo in (dual, fallback):
        assert isinstance(repo, SessionRepository)
        assert all(callable(getattr(repo, name)) for name in PROTOCOL_METHODS)


def test_dual_write_records_its_phase(dual):
    assert migration_status(dual.secondary).status == "dual_write"


def test_dual_write_keeps_both_stores_identical_through_every_write(dual, workspace):
    dual.create_session(workspace, make_session("a", instances=2, messages=1))
    dual.create_session(workspace, make_session("b"))
    dual.add_chat_message(workspace, "a", make_message("m2", "second"))
    dual.update_instance_status(workspace, "a", 1, "completed")
    dual.append_instance_output(workspace, "a", 0, "streamed on\n")
    changed = dual.get_session(workspace, "b")
    changed.task, changed.status = "Renamed", "failed"
    dual.update_session(workspace, changed)
    dual.delete_session(workspace, "b")

    assert dual.verify_consistency(workspace) == []
    for store in (dual.primary, dual.secondary):
        session = store.get_session(workspace, "a")
        assert [m.id for m in session.chat_history] == ["a_msg_0", "m2"]
        assert session.instances[1].status == "completed"
        assert (session.instances[0].output or "").endswith("streamed on\n")
        assert [s.id for s in store.get_all_sessions(workspace)] == ["a"]
    assert dual.copy_failures == []


def test_dual_write_reads_come_from_the_primary(dual, workspace):
    dual.secondary.create_session(workspace, make_session("only in sqlite"))
    assert dual.get_all_sessions(workspace) == []
    assert dual.count_sessions(workspace) == 0
    with pytest.raises(NotFoundError):
        dual.get_session(workspace, "only in sqlite")


def test_verify_consistency_lists_every_difference(dual, workspace):
    for sid in ("same", "changed", "gone", "kids"):
        dual.create_session(workspace, make_session(sid, instances=2, messages=2))
    sqlite = dual.secondary
    sqlite.create_session(workspace, make_session("extra"))
    sqlite.delete_session(workspace, "gone")
    changed = sqlite.get_session(workspace, "changed")
    changed.task = "Different task"
    changed.extra = {"evaluation": "x"}
    sqlite.update_session(workspace, changed)
    kids = sqlite.get_session(workspace, "kids")
    kids.instances = kids.instances[:1]
    kids.instances[0].status = "failed"
    kids.chat_history = kids.chat_history[:1] + [
        make_message("n", "new"),
        make_message("o", "x"),
    ]
    sqlite.update_session(workspace, kids)

    found = {(d.session_id, d.kind, d.path) for d in dual.verify_consistency(workspace)}

    assert found == {
        ("changed", "differs", "task"),
        ("changed", "differs", "evaluation"),
        ("extra", "missing_in_primary", ""),
        ("gone", "missing_in_secondary", ""),
        ("kids", "differs", "instances[0].status"),
        ("kids", "missing_in_secondary", "instances[1]"),
        ("kids", "differs", "chatHistory[1].id"),
        ("kids", "differs", "chatHistory[1].content"),
        ("kids", "missing_in_primary", "chatHistory[2]"),
    }
    assert all(str(d) for d in dual.verify_consistency(workspace))


def test_a_write_the_primary_refuses_is_not_copied(dual, workspace):
    dual.create_session(workspace, make_session("a"))
    with pytest.raises(AlreadyExistsError):
        dual.create_session(workspace, make_session("a", task="other"))
    with pytest.raises(NotFoundError):
        dual.add_chat_message(workspace, "missing", make_message())
    with pytest.raises(ValidationError):
        dual.create_session(workspace, make_session("", task=""))
    assert dual.verify_consistency(workspace) == []


def test_a_failed_copy_is_kept_and_does_not_fail_the_write(dual, workspace):
    dual.secondary.close()

    stored = dual.create_session(workspace, make_session("a"))

    assert stored.id == "a" and dual.get_session(workspace, "a").id == "a"
    assert len(dual.copy_failures) == 1 and "closed" in dual.copy_failures[0]


def test_dual_write_heals_a_session_the_secondary_lacks(dual, workspace):
    dual.primary.create_session(workspace, make_session("a"))
    dual.add_chat_message(workspace, "a", make_message())
    assert dual.verify_consistency(workspace) == []


# --- fallback -------------------------------------------------------------------------------


@pytest.fixture
def stores(
    tmp_path: Path, workspace: str
) -> Iterator[tuple[SqliteSessionRepository, JsonSessionRepository]]:
    """The same three sessions in a SQLite store and a JSON store."""
    sqlite = SqliteSessionRepository.with_path(tmp_path / "sessions.db")
    json_store = JsonSessionRepository(tmp_path / "sessions")
    for sid in ("a", "b", "c"):
        session = make_session(sid, instances=1, messages=1, updated_at=at(ord(sid)))
        sqlite.create_session(workspace, session)
        json_store.create_session(workspace, session)
    yield sqlite, json_store
    sqlite.close()


def break_database(sqlite: SqliteSessionRepository) -> None:
    """Overwrite the (checkpointed) database file with garbage while it is open."""
    sqlite.pool.optimize()
    path = sqlite.pool.path
    with open(path, "r+b") as f:
        f.write(os.urandom(path.stat().st_size))


def in_new_thread(call: Callable[[], Any]) -> Any:
    """Run ``call`` on a fresh thread (so SQLite opens a fresh connection), return or raise."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_fallback_reads_the_primary_and_records_its_phase(stores, workspace):
    sqlite, json_store = stores
    sqlite.create_session(workspace, make_session("sqlite only"))
    repo = FallbackRepository(sqlite, json_store)
    assert len(repo.get_all_sessions(workspace)) == 4
    assert repo.fallback_count == 0
    assert migration_status(sqlite).status == "sqlite_primary"


def test_fallback_answers_when_the_database_file_is_garbage(stores, workspace):
    sqlite, json_store = stores
    repo = FallbackRepository(sqlite, json_store)
    break_database(sqlite)
    with pytest.raises(SessionError):
        in_new_thread(lambda: sqlite.get_all_sessions(workspace))

    found = in_new_thread(lambda: repo.get_all_sessions(workspace))

    assert [s.id for s in found] == ["c", "b", "a"]
    assert (
        in_new_thread(lambda: repo.get_session(workspace, "b")).chat_history[0].id
        == "b_msg_0"
    )
    assert in_new_thread(lambda: repo.count_sessions(workspace)) == 3
    hits = in_new_thread(lambda: repo.search(workspace, "Task of a"))
    assert [h.session_id for h in hits] == ["a"]
    assert repo.fallback_count == 4
    assert "damaged" in str(repo.last_primary_error)


def test_a_fallback_is_made_even_when_the_primary_cannot_be_recorded_in(
    stores, workspace
):
    sqlite, json_store = stores
    sqlite.close()
    repo = FallbackRepository(sqlite, json_store)
    assert [s.id for s in repo.list_sessions(workspace)] == ["c", "b", "a"]
    assert len(repo.query_sessions(workspace, limit=2)) == 2


def test_not_found_and_validation_errors_do_not_fall_back(stores, workspace):
    sqlite, json_store = stores
    sqlite.delete_session(workspace, "a")
    repo = FallbackRepository(sqlite, json_store)
    with pytest.raises(NotFoundError):
        repo.get_session(workspace, "a")
    with pytest.raises(ValidationError):
        repo.get_all_sessions(workspace + "\x00")
    assert repo.fallback_count == 0


def test_without_backup_writes_only_the_primary_is_written_and_its_failures_raise(
    stores, workspace
):
    sqlite, json_store = stores
    repo = FallbackRepository(sqlite, json_store)
    repo.create_session(workspace, make_session("d"))
    with pytest.raises(NotFoundError):
        json_store.get_session(workspace, "d")
    sqlite.close()
    with pytest.raises(DatabaseError):
        repo.create_session(workspace, make_session("e"))


def test_backup_writes_keep_the_fallback_a_complete_copy(stores, workspace):
    sqlite, json_store = stores
    repo = FallbackRepository(sqlite, json_store, backup_writes=True)
    repo.create_session(workspace, make_session("d", instances=2))
    repo.add_chat_message(workspace, "a", make_message("later", "a later message"))
    repo.update_instance_status(workspace, "d", 1, "failed")
    repo.delete_session(workspace, "b")
    session = repo.get_session(workspace, "c")
    session.status = "completed"
    repo.update_session(workspace, session)

    assert DualWriteRepository(sqlite, json_store).verify_consistency(workspace) == []
    assert repo.copy_failures == []


def test_with_backup_writes_a_failing_primary_writes_to_the_fallback_and_import_catches_up(
    stores, workspace, tmp_path
):
    sqlite, json_store = stores
    repo = FallbackRepository(sqlite, json_store, backup_writes=True)
    sqlite.close()

    repo.create_session(workspace, make_session("written while broken"))
    repo.add_chat_message(workspace, "a", make_message("m9", "also while broken"))

    assert json_store.get_session(workspace, "written while broken")
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repaired:
        report = import_json(json_store.sessions_dir, repaired)
        assert (report.sessions, report.replaced, report.skipped) == (2, 1, 2)
        assert (
            DualWriteRepository(repaired, json_store).verify_consistency(workspace)
            == []
        )


# --- the recorded phase ---------------------------------------------------------------------


def test_the_phase_can_be_recorded_by_hand(sqlite):
    assert migration_status(sqlite).status == "pending"
    record_migration_phase(sqlite, "sqlite_only")
    assert migration_status(sqlite).status == "sqlite_only"
    with pytest.raises(ValidationError):
        record_migration_phase(sqlite, "half_done")


# --- files as the shipping editor writes them (tests/fixtures/editor-written) ---------------


@pytest.fixture
def editor_written(tmp_path: Path) -> Path:
    """A sessions folder holding the five files the shipping editor's own code wrote."""
    folder = tmp_path / "editor-sessions"
    folder.mkdir()
    for source in EDITOR_WRITTEN:
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def test_every_session_the_shipping_editor_wrote_is_imported_as_written(
    editor_written, sqlite
):
    items = {f.stem: json.loads(f.read_bytes()) for f in editor_written.glob("*.json")}

    report = import_json(editor_written, sqlite)

    assert report.ok and report.errors == []
    assert report.sessions == sum(len(v) for v in items.values())  # every copy
    repeats = sum(len(v) - len({s["id"] for s in v}) for v in items.values())
    assert repeats > 0
    assert report.warning_counts()["repeated id"] == repeats
    assert report.warning_counts()["unknown value"] == 0
    assert report.warning_counts()["no known path"] == len(items)  # none opened yet
    for ws, written in items.items():
        stored = sqlite.pool.read(
            lambda con, ws=ws: con.execute(
                "SELECT id, status FROM sessions WHERE workspace_hash = ? ORDER BY pk", (ws,)
            ).fetchall()
        )
        assert stored == [(s["id"], s["status"]) for s in written]  # statuses as written
    assert verify_store(sqlite).ok


def test_the_shipping_editors_files_export_back_byte_for_byte(
    editor_written, sqlite, tmp_path
):
    import_json(editor_written, sqlite)

    report = export_json(sqlite, tmp_path / "out")

    assert report.files == len(EDITOR_WRITTEN)
    for source in EDITOR_WRITTEN:
        assert (tmp_path / "out" / source.name).read_bytes() == source.read_bytes()


def test_a_second_import_of_the_editors_files_reports_nothing(editor_written, sqlite):
    import_json(editor_written, sqlite)
    # A changed file is read again: only what this run stores is reported.
    changed = next(editor_written.glob("ba9a*.json"))
    data = json.loads(changed.read_bytes())
    data.append({**data[0], "id": "appended-later"})
    changed.write_text(json.dumps(data, indent=2))

    again = import_json(editor_written, sqlite)

    assert again.ok and again.warnings == [] and again.errors == []
    assert (again.sessions, again.skipped) == (1, sum(
        len(json.loads(f.read_bytes())) for f in editor_written.glob("*.json")
    ) - 1)  # fmt: skip


def test_a_repeated_ids_copies_are_kept_and_the_commands_act_on_the_first(
    tmp_path, sqlite, workspace
):
    folder = tmp_path / "sessions"
    dialog = make_session("comp", instances=2, task="from the dialog")
    app = make_session("comp", instances=3, task="from App.tsx", updated_at=at(5))
    other = make_session("other", updated_at=at(1))
    write_editor_file(
        folder, compute_workspace_hash(workspace),
        [dialog.to_json(), other.to_json(), app.to_json()],
    )  # fmt: skip

    report = import_json(folder, sqlite)

    assert report.ok and [(w.index, w.kind) for w in report.warnings] == [
        (None, "no known path"), (2, "repeated id"),
    ]  # fmt: skip
    assert sqlite.get_session(workspace, "comp").task == "from the dialog"
    copies = sqlite.get_session_copies(workspace, "comp")
    assert [c.task for c in copies] == ["from the dialog", "from App.tsx"]
    assert len(copies[1].instances) == 3
    # get_all_sessions returns what the editor's returns for the file: every copy.
    assert sorted(s.task for s in sqlite.get_all_sessions(workspace)) == [
        "Task of other", "from App.tsx", "from the dialog",
    ]  # fmt: skip
    assert sqlite.count_sessions(workspace) == 3
    changed = copies[0]
    changed.status = "completed"
    sqlite.update_session(workspace, changed)
    after = sqlite.get_session_copies(workspace, "comp")
    assert [c.status for c in after] == ["completed", "running"]
    sqlite.add_chat_message(workspace, "comp", make_message("m1"))
    assert [len(c.chat_history) for c in sqlite.get_session_copies(workspace, "comp")] == [1, 0]
    with pytest.raises(AlreadyExistsError):
        sqlite.create_session(workspace, make_session("comp"))
    # The editor's `retain`: a delete removes every copy.
    sqlite.delete_session(workspace, "comp")
    with pytest.raises(NotFoundError):
        sqlite.get_session_copies(workspace, "comp")
    assert [s.id for s in sqlite.get_all_sessions(workspace)] == ["other"]


def test_values_the_contract_does_not_list_are_imported_as_written(tmp_path, sqlite, workspace):
    folder = tmp_path / "sessions"
    session = make_session("odd", instances=1, messages=1).to_json()
    session["status"] = "cancelled"
    session["instances"][0]["status"] = "queued"
    session["chatHistory"][0]["role"] = "tool"
    write_editor_file(folder, compute_workspace_hash(workspace), [session])

    report = import_json(folder, sqlite)

    assert report.ok and report.sessions == 1
    assert report.warning_counts() == {"repeated id": 0, "unknown value": 3, "no known path": 1}
    stored = sqlite.get_session(workspace, "odd")
    assert (stored.status, stored.instances[0].status, stored.chat_history[0].role) == (
        "cancelled", "queued", "tool",
    )  # fmt: skip
    assert stored.to_json() == session
    # What a caller writes still follows the contract.
    with pytest.raises(ValidationError):
        sqlite.update_session(workspace, stored)


# --- one workspace, one place --------------------------------------------------------------


def spelled(path: str) -> str:
    """The debate runner's hash: SHA-256 of the working directory as spelled."""
    return hashlib.sha256(path.encode()).hexdigest()[:16]


def runner_debate(session_id: str, status: str = "completed") -> dict[str, Any]:
    """A session as the debate runner's update_status writes it."""
    return make_session(
        session_id, type="debate", task="Debate in progress", status=status,
        updated_at=at(30), total_files_changed=0, total_lines_added=0, total_lines_deleted=0,
    ).to_json()  # fmt: skip


@pytest.fixture
def linked_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """(real folder, a symlink to it), as a workspace opened through a link."""
    real = tmp_path / "real" / "beta-repo"
    real.mkdir(parents=True)
    link = tmp_path / "links" / "beta"
    link.parent.mkdir()
    link.symlink_to(real)
    return real, link


def test_a_runner_file_under_the_spelled_path_joins_its_workspace(
    tmp_path, sqlite, linked_workspace
):
    real, link = linked_workspace
    folder = tmp_path / "sessions"
    board = make_session("debate-1", type="debate", task="the user's task", instances=3)
    commands = write_editor_file(folder, compute_workspace_hash(link), [
        board.to_json(), make_session("comp").to_json(),
    ])  # fmt: skip
    runner = write_editor_file(
        folder, spelled(str(link)), [runner_debate("debate-1"), runner_debate("debate-2")]
    )
    assert commands.name != runner.name
    assert import_json(folder, sqlite).ok

    listed = sqlite.get_all_sessions(str(link))  # the editor opens it by its spelling

    assert sorted(s.id for s in listed) == ["comp", "debate-1", "debate-1", "debate-2"]
    copies = sqlite.get_session_copies(str(link), "debate-1")
    assert [c.task for c in copies] == ["the user's task", "Debate in progress"]
    assert sqlite.get_session(str(link), "debate-1").task == "the user's task"
    # One workspace: its canonical path sees the same sessions from now on.
    assert sorted(s.id for s in sqlite.get_all_sessions(str(real))) == sorted(
        s.id for s in listed
    )
    joined = {w.hash: w for w in sqlite.list_workspaces()}[runner.stem]
    assert (joined.joined_to, joined.session_count) == (commands.stem, 0)
    # The way back writes each file as the editor wrote it.
    export_json(sqlite, tmp_path / "out")
    for file in (commands, runner):
        assert (tmp_path / "out" / file.name).read_bytes() == file.read_bytes()
    # The runner writes again: its new session lands in the workspace, and in its file.
    data = json.loads(runner.read_bytes()) + [runner_debate("debate-3", "round_1")]
    runner.write_bytes(editor_text(data))
    again = import_json(folder, sqlite)
    assert again.ok and again.sessions == 1
    assert sqlite.get_session(str(real), "debate-3").status == "round_1"
    export_json(sqlite, tmp_path / "out2")
    assert (tmp_path / "out2" / runner.name).read_bytes() == runner.read_bytes()
    assert verify_store(sqlite).ok


def test_a_runner_file_under_a_trailing_slash_joins_when_opened_without_it(
    tmp_path, sqlite, workspace
):
    folder = tmp_path / "sessions"
    write_editor_file(folder, spelled(workspace + "/"), [runner_debate("debate-9", "round_2")])
    import_json(folder, sqlite)

    assert sqlite.count_sessions(workspace) == 1
    assert sqlite.get_session(workspace, "debate-9").status == "round_2"
    assert sqlite.get_session(workspace + "/", "debate-9").status == "round_2"


def test_a_hash_no_spelling_of_the_path_gives_stays_apart(tmp_path, sqlite, workspace):
    folder = tmp_path / "sessions"
    stranger = write_editor_file(folder, "0123456789abcdef", [runner_debate("debate-x")])
    import_json(folder, sqlite)

    assert sqlite.get_all_sessions(workspace) == []
    info = {w.hash: w for w in sqlite.list_workspaces()}[stranger.stem]
    assert (info.path, info.joined_to, info.session_count) == (None, None, 1)


def test_rebind_moves_a_workspaces_sessions_to_another_path(tmp_path, sqlite, workspace):
    old = str(tmp_path / "projects" / "old-name")  # the folder is gone: renamed
    folder = tmp_path / "sessions"
    write_editor_file(folder, compute_workspace_hash(old), [
        make_session("a", instances=2).to_json(), make_session("b").to_json(),
    ])  # fmt: skip
    import_json(folder, sqlite)
    sqlite.create_session(workspace, make_session("b", task="made at the new path"))

    assert sqlite.rebind(old, workspace) == 2

    assert sorted(s.id for s in sqlite.get_all_sessions(workspace)) == ["a", "b", "b"]
    assert sqlite.get_session(workspace, "b").task == "made at the new path"
    assert len(sqlite.get_session(workspace, "a").instances) == 2
    info = {w.hash: w for w in sqlite.list_workspaces()}
    assert info[compute_workspace_hash(old)].joined_to == compute_workspace_hash(workspace)
    # They belong to the new path's file now.
    export_json(sqlite, tmp_path / "out")
    assert [p.stem for p in (tmp_path / "out").iterdir()] == [compute_workspace_hash(workspace)]
    with pytest.raises(NotFoundError):
        sqlite.rebind("fedcba9876543210", workspace)
    with pytest.raises(ValidationError):
        sqlite.rebind(workspace, workspace)


def test_rebind_takes_the_hash_a_workspace_is_listed_by(tmp_path, sqlite, workspace):
    folder = tmp_path / "sessions"
    write_editor_file(folder, "00000000000000aa", [make_session("lost").to_json()])
    import_json(folder, sqlite)

    assert sqlite.rebind("00000000000000aa", workspace) == 1
    assert [s.id for s in sqlite.get_all_sessions(workspace)] == ["lost"]


# --- repeated ids, resolved on purpose ---------------------------------------------------------


@pytest.fixture
def alpha(tmp_path: Path, sqlite: SqliteSessionRepository, workspace: str) -> dict[str, Any]:
    """The shipping editor's alpha file imported as ``workspace``'s: a debate pair (the
    runner's copy first) and a double-created competition; the file's sessions by id."""
    source = next(f for f in EDITOR_WRITTEN if f.name.startswith("ba9a"))
    folder = tmp_path / "alpha-sessions"
    folder.mkdir()
    (folder / f"{compute_workspace_hash(workspace)}.json").write_bytes(source.read_bytes())
    assert import_json(folder, sqlite).ok
    by_id: dict[str, list[dict[str, Any]]] = {}
    for item in json.loads(source.read_bytes()):
        by_id.setdefault(item["id"], []).append(item)
    return by_id


def test_duplicates_names_the_two_patterns_the_editor_makes(sqlite, workspace, alpha):
    groups = {g.session_id: g for g in sqlite.duplicates(workspace)}

    assert set(groups) == {sid for sid, copies in alpha.items() if len(copies) > 1}
    patterns = sorted(g.pattern for g in groups.values())
    assert patterns == ["debate pair", "double create"]
    for sid, group in groups.items():
        assert [c.to_json() for c in group.copies] == alpha[sid]
    assert sqlite.duplicates() == sqlite.duplicates(workspace)  # every workspace: the same


def test_a_dry_run_of_resolve_changes_nothing(sqlite, workspace, alpha):
    before = [s.to_json() for s in sqlite.get_all_sessions(workspace)]

    would = sqlite.resolve_duplicates(workspace, dry_run=True)

    assert len(would) == 2
    assert [s.to_json() for s in sqlite.get_all_sessions(workspace)] == before


def test_resolve_merges_the_debate_pair_and_drops_the_never_written_twin(
    sqlite, workspace, alpha
):
    groups = {g.pattern: g for g in sqlite.duplicates(workspace)}
    debate, twin = groups["debate pair"], groups["double create"]
    runner, board = (alpha[debate.session_id][0], alpha[debate.session_id][1])
    assert runner["task"] == "Debate in progress" and board["instances"]

    resolved = sqlite.resolve_duplicates(workspace)

    assert sorted(g.pattern for g in resolved) == ["debate pair", "double create"]
    assert sqlite.duplicates(workspace) == []
    merged = sqlite.get_session_copies(workspace, debate.session_id)
    assert len(merged) == 1
    expected = {
        **board, "status": runner["status"], "updatedAt": runner["updatedAt"],
        "completedAt": runner["completedAt"],
    }  # the runner's copy was updated last  # fmt: skip
    assert merged[0].to_json() == expected
    kept = sqlite.get_session_copies(workspace, twin.session_id)
    assert [k.to_json() for k in kept] == [alpha[twin.session_id][0]]
    assert sqlite.count_sessions(workspace) == len(alpha)
    assert verify_store(sqlite).ok


def test_copies_no_rule_knows_are_shown_and_left_alone(tmp_path, sqlite, workspace):
    folder = tmp_path / "sessions"
    first = make_session("s", messages=1, task="one task")
    second = make_session("s", messages=2, task="another task", updated_at=at(9))
    write_editor_file(folder, compute_workspace_hash(workspace), [first.to_json(), second.to_json()])
    import_json(folder, sqlite)

    assert [g.pattern for g in sqlite.duplicates(workspace)] == ["other"]
    assert sqlite.resolve_duplicates(workspace) == []
    assert len(sqlite.get_session_copies(workspace, "s")) == 2


def test_a_workspace_known_only_by_hash_is_said_once_and_not_when_opened_before(
    tmp_path, sqlite, workspace
):
    folder = tmp_path / "sessions"
    write_editor_file(folder, compute_workspace_hash(workspace), [make_session("a").to_json()])
    stranger = write_editor_file(folder, "0123456789abcdef", [make_session("b").to_json()])
    sqlite.get_all_sessions(workspace)
    sqlite.create_session(workspace, make_session("made-here"))  # the store knows its path now

    first = import_json(folder, sqlite)
    data = json.loads(stranger.read_bytes()) + [make_session("c").to_json()]
    stranger.write_bytes(editor_text(data))
    again = import_json(folder, sqlite)

    assert [(w.file, w.kind) for w in first.warnings] == [(str(stranger), "no known path")]
    assert again.sessions == 1 and again.warnings == []
    assert import_json(folder, sqlite).warnings == []  # unchanged: skipped unread
