"""Hostile input: every entry point answers with the contract's error, never a raw exception.

Fuzzed with hypothesis, as SQLite fuzzes its parser: the models' ``from_json``, every repository
method of both stores, the JSON store's files (bytes flipped, cut, inserted), and database files
with bytes overwritten, or that are not SQLite at all. Bad values raise ``ValidationError``;
damaged files raise ``StoreCorruptedError`` naming the file (or ``DatabaseError``); nothing else
escapes, and a call that raises writes nothing. (Fuzzing ``import_json`` belongs to the
migration's own tests.)
"""

from __future__ import annotations

import copy
import datetime as dt
import faulthandler
import functools
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ait42_session import (
    ChatMessage,
    DatabaseError,
    JsonSessionRepository,
    MigrationError,
    NotFoundError,
    SessionError,
    SessionFilters,
    SessionSort,
    SqliteSessionRepository,
    StoreCorruptedError,
    ValidationError,
    WorktreeInstance,
    WorktreeSession,
)
from conftest import make_instance, make_message, make_session, open_store

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large],
)  # fmt: skip
MB10 = 10 * 1024 * 1024
STORAGE_ERRORS = (DatabaseError, StoreCorruptedError, MigrationError)


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A call that hangs fails the run (with every thread's stack) instead of stalling CI."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# --- hostile values --------------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # includes lone surrogates and NUL
TRICKY_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\U0001f600", "‮rtl", "\u2028", "\ufeff",
    "running", "competition", "user", "2025-01-13T10:00:00Z", "2025-13-45T99:99:99Z",
    "9999-12-31T23:59:59Z", "0000-00-00T00:00:00Z", "NaN", "null", "'; DROP TABLE sessions; --",
    '" OR 1=1 --', "%", "_", "*", "NEAR(", "a AND", "-", "()", "{}", "[]",
])  # fmt: skip
TEXT = st.one_of(st.text(ANY_CHAR, max_size=12), TRICKY_TEXT)
INTS = st.one_of(
    st.integers(-3, 3), st.sampled_from([2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 2**1000]),  # fmt: skip
    st.integers(),
)
FLOATS = st.one_of(st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.5, 1.0, -0.0, 1e308]), st.floats())  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    return functools.reduce(lambda acc, _: [acc], range(depth), 0)


VALID_SESSION = make_session("s", instances=2, messages=2, extra={"evaluation": {"score": 3}}).to_json()  # fmt: skip
VALID_INSTANCE = make_instance(3, output="log").to_json()
VALID_MESSAGE = make_message("m", "hello", instance_id=1).to_json()


