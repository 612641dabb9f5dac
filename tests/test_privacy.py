"""Privacy: owner-only files, no leftover text after a change, no way into another workspace.

Sessions hold prompts, agent output and chat: folders are 0700 and every file 0600 (database,
WAL, shared memory, JSON files, exports, backups) even under a permissive umask; text a change
replaced or a delete removed leaves every read at once and the files at the next purge
(``Database.purge``, run by ``optimize``); and no call through one workspace's path can read
or change another's sessions, whatever id it guesses.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ait42_session import (
    JsonSessionRepository,
    NotFoundError,
    SessionFilters,
    SqliteSessionRepository,
    ValidationError,
    compute_workspace_hash,
)
from ait42_session.migration import export_json, import_json
from conftest import make_instance, make_message, make_session, open_store


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: whatever the store creates gets exactly the mode it asks."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# --- file and folder modes -------------------------------------------------------------------


def test_a_new_database_its_wal_shm_and_every_missing_parent_are_owner_only(
    tmp_path, open_umask
):
    db = tmp_path / "a" / "b" / "c" / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        repo.create_session(str(tmp_path), make_session())
        for folder in (tmp_path / "a", tmp_path / "a" / "b", db.parent):
            assert mode(folder) == 0o700, folder
        for name in ("sessions.db", "sessions.db-wal", "sessions.db-shm"):
            assert mode(db.parent / name) == 0o600, name


def test_the_default_stores_create_ait42_home_owner_only(
    ait42_home, workspace, open_umask
):
    with SqliteSessionRepository.new_default() as repo:
        repo.create_session(workspace, make_session())
    JsonSessionRepository.new_default().create_session(workspace, make_session())
    assert mode(ait42_home) == 0o700
    assert mode(ait42_home / "sessions") == 0o700
    assert mode(ait42_home / "sessions.db") == 0o600
    [file] = (ait42_home / "sessions").glob("*.json")
    assert mode(file) == 0o600


def test_an_existing_world_readable_database_is_made_owner_only_before_use(
    tmp_path, workspace
):
    db = tmp_path / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        repo.create_session(workspace, make_session())
    os.chmod(db, 0o644)
    with SqliteSessionRepository.with_path(db) as repo:
        repo.create_session(workspace, make_session("second"))
        assert mode(db) == 0o600
        assert (
            mode(str(db) + "-wal") == 0o600
        )  # SQLite gives the WAL the database's mode
        assert mode(str(db) + "-shm") == 0o600


def test_json_files_and_their_folder_are_owner_only(tmp_path, workspace, open_umask):
    repo = JsonSessionRepository(tmp_path / "x" / "sessions")
    repo.create_session(workspace, make_session())
    assert mode(tmp_path / "x") == 0o700
    assert mode(tmp_path / "x" / "sessions") == 0o700
    [file] = (tmp_path / "x" / "sessions").glob("*.json")
    assert mode(file) == 0o600


def test_exported_files_and_the_export_folder_are_owner_only(
    tmp_path, workspace, open_umask
):
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        repo.create_session(workspace, make_session())
        report = export_json(repo, tmp_path / "export" / "out")
    assert report.files == 1
    assert mode(tmp_path / "export") == 0o700
    assert mode(tmp_path / "export" / "out") == 0o700
    files = list((tmp_path / "export" / "out").iterdir())
    assert [f.suffix for f in files] == [".json"]  # no temporary file left behind
    assert mode(files[0]) == 0o600


def test_the_backup_taken_before_an_import_is_owner_only(
    tmp_path, workspace, open_umask
):
    sessions_dir = tmp_path / "editor-sessions"
    JsonSessionRepository(sessions_dir).create_session(
        workspace, make_session("imported")
    )
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        repo.create_session(workspace, make_session("already here"))
        report = import_json(sessions_dir, repo)
    assert report.sessions == 1
    assert report.backup_path is not None
    assert mode(report.backup_path) == 0o600
    leftovers = {p.name for p in tmp_path.iterdir()} - {
        "workspace", "editor-sessions", "sessions.db", "sessions.db-wal", "sessions.db-shm",
        Path(report.backup_path).name,
    }  # fmt: skip
    assert leftovers == set()


# --- replaced text does not stay in the files ------------------------------------------------

SECRETS = {
    "task": "zebrafinchsecret",
    "message": "okapimessagesecret",
    "output": "axolotloutputsecret",
    "agent": "pangolinagentsecret",
    "dropped message": "quokkadroppedsecret",
    "dropped instance": "narwhaldroppedsecret",
}


def secret_session() -> Any:
    session = make_session(task=f"Task {SECRETS['task']} " * 3)
    session.chat_history = [
        make_message("m1", f"said {SECRETS['message']} " * 20),
        make_message("m2", f"said {SECRETS['dropped message']} " * 20),
    ]
    session.instances = [
        make_instance(
            0, agent_name=SECRETS["agent"], output=f"log {SECRETS['output']} " * 100
        ),
        make_instance(1, output=f"log {SECRETS['dropped instance']} " * 100),
    ]
    return session


def replaced(session: Any) -> Any:
    """The same session with every secret replaced or dropped, as an editor update does."""
    session.task = "Task rewritten"
    session.chat_history = [make_message("m1", "said something else")]
    session.instances = [make_instance(0, agent_name="agent-x", output="log rewritten")]
    return session


def stored_bytes(kind: str, tmp_path: Path) -> bytes:
    if kind == "json":
        return b"".join(
            p.read_bytes() for p in (tmp_path / "json" / "sessions").glob("*")
        )
    db = tmp_path / "sqlite" / "sessions.db"
    return b"".join(Path(str(db) + s).read_bytes() for s in ("", "-wal", "-shm") if Path(str(db) + s).exists())  # fmt: skip


@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_text_replaced_by_an_update_is_not_left_in_the_files_after_optimize(
    tmp_path, workspace, kind
):
    with open_store(kind, tmp_path / kind) as store:
        store.create_session(workspace, secret_session())
        store.create_session(workspace, make_session("other", instances=2, messages=3))
        if kind == "sqlite":
            store.pool.optimize()
        before = stored_bytes(kind, tmp_path)
        for name, secret in SECRETS.items():
            assert secret.encode() in before, name  # so the check below can fail
        store.update_session(
            workspace, replaced(store.get_session(workspace, "session_1"))
        )
        assert store.search(workspace, SECRETS["output"]) == []
        if kind == "sqlite":
            store.pool.optimize()
        after = stored_bytes(kind, tmp_path)
    for name, secret in SECRETS.items():
        assert secret.encode() not in after, name


def test_without_the_checkpoint_the_old_text_waits_in_the_wal_until_optimize(
    tmp_path, workspace
):
    """Why the test above checkpoints: the WAL keeps old page images until it is copied back."""
    with SqliteSessionRepository.with_path(
        tmp_path / "sqlite" / "sessions.db"
    ) as store:
        store.create_session(workspace, secret_session())
        store.update_session(
            workspace, replaced(store.get_session(workspace, "session_1"))
        )
        assert SECRETS["output"].encode() in stored_bytes("sqlite", tmp_path)
        store.pool.optimize()
        assert SECRETS["output"].encode() not in stored_bytes("sqlite", tmp_path)


def test_a_deleted_session_leaves_every_read_at_once_and_the_files_at_the_purge(
    tmp_path, workspace
):
    with SqliteSessionRepository.with_path(
        tmp_path / "sqlite" / "sessions.db"
    ) as store:
        store.create_session(workspace, secret_session())
        store.create_session(workspace, make_session("other", instances=2, messages=3))
        store.pool.optimize()
        store.delete_session(workspace, "session_1")

        assert [s.id for s in store.get_all_sessions(workspace)] == ["other"]
        for name, secret in SECRETS.items():
            assert store.search(workspace, secret) == [], name
            assert (
                store.count_sessions(workspace, SessionFilters(search_query=secret))
                == 0
            )
        store.pool.purge()
        after = stored_bytes("sqlite", tmp_path)
        assert store.get_session(workspace, "other").id == "other"
    for name, secret in SECRETS.items():
        assert secret.encode() not in after, name


def test_before_the_purge_a_deleted_outputs_words_wait_in_the_index(
    tmp_path, workspace
):
    """Why the purge is needed: deletes leave delete markers, the old words stay until then."""
    with SqliteSessionRepository.with_path(
        tmp_path / "sqlite" / "sessions.db"
    ) as store:
        store.create_session(workspace, secret_session())
        store.create_session(workspace, make_session("other", instances=2, messages=3))
        store.pool.optimize()
        store.delete_session(workspace, "session_1")
        store.pool.connection().wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
        assert SECRETS["output"].encode() in stored_bytes("sqlite", tmp_path)
        store.pool.purge()
        assert SECRETS["output"].encode() not in stored_bytes("sqlite", tmp_path)


# --- one workspace cannot reach another's sessions ---------------------------------------------


@pytest.fixture
def two_workspaces(repo, workspace, other_workspace) -> tuple[Any, str, str, list[Any]]:
    """``workspace`` holds two sessions with secret text; ``other_workspace`` one of its own."""
    mine = [secret_session(), make_session("session_2", instances=1, messages=1)]
    for session in mine:
        repo.create_session(workspace, session)
    repo.create_session(other_workspace, make_session("theirs", task="their own task"))
    return (
        repo,
        workspace,
        other_workspace,
        [s.to_json() for s in repo.get_all_sessions(workspace)],
    )


ATTEMPTS: dict[str, Callable[[Any, str, str], Any]] = {
    "get_session": lambda r, ws, sid: r.get_session(ws, sid),
    "update_session": lambda r, ws, sid: r.update_session(
        ws, make_session(sid, task="hijacked")
    ),
    "delete_session": lambda r, ws, sid: r.delete_session(ws, sid),
    "add_chat_message": lambda r, ws, sid: r.add_chat_message(ws, sid, make_message("evil", "injected")),  # fmt: skip
    "update_instance_status": lambda r, ws, sid: r.update_instance_status(
        ws, sid, 0, "failed"
    ),
}


@pytest.mark.parametrize("attempt", ATTEMPTS.values(), ids=ATTEMPTS.keys())
def test_another_workspace_cannot_read_or_change_a_session_by_its_id(
    two_workspaces, attempt
):
    repo, mine, theirs, before = two_workspaces
    for session_id in ("session_1", "session_2"):
        with pytest.raises(NotFoundError):
            attempt(repo, theirs, session_id)
    assert [s.to_json() for s in repo.get_all_sessions(mine)] == before


def test_another_workspaces_lists_counts_and_searches_show_nothing_of_mine(
    two_workspaces,
):
    repo, mine, theirs, before = two_workspaces
    assert [s.id for s in repo.get_all_sessions(theirs)] == ["theirs"]
    assert [s.id for s in repo.query_sessions(theirs, SessionFilters(search_query="session"))] == []  # fmt: skip
    assert [s.id for s in repo.list_sessions(theirs)] == ["theirs"]
    assert repo.count_sessions(theirs) == 1
    for text in (SECRETS["task"], SECRETS["message"], SECRETS["output"], "session_1", "Task",
                 "said", "log", "* OR task", f"{compute_workspace_hash(mine)}", "NEAR(said log)"):  # fmt: skip
        assert all(
            hit.session_id == "theirs" for hit in repo.search(theirs, text)
        ), text


def test_creating_my_id_in_another_workspace_makes_a_separate_session(two_workspaces):
    repo, mine, theirs, before = two_workspaces
    repo.create_session(
        theirs, make_session("session_1", task="a different session", instances=1)
    )
    repo.update_instance_status(theirs, "session_1", 0, "failed")
    repo.update_session(theirs, make_session("session_1", task="changed again"))
    repo.add_chat_message(
        theirs, "session_1", make_message("theirs-m", "their message")
    )
    repo.delete_session(theirs, "session_1")
    assert [s.to_json() for s in repo.get_all_sessions(mine)] == before


def test_my_workspace_hash_or_a_lookalike_path_is_not_my_workspace(
    two_workspaces, tmp_path
):
    repo, mine, theirs, before = two_workspaces
    lookalikes = [
        compute_workspace_hash(mine),  # the hash as a path
        mine + "2",
        mine + "/..",  # the parent folder
        mine + "\x7f",
        mine.upper() if mine.upper() != mine else mine + "X",
        "' OR 1=1 --",
        str(tmp_path / "no-such-folder" / Path(mine).name),
    ]
    for path in lookalikes:
        assert repo.get_all_sessions(path) == [], path
        with pytest.raises(NotFoundError):
            repo.delete_session(path, "session_1")
    assert [s.to_json() for s in repo.get_all_sessions(mine)] == before


def test_the_same_folder_by_another_spelling_is_the_same_workspace(
    two_workspaces, tmp_path
):
    """Workspaces are folders, not strings: a trailing slash, a '..' detour or a symlink to the
    folder reach it (as in the editor), which is why the lookalikes above do not."""
    repo, mine, theirs, before = two_workspaces
    link = tmp_path / "link-to-mine"
    link.symlink_to(mine)
    for spelling in (mine + "/", f"{mine}/../{Path(mine).name}", str(link)):
        assert [
            s.to_json() for s in repo.get_all_sessions(spelling)
        ] == before, spelling


IDS = st.one_of(
    st.sampled_from(["session_1", "session_2", "theirs", "SESSION_1", "session_1 ", "session_%",
                     "session_*", "session_1' OR '1'='1", "%", "_"]),  # fmt: skip
    st.text(min_size=1, max_size=12),
)


@pytest.mark.parametrize("kind", ["json", "sqlite"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    guesses=st.lists(
        st.tuples(st.sampled_from(list(ATTEMPTS)), IDS), min_size=1, max_size=6
    )
)
def test_no_guessed_id_through_any_method_reaches_another_workspace(
    tmp_path, kind, guesses
):
    folder = tmp_path / os.urandom(6).hex()
    mine, theirs = folder / "mine", folder / "theirs"
    mine.mkdir(parents=True)
    theirs.mkdir()
    with open_store(kind, folder) as repo:
        repo.create_session(str(mine), secret_session())
        repo.create_session(
            str(mine), make_session("session_2", instances=1, messages=1)
        )
        before = [s.to_json() for s in repo.get_all_sessions(str(mine))]
        for method, session_id in guesses:
            try:
                result = ATTEMPTS[method](repo, str(theirs), session_id)
            except (
                NotFoundError,
                ValidationError,
            ):  # no such id there, or not a valid one
                continue
            assert result is None or result.workspace_hash == compute_workspace_hash(
                str(theirs)
            )
        assert [s.to_json() for s in repo.get_all_sessions(str(mine))] == before
