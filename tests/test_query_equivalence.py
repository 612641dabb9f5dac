"""Property: for any sessions and any filters, sort and page, every store answers alike.

Hypothesis generates sessions with mixed timestamp formats and offsets, None durations, unicode
tasks and agent names, and random queries; the SQLite store and the PostgreSQL store must each
return the same sessions, in the same order, as the JSON store's plain Python evaluation of the
editor's rules.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ait42_session import (
    JsonSessionRepository,
    SessionFilters,
    SessionSort,
    SqliteSessionRepository,
    WorktreeInstance,
    WorktreeSession,
)

EXAMPLES = int(os.environ.get("AIT42_PROPERTY_EXAMPLES", "500"))
TRICKY = "aAßẞİıΣσςﬁé\u0301Ǆǅǆ _-.🎉"

text = st.text(
    alphabet=st.one_of(
        st.sampled_from(TRICKY),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=12,
)
OFFSETS = [dt.timedelta(0), dt.timedelta(hours=2), dt.timedelta(hours=-5, minutes=-30)]


@st.composite
def timestamps(draw) -> str:
    instant = dt.datetime(2025, 1, 13, tzinfo=dt.timezone.utc) + dt.timedelta(
        minutes=draw(st.integers(0, 600))
    )
    style = draw(st.sampled_from(["backend", "frontend", "offset"]))
    if style == "frontend":
        return (
            instant.strftime("%Y-%m-%dT%H:%M:%S") + f".{draw(st.integers(0, 999)):03d}Z"
        )
    if style == "backend":
        nanos = draw(st.integers(0, 999_999_999))
        return instant.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}+00:00"
    offset = draw(st.sampled_from(OFFSETS))
    local = instant.astimezone(dt.timezone(offset))
    return local.isoformat()


@st.composite
def sessions(draw) -> WorktreeSession:
    agents = draw(st.lists(text, max_size=3))
    return WorktreeSession(
        id=draw(text),
        type=draw(st.sampled_from(["competition", "ensemble", "debate"])),
        task=draw(text),
        status=draw(st.sampled_from(["running", "completed", "failed", "paused"])),
        created_at=draw(timestamps()),
        updated_at=draw(timestamps()),
        total_duration=draw(st.none() | st.integers(0, 50)),
        total_files_changed=draw(st.none() | st.integers(0, 5)),
        instances=[
            WorktreeInstance(n, "/wt", "b", agent, "running", "t")
            for n, agent in enumerate(agents)
        ],
    )


def sometimes(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """None two times in three, so that most queries still find several sessions."""
    return st.one_of(st.none(), st.none(), strategy)


@st.composite
def queries(draw, stored: list[WorktreeSession]):
    needle = None
    choice = draw(st.sampled_from(["none", "none", "from-data", "from-data", "random"]))
    if choice == "from-data" and stored:
        source = draw(st.sampled_from(stored))
        fields = [source.task, source.id] + [i.agent_name for i in source.instances]
        field = draw(st.sampled_from(fields))
        start = draw(st.integers(0, len(field) - 1))
        end = draw(st.integers(start + 1, len(field)))
        needle = field[start:end]
        if draw(st.booleans()):
            needle = needle.upper() if draw(st.booleans()) else needle.swapcase()
    elif choice == "random":
        needle = draw(text)
    bounds = [s.created_at for s in stored] or [None]
    filters = SessionFilters(
        types=draw(
            sometimes(st.lists(st.sampled_from(["competition", "ensemble", "debate"])))
        ),
        statuses=draw(
            sometimes(
                st.lists(st.sampled_from(["running", "completed", "failed", "paused"]))
            )
        ),
        date_from=draw(sometimes(st.sampled_from(bounds))),
        date_to=draw(sometimes(st.sampled_from(bounds))),
        search_query=needle,
    )
    sort = draw(
        st.none()
        | st.builds(
            SessionSort,
            st.sampled_from(["created_at", "updated_at", "duration", "files_changed"]),
            st.sampled_from(["asc", "desc"]),
        )
    )
    limit = draw(st.sampled_from([None, None, 0, 1, 2, 5]))
    offset = draw(st.sampled_from([0, 0, 0, 1, 3]))
    return filters, sort, limit, offset


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request, tmp_path_factory):
    """The JSON store (the editor's rules in plain Python) and a store to hold to them."""
    folder = tmp_path_factory.mktemp("equivalence")
    json_store = JsonSessionRepository(folder / "sessions")
    if request.param == "postgres":
        from postgres_cluster import database_for, drop_databases

        from ait42_session import PostgresSessionRepository

        other = PostgresSessionRepository.connect(database_for(folder))
    else:
        other = SqliteSessionRepository.with_path(folder / "sessions.db")
    yield json_store, other
    json_store.close()
    other.close()
    if request.param == "postgres":
        drop_databases(folder)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(), stored=st.lists(sessions(), max_size=12, unique_by=lambda s: s.id)
)
def test_both_stores_return_the_same_sessions_in_the_same_order(stores, data, stored):
    json_store, sqlite_store = stores
    workspace = (
        f"/nonexistent/workspace-{uuid.uuid4()}"  # a fresh workspace per example
    )
    for session in stored:
        json_store.create_session(workspace, session)
        sqlite_store.create_session(workspace, session)
    filters, sort, limit, offset = data.draw(queries(stored))

    expected = json_store.query_sessions(workspace, filters, sort, limit, offset)
    actual = sqlite_store.query_sessions(workspace, filters, sort, limit, offset)
    event(
        f"text filter: {filters.search_query is not None}, results: {min(len(expected), 2)}"
    )
    assert [s.to_json() for s in actual] == [s.to_json() for s in expected]
    assert sqlite_store.list_sessions(workspace, filters, sort, limit, offset) == (
        json_store.list_sessions(workspace, filters, sort, limit, offset)
    )
    assert sqlite_store.count_sessions(workspace, filters) == json_store.count_sessions(
        workspace, filters
    )


@pytest.mark.parametrize(
    ("task", "needle"),
    [("Straße bauen", "STRASSE"), ("ﬁle watcher", "FILE"), ("ὈΔΥΣΣΕΎΣ", "ὀδυσσεύς"),
     ("İstanbul", "i̇stan"), ("Ǆemal", "ǆem"), ("naïve", "NAÏVE")],
)  # fmt: skip
def test_case_folding_that_changes_length_matches_alike_on_both_stores(
    stores, task, needle
):
    json_store, sqlite_store = stores
    workspace = f"/nonexistent/workspace-{uuid.uuid4()}"
    session = WorktreeSession("s1", "debate", task, "running", "2025-01-13T10:00:00Z",
                              "2025-01-13T10:00:00Z")  # fmt: skip
    json_store.create_session(workspace, session)
    sqlite_store.create_session(workspace, session)
    filters = SessionFilters(search_query=needle)
    assert [s.id for s in json_store.query_sessions(workspace, filters)] == ["s1"]
    assert [s.id for s in sqlite_store.query_sessions(workspace, filters)] == ["s1"]