@st.composite
def mutated(
    draw: st.DrawFn, base: dict[str, Any], children: tuple[str, ...] = ()
) -> Any:
    """``base`` with 1-4 keys (its own, a child's, or new ones) replaced by hostile values or
    removed."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        target = data
        if children and draw(st.booleans()):
            items = data.get(draw(st.sampled_from(children)))
            if isinstance(items, list) and items and isinstance(items[0], dict):
                target = items[0]
        # a child replaced by an empty object earlier has no keys of its own to pick
        key = draw(st.one_of(st.sampled_from(sorted(target)), TEXT) if target else TEXT)
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(JSON_LIKE)
    return data


# --- the models --------------------------------------------------------------------------------


def accepted_or_refused(model: Any, data: Any) -> None:
    """``model.from_json(data)`` either raises ValidationError or gives a valid object whose
    JSON is strict JSON and survives another round trip unchanged."""
    try:
        obj = model.from_json(data)
    except ValidationError:
        return
    obj.validate()
    out = obj.to_json()
    text = json.dumps(out, allow_nan=False)
    assert model.from_json(json.loads(text)).to_json() == out


@FUZZ
@given(mutated(VALID_SESSION, ("instances", "chatHistory")))
def test_a_session_from_any_json_is_valid_or_refused_with_validation_error(data):
    accepted_or_refused(WorktreeSession, data)


@FUZZ
@given(mutated(VALID_INSTANCE))
def test_an_instance_from_any_json_is_valid_or_refused_with_validation_error(data):
    accepted_or_refused(WorktreeInstance, data)


@FUZZ
@given(mutated(VALID_MESSAGE))
def test_a_message_from_any_json_is_valid_or_refused_with_validation_error(data):
    accepted_or_refused(ChatMessage, data)


@FUZZ
@given(JSON_LIKE)
def test_any_json_value_at_all_is_refused_or_read_by_each_model(data):
    for model in (WorktreeSession, WorktreeInstance, ChatMessage):
        accepted_or_refused(model, data)


BAD_SESSION_FIELDS = {
    "NaN in extra": {"evaluation": float("nan")},
    "Infinity in extra": {"evaluation": [float("inf")]},
    "-Infinity in extra": {"evaluation": {"x": -float("inf")}},
    "extra nested 101 deep": {"evaluation": nested(100)},
    "extra nested 100000 deep": {"evaluation": nested(100_000)},
    "u32 overflow": {"totalFilesChanged": 2**32},
    "i64 overflow": {"totalDuration": 2**63},
    "negative count": {"totalLinesAdded": -1},
    "bool as count": {"timeoutSeconds": True},
    "float as count": {"winnerId": 1.0},
    "NaN as count": {"totalDuration": float("nan")},
    "string as count": {"totalFilesChanged": "3"},
    "lone surrogate": {"task": "bad \ud800 text"},
    "NUL in text": {"task": "bad \x00 text"},
    "list as task": {"task": ["t"]},
    "year 9999": {"createdAt": "9999-12-31T23:59:59Z"},
    "year 1": {"updatedAt": "0001-01-01T00:00:00Z"},
    "month 13": {"createdAt": "2025-13-01T00:00:00Z"},
    "instances as dict": {"instances": {"0": VALID_INSTANCE}},
    "instance as list": {"instances": [[1, 2]]},
    "message as string": {"chatHistory": ["hi"]},
    "repeated instance id": {"instances": [VALID_INSTANCE, VALID_INSTANCE]},
}


@pytest.mark.parametrize(
    "fields", BAD_SESSION_FIELDS.values(), ids=BAD_SESSION_FIELDS.keys()
)
def test_a_bad_value_in_a_session_is_a_validation_error(fields):
    with pytest.raises(ValidationError):
        WorktreeSession.from_json({**VALID_SESSION, **fields})


def test_extra_values_nest_up_to_a_hundred_levels():
    session = WorktreeSession.from_json({**VALID_SESSION, "evaluation": nested(99)})
    assert session.extra["evaluation"] == nested(99)


# --- every repository method, both stores --------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Any], str]]:
    root = tmp_path_factory.mktemp("hostile")
    workspace = root / "workspace"
    workspace.mkdir()
    stores = {kind: open_store(kind, root / kind) for kind in ("json", "sqlite")}
    for repo in stores.values():
        repo.create_session(
            str(workspace), make_session("seed", instances=2, messages=2)
        )
    yield stores, str(workspace)
    for repo in stores.values():
        repo.close()


HOSTILE_OBJECTS = st.sampled_from([
    object(), b"/tmp", bytearray(b"x"), Path("/"), [], {}, {"id": "s"}, ("a",), 1j,
    SessionFilters(types=[1]), SessionFilters(types=[["x"]]), SessionFilters(statuses=["done"]),
    SessionFilters(date_from="yesterday"), SessionFilters(date_from=5),
    SessionFilters(date_to=dt.datetime(2025, 1, 1)), SessionFilters(search_query=5),
    SessionFilters(search_query="\ud800"), SessionFilters(date_from="9999-12-31T00:00:00Z"),
    SessionFilters(date_to=dt.date(1, 1, 1)), SessionSort("name"), SessionSort(direction="up"),
    SessionSort(field=None), SessionSort(field=["x"]),
    make_session("bad", type="tournament"), make_session(""), make_session("bad", task=""),
    make_session("bad", instances=[{"instanceId": 0}]), make_session("bad", extra={"k": {1, 2}}),
    make_session("bad", created_at="yesterday"), make_session("bad", total_duration=-5),
    make_message(role="admin"), make_message(content=""), make_message(timestamp="now"),
    make_message(extra={"x": float("nan")}), make_message(id=None),
])  # fmt: skip
HOSTILE = st.one_of(JSON_LIKE, st.binary(max_size=8), HOSTILE_OBJECTS)


def valid_session() -> st.SearchStrategy[WorktreeSession]:
    return st.builds(
        lambda n: make_session(f"fuzz-{n}", instances=1, messages=1), st.integers(0, 5)
    )


VALID = {
    "session_id": st.sampled_from(["seed", "missing"]),
    "session": valid_session(),
    "message": st.builds(lambda n: make_message(f"fm-{n}", "fuzz"), st.integers(0, 5)),
    "instance_id": st.sampled_from([0, 1, 9]),
    "new_status": st.sampled_from(["completed", "archived"]),
    "filters": st.sampled_from(
        [None, SessionFilters(), SessionFilters(types=["competition"])]
    ),
    "sort": st.sampled_from([None, SessionSort(), SessionSort("duration", "asc")]),
    "limit": st.sampled_from([None, 0, 10]),
    "offset": st.sampled_from([0, 1]),
    "text": st.sampled_from(["message", "task seed"]),
    "search_limit": st.sampled_from([1, 50]),
}
METHODS: dict[str, tuple[str, ...]] = {
    "create_session": ("session",),
    "get_session": ("session_id",),
    "get_all_sessions": (),
    "update_session": ("session",),
    "delete_session": ("session_id",),
    "add_chat_message": ("session_id", "message"),
    "update_instance_status": ("session_id", "instance_id", "new_status"),
    "query_sessions": ("filters", "sort", "limit", "offset"),
    "list_sessions": ("filters", "sort", "limit", "offset"),
    "count_sessions": ("filters",),
    "search": ("text", "search_limit"),
}


def contract_call(method: Callable[..., Any], *args: Any) -> Any:
    """Call; a SessionError is fine unless it claims a storage failure for a bad argument."""
    try:
        return method(*args)
    except SessionError as exc:
        assert not isinstance(exc, STORAGE_ERRORS), f"bad input reported as a storage failure: {exc!r}"  # fmt: skip
        return exc


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("kind", ["json", "sqlite"])
@FUZZ
@given(data=st.data())
def test_any_arguments_to_any_method_give_a_result_or_a_contract_error(
    seeded, kind, name, data
):
    stores, workspace = seeded
    repo = stores[kind]
    hostile_at = data.draw(
        st.sets(st.integers(0, len(METHODS[name])), min_size=1), label="hostile"
    )
    args: list[Any] = [
        (
            data.draw(
                HOSTILE
                | st.sampled_from([workspace, " ", "/no/such/ws", "ws\ud800", "a\x00b"])
            )
            if 0 in hostile_at
            else workspace
        )
    ]
    for position, param in enumerate(METHODS[name], start=1):
        args.append(
            data.draw(HOSTILE if position in hostile_at else VALID[param], label=param)
        )
    contract_call(getattr(repo, name), *args)


def test_both_stores_are_whole_after_the_fuzzing(seeded):
    stores, workspace = seeded
    assert stores["sqlite"].pool.verify_integrity()
    for repo in stores.values():
        for session in repo.get_all_sessions(workspace):
            session.validate()


BAD_CALLS: dict[str, Callable[[Any, str], Any]] = {
    "workspace None": lambda r, ws: r.get_session(None, "s"),
    "workspace int": lambda r, ws: r.create_session(42, make_session()),
    "workspace bytes": lambda r, ws: r.query_sessions(b"/tmp"),
    "workspace blank": lambda r, ws: r.count_sessions("   "),
    "workspace with NUL": lambda r, ws: r.search("/tmp/a\x00b", "x"),
    "workspace with a lone surrogate": lambda r, ws: r.create_session("/tmp/\ud800", make_session()),  # fmt: skip
    "session None": lambda r, ws: r.create_session(ws, None),
    "session as dict": lambda r, ws: r.update_session(ws, make_session().to_json()),
    "session id int": lambda r, ws: r.get_session(ws, 7),
    "session id empty": lambda r, ws: r.delete_session(ws, ""),
    "message as dict": lambda r, ws: r.add_chat_message(
        ws, "s", make_message().to_json()
    ),
    "message role": lambda r, ws: r.add_chat_message(
        ws, "s", make_message(role="root")
    ),
    "message NaN extra": lambda r, ws: r.add_chat_message(ws, "s", make_message(extra={"x": float("nan")})),  # fmt: skip
    "instance id str": lambda r, ws: r.update_instance_status(
        ws, "s", "0", "completed"
    ),
    "instance id float": lambda r, ws: r.update_instance_status(
        ws, "s", 0.0, "completed"
    ),
    "instance id bool": lambda r, ws: r.update_instance_status(
        ws, "s", True, "completed"
    ),
    "status unknown": lambda r, ws: r.update_instance_status(ws, "s", 0, "RUNNING"),
    "status unhashable": lambda r, ws: r.update_instance_status(
        ws, "s", 0, ["completed"]
    ),
    "filters wrong type": lambda r, ws: r.query_sessions(ws, {"types": ["debate"]}),
    "filter type unknown": lambda r, ws: r.list_sessions(
        ws, SessionFilters(types=["duel"])
    ),
    "filter date garbage": lambda r, ws: r.count_sessions(
        ws, SessionFilters(date_from="soon")
    ),
    "filter date naive": lambda r, ws: r.count_sessions(ws, SessionFilters(date_to=dt.datetime(2025, 1, 1))),  # fmt: skip
    "filter query int": lambda r, ws: r.query_sessions(
        ws, SessionFilters(search_query=3)
    ),
    "sort field": lambda r, ws: r.query_sessions(ws, sort=SessionSort("name")),
    "sort direction": lambda r, ws: r.list_sessions(
        ws, sort=SessionSort(direction="sideways")
    ),
    "limit negative": lambda r, ws: r.query_sessions(ws, limit=-1),
    "limit str": lambda r, ws: r.list_sessions(ws, limit="10"),
    "limit float": lambda r, ws: r.query_sessions(ws, limit=2.5),
    "offset negative": lambda r, ws: r.query_sessions(ws, offset=-3),
    "search text None": lambda r, ws: r.search(ws, None),
    "search text bytes": lambda r, ws: r.search(ws, b"x"),
    "search limit negative": lambda r, ws: r.search(ws, "x", limit=-1),
    "search limit None": lambda r, ws: r.search(ws, "x", limit=None),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_a_bad_argument_is_a_validation_error_and_writes_nothing(repo, workspace, call):
    repo.create_session(workspace, make_session("s", instances=1, messages=1))
    before = [s.to_json() for s in repo.get_all_sessions(workspace)]
    with pytest.raises(ValidationError):
        call(repo, workspace)
    assert [s.to_json() for s in repo.get_all_sessions(workspace)] == before


OUT_OF_RANGE: dict[str, Callable[[Any, str], Any]] = {
    "instance id 2**70": lambda r, ws: r.update_instance_status(
        ws, "s", 2**70, "completed"
    ),
    "instance id -1": lambda r, ws: r.update_instance_status(ws, "s", -1, "completed"),
    "session id with a lone surrogate": lambda r, ws: r.get_session(ws, "s\ud800"),
    "deleting an id with a lone surrogate": lambda r, ws: r.delete_session(
        ws, "\udfff"
    ),
    "filter with a lone surrogate": lambda r, ws: r.query_sessions(ws, SessionFilters(search_query="\ud800")),  # fmt: skip
    "limit 2**70": lambda r, ws: r.query_sessions(ws, limit=2**70),
    "offset 2**70": lambda r, ws: r.list_sessions(ws, offset=2**70),
    "search limit 2**70": lambda r, ws: r.search(ws, "task", limit=2**70),
    "date bound in year 9999": lambda r, ws: r.count_sessions(ws, SessionFilters(date_to="9999-12-31T23:59:59Z")),  # fmt: skip
    "date bound in year 1": lambda r, ws: r.count_sessions(ws, SessionFilters(date_from=dt.date(1, 1, 1))),  # fmt: skip
    "search for NUL and a surrogate": lambda r, ws: r.search(ws, "\x00 \ud800 task"),
}


# A text filter holding NUL: no stored task, id or agent name can (found by the sidecar's
# hostile-input test: FTS5 read the trigram query only up to the NUL and failed).
NUL_FILTERS = {
    "query": lambda r, ws, f: r.query_sessions(ws, f),
    "list": lambda r, ws, f: r.list_sessions(ws, f),
    "count": lambda r, ws, f: r.count_sessions(ws, f),
}


@pytest.mark.parametrize("call", NUL_FILTERS.values(), ids=NUL_FILTERS.keys())
@pytest.mark.parametrize("needle", ["Task\x00 of", "\x00", "ta\x00"])
def test_a_text_filter_holding_nul_matches_nothing(repo, workspace, call, needle):
    repo.create_session(workspace, make_session("s", task="Task of s"))
    answer = call(repo, workspace, SessionFilters(search_query=needle))
    assert answer in ([], 0)


@pytest.mark.parametrize("call", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
def test_an_out_of_range_argument_gives_an_answer_or_a_contract_error(
    repo, workspace, call
):
    """Both stores answer; where they cannot (SQLite integers stop at 64 bits) with a
    SessionError that is not a storage failure, and nothing is written."""
    repo.create_session(workspace, make_session("s", instances=1, messages=1))
    before = [s.to_json() for s in repo.get_all_sessions(workspace)]
    contract_call(call, repo, workspace)
    assert [s.to_json() for s in repo.get_all_sessions(workspace)] == before


def test_ten_megabyte_strings_are_stored_read_back_and_searched(repo, workspace):
    words = ("lorem ipsum dolor sit amet " * (MB10 // 27 + 1))[:MB10]
    session = make_session("big", task="needle " + words, messages=[make_message(content=words + " haystack")])  # fmt: skip
    repo.create_session(workspace, session)
    stored = repo.get_session(workspace, "big")
    assert stored.to_json() == session.to_json()
    assert {(h.kind, h.session_id) for h in repo.search(workspace, "haystack")} == {("message", "big")}  # fmt: skip
    assert repo.count_sessions(workspace, SessionFilters(search_query="NEEDLE")) == 1


def deepest_extra_validate_accepts() -> int:
    """The deepest nesting ``validate()`` accepts when called from here (found by bisection)."""
    low, high = 1, 5000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            make_session(extra={"evaluation": nested(middle)}).validate()
            low = middle
        except ValidationError:
            high = middle - 1
    return low


def test_a_session_a_store_accepts_can_always_be_read_back(repo, workspace):
    """Deep nesting in extra, right up to where validation stops it: refused whole, or stored
    and readable again. Never a poison record that breaks reading the workspace."""
    deepest = deepest_extra_validate_accepts()
    stored = []
    for depth in sorted(
        {1, 50, 99, 100, 101, 500, 5000} | {deepest + k for k in range(-12, 4)}
    ):
        session = make_session(f"deep-{depth}", extra={"evaluation": nested(depth)})
        try:
            repo.create_session(workspace, session)
        except ValidationError:
            continue
        stored.append(session.id)
        assert repo.get_session(workspace, session.id).extra == session.extra
        assert sorted(s.id for s in repo.get_all_sessions(workspace)) == sorted(stored)
    assert "deep-1" in stored


VALID_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30)  # fmt: skip
TIMESTAMPS = st.builds(
    lambda when, frac, offset: when.strftime("%Y-%m-%dT%H:%M:%S") + frac + offset,
    st.datetimes(dt.datetime(1700, 1, 1), dt.datetime(2260, 12, 31)),
    st.sampled_from(["", ".1", ".123", ".123456", ".123456789"]),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+14:00", "+0200"]),
)
EXTRA_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | VALID_TEXT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(VALID_TEXT, inner, max_size=3),
    max_leaves=8,
)


def extras(known: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Keys the model does not know, with any JSON value."""
    return st.dictionaries(
        VALID_TEXT.filter(lambda k: k not in known), EXTRA_VALUES, max_size=3
    )


