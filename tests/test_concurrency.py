"""Several threads and several processes writing one database file at once lose nothing."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from ait42_session import (
    ChatMessage,
    SqliteSessionRepository,
    WorktreeInstance,
    WorktreeSession,
)

WRITERS = 4
SESSIONS_EACH = 25
MESSAGES_EACH = 3


def session_for(writer: int, n: int) -> WorktreeSession:
    return WorktreeSession(
        id=f"w{writer}-s{n}", type="ensemble", task=f"task {writer} {n}", status="running",
        created_at="2025-01-13T10:00:00Z", updated_at="2025-01-13T10:00:00Z",
        instances=[WorktreeInstance(0, "/wt", "b", "agent", "running", "tmux")],
    )  # fmt: skip


def write_mixed(db_path: str, workspace: str, writer: int) -> None:
    """Create sessions, append messages, change statuses and update tasks, as an editor does."""
    with SqliteSessionRepository.with_path(db_path) as repo:
        for n in range(SESSIONS_EACH):
            session = repo.create_session(workspace, session_for(writer, n))
            for m in range(MESSAGES_EACH):
                repo.add_chat_message(
                    workspace, session.id,
                    ChatMessage(f"{session.id}-m{m}", "assistant", f"reply {m}",
                                "2025-01-13T10:00:01Z"),
                )  # fmt: skip
            repo.update_instance_status(workspace, session.id, 0, "completed")
            stored = repo.get_session(workspace, session.id)
            stored.task = f"done {writer} {n}"
            repo.update_session(workspace, stored)


def assert_nothing_lost(db_path: Path, workspace: str) -> None:
    with SqliteSessionRepository.with_path(db_path) as repo:
        sessions = repo.get_all_sessions(workspace)
        assert len(sessions) == WRITERS * SESSIONS_EACH
        for session in sessions:
            assert session.task.startswith("done ")
            assert [m.id for m in session.chat_history] == [
                f"{session.id}-m{m}" for m in range(MESSAGES_EACH)
            ]
            assert session.instances[0].status == "completed"
        assert repo.pool.verify_integrity()


def test_threads_sharing_one_repository_lose_no_write(tmp_path, workspace):
    db = tmp_path / "sessions.db"
    errors: list[BaseException] = []
    repo = SqliteSessionRepository.with_path(db)

    def run(writer: int) -> None:
        try:
            for n in range(SESSIONS_EACH):
                session = repo.create_session(workspace, session_for(writer, n))
                for m in range(MESSAGES_EACH):
                    repo.add_chat_message(
                        workspace, session.id,
                        ChatMessage(f"{session.id}-m{m}", "user", "hi", "2025-01-13T10:00:01Z"),
                    )  # fmt: skip
                repo.update_instance_status(workspace, session.id, 0, "completed")
                stored = repo.get_session(workspace, session.id)
                stored.task = f"done {writer} {n}"
                repo.update_session(workspace, stored)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    repo.close()
    assert errors == []
    assert_nothing_lost(db, workspace)


def run_writer_processes(db: Path, workspace: str) -> None:
    """WRITERS processes running write_mixed on one file at once; all must exit cleanly."""
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=write_mixed, args=(str(db), workspace, w))
        for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS


def test_processes_writing_one_file_at_once_lose_no_write(tmp_path, workspace):
    db = tmp_path / "sessions.db"
    SqliteSessionRepository.with_path(db).close()  # schema in place before the race
    run_writer_processes(db, workspace)
    assert_nothing_lost(db, workspace)


def test_processes_opening_a_new_file_at_once_migrate_it_once(tmp_path, workspace):
    db = tmp_path / "fresh.db"
    run_writer_processes(db, workspace)
    assert_nothing_lost(db, workspace)


def _open_new(db_path: str, start: "multiprocessing.synchronize.Event") -> None:  # type: ignore[name-defined]
    start.wait()
    with SqliteSessionRepository.with_path(db_path) as repo:
        repo.data_version()


def test_processes_opening_one_new_database_at_once_all_open_it(tmp_path: Path) -> None:
    """Each switches the new file to WAL; SQLite answers that switch busy at once rather than
    waiting (found with two sidecars started together: one died 'database is locked')."""
    context = multiprocessing.get_context("spawn")
    for round_ in range(4):
        db = str(tmp_path / f"new-{round_}.db")
        start = context.Event()
        procs = [context.Process(target=_open_new, args=(db, start)) for _ in range(6)]
        for proc in procs:
            proc.start()
        start.set()
        for proc in procs:
            proc.join(timeout=60)
        assert [proc.exitcode for proc in procs] == [0] * 6, round_
