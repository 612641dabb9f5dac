"""What only the PostgreSQL store promises: its schema under concurrent starts, writers on
several processes racing for one session, and the optional extra.

The contract suite (``test_repository_contract.py``) and the equivalence property test run on
it too, through ``conftest.STORES``. The server is a throwaway cluster (``postgres_cluster``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ait42_session import ChatMessage, PostgresSessionRepository
from ait42_session.errors import DatabaseError, MigrationError

from conftest import make_instance, make_session
from postgres_cluster import cluster, database_for

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import reliability  # noqa: E402

PROCESSES, WRITES = 8, 500


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return database_for(tmp_path)


def test_eight_processes_times_five_hundred_writes_lose_nothing(dsn: str, tmp_path: Path):
    figures = reliability.run_concurrent("postgres", PROCESSES, WRITES, tmp_path, dsn=dsn)
    assert figures.notes == []
    assert figures.attempted == PROCESSES * WRITES
    assert figures.acknowledged == PROCESSES * WRITES
    assert (figures.errors, figures.raw_errors) == (0, 0)
    assert (figures.lost, figures.half_written, figures.unreadable) == (0, 0, 0)


def test_racing_writers_of_one_session_get_distinct_message_positions(dsn: str, workspace: str):
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


def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(tmp_path: Path):
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
        assert {out.strip() for out, _ in outcomes} == {"1"}
    finally:
        server.execute("DROP DATABASE fresh_start WITH (FORCE)")


def test_a_database_newer_than_the_code_is_refused_and_left_alone(dsn: str, workspace: str):
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
        PostgresSessionRepository.connect(f"host={tmp_path} dbname=nothing connect_timeout=2")


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