@st.composite
def valid_sessions(draw: st.DrawFn) -> WorktreeSession:
    ids = draw(st.lists(st.integers(0, 2**32 - 1), unique=True, max_size=3))
    return WorktreeSession(
        id=draw(VALID_TEXT), type=draw(st.sampled_from(["competition", "ensemble", "debate"])),
        task=draw(VALID_TEXT),
        status=draw(st.sampled_from(["running", "completed", "failed", "paused"])),
        created_at=draw(TIMESTAMPS), updated_at=draw(TIMESTAMPS),
        completed_at=draw(st.none() | VALID_TEXT), model=draw(st.none() | VALID_TEXT),
        timeout_seconds=draw(st.none() | st.integers(0, 2**32 - 1)),
        preserve_worktrees=draw(st.none() | st.booleans()),
        total_duration=draw(st.none() | st.integers(0, 2**63 - 1)),
        runtime_mix=draw(st.none() | st.lists(VALID_TEXT, max_size=3)),
        instances=[make_instance(i, agent_name=draw(VALID_TEXT),
                                 output=draw(st.none() | VALID_TEXT),
                                 files_changed=draw(st.none() | st.integers(0, 2**32 - 1)),
                                 extra=draw(extras(WorktreeInstance.JSON_KEYS)))
                   for i in ids],
        chat_history=[make_message(f"m{n}", draw(VALID_TEXT), timestamp=draw(TIMESTAMPS),
                                   role=draw(st.sampled_from(["user", "assistant", "system"])))
                      for n in range(draw(st.integers(0, 3)))],
        extra=draw(extras(WorktreeSession.JSON_KEYS)),
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["json", "sqlite"])
@settings(FUZZ, max_examples=40)
@given(session=valid_sessions(), replacement=valid_sessions())
def test_any_valid_session_survives_a_round_trip_through_either_store(
    tmp_path, kind, session, replacement
):
    folder = tmp_path / f"{kind}-{os.urandom(6).hex()}"
    workspace = folder / "workspace"
    workspace.mkdir(parents=True)
    with open_store(kind, folder) as store:
        assert (
            store.create_session(str(workspace), session).to_json() == session.to_json()
        )
        assert (
            store.get_session(str(workspace), session.id).to_json() == session.to_json()
        )
        replacement.id = session.id
        store.update_session(str(workspace), replacement)
        [stored] = store.get_all_sessions(str(workspace))
        assert stored.to_json() == replacement.to_json()
        store.delete_session(str(workspace), session.id)
        with pytest.raises(NotFoundError):
            store.get_session(str(workspace), session.id)
    shutil.rmtree(folder)


