"""What only the SQLite store promises: settings, schema, plans, statements, files, atomicity."""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import apsw
import msgspec
import pytest

from ait42_session import (
    DatabaseError,
    DbPool,
    MigrationError,
    SessionFilters,
    SessionSort,
    SqliteSessionRepository,
    StoreCorruptedError,
)
from ait42_session import sql, sqlite_rows
from ait42_session.db import migration_scripts
from ait42_session.pieces import PIECE_CHARS
from ait42_session.pieces import pieces as cut_pieces
from ait42_session.queries import check_query, joined_agent_names
from ait42_session.workspace import compute_workspace_hash
from ait42_session.sqlite_rows import count_statement, select_statement, session_params
from conftest import at, make_instance, make_message, make_session

WS_HASH_PLACEHOLDER = "0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path):
    repo = SqliteSessionRepository.with_path(tmp_path / "db" / "sessions.db")
    yield repo
    repo.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- settings -----------------------------------------------------------------------------


def test_a_connection_uses_wal_normal_sync_foreign_keys_and_a_busy_timeout(store):
    con = store.pool.connection()
    assert con.pragma("journal_mode") == "wal"
    assert con.pragma("synchronous") == 1  # NORMAL
    assert con.pragma("foreign_keys") == 1
    assert con.pragma("busy_timeout") >= 5000
    assert con.pragma("secure_delete") == 1


def test_full_synchronous_is_an_option_for_power_loss_durability(tmp_path):
    with SqliteSessionRepository.with_path(
        tmp_path / "s.db", synchronous="FULL"
    ) as repo:
        assert repo.pool.connection().pragma("synchronous") == 2


def test_each_thread_gets_its_own_connection(store):
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(store.pool.connection()))
    thread.start()
    thread.join()
    assert seen[0] is not store.pool.connection()


def test_the_default_store_lives_in_ait42_home(ait42_home):
    with SqliteSessionRepository.new_default() as repo:
        assert repo.pool.path == ait42_home / "sessions.db"
        assert (ait42_home / "sessions.db").exists()


# --- files --------------------------------------------------------------------------------


def test_database_wal_shm_and_created_folders_are_owner_only(
    tmp_path, store, workspace
):
    store.create_session(workspace, make_session())
    folder = tmp_path / "db"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("sessions.db", "sessions.db-wal", "sessions.db-shm"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("path", ["", ":memory:", "file::memory:?cache=shared"])
def test_no_in_memory_or_temporary_database_is_ever_opened(path):
    with pytest.raises(DatabaseError):
        DbPool(path)


def test_a_folder_in_place_of_the_database_raises(tmp_path):
    (tmp_path / "sessions.db").mkdir()
    with pytest.raises(DatabaseError):
        DbPool(tmp_path / "sessions.db")


def test_a_file_that_is_not_sqlite_raises_naming_it_and_stays_untouched(tmp_path):
    path = tmp_path / "sessions.db"
    path.write_bytes(b"this is not a database at all\n" * 200)
    before = sha256(path)
    with pytest.raises(StoreCorruptedError, match="sessions.db"):
        DbPool(path)
    assert sha256(path) == before


# --- schema -------------------------------------------------------------------------------


def test_opening_applies_every_migration_once_and_records_the_version(tmp_path):
    path = tmp_path / "s.db"
    with DbPool(path) as pool:
        assert pool.schema_version == len(migration_scripts())
    with DbPool(path) as pool:  # reopening applies nothing again
        assert pool.schema_version == len(migration_scripts())
        tables = {
            r[0] for r in pool.connection().execute("SELECT name FROM sqlite_schema")
        }
    assert {
        "workspaces",
        "sessions",
        "instances",
        "chat_messages",
        "migration_metadata",
    } <= tables


def test_a_database_newer_than_the_code_raises_and_is_left_byte_for_byte(tmp_path):
    path = tmp_path / "s.db"
    with DbPool(path) as pool:
        pool.optimize()
    con = apsw.Connection(str(path))
    con.pragma("user_version", 999)
    con.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
    con.close()
    before = sha256(path)
    with pytest.raises(MigrationError, match="newer"):
        DbPool(path)
    assert sha256(path) == before


def test_integrity_check_and_optimize_succeed_on_a_used_store(store, workspace):
    for n in range(20):
        store.create_session(workspace, make_session(f"s{n}", instances=2, messages=2))
    store.delete_session(workspace, "s3")
    store.pool.optimize()
    assert store.pool.verify_integrity() is True
    assert os.path.getsize(str(store.pool.path) + "-wal") == 0


def test_integrity_check_reports_a_search_index_out_of_step(store, workspace):
    store.create_session(workspace, make_session(instances=1, messages=1))
    con = store.pool.connection()
    # Change the indexed text behind the index's back, as a foreign writer could.
    con.execute("DROP TRIGGER messages_fts_update")
    con.execute("UPDATE chat_messages SET content = 'something else entirely'")
    assert store.pool.verify_integrity() is False
    store.rebuild_search_index()
    assert store.pool.verify_integrity() is True


# --- query plans --------------------------------------------------------------------------


def plan_of(
    store: SqliteSessionRepository, filters=None, sort=None, limit=50, columns=None
):
    statement, params = select_statement(
        columns or sql.SESSION_COLUMNS,
        WS_HASH_PLACEHOLDER,
        check_query(filters, sort),
        limit,
        0,
    )
    con = store.pool.connection()
    return [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + statement, params)]


