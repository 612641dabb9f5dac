"""What only the PostgreSQL store promises: its schema under concurrent starts, writers on
several processes racing for one session, the optional extra, and the move from the editor's
JSON files into it.

The contract suite (``test_repository_contract.py``) and the equivalence property test run on
it too, through ``conftest.STORES``. The server is a throwaway cluster (``postgres_cluster``).
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ait42_session import ChatMessage, PostgresSessionRepository
from ait42_session.db import migration_scripts
from ait42_session.errors import DatabaseError, MigrationError, ValidationError
from ait42_session.health import store_stats, verify_store
from ait42_session.json_repo import JsonSessionRepository
from ait42_session.workspace import compute_workspace_hash
from ait42_session.migration import (
    DualWriteRepository,
    FallbackRepository,
    export_json,
    import_json,
    migration_status,
    record_migration_phase,
)

from conftest import EDITOR_WRITTEN, make_instance, make_session
from postgres_cluster import cluster, database_for

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import reliability  # noqa: E402

PROCESSES, WRITES = 8, 500


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return database_for(tmp_path)


def test_eight_processes_times_five_hundred_writes_lose_nothing(
    dsn: str, tmp_path: Path
):
    figures = reliability.run_concurrent(
        "postgres", PROCESSES, WRITES, tmp_path, dsn=dsn
    )
    assert figures.notes == []
    assert figures.attempted == PROCESSES * WRITES
    assert figures.acknowledged == PROCESSES * WRITES
    assert (figures.errors, figures.raw_errors) == (0, 0)
    assert (figures.lost, figures.half_written, figures.unreadable) == (0, 0, 0)


def test_racing_writers_of_one_session_get_distinct_message_positions(
    dsn: str, workspace: str
):
    with PostgresSessionRepository.connect(dsn) as repo:
        repo.create_session(workspace, make_session("s1", instances=[make_instance(0)]))
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with PostgresSessionRepository.connect(dsn, max_size=1) as repo:
                for n in range(25):
                    repo.add_chat_message(workspace, "s1", ChatMessage(
                        f"w{writer}-{n}", "user", "hi", "2025-01-13T10:00:00Z"))  # fmt: skip
                    repo.update_instance_status(
                        workspace, "s1", 0, "completed" if n % 2 else "running"
                    )
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with PostgresSessionRepository.connect(dsn) as repo:
        messages = repo.get_session(workspace, "s1").chat_history
    assert len(messages) == 6 * 25
    for writer in range(6):  # each writer's messages in its own order
        mine = [m.id for m in messages if m.id.startswith(f"w{writer}-")]
        assert mine == [f"w{writer}-{n}" for n in range(25)]


def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(
    tmp_path: Path,
):
    server = cluster()
    server.execute("CREATE DATABASE fresh_start")
    code = (
        "import sys; from ait42_session import PostgresSessionRepository as R; "
        "r = R.connect(sys.argv[1]); print(r.database.schema_version); r.close()"
    )
    try:
        procs = [
            subprocess.Popen([sys.executable, "-c", code, server.dsn("fresh_start")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]  # fmt: skip
        outcomes = [proc.communicate(timeout=120) for proc in procs]
        assert [proc.returncode for proc in procs] == [0] * 4, outcomes
        assert {out.strip() for out, _ in outcomes} == {str(len(migration_scripts("postgres")))}
    finally:
        server.execute("DROP DATABASE fresh_start WITH (FORCE)")


def test_a_database_newer_than_the_code_is_refused_and_left_alone(
    dsn: str, workspace: str
):
    import psycopg

    with PostgresSessionRepository.connect(dsn) as repo:
        repo.create_session(workspace, make_session("kept"))
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("UPDATE ait42_schema SET version = 999")
    with pytest.raises(MigrationError, match="newer"):
        PostgresSessionRepository.connect(dsn)
    with psycopg.connect(dsn, autocommit=True) as con:
        assert con.execute("SELECT version FROM ait42_schema").fetchone()[0] == 999
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_a_server_that_is_not_there_is_a_database_error(tmp_path: Path):
    with pytest.raises(DatabaseError, match="cannot connect"):
        PostgresSessionRepository.connect(
            f"host={tmp_path} dbname=nothing connect_timeout=2"
        )


def test_a_message_never_shows_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        PostgresSessionRepository.connect(
            "postgresql://someone:s3cret@/nothing?host=/nonexistent&connect_timeout=2"
        )
    assert "s3cret" not in str(caught.value)


def test_without_the_extra_the_package_imports_and_the_class_names_the_extra():
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "import ait42_session\n"
        "try:\n"
        "    ait42_session.PostgresSessionRepository.connect('dbname=x')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pip install 'ait42-session[postgres]'" in done.stdout


# --- the move from the editor's JSON files, into PostgreSQL -------------------------------------


def editor_folder(tmp_path: Path, sessions: int = 60) -> Path:
    """Editor files of three workspaces, one with a 130 KB output."""
    from test_migration import editor_session, write_editor_file

    rng = random.Random(11)
    folder = tmp_path / "sessions"
    for w in range(3):
        write_editor_file(folder, f"{w:016x}", [
            editor_session(rng, w * sessions + n, big_output=(w, n) == (0, 0))
            for n in range(sessions)
        ])  # fmt: skip
    return folder


def session_count(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as con:
        return con.execute("SELECT count(*) FROM sessions").fetchone()[0]


def test_import_then_export_through_postgres_gives_back_the_editor_files(
    dsn: str, tmp_path: Path
):
    folder = editor_folder(tmp_path)
    with PostgresSessionRepository.connect(dsn) as repo:
        report = import_json(folder, repo)
        again = import_json(folder, repo)
        exported = export_json(repo, tmp_path / "out")
        status = migration_status(repo)

    assert report.ok, report.errors
    assert (report.files, report.sessions, report.backup_path) == (3, 180, None)
    assert (again.sessions, again.skipped, again.unchanged_files) == (0, 180, 3)
    assert (exported.files, exported.sessions) == (3, 180)
    for source in sorted(folder.iterdir()):
        assert (
            tmp_path / "out" / source.name
        ).read_bytes() == source.read_bytes(), source.name
    assert status.status == "imported"


def test_the_shipping_editors_files_keep_every_copy_and_export_byte_for_byte_in_postgres(
    dsn: str, tmp_path: Path
):
    folder = tmp_path / "editor-sessions"
    folder.mkdir()
    for source in EDITOR_WRITTEN:
        (folder / source.name).write_bytes(source.read_bytes())
    with PostgresSessionRepository.connect(dsn) as repo:
        report = import_json(folder, repo)
        again = import_json(folder, repo)
        export_json(repo, tmp_path / "out")

    assert report.ok and report.warning_counts()["repeated id"] > 0
    assert report.sessions == sum(len(json.loads(f.read_bytes())) for f in EDITOR_WRITTEN)
    assert (again.sessions, again.warnings) == (0, [])
    for source in EDITOR_WRITTEN:
        assert (tmp_path / "out" / source.name).read_bytes() == source.read_bytes()


def test_a_runner_file_joins_its_workspace_and_rebind_moves_one_in_postgres(
    dsn: str, tmp_path: Path, workspace: str
):
    folder = tmp_path / "sessions"
    folder.mkdir()
    spelled = hashlib.sha256((workspace + "/").encode()).hexdigest()[:16]
    runner = [make_session("debate-1", type="debate", status="round_2").to_json()]
    (folder / f"{spelled}.json").write_text(json.dumps(runner, indent=2))
    (folder / "00000000000000aa.json").write_text(
        json.dumps([make_session("lost").to_json(), make_session("debate-1").to_json()])
    )
    with PostgresSessionRepository.connect(dsn) as repo:
        assert import_json(folder, repo).ok
        assert [s.status for s in repo.get_all_sessions(workspace)] == ["round_2"]
        assert repo.rebind("00000000000000aa", workspace) == 2
        copies = repo.get_session_copies(workspace, "debate-1")
        joined = {w.hash: w.joined_to for w in repo.list_workspaces()}

    assert [c.status for c in copies] == ["round_2", "running"]
    assert joined[spelled] == joined["00000000000000aa"] != None  # noqa: E711


def test_duplicates_are_grouped_and_resolved_in_postgres_as_in_sqlite(
    dsn: str, tmp_path: Path, workspace: str
):
    from ait42_session import SqliteSessionRepository

    source = next(f for f in EDITOR_WRITTEN if f.name.startswith("ba9a"))
    folder = tmp_path / "sessions"
    folder.mkdir()
    (folder / f"{compute_workspace_hash(workspace)}.json").write_bytes(source.read_bytes())
    answers = []
    for store in (
        PostgresSessionRepository.connect(dsn),
        SqliteSessionRepository.with_path(tmp_path / "s.db"),
    ):
        with store:
            import_json(folder, store)
            listed = [(g.session_id, g.pattern) for g in store.duplicates(workspace)]
            resolved = store.resolve_duplicates(workspace)
            answers.append((
                listed, len(resolved), store.duplicates(),
                [s.to_json() for s in store.get_all_sessions(workspace)],
            ))  # fmt: skip

    assert answers[0] == answers[1]
    assert sorted(pattern for _, pattern in answers[0][0]) == ["debate pair", "double create"]
    assert answers[0][1] == 2 and answers[0][2] == []


def test_a_changed_file_replaces_its_changed_sessions_in_postgres(
    dsn: str, tmp_path: Path
):
    from test_migration import editor_session, editor_text, write_editor_file

    rng = random.Random(5)
    sessions = [editor_session(rng, n) for n in range(10)]
    folder = tmp_path / "sessions"
    path = write_editor_file(folder, "00000000000000aa", sessions)
    with PostgresSessionRepository.connect(dsn) as repo:
        import_json(folder, repo)
        sessions[2]["task"] = "Changed"
        sessions[2]["instances"] = []
        sessions.append(editor_session(rng, 10))
        path.write_bytes(editor_text(sessions))

        report = import_json(folder, repo)
        export_json(repo, tmp_path / "out")

    assert (report.sessions, report.replaced, report.skipped) == (2, 1, 9)
    assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


def test_a_session_postgres_refuses_is_reported_and_the_rest_of_its_file_imports(
    dsn: str, tmp_path: Path
):
    import psycopg

    from test_migration import write_editor_file

    items = [make_session("a", messages=1), make_session("b", task="forbidden", instances=2),
             make_session("c", messages=2)]  # fmt: skip
    folder = tmp_path / "sessions"
    write_editor_file(folder, "00000000000000aa", [s.to_json() for s in items])
    with PostgresSessionRepository.connect(dsn) as repo:
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(
                "ALTER TABLE sessions ADD CONSTRAINT no_forbidden CHECK (task <> 'forbidden')"
            )
        report = import_json(folder, repo)

    assert [(i.index, "no_forbidden" in i.reason) for i in report.errors] == [(1, True)]
    assert (report.sessions, report.instances, report.messages) == (2, 0, 3)
    assert session_count(dsn) == 2


def test_an_output_with_more_words_than_a_tsvector_holds_is_stored_whole(
    dsn: str, workspace: str
):
    output = " ".join(
        f"w{n:08d}" for n in range(150_000)
    )  # ~2 MB of distinct words as tsvector
    session = make_session("big", instances=[make_instance(0, output=output)])
    with PostgresSessionRepository.connect(dsn) as repo:
        repo.create_session(workspace, session)
        assert repo.get_session(workspace, "big").instances[0].output == output
        assert [h.session_id for h in repo.search(workspace, "w00000007")] == ["big"]


def test_a_dry_run_into_postgres_changes_nothing_and_reports_like_a_real_run(
    dsn: str, tmp_path: Path
):
    folder = editor_folder(tmp_path, sessions=20)
    with PostgresSessionRepository.connect(dsn) as repo:
        dry = import_json(folder, repo, dry_run=True)
        assert session_count(dsn) == 0
        assert migration_status(repo).status == "pending"
        real = import_json(folder, repo)

    assert dry == real and dry.sessions == 60


def test_the_phases_are_recorded_in_postgres(dsn: str, tmp_path: Path, workspace: str):
    with PostgresSessionRepository.connect(dsn) as repo:
        assert migration_status(repo).status == "pending"
        dual = DualWriteRepository(JsonSessionRepository(tmp_path / "json"), repo)
        dual.create_session(workspace, make_session("both"))
        assert migration_status(repo).status == "dual_write"
        FallbackRepository(repo, dual.primary)
        assert migration_status(repo).status == "sqlite_primary"
        record_migration_phase(repo, "sqlite_only")
        assert migration_status(repo).status == "sqlite_only"
        with pytest.raises(ValidationError):
            record_migration_phase(repo, "half_done")
        assert dual.primary.get_session(workspace, "both") == repo.get_session(
            workspace, "both"
        )


def test_verify_checks_indexes_with_amcheck_and_finds_rows_search_cannot_see(
    dsn: str, workspace: str
):
    import psycopg

    with PostgresSessionRepository.connect(dsn) as repo:
        instance = make_instance(0, output="ran the tests")
        repo.create_session(
            workspace, make_session("s1", instances=[instance], messages=2)
        )
        plain = verify_store(repo)
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute("CREATE EXTENSION amcheck")
        checked = verify_store(repo)
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute("UPDATE instances SET output_words = NULL")
        broken = verify_store(repo)
        stats = store_stats(repo)

    assert plain.ok and plain.notes and "amcheck" in plain.notes[0]
    assert checked.ok and checked.notes == [] and checked.integrity == ["ok"]
    assert checked.counts == {
        "workspaces": 1,
        "sessions": 1,
        "instances": 1,
        "messages": 2,
    }
    assert not broken.ok and broken.fts["output words"] is False
    assert stats.totals == {"sessions": 1, "instances": 1, "messages": 2}
    assert stats.db_bytes > 0 and stats.migration_status == "pending"