# --- the JSON store's files ---------------------------------------------------------------------


def editor_file(sessions: list[WorktreeSession]) -> bytes:
    return json.dumps(
        [s.to_json() for s in sessions], indent=2, ensure_ascii=False
    ).encode()


GOOD_FILE = editor_file(
    [make_session("a", instances=2, messages=2), make_session("b", messages=1)]
)

WRITES: dict[str, Callable[[Any, str], Any]] = {
    "create_session": lambda r, ws: r.create_session(ws, make_session("new")),
    "update_session": lambda r, ws: r.update_session(
        ws, make_session("a", task="changed")
    ),
    "delete_session": lambda r, ws: r.delete_session(ws, "a"),
    "add_chat_message": lambda r, ws: r.add_chat_message(ws, "a", make_message("x")),
    "update_instance_status": lambda r, ws: r.update_instance_status(
        ws, "a", 0, "failed"
    ),
}
READS: dict[str, Callable[[Any, str], Any]] = {
    "get_session": lambda r, ws: r.get_session(ws, "a"),
    "get_all_sessions": lambda r, ws: r.get_all_sessions(ws),
    "query_sessions": lambda r, ws: r.query_sessions(
        ws, SessionFilters(search_query="a")
    ),
    "list_sessions": lambda r, ws: r.list_sessions(ws, limit=1),
    "count_sessions": lambda r, ws: r.count_sessions(ws),
    "search": lambda r, ws: r.search(ws, "message"),
}