def full_scan(plan: list[str]) -> bool:
    return any(
        step.startswith("SCAN s") or step.startswith("SCAN sessions") for step in plan
    )


@pytest.fixture(params=[False, True], ids=["fresh", "analyzed"])
def planned_store(request, store, workspace):
    for n in range(300):
        store.create_session(
            workspace,
            make_session(f"s{n:03d}", type=("competition", "ensemble", "debate")[n % 3],
                         status=("running", "completed", "failed", "paused")[n % 4],
                         created_at=at(n), updated_at=at(n + 5), total_duration=n % 17),
        )  # fmt: skip
    if request.param:
        store.pool.connection().execute("ANALYZE")
    return store


@pytest.mark.parametrize(
    "field", ["created_at", "updated_at", "duration", "files_changed"]
)
@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize(
    "filters",
    [
        None,
        SessionFilters(types=["debate"]),
        SessionFilters(statuses=["running", "paused"]),
    ],
    ids=["workspace", "type", "status"],
)
def test_a_sorted_page_reads_an_index_in_order_without_scanning_or_sorting(
    planned_store, field, direction, filters
):
    plan = plan_of(planned_store, filters, SessionSort(field, direction))
    assert not full_scan(plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_date_range_is_searched_through_an_index(planned_store):
    filters = SessionFilters(date_from=at(10), date_to=at(50))
    plan = plan_of(planned_store, filters, SessionSort("created_at"))
    assert not full_scan(plan), plan
    assert any("created_ns>" in step for step in plan), plan


def test_the_light_list_counts_children_from_covering_indexes(planned_store):
    plan = plan_of(
        planned_store, SessionFilters(types=["debate"]), columns=sql.SUMMARY_COLUMNS
    )
    assert not full_scan(plan), plan
    assert sum("COVERING INDEX" in step for step in plan) == 2, plan


@pytest.mark.parametrize(
    "filters",
    [None, SessionFilters(types=["debate"]), SessionFilters(statuses=["failed"]),
     SessionFilters(types=["debate", "ensemble"], statuses=["failed"])],
)  # fmt: skip
def test_counts_are_answered_from_a_covering_index(planned_store, filters):
    statement, params = count_statement(WS_HASH_PLACEHOLDER, check_query(filters, None))
    con = planned_store.pool.connection()
    plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert len(plan) == 1 and "COVERING INDEX" in plan[0], plan


@pytest.mark.parametrize(
    "statement", [sql.GET_SESSION, sql.INSTANCES_OF, sql.MESSAGES_OF]
)
def test_session_and_children_lookups_use_indexes(store, statement):
    params = {"ws": WS_HASH_PLACEHOLDER, "id": "x", "pks": "[1, 2, 3]"}
    con = store.pool.connection()
    plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert not any(
        step.startswith("SCAN") and "json_each" not in step for step in plan
    ), plan


# --- statements ---------------------------------------------------------------------------


def count_statements(store: SqliteSessionRepository, action) -> int:
    con = store.pool.connection()
    executed = []
    con.exec_trace = (
        lambda cursor, statement, bindings: executed.append(statement) or True
    )
    try:
        action()
    finally:
        con.exec_trace = None
    return len(executed)


def test_loading_all_sessions_takes_the_same_few_statements_for_any_number(
    store, workspace
):
    store.create_session(workspace, make_session("first", instances=2, messages=2))
    few = count_statements(store, lambda: store.get_all_sessions(workspace))
    for n in range(60):
        store.create_session(workspace, make_session(f"s{n}", instances=3, messages=3))
    many = count_statements(store, lambda: store.get_all_sessions(workspace))
    # other spellings to join, BEGIN, sessions, instances, messages, COMMIT
    assert few == many <= 6


def test_the_statement_cache_keeps_every_statement_prepared_after_a_warm_up(
    store, workspace
):
    def workload(round_: int) -> None:
        session = make_session(f"w{round_}", instances=2, messages=1)
        store.create_session(workspace, session)
        store.add_chat_message(workspace, session.id, make_message(f"m{round_}"))
        store.update_instance_status(workspace, session.id, 1, "completed")
        session.task = f"renamed {round_}"
        store.update_session(workspace, session)
        store.get_session(workspace, session.id)
        store.get_all_sessions(workspace)
        store.query_sessions(
            workspace, SessionFilters(types=["debate"], search_query="renamed")
        )
        store.list_sessions(workspace, SessionFilters(statuses=["running"]), limit=50)
        store.count_sessions(workspace, SessionFilters(types=["debate"]))
        store.search(workspace, "renamed")
        store.delete_session(workspace, session.id)

    workload(0)  # warm-up
    before = store.pool.cache_stats()
    for round_ in range(1, 6):
        workload(round_)
    after = store.pool.cache_stats()
    hits = after["hits"] - before["hits"]
    misses = after["misses"] - before["misses"]
    assert hits > 0
    assert hits / (hits + misses) >= 0.99, (hits, misses)


def test_get_all_sessions_works_past_the_sqlite_variable_limit(store, workspace):
    con = store.pool.connection()
    store.create_session(workspace, make_session("seed"))
    ws = store.get_session(workspace, "seed").workspace_hash
    n = 40_000  # more than SQLITE_MAX_VARIABLE_NUMBER (32,766)
    sessions = [make_session(f"bulk{i:05d}", created_at=at(i % 600), updated_at=at(i % 600))
                for i in range(n)]  # fmt: skip

    def bulk(con):
        con.executemany(sql.INSERT_SESSION, [session_params(s, ws) for s in sessions])
        con.execute(
            "INSERT INTO instances (session_pk, instance_id, worktree_path, branch, agent_name,"
            " status, tmux_session_id) SELECT pk, 0, 'w', 'b', 'a', 'idle', 't' FROM sessions"
        )

    store.pool.write(bulk)
    loaded = store.get_all_sessions(workspace)
    assert len(loaded) == n + 1
    assert all(len(s.instances) == 1 for s in loaded)
    assert con is store.pool.connection()


# --- writes touch only what they change, and all-or-nothing -------------------------------


def rows_changed(store: SqliteSessionRepository, action) -> list[tuple[str, str]]:
    con = store.pool.connection()
    changes: list[tuple[str, str]] = []
    base = {"sessions", "instances", "chat_messages", "workspaces"}

    def hook(kind: int, database: str, table: str, rowid: int) -> None:
        if table in base:
            changes.append((apsw.mapping_authorizer_function[kind], table))

    con.set_update_hook(hook)
    try:
        action()
    finally:
        con.set_update_hook(None)
    return changes


def test_adding_a_message_inserts_one_row_and_touches_its_session(store, workspace):
    store.create_session(workspace, make_session(instances=3, messages=5))
    changes = rows_changed(
        store,
        lambda: store.add_chat_message(workspace, "session_1", make_message("new")),
    )
    assert sorted(changes) == [
        ("SQLITE_INSERT", "chat_messages"),
        ("SQLITE_UPDATE", "sessions"),
    ]


def test_changing_an_instance_status_updates_that_instance_and_its_session(
    store, workspace
):
    store.create_session(workspace, make_session(instances=3, messages=5))
    changes = rows_changed(
        store, lambda: store.update_instance_status(workspace, "session_1", 2, "failed")
    )
    assert sorted(changes) == [
        ("SQLITE_UPDATE", "instances"),
        ("SQLITE_UPDATE", "sessions"),
    ]


def test_updating_a_session_rewrites_only_the_children_that_differ(store, workspace):
    session = make_session(instances=3, messages=3)
    store.create_session(workspace, session)
    session.instances[1].status = "completed"
    session.chat_history.append(make_message("extra"))
    changes = rows_changed(store, lambda: store.update_session(workspace, session))
    assert sorted(changes) == [
        ("SQLITE_INSERT", "chat_messages"),
        ("SQLITE_UPDATE", "instances"),
        ("SQLITE_UPDATE", "sessions"),
    ]


def test_a_write_that_fails_part_way_leaves_nothing_behind(
    store, workspace, monkeypatch
):
    store.create_session(workspace, make_session("kept", instances=1, messages=1))
    before = [s.to_json() for s in store.get_all_sessions(workspace)]

    def boom(*args, **kwargs):
        raise apsw.IOError("injected failure after the rows were written")

    # The trigram row is the last thing written, after the session and its children.
    monkeypatch.setattr(sqlite_rows, "trigram_params", boom)
    with pytest.raises(DatabaseError, match="injected"):
        store.create_session(workspace, make_session("lost", instances=2, messages=2))
    session = store.get_session(workspace, "kept")
    session.task = "changed"
    with pytest.raises(DatabaseError):
        store.update_session(workspace, session)
    monkeypatch.undo()
    assert [s.to_json() for s in store.get_all_sessions(workspace)] == before
    counts = (
        store.pool.connection()
        .execute(
            "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM instances),"
            " (SELECT count(*) FROM chat_messages)"
        )
        .fetchone()
    )
    assert counts == (1, 1, 1)
    assert store.pool.verify_integrity()


def test_a_deleted_sessions_text_is_not_left_readable_in_the_files(store, workspace):
    secret_task = "zanzibarquokka"
    secret_message = "xylophonewombat"
    secret_output = "quetzalnarwhal"
    session = make_session(
        task=f"Task {secret_task}", messages=[make_message(content=secret_message)]
    )
    session.instances = [
        __import__("conftest").make_instance(0, output=f"log {secret_output} " * 50)
    ]
    store.create_session(workspace, session)
    store.create_session(workspace, make_session("other", instances=2, messages=2))
    store.pool.optimize()
    path = Path(store.pool.path)
    assert secret_output.encode() in path.read_bytes()  # the check below could fail
    store.delete_session(workspace, "session_1")
    assert store.search(workspace, secret_task) == []
    store.pool.optimize()
    data = path.read_bytes() + Path(str(path) + "-wal").read_bytes()
    for secret in (secret_task, secret_message, secret_output):
        assert secret.encode() not in data, secret


def test_json_columns_round_trip_runtime_mix_and_extra(store, workspace):
    session = make_session(
        runtime_mix=["claude", "codex"], extra={"evaluation": {"score": 3}}
    )
    session.chat_history = [make_message(extra={"tokens": [1, 2]})]
    store.create_session(workspace, session)
    assert json.dumps(
        store.get_session(workspace, "session_1").to_json()
    ) == json.dumps(session.to_json())


def test_another_applications_database_is_refused_and_left_byte_for_byte(tmp_path):
    path = tmp_path / "other.db"
    con = apsw.Connection(str(path))
    con.execute("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')")
    con.close()
    before = sha256(path)
    with pytest.raises(MigrationError, match="not an ait42-session database"):
        DbPool(path)
    assert sha256(path) == before


def test_a_new_database_is_marked_as_ours(tmp_path):
    with DbPool(tmp_path / "s.db") as pool:
        assert pool.connection().pragma("application_id") == 0x41493432
    with DbPool(tmp_path / "s.db") as pool:  # and opens again
        assert pool.schema_version == len(migration_scripts())


def insert_session_of(schema: int) -> str:
    """INSERT_SESSION as the code of ``schema`` ran it: a session row had no copy number
    before schema 8, and no file of its own before schema 9."""
    statement = sql.INSERT_SESSION
    for column, since in (("copy_number", 8), ("file_hash", 9)):
        if schema < since:
            statement = statement.replace(f":{column}, ", "").replace(f"{column}, ", "")
    return statement


def assert_forgotten(
    repo: SqliteSessionRepository, workspace: str, session_id: str, word: str, db: Path
) -> None:
    """Delete the session that alone holds ``word``: search no longer finds it, and after a
    purge no byte of the database's files holds it."""
    repo.delete_session(workspace, session_id)
    assert repo.search(workspace, word) == []
    repo.pool.purge()
    files = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert word.encode() not in files


def old_database(path: Path, schema: int, workspace: str, sessions: list[Any]) -> None:
    """A database file as the code of ``schema`` made it: its migrations only, and rows
    written as that code wrote them (outputs as plain text before schema 6, compressed from
    it on)."""
    from ait42_session.workspace import workspace_identity

    from ait42_session.stored_text import pack, register_functions

    con = apsw.Connection(str(path))
    register_functions(con)
    con.pragma("journal_mode", "wal")
    for number, _name, script in migration_scripts()[:schema]:
        with con:
            con.execute(script)
            con.pragma("user_version", number)
    ws, real_path = workspace_identity(workspace)
    with con:
        con.execute(sql.ENSURE_WORKSPACE, {"hash": ws, "path": real_path, "now": at(0)})
        for session in sessions:
            con.execute(insert_session_of(schema), sqlite_rows.session_params(session, ws))
            pk = con.last_insert_rowid()
            sqlite_rows.upsert_rows(
                con,
                sql.INSTANCES,
                [
                    {**sqlite_rows.instance_params(pk, i, in_pieces=False),
                     "output": pack(i.output) if schema >= 6 else i.output}
                    for i in session.instances
                ],
            )
            sqlite_rows.upsert_rows(
                con,
                sql.MESSAGES,
                [
                    sqlite_rows.message_params(pk, n, m)
                    for n, m in enumerate(session.chat_history)
                ],
            )
            con.execute(
                sql.INSERT_TRIGRAMS,
                sqlite_rows.trigram_params(
                    pk, session.task, session.id, joined_agent_names(session)
                ),
            )
    con.close()


def upgrade_sessions(word: str, line_end: str) -> list[Any]:
    """Sessions for the upgrade tests: a long output (compressed once stored) with
    ``module_N`` steps and ``{word}0``..``{word}6``, a short one, a missing one, and another
    session repeating ``{word}3``."""
    long_output = "".join(
        f"step {n}: compiled module_{n} with {word}{n % 7}{line_end}"
        for n in range(400)
    )
    return [
        make_session("long", instances=[make_instance(0, output=long_output),
                                        make_instance(1, output=f"short {word}3"),
                                        make_instance(2, output=None)], messages=2),
        make_session("other", instances=[make_instance(0, output=f"{word}3 " * 80)]),
    ]  # fmt: skip


def fresh_searches(
    tmp_path: Path, workspace: str, sessions: list[Any], queries: tuple[str, ...]
) -> list[Any]:
    """What a store that held ``sessions`` from the start answers to each of ``queries``."""
    with SqliteSessionRepository.with_path(tmp_path / "new.db") as fresh:
        for session in sessions:
            fresh.create_session(workspace, session)
        return [fresh.search(workspace, q) for q in queries]


def test_a_database_of_schema_4_upgrades_in_place_to_deferred_purge(
    tmp_path, workspace
):
    """Migration 0005 on a file made by the previous schema: the sessions stay, search works,
    deletes stop rewriting the index, and the purge drops the deleted words."""
    path = tmp_path / "old.db"
    session = make_session(
        "kept", instances=[make_instance(0, output="log okapiupgrade " * 50)]
    )
    old_database(path, 4, workspace, [session])

    with SqliteSessionRepository.with_path(path) as repo:
        assert repo.pool.schema_version == len(migration_scripts())
        settings = (
            repo.pool.connection()
            .execute("SELECT v FROM fts_messages_config WHERE k = 'secure-delete'")
            .fetchall()
        )
        assert settings == [(0,)]
        assert repo.get_session(workspace, "kept").to_json() == session.to_json()
        assert [h.session_id for h in repo.search(workspace, "okapiupgrade")] == [
            "kept"
        ]
        repo.delete_session(workspace, "kept")
        assert repo.search(workspace, "okapiupgrade") == []
        repo.pool.purge()
        assert repo.pool.verify_integrity()
    files = b"".join(p.read_bytes() for p in tmp_path.glob("old.db*"))
    assert b"okapiupgrade" not in files


def test_a_database_of_schema_5_upgrades_to_compressed_outputs_with_the_same_answers(
    tmp_path, workspace
):
    """Migration 0006 on a file made by the previous schema (and 0010 after it): long outputs
    become zstd frames, short ones stay text, missing ones stay missing, and every read and
    search answers as a store that held the same sessions from the start."""
    sessions = upgrade_sessions("okapiframe", "\n")
    old_database(tmp_path / "old.db", 5, workspace, sessions)
    expected_search = fresh_searches(
        tmp_path, workspace, sessions, ("okapiframe3", '"module_17 with"')
    )

    with SqliteSessionRepository.with_path(tmp_path / "old.db") as repo:
        assert repo.pool.schema_version == len(migration_scripts())
        stored = dict(repo.pool.connection().execute(
            "SELECT s.id || '/' || i.instance_id, CASE WHEN i.output IS NULL THEN 'none' ELSE "
            "(SELECT group_concat(typeof(p.body)) FROM output_pieces AS p "
            " WHERE p.pk / 1048576 = i.pk) END "
            "FROM instances AS i JOIN sessions AS s ON s.pk = i.session_pk"
        ))  # fmt: skip
        assert stored == {"long/0": "blob,blob", "long/1": "text", "long/2": "none", "other/0": "blob"}  # fmt: skip
        assert {s.id: s.to_json() for s in repo.get_all_sessions(workspace)} == {
            s.id: s.to_json() for s in sessions
        }
        assert [repo.search(workspace, q) for q in ("okapiframe3", '"module_17 with"')] == expected_search  # fmt: skip
        assert expected_search[1] and expected_search[1][0].instance_id == 0
        assert repo.pool.verify_integrity()
        assert_forgotten(repo, workspace, "long", "module_17", tmp_path / "old.db")


def test_long_outputs_are_stored_in_compressed_pieces_and_short_ones_as_text(
    tmp_path, workspace
):
    long_output = "".join(f"line {n}: built target_{n}\n" for n in range(3000))
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        repo.create_session(workspace, make_session(instances=[
            make_instance(0, output=long_output), make_instance(1, output="short"),
            make_instance(2, output=""), make_instance(3, output=None)]))  # fmt: skip
        con = repo.pool.connection()
        pieces = con.execute(
            "SELECT i.instance_id, p.start, p.size, p.body FROM output_pieces AS p "
            "JOIN instances AS i ON i.pk = p.pk / 1048576 ORDER BY p.pk"
        ).fetchall()
        assert pieces[-1] == (1, 0, 5, "short")
        long_pieces = pieces[:-1]
        assert len(long_pieces) == len(long_output) // PIECE_CHARS + 1
        assert all(isinstance(body, bytes) for *_, body in long_pieces)
        assert sum(len(body) for *_, body in long_pieces) < len(long_output) // 3
        assert [(start, size) for _, start, size, _ in long_pieces] == [
            (p.start, p.end - p.start) for p in cut_pieces(long_output)
        ]
        assert con.execute("SELECT instance_id, output FROM instances ORDER BY 1").fetchall() == [
            (0, ""), (1, ""), (2, ""), (3, None)]  # fmt: skip
        assert [i.output for i in repo.get_session(workspace, "session_1").instances] == [
            long_output, "short", "", None]  # fmt: skip


def test_a_damaged_compressed_output_is_store_corrupted_naming_the_file(
    tmp_path, workspace
):
    from ait42_session.stored_text import pack

    rng = random.Random(7)
    output = " ".join(
        "".join(rng.choice("abcdefgh") for _ in range(6)) for _ in range(400)
    )
    frame = pack(output)
    assert isinstance(frame, bytes) and 1000 < len(frame) < 3000  # one page, findable
    db = tmp_path / "sessions.db"
    with SqliteSessionRepository.with_path(db) as repo:
        repo.create_session(workspace, make_session(instances=[make_instance(0, output=output)]))  # fmt: skip
        repo.pool.optimize()  # everything in the main file
    content = db.read_bytes()
    at = content.index(frame) + len(frame) // 2
    db.write_bytes(content[:at] + bytes(64) + content[at + 64 :])
    with SqliteSessionRepository.with_path(db) as repo:
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.get_session(workspace, "session_1")
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.get_all_sessions(workspace)
        with pytest.raises(StoreCorruptedError, match="sessions.db"):
            repo.search(workspace, output.split()[0])  # its snippet reads the output


def test_a_database_of_schema_6_upgrades_to_a_contentless_output_index_with_the_same_answers(
    tmp_path, workspace
):
    """Migration 0007 on a file made by the previous schema: the output index is rebuilt
    without its copy of the text, and hits, ranks and snippets are those of a store that held
    the same sessions from the start; a deleted output's words leave the file at the purge.
    """
    sessions = upgrade_sessions("okapiseven", ". ")
    queries = ("okapiseven3", '"module_17 with"', "compiled okapiseven5")
    old_database(tmp_path / "old.db", 6, workspace, sessions)
    from ait42_session.fulltext import fts5_expression, query_terms
    from ait42_session.stored_text import pack, register_functions

    con = apsw.Connection(str(tmp_path / "old.db"))
    register_functions(con)
    old_outputs = [  # what the index with its text answered: ranks and snippets
        sorted(con.execute(
            "SELECT bm25(fts_outputs), snippet(fts_outputs, 0, '[', ']', '…', 12) "
            "FROM fts_outputs WHERE fts_outputs MATCH ?", (fts5_expression(query_terms(q)),)))
        for q in queries
    ]  # fmt: skip
    con.close()
    expected = fresh_searches(tmp_path, workspace, sessions, queries)

    with SqliteSessionRepository.with_path(tmp_path / "old.db") as repo:
        assert repo.pool.schema_version == len(migration_scripts())
        found = [repo.search(workspace, q) for q in queries]
        assert found == expected
        # The same outputs and snippets as the index that held the text; ranks are the best
        # piece's since migration 0010 (the long output is two pieces).
        assert [
            sorted(h.snippet for h in hits if h.kind == "output") for hits in found
        ] == [sorted(snippet for _, snippet in old) for old in old_outputs]
        assert found[1][0].snippet.startswith("…")  # cut out of the long output
        assert "[module_17] [with]" in found[1][0].snippet
        assert repo.pool.verify_integrity()
        assert_forgotten(repo, workspace, "long", "module_17", tmp_path / "old.db")


def test_a_streamed_save_rewrites_and_reindexes_only_the_output_that_grew(
    tmp_path, workspace
):
    grown_from = "".join(f"line {n}: ran test_case_{n}\n" for n in range(300))
    other = "".join(f"note {n}: nothing new here\n" for n in range(300))
    session = make_session(instances=[make_instance(0, output=grown_from),
                                      make_instance(1, output=other)])  # fmt: skip
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        repo.create_session(workspace, session)
        con = repo.pool.connection()
        con.execute(
            "CREATE TEMP TABLE rewritten (piece INTEGER);"
            "CREATE TEMP TRIGGER count_rewrites AFTER UPDATE ON main.output_pieces "
            "BEGIN INSERT INTO rewritten VALUES (new.pk); END;"
            "CREATE TEMP TRIGGER count_new AFTER INSERT ON main.output_pieces "
            "BEGIN INSERT INTO rewritten VALUES (new.pk); END;"
        )
        stored_before = con.execute("SELECT pk, body FROM output_pieces ORDER BY pk").fetchall()
        grown = session.instances[0].output + "line 300: okapistream passed\n"
        streamed = msgspec.structs.replace(session, instances=[
            msgspec.structs.replace(session.instances[0], output=grown), session.instances[1]])  # fmt: skip
        repo.update_session(workspace, streamed)

        # the grown output's last (here only) piece, and nothing of the other
        assert con.execute("SELECT piece FROM rewritten").fetchall() == [stored_before[0][:1]]
        assert con.execute("SELECT pk, body FROM output_pieces ORDER BY pk").fetchall()[1:] == (
            stored_before[1:]
        )
        hits = repo.search(workspace, "okapistream")
        assert [(h.instance_id, "[okapistream]" in h.snippet) for h in hits] == [
            (0, True)
        ]
        assert repo.get_session(workspace, session.id).instances[0].output == grown
        assert repo.pool.verify_integrity()


def test_a_database_of_schema_7_upgrades_to_keeping_every_copy_with_the_same_answers(
    tmp_path, workspace
):
    """Migration 0008 rebuilds the three tables (foreign keys off, checked before commit):
    every row keeps its id, the indexes keyed by them answer as before, and what the
    editor's files hold (a second copy of an id, a status the old CHECK refused) now fits."""
    sessions = upgrade_sessions("okapicopy", "\n")
    old_database(tmp_path / "old.db", 7, workspace, sessions)
    expected_search = fresh_searches(
        tmp_path, workspace, sessions, ("okapicopy3", '"module_17 with"')
    )

    with SqliteSessionRepository.with_path(tmp_path / "old.db") as repo:
        assert repo.pool.schema_version == len(migration_scripts())
        assert [s.to_json() for s in repo.get_all_sessions(workspace)] == [
            s.to_json() for s in sorted(sessions, key=lambda s: s.id, reverse=True)
        ]
        assert [repo.search(workspace, q) for q in ("okapicopy3", '"module_17 with"')] == (
            expected_search
        )
        assert repo.pool.verify_integrity()
        con = repo.pool.connection()
        assert con.pragma("foreign_keys") == 1
        ws = compute_workspace_hash(workspace)
        with con:
            sqlite_rows.insert_session(
                con, ws, make_session("long", status="round_2", task="a copy"), 1
            )
        assert [c.task for c in repo.get_session_copies(workspace, "long")] == [
            sessions[0].task, "a copy",
        ]  # fmt: skip
        repo.delete_session(workspace, "long")
        assert [s.id for s in repo.get_all_sessions(workspace)] == ["other"]
        assert repo.pool.verify_integrity()
