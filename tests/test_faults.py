"""Injected I/O faults: every public write fails whole, with the package's error, and recovers.

SQLite's own tests fail the Nth write, sync or read of a statement and check that the database
is exactly as before. Here ``FaultVFS`` (tests/faultvfs.py) does the same under the SQLite store:
for each public write and each fault (I/O error on write, disk full, I/O error on sync, short
read, read error) the fault is put at every point the write touches the disk, one run each.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import apsw
import pytest

from ait42_session import (
    DatabaseError,
    JsonSessionRepository,
    MigrationError,
    NotFoundError,
    SqliteSessionRepository,
    StoreCorruptedError,
)
from conftest import make_instance, make_message, make_session
from faultvfs import Fault, FaultVFS

POINTS = 6  # fault positions tried per write and fault kind (the first, the last, and between)


@pytest.fixture
def vfs() -> Iterator[FaultVFS]:
    fault_vfs = FaultVFS()
    try:
        yield fault_vfs
    finally:
        fault_vfs.close()


# --- a seeded store, copied fresh for every run ------------------------------------------------


def seed_sessions() -> list[Any]:
    return [
        make_session(
            "kept", instances=2, messages=3, updated_at="2025-01-13T10:01:00Z"
        ),
        make_session(
            "target",
            instances=[make_instance(i, output=f"output {i} " * 200) for i in range(3)],
            messages=2,
            updated_at="2025-01-13T10:02:00Z",
        ),
    ]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A checkpointed database with two sessions in one workspace and one in another."""
    root = tmp_path_factory.mktemp("template")
    workspace, other = root / "workspace", root / "other"
    workspace.mkdir()
    other.mkdir()
    db = root / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        for session in seed_sessions():
            repo.create_session(str(workspace), session)
        repo.create_session(
            str(other), make_session("elsewhere", instances=1, messages=1)
        )
        repo.pool.optimize()
    return db, str(workspace), str(other)


def fresh_copy(template: tuple[Path, str, str], folder: Path) -> Path:
    folder.mkdir(parents=True)
    db = folder / "sessions.db"
    shutil.copyfile(template[0], db)
    return db


# --- the five public writes ------------------------------------------------------------------


def changed_target() -> Any:
    session = seed_sessions()[1]
    session.task = "rewritten task"
    session.status = "completed"
    session.chat_history[0].content = "rewritten message"
    session.instances = [session.instances[0], make_instance(7, output="new output")]
    session.updated_at = "2025-01-13T11:00:00Z"
    return session


def create(repo: Any, ws: str) -> None:
    repo.create_session(
        ws, make_session("new", instances=2, messages=2, task="brand new")
    )


def update(repo: Any, ws: str) -> None:
    repo.update_session(ws, changed_target())


def delete(repo: Any, ws: str) -> None:
    repo.delete_session(ws, "target")


def add_message(repo: Any, ws: str) -> None:
    repo.add_chat_message(ws, "target", make_message("appended", "a new message"))


def set_status(repo: Any, ws: str) -> None:
    repo.update_instance_status(ws, "target", 1, "archived")


def created(repo: Any, ws: str) -> bool:
    return repo.get_session(ws, "new").task == "brand new"


def updated(repo: Any, ws: str) -> bool:
    return repo.get_session(ws, "target").to_json() == changed_target().to_json()


def deleted(repo: Any, ws: str) -> bool:
    try:
        repo.get_session(ws, "target")
    except NotFoundError:
        return True
    return False


def message_added(repo: Any, ws: str) -> bool:
    return repo.get_session(ws, "target").chat_history[-1].id == "appended"


def status_set(repo: Any, ws: str) -> bool:
    return repo.get_session(ws, "target").instances[1].status == "archived"


WRITES: dict[str, tuple[Callable[[Any, str], None], Callable[[Any, str], bool]]] = {
    "create_session": (create, created),
    "update_session": (update, updated),
    "delete_session": (delete, deleted),
    "add_chat_message": (add_message, message_added),
    "update_instance_status": (set_status, status_set),
}

# (fault kind, synchronous mode). With synchronous=NORMAL only the first commit into a new WAL
# (which writes the WAL header) and checkpoints call fsync; FULL syncs every commit.
FAULTS = [("write", "NORMAL"), ("full", "NORMAL"), ("sync", "NORMAL"), ("sync", "FULL"),
          ("short_read", "NORMAL"), ("read", "NORMAL")]  # fmt: skip