@st.composite
def damaged_bytes(draw: st.DrawFn, good: bytes) -> bytes:
    """``good`` with bytes overwritten, cut, inserted or removed (1-3 edits)."""
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        edit = draw(st.sampled_from(["overwrite", "truncate", "insert", "delete"]))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"\x00", b"\xff", b'"', b"}", b",", b"\xc3", b"NaN", b"\\u0000", b"\\ud800"]))  # fmt: skip
        if edit == "overwrite":
            data[at : at + len(chunk)] = chunk
        elif edit == "truncate":
            del data[at:]
        elif edit == "insert":
            data[at:at] = chunk
        else:
            del data[at : at + len(chunk)]
    return bytes(data)


@FUZZ
@given(content=damaged_bytes(GOOD_FILE))
def test_a_damaged_json_file_is_read_or_reported_and_never_overwritten_by_a_failed_write(
    tmp_path_factory, content
):
    folder = tmp_path_factory.mktemp("damaged")
    workspace = folder / "workspace"
    workspace.mkdir()
    repo = JsonSessionRepository(folder / "sessions")
    from ait42_session import compute_workspace_hash

    file = folder / "sessions" / f"{compute_workspace_hash(str(workspace))}.json"
    file.parent.mkdir()
    file.write_bytes(content)
    for read in READS.values():
        try:
            read(repo, str(workspace))
        except (StoreCorruptedError, NotFoundError, ValidationError) as exc:
            if isinstance(exc, StoreCorruptedError):
                assert file.name in str(exc)
    for write in WRITES.values():
        before = file.read_bytes()
        try:
            write(repo, str(workspace))
        except SessionError as exc:
            assert not isinstance(exc, (DatabaseError, MigrationError)), exc
            assert (
                file.read_bytes() == before
            )  # a failed write leaves the file as it was


