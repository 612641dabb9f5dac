"""Day-to-day operations on the SQLite store: workspaces, prune, backup and restore, optimize,
and the change token a board polls; through Python and through the command line."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ait42_session import SqliteSessionRepository, compute_workspace_hash
from ait42_session.backup import backup, check_backup, restore
from ait42_session.errors import (
    DatabaseError,
    MigrationError,
    StoreCorruptedError,
    ValidationError,
)

from conftest import at, make_instance, make_session


@pytest.fixture
def store(tmp_path: Path):
    repo = SqliteSessionRepository.with_path(tmp_path / "sessions.db")
    yield repo
    repo.close()


def cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ait42_session", "--db", str(db), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def fill(store: SqliteSessionRepository, workspace: str) -> None:
    for n, (status, day) in enumerate(
        [("completed", 1), ("failed", 2), ("running", 20)]
    ):
        when = f"2025-03-{day:02d}T10:00:00Z"
        store.create_session(workspace, make_session(
            f"s{n}", status=status, created_at=when, updated_at=when,
            instances=[make_instance(0, output=f"secret output number {n} " * 50)],
        ))  # fmt: skip


# --- workspaces and the change token --------------------------------------------------------


def test_list_workspaces_counts_sessions_and_names_the_last_activity(
    store, workspace, other_workspace
):
    fill(store, workspace)
    store.create_session(other_workspace, make_session("x", updated_at=at(0, day=9)))
    found = {w.hash: w for w in store.list_workspaces()}
    mine = found[compute_workspace_hash(workspace)]
    assert (mine.session_count, mine.last_activity) == (3, "2025-03-20T10:00:00Z")
    assert mine.path is not None and mine.path.endswith("workspace")
    assert found[compute_workspace_hash(other_workspace)].session_count == 1


def test_the_change_token_moves_when_this_or_another_connection_writes(
    store, tmp_path, workspace
):
    first = store.data_version()
    assert store.data_version() == first  # reading changes nothing
    store.create_session(workspace, make_session("a"))
    second = store.data_version()
    assert second != first
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as other:
        other.delete_session(workspace, "a")
    assert store.data_version() != second


# --- prune ---------------------------------------------------------------------------------------


def test_prune_deletes_old_sessions_in_the_statuses_asked(store, workspace):
    fill(store, workspace)
    dry = store.prune(workspace, older_than="2025-03-10T00:00:00Z", dry_run=True)
    assert (dry.session_ids, dry.dry_run) == (["s0", "s1"], True)
    assert store.count_sessions(workspace) == 3
    report = store.prune(
        workspace, older_than=dt.date(2025, 3, 10), statuses=["failed"]
    )
    assert report.session_ids == ["s1"]
    assert [s.id for s in store.get_all_sessions(workspace)] == ["s2", "s0"]
    assert store.prune(workspace, statuses=["running"]).session_ids == ["s2"]


def test_prune_by_age(store, workspace):
    store.create_session(
        workspace, make_session("old", updated_at="2001-01-01T00:00:00Z")
    )
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    store.create_session(workspace, make_session("new", updated_at=now))
    assert store.prune(workspace, older_than=dt.timedelta(days=30)).session_ids == [
        "old"
    ]


def test_pruned_text_is_purged_from_the_file(store, workspace, tmp_path):
    fill(store, workspace)
    store.prune(workspace, statuses=["completed", "failed", "running"])
    store.pool.optimize()
    raw = (tmp_path / "sessions.db").read_bytes()
    assert b"secret output" not in raw
    assert (
        not Path(f"{tmp_path / 'sessions.db'}-wal").exists()
        or b"secret output" not in Path(f"{tmp_path / 'sessions.db'}-wal").read_bytes()
    )


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"statuses": ["exploded"]}, {"older_than": "soon"}, {"older_than": dt.timedelta(days=-1)},
     {"older_than": dt.datetime(2025, 1, 1)}],  # naive: no time zone
    ids=["nothing asked", "unknown status", "not a date", "negative age", "naive datetime"],
)  # fmt: skip
def test_prune_refuses_what_it_cannot_read(store, workspace, kwargs):
    fill(store, workspace)
    with pytest.raises(ValidationError):
        store.prune(workspace, **kwargs)
    assert store.count_sessions(workspace) == 3


def test_prune_from_the_command_line(store, workspace, tmp_path):
    fill(store, workspace)
    db = tmp_path / "sessions.db"
    dry = cli(
        "prune",
        "--workspace",
        workspace,
        "--before",
        "2025-03-10T00:00:00Z",
        "--dry-run",
        db=db,
    )
    assert dry.returncode == 0 and "would delete 2 sessions" in dry.stdout
    done = cli("prune", "--workspace", workspace, "--status", "failed", "--json", db=db)
    assert json.loads(done.stdout)["session_ids"] == ["s1"]
    assert (
        cli("prune", "--workspace", workspace, db=db).returncode == 1
    )  # nothing asked


# --- backup and restore --------------------------------------------------------------------------


def test_a_backup_taken_while_another_process_writes_is_consistent(
    store, workspace, tmp_path
):
    fill(store, workspace)
    target = backup(store.pool, tmp_path / "copy.db")
    assert target.stat().st_mode & 0o777 == 0o600
    assert check_backup(target) == store.pool.schema_version
    with SqliteSessionRepository.with_path(target) as copy:
        assert sorted(s.id for s in copy.get_all_sessions(workspace)) == [
            "s0",
            "s1",
            "s2",
        ]
        assert copy.pool.verify_integrity()


def test_a_backup_never_replaces_a_file_unless_asked(store, tmp_path):
    existing = tmp_path / "mine.txt"
    existing.write_text("keep me")
    with pytest.raises(DatabaseError, match="exists"):
        backup(store.pool, existing)
    assert existing.read_text() == "keep me"
    with pytest.raises(DatabaseError):
        backup(store.pool, tmp_path / "no" / "such" / "folder" / "copy.db")
    with pytest.raises(DatabaseError):
        backup(store.pool, tmp_path / "sessions.db")  # the database itself


def test_restore_brings_back_a_backup(store, workspace, tmp_path):
    fill(store, workspace)
    copy = backup(store.pool, tmp_path / "copy.db")
    store.delete_session(workspace, "s0")
    with pytest.raises(DatabaseError, match="holds 2 sessions"):
        restore(store.pool, copy)
    assert restore(store.pool, copy, force=True) == 3
    assert sorted(s.id for s in store.get_all_sessions(workspace)) == ["s0", "s1", "s2"]
    assert store.pool.verify_integrity()


def test_a_restore_over_a_live_store_is_seen_by_its_other_users(
    store, workspace, tmp_path
):
    fill(store, workspace)
    copy = backup(store.pool, tmp_path / "copy.db")
    store.create_session(workspace, make_session("late"))
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as live_reader:
        assert live_reader.count_sessions(workspace) == 4
        restore(store.pool, copy, force=True)
        assert (
            live_reader.count_sessions(workspace) == 3
        )  # the other connection sees it


def test_restore_refuses_what_is_not_a_sound_backup(store, tmp_path, workspace):
    fill(store, workspace)
    before = store.count_sessions(workspace)
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    other_app = tmp_path / "other.db"
    import apsw

    con = apsw.Connection(str(other_app))
    con.execute("CREATE TABLE t (x)")
    con.close()
    damaged = backup(store.pool, tmp_path / "damaged.db")
    data = bytearray(damaged.read_bytes())
    data[4096 * 2 : 4096 * 2 + 512] = (
        b"\xff" * 512
    )  # a page of the tables scribbled over
    damaged.write_bytes(bytes(data))
    for source, error in [
        (tmp_path / "missing.db", DatabaseError),
        (text, StoreCorruptedError),
        (other_app, MigrationError),
        (damaged, StoreCorruptedError),
    ]:
        with pytest.raises(error):
            restore(store.pool, source, force=True)
        assert store.count_sessions(workspace) == before


def test_backup_and_restore_from_the_command_line(store, workspace, tmp_path):
    fill(store, workspace)
    db, copy = tmp_path / "sessions.db", tmp_path / "copy.db"
    assert cli("backup", str(copy), db=db).returncode == 0
    again = cli("backup", str(copy), db=db)
    assert again.returncode == 1 and "exists" in again.stderr
    store.delete_session(workspace, "s2")
    refused = cli("restore", str(copy), db=db)
    assert refused.returncode == 1 and "force" in refused.stderr
    done = cli("restore", str(copy), "--force", db=db)
    assert done.returncode == 0 and "3 sessions" in done.stdout
    assert store.count_sessions(workspace) == 3


# --- optimize ------------------------------------------------------------------------------------


def test_optimize_reclaims_the_pages_deleted_sessions_left(store, workspace):
    for n in range(30):
        store.create_session(workspace, make_session(f"s{n}", instances=[
            make_instance(0, output="x" * 20_000 + str(n))]))  # fmt: skip
    store.pool.optimize()
    for n in range(30):
        store.delete_session(workspace, f"s{n}")
    freed = store.pool.optimize()
    assert freed > 300_000
    assert store.pool.optimize() == 0  # nothing left to free
    assert store.pool.verify_integrity()