def snapshot(repo: Any, workspaces: tuple[str, ...]) -> tuple[Any, ...]:
    """Everything a caller can see, plus the row counts of every table and index."""
    con = repo.pool.connection()
    tables = [
        name
        for (name,) in con.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').get for t in tables}
    sessions = {
        ws: [s.to_json() for s in repo.get_all_sessions(ws)] for ws in workspaces
    }
    hits = {ws: repo.search(ws, "output message task") for ws in workspaces}
    return sessions, counts, hits


def fault_points(matching_calls: int) -> list[int]:
    """Up to POINTS positions among the calls a write makes: first, last, evenly between."""
    if matching_calls <= POINTS:
        return list(range(matching_calls))
    step = (matching_calls - 1) / (POINTS - 1)
    return sorted({round(n * step) for n in range(POINTS)})


def prepare(repo: Any, workspaces: tuple[str, ...]) -> tuple[Any, ...]:
    """The store's snapshot, then a cold page cache so that the write's reads reach the file."""
    before = snapshot(repo, workspaces)
    repo.pool.connection().release_memory()
    return before


def calls_made(
    vfs: FaultVFS, fault: Fault, template: Any, folder: Path, write: Any, sync: str
) -> int:
    """How many calls the fault would match when the write runs without it."""
    db = fresh_copy(template, folder)
    with SqliteSessionRepository.with_path(db, vfs=vfs.name, synchronous=sync) as repo:
        prepare(repo, template[1:])
        vfs.reset_counts()
        write(repo, template[1])
        return sum(vfs.count(method, fault.files) for method in fault.methods())


def raised_by(kind: str) -> tuple[type[Exception], ...]:
    """The contract's error for a fault. SQLite reads a short read as the end of the file: the
    page comes back as zeros and SQLite reports a malformed database (StoreCorruptedError).
    """
    return (
        (DatabaseError, StoreCorruptedError)
        if kind == "short_read"
        else (DatabaseError,)
    )


@pytest.mark.parametrize("kind,sync", FAULTS, ids=[f"{k}-{m}" for k, m in FAULTS])
@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_under_a_fault_raises_database_error_changes_nothing_and_the_next_succeeds(
    vfs, template, tmp_path, name, kind, sync
):
    write, applied = WRITES[name]
    _, ws, other = template
    total = calls_made(vfs, Fault(kind), template, tmp_path / "dry", write, sync)
    assert (
        total > 0
    ), f"{name} never reaches the fault {kind}: the test would prove nothing"
    for point in fault_points(total):
        db = fresh_copy(template, tmp_path / f"at-{point}")
        with SqliteSessionRepository.with_path(
            db, vfs=vfs.name, synchronous=sync
        ) as repo:
            before = prepare(repo, (ws, other))
            with vfs.armed(Fault(kind, skip=point)) as fault:
                with pytest.raises(raised_by(kind)) as raised:
                    write(repo, ws)
            assert fault.fired >= 1
            assert isinstance(raised.value.__cause__, apsw.Error)  # translated, not raw
            assert str(db) in str(raised.value)
            assert "no transaction is active" not in str(raised.value)
            # Lifted: this connection, and a fresh one on the default VFS, see the old store.
            assert snapshot(repo, (ws, other)) == before, f"fault at call {point}"
            with SqliteSessionRepository.with_path(db) as fresh:
                assert snapshot(fresh, (ws, other)) == before
                assert fresh.pool.verify_integrity()
            write(repo, ws)
            assert applied(repo, ws)
            assert repo.pool.verify_integrity()


@pytest.mark.parametrize("kind", ["write", "full", "short_read", "read"])
@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_hit_by_one_transient_fault_is_all_or_nothing(
    vfs, template, tmp_path, name, kind
):
    write, applied = WRITES[name]
    _, ws, other = template
    total = calls_made(vfs, Fault(kind), template, tmp_path / "dry", write, "NORMAL")
    for point in fault_points(total):
        db = fresh_copy(template, tmp_path / f"at-{point}")
        with SqliteSessionRepository.with_path(db, vfs=vfs.name) as repo:
            before = prepare(repo, (ws, other))
            with vfs.armed(Fault(kind, skip=point, count=1)):
                try:
                    write(repo, ws)
                    failed = False
                except raised_by(kind):
                    failed = True
            if failed:
                assert snapshot(repo, (ws, other)) == before
                write(repo, ws)
            assert applied(repo, ws)
            assert repo.pool.verify_integrity()


# --- sync under synchronous=NORMAL -----------------------------------------------------------


def test_normal_sync_commits_into_a_started_wal_without_fsync_and_a_failed_checkpoint_loses_nothing(
    vfs, template, tmp_path
):
    _, ws, other = template
    db = fresh_copy(template, tmp_path / "normal")
    with SqliteSessionRepository.with_path(db, vfs=vfs.name) as repo:
        set_status(repo, ws)  # starts the WAL (its header is synced once)
        with vfs.armed(Fault("sync")) as fault:
            create(
                repo, ws
            )  # WAL + NORMAL: the commit appends to the WAL without fsync
            assert fault.fired == 0
            with pytest.raises(DatabaseError, match="sessions.db"):
                repo.pool.optimize()  # the checkpoint syncs, and fails
            assert fault.fired >= 1
        after = snapshot(repo, (ws, other))
        assert created(repo, ws)
        repo.pool.optimize()
        assert os.path.getsize(str(db) + "-wal") == 0
    with SqliteSessionRepository.with_path(db) as fresh:
        assert snapshot(fresh, (ws, other)) == after
        assert fresh.pool.verify_integrity()


def test_a_write_whose_fsync_failed_is_not_brought_back_by_a_crash_after_the_next_write(
    vfs, template, tmp_path
):
    _, ws, _ = template
    db = fresh_copy(template, tmp_path / "live")
    with SqliteSessionRepository.with_path(
        db, vfs=vfs.name, synchronous="FULL"
    ) as repo:
        with vfs.armed(Fault("sync")):
            with pytest.raises(DatabaseError):
                create(repo, ws)
        add_message(repo, ws)
        # A crash now: copy the database and its WAL as they are, without the shared memory.
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        shutil.copyfile(db, crashed / "sessions.db")
        shutil.copyfile(str(db) + "-wal", crashed / "sessions.db-wal")
    with SqliteSessionRepository.with_path(crashed / "sessions.db") as recovered:
        assert recovered.pool.verify_integrity()
        assert message_added(recovered, ws)
        with pytest.raises(NotFoundError):
            recovered.get_session(ws, "new")


# --- opening and reading under faults --------------------------------------------------------


@pytest.mark.parametrize("kind", ["write", "full", "read"])
def test_opening_a_new_database_under_a_fault_names_the_fault_and_leaves_no_half_schema(
    vfs, tmp_path, kind
):
    for point in (0, 5, 20, 60):
        db = tmp_path / f"new-{point}.db"
        with vfs.armed(Fault(kind, skip=point)) as fault:
            try:
                SqliteSessionRepository.with_path(db, vfs=vfs.name).close()
                opened = True
            except (DatabaseError, MigrationError) as exc:
                opened = False
                assert "no transaction is active" not in str(exc)
                assert str(db) in str(exc)
                assert isinstance(exc.__cause__, apsw.Error)
        assert opened or fault.fired >= 1
        with SqliteSessionRepository.with_path(
            db
        ) as repo:  # the next open finishes the schema
            repo.create_session(str(tmp_path), make_session())
            assert repo.pool.verify_integrity()
            assert repo.pool.schema_version >= 3


@pytest.mark.parametrize("kind", ["short_read", "read"])
def test_a_read_under_a_fault_raises_the_contracts_error_and_the_next_read_works(
    vfs, template, tmp_path, kind
):
    _, ws, other = template
    db = fresh_copy(template, tmp_path / "reads")
    with SqliteSessionRepository.with_path(db, vfs=vfs.name) as repo:
        before = snapshot(repo, (ws, other))
        for point in (0, 2, 5):
            repo.pool.connection().release_memory()
            with vfs.armed(Fault(kind, skip=point)):
                with pytest.raises(raised_by(kind)) as raised:
                    repo.get_all_sessions(ws)
            assert isinstance(raised.value.__cause__, apsw.Error)
            assert str(db) in str(raised.value)
            assert "no transaction is active" not in str(raised.value)
            assert snapshot(repo, (ws, other)) == before


def test_the_connection_is_usable_after_many_faults_in_a_row(vfs, template, tmp_path):
    _, ws, other = template
    db = fresh_copy(template, tmp_path / "many")
    with SqliteSessionRepository.with_path(db, vfs=vfs.name) as repo:
        before = snapshot(repo, (ws, other))
        for kind in ("write", "full", "read", "short_read") * 5:
            repo.pool.connection().release_memory()
            with vfs.armed(Fault(kind)):
                for write, _ in WRITES.values():
                    with pytest.raises(raised_by(kind)):
                        write(repo, ws)
        assert snapshot(repo, (ws, other)) == before
        for name in ("create_session", "add_chat_message", "update_instance_status",
                     "update_session", "delete_session"):  # fmt: skip
            write, applied = WRITES[name]
            write(repo, ws)
            assert applied(repo, ws), name
        assert repo.pool.verify_integrity()


# --- side by side: the JSON store on a full disk ---------------------------------------------


class _DiskFullAfterHalf:
    """A file object that writes half of what it is given, then fails as a full disk does."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        os.write(self.fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> "_DiskFullAfterHalf":
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


@pytest.mark.parametrize("name", list(WRITES))
def test_a_full_disk_costs_the_json_store_the_workspace_file_and_sqlite_nothing(
    vfs, template, tmp_path, monkeypatch, name
):
    write, _ = WRITES[name]
    _, ws, other = template
    json_store = JsonSessionRepository(tmp_path / "sessions")
    for session in seed_sessions():
        json_store.create_session(ws, session)
    db = fresh_copy(template, tmp_path / "sqlite")
    with SqliteSessionRepository.with_path(db, vfs=vfs.name) as sqlite_store:
        before = snapshot(sqlite_store, (ws, other))
        with vfs.armed(Fault("full")):
            with pytest.raises(DatabaseError):
                write(sqlite_store, ws)
        assert snapshot(sqlite_store, (ws, other)) == before

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r": _DiskFullAfterHalf(fd))
    with pytest.raises(DatabaseError, match="No space left"):
        write(json_store, ws)
    monkeypatch.undo()
    # The editor's in-place rewrite truncated the file first: the whole workspace is gone.
    with pytest.raises(StoreCorruptedError, match=r"\.json"):
        json_store.get_all_sessions(ws)