def test_duplicate_keys_in_a_json_file_read_as_the_last_one(tmp_path, workspace):
    """serde refuses a repeated key ("duplicate field"); msgspec, like Python's json, takes
    the last one. A documented difference: finding repeats would take a second pass."""
    repo = JsonSessionRepository(tmp_path / "sessions")
    repo.create_session(workspace, make_session("a"))
    file = next((tmp_path / "sessions").glob("*.json"))
    text = file.read_text().replace(
        '"task": "Task of a",', '"task": "first", "task": "second",'
    )
    bogus = text.replace('"createdAt": ', '"createdAt": 7, "createdAt": ', 1)
    file.write_text(bogus)
    assert repo.get_session(workspace, "a").task == "second"
    assert repo.get_session(workspace, "a").created_at == make_session("a").created_at
    bogus = text.replace('"createdAt": ', '"createdAt": "x", "createdAt": 7, "x": ', 1)
    file.write_text(bogus)
    with pytest.raises(
        StoreCorruptedError, match=file.name
    ):  # the last value is checked
        repo.get_all_sessions(workspace)


# --- damaged database files, and files that are not SQLite -------------------------------------


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    root = tmp_path_factory.mktemp("gooddb")
    workspace = root / "workspace"
    workspace.mkdir()
    db = root / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        for n in range(6):
            repo.create_session(str(workspace), make_session(
                f"s{n}", instances=[make_instance(i, output=f"output {n} {i} " * 60)
                                    for i in range(2)],
                messages=3, extra={"evaluation": {"score": n}}, runtime_mix=["claude", "codex"]))  # fmt: skip
        repo.pool.optimize()
    return db.read_bytes(), str(workspace)


