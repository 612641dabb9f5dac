"""Shared fixtures: a private AIT42_HOME, both stores, a workspace, and model factories.

Every file a test writes lives under ``tmp_path``; no test can reach the user's real data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ait42_session.json_repo import JsonSessionRepository
from ait42_session.models import ChatMessage, WorktreeInstance, WorktreeSession

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_SESSIONS = FIXTURES / "editor-sample-sessions.json"
# Files the shipping editor's own code wrote (shared/fixtures/editor-written, see its README),
# copied here so that the suite runs from a clone alone.
EDITOR_WRITTEN_DIR = FIXTURES / "editor-written"
EDITOR_WRITTEN = sorted(EDITOR_WRITTEN_DIR.glob("*.json"))
STORES = ["json", "sqlite", "postgres"]


def at(minutes: int, day: int = 13) -> str:
    """An RFC 3339 UTC timestamp ``minutes`` after 2025-01-<day> 10:00 (``Z`` form)."""
    hours, mins = divmod(minutes, 60)
    return f"2025-01-{day:02d}T{10 + hours:02d}:{mins:02d}:00Z"


def make_instance(instance_id: int = 0, **fields: Any) -> WorktreeInstance:
    """A valid instance; any field can be overridden."""
    values: dict[str, Any] = dict(
        instance_id=instance_id,
        worktree_path=f"/tmp/worktree_{instance_id}",
        branch=f"feature/agent-{instance_id}",
        agent_name=f"agent-{instance_id}",
        status="running",
        tmux_session_id=f"ait42_{instance_id}",
    )
    values.update(fields)
    return WorktreeInstance(**values)


def make_message(
    id: str = "msg_1", content: str = "Hello there", **fields: Any
) -> ChatMessage:
    """A valid user message; any field can be overridden."""
    values: dict[str, Any] = dict(id=id, role="user", content=content, timestamp=at(0))
    values.update(fields)
    return ChatMessage(**values)


def make_session(
    id: str = "session_1",
    *,
    instances: int | list[WorktreeInstance] = 0,
    messages: int | list[ChatMessage] = 0,
    **fields: Any,
) -> WorktreeSession:
    """A valid session; ``instances``/``messages`` take a count or a list; fields override."""
    if isinstance(instances, int):
        instances = [make_instance(i) for i in range(instances)]
    if isinstance(messages, int):
        messages = [
            make_message(f"{id}_msg_{i}", f"message {i}") for i in range(messages)
        ]
    values: dict[str, Any] = dict(
        id=id,
        type="competition",
        task=f"Task of {id}",
        status="running",
        created_at=at(0),
        updated_at=at(0),
        instances=instances,
        chat_history=messages,
    )
    values.update(fields)
    return WorktreeSession(**values)


def sample_session_dicts() -> list[dict[str, Any]]:
    """The original crate's fixture: three sessions in the editor's JSON shape."""
    return json.loads(SAMPLE_SESSIONS.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def ait42_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point AIT42_HOME at a temporary folder for every test."""
    home = tmp_path / "ait42-home"
    monkeypatch.setenv("AIT42_HOME", str(home))
    return home


def open_store(kind: str, tmp_path: Path) -> Any:
    """A store of the given kind ("json", "sqlite" or "postgres") belonging to ``tmp_path``:
    fresh the first time, the same one when opened again."""
    if kind == "json":
        return JsonSessionRepository(tmp_path / "sessions")
    if kind == "postgres":
        from ait42_session import PostgresSessionRepository
        from postgres_cluster import database_for

        return PostgresSessionRepository.connect(database_for(tmp_path))
    from ait42_session.sqlite_repo import SqliteSessionRepository

    return SqliteSessionRepository.with_path(tmp_path / "sessions.db")


@pytest.fixture(autouse=True)
def _postgres_databases_dropped(tmp_path: Path) -> Iterator[None]:
    """Drop the PostgreSQL databases a test made (the cluster itself lives on)."""
    yield
    from postgres_cluster import drop_databases

    drop_databases(tmp_path)


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store a contract test runs against: "json", "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
def repo(store_kind: str, tmp_path: Path) -> Iterator[Any]:
    """Each store in turn, fresh and empty; closed after the test."""
    store = open_store(store_kind, tmp_path)
    try:
        yield store
    finally:
        store.close()


def _folder(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.mkdir()
    return str(path)


@pytest.fixture
def workspace(tmp_path: Path) -> str:
    """A real workspace folder, as the editor passes it (a str path)."""
    return _folder(tmp_path, "workspace")


@pytest.fixture
def other_workspace(tmp_path: Path) -> str:
    """A second real workspace folder."""
    return _folder(tmp_path, "other-workspace")


@pytest.fixture(name="make_session")
def make_session_fixture() -> Callable[..., WorktreeSession]:
    return make_session


@pytest.fixture(name="make_instance")
def make_instance_fixture() -> Callable[..., WorktreeInstance]:
    return make_instance


@pytest.fixture(name="make_message")
def make_message_fixture() -> Callable[..., ChatMessage]:
    return make_message