def outcome(db: Path, workspace: str) -> Any:
    """What a fresh store reads: the sessions, or the error class."""
    try:
        with SqliteSessionRepository.with_path(db) as repo:
            return [s.to_json() for s in repo.get_all_sessions(workspace)]
    except SessionError as exc:
        assert isinstance(exc, STORAGE_ERRORS), repr(exc)
        return type(exc)


DB_WRITES: dict[str, Callable[[Any, str], Any]] = {
    "create_session": lambda r, ws: r.create_session(ws, make_session("new", instances=1, messages=1)),  # fmt: skip
    "update_session": lambda r, ws: r.update_session(
        ws, make_session("s1", task="changed")
    ),
    "delete_session": lambda r, ws: r.delete_session(ws, "s2"),
    "add_chat_message": lambda r, ws: r.add_chat_message(ws, "s3", make_message("x")),
    "update_instance_status": lambda r, ws: r.update_instance_status(
        ws, "s4", 1, "failed"
    ),
}


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_a_database_with_bytes_overwritten_gives_data_or_a_storage_error_never_a_partial_write(
    tmp_path_factory, good_db, data
):
    content, workspace = good_db
    at = data.draw(st.integers(0, len(content) - 1), label="offset")
    size = data.draw(st.integers(1, 64), label="size")
    fill = data.draw(st.binary(min_size=size, max_size=size) | st.just(b"\x00" * size) | st.just(b"\xff" * size), label="fill")  # fmt: skip
    db = tmp_path_factory.mktemp("damageddb") / "sessions.db"
    db.write_bytes(content[:at] + fill + content[at + size :])
    for name, write in DB_WRITES.items():
        before = outcome(db, workspace)
        try:
            with SqliteSessionRepository.with_path(db) as repo:
                for read in READS.values():
                    try:
                        read(repo, workspace)
                    except (NotFoundError, *STORAGE_ERRORS) as exc:
                        if not isinstance(exc, NotFoundError):
                            assert str(db) in str(exc)
                repo.pool.verify_integrity()
                write(repo, workspace)
                continue  # written: nothing to compare
        except (
            StoreCorruptedError,
            DatabaseError,
            MigrationError,
            NotFoundError,
        ) as exc:
            # MigrationError: the damage hit the schema version in the header.
            if not isinstance(exc, NotFoundError):
                assert str(db) in str(exc)
        assert (
            outcome(db, workspace) == before
        ), f"{name} failed but changed what is read"


_RANDOM = random.Random(20250113)
DAMAGED_VALUES = {
    "JSON of extra": (b'{"evaluation": {"score": 1}}', b'{"evaluation": {"score#: 1}}'),
    "JSON of runtime_mix": (b'["claude", "codex"]', b'["claude", "codex"}'),
    "UTF-8 of a task": (b"Task of s1", b"Task \xff\xfe s1"),
    "UTF-8 of a message": (b"message 1", b"mess\xc3ge 1"),
}


@pytest.mark.parametrize("old,new", DAMAGED_VALUES.values(), ids=DAMAGED_VALUES.keys())
def test_a_damaged_value_inside_a_database_is_store_corrupted_error_naming_it(
    tmp_path, good_db, old, new
):
    content, workspace = good_db
    assert content.count(old) >= 1 and len(old) == len(new)
    db = tmp_path / "sessions.db"
    db.write_bytes(content.replace(old, new, 1))
    with SqliteSessionRepository.with_path(db) as repo:
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.get_all_sessions(workspace)


def test_damaged_stored_json_in_a_summary_is_store_corrupted_error_naming_it(
    tmp_path, good_db
):
    """list_sessions builds summaries from single-statement reads: the same damage rule."""
    content, workspace = good_db
    old, new = DAMAGED_VALUES["JSON of runtime_mix"]
    db = tmp_path / "sessions.db"
    db.write_bytes(content.replace(old, new, 1))
    with SqliteSessionRepository.with_path(db) as repo:
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.list_sessions(workspace)


NOT_SQLITE = {
    "random bytes": _RANDOM.randbytes(20_000),
    "zeros": b"\x00" * 8192,
    "a JSON file": GOOD_FILE,
    "text": b"SQLite format 2\x00 but not really" * 100,
    "a SQLite header and garbage": b"SQLite format 3\x00" + _RANDOM.randbytes(8000),
    "one byte": b"\x01",
}


@pytest.mark.parametrize("content", NOT_SQLITE.values(), ids=NOT_SQLITE.keys())
def test_a_file_that_is_not_sqlite_is_refused_naming_it_and_left_as_it_was(
    tmp_path, content
):
    db = tmp_path / "sessions.db"
    db.write_bytes(content)
    with pytest.raises((StoreCorruptedError, DatabaseError), match="sessions.db"):
        with SqliteSessionRepository.with_path(db) as repo:
            repo.get_all_sessions(str(tmp_path))
    assert db.read_bytes() == content


def test_a_truncated_database_is_refused_or_read_but_never_half_read(tmp_path, good_db):
    content, workspace = good_db
    whole = outcome_of(tmp_path / "whole.db", content, workspace)
    for cut in range(0, len(content), 4096):
        result = outcome_of(tmp_path / f"cut-{cut}.db", content[:cut], workspace)
        assert result in (StoreCorruptedError, DatabaseError, whole) or cut == 0, cut


def outcome_of(db: Path, content: bytes, workspace: str) -> Any:
    db.write_bytes(content)
    return outcome(db, workspace)


def test_an_empty_file_becomes_a_new_store(tmp_path, workspace):
    db = tmp_path / "sessions.db"
    db.write_bytes(b"")
    with SqliteSessionRepository.with_path(db) as repo:
        assert repo.get_all_sessions(workspace) == []
        repo.create_session(workspace, make_session())
        assert repo.pool.verify_integrity()


def test_a_stored_task_that_is_not_text_is_damage_naming_the_file_in_a_text_filter(
    tmp_path, workspace
):
    """Found by the byte-overwriting test above: a damaged row gave the text filter's SQL
    function a value that is not text, and the function crashed inside the query."""
    db = tmp_path / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        repo.create_session(workspace, make_session("s1", task="find the needle"))
    con = apsw.Connection(str(db))
    con.execute("UPDATE sessions SET task = X'00ff' WHERE id = 's1'")  # stays a BLOB
    con.close()
    with SqliteSessionRepository.with_path(db) as repo:
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.list_sessions(workspace, SessionFilters(search_query="needle"))


def test_a_lone_surrogate_where_another_type_belongs_is_refused_with_validation_error():
    """Found by the hypothesis test above: msgspec fails with UnicodeEncodeError, not a
    validation error, on text holding a lone surrogate where a field wants a bool."""
    data = make_session("s").to_json()
    data["preserveWorktrees"] = "\ud800"
    data["sessionNote"] = "an unknown key, so the field-by-field path runs"
    with pytest.raises(ValidationError, match="session"):
        WorktreeSession.from_json(data)
