"""Every statement the PostgreSQL repository runs, as constants with named parameters
(psycopg's ``%(name)s``). Column lists and parameter names match the SQLite store's
(``ait42_session.sql``), so the rows and parameters of ``sqlite_rows`` serve both engines.
"""

from __future__ import annotations

from functools import lru_cache

from .. import sql as sqlite_sql

# --- the schema's version ----------------------------------------------------------------------

# A transaction-scoped advisory lock: two processes starting at once migrate one after the other.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('ait42-session schema'))"
CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS ait42_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
)"""
GET_VERSION = "SELECT version FROM ait42_schema WHERE id = 1"
SET_VERSION = """
INSERT INTO ait42_schema (id, version) VALUES (1, %(version)s)
ON CONFLICT (id) DO UPDATE SET version = excluded.version"""

# --- workspaces and sessions ---------------------------------------------------------------------

ENSURE_WORKSPACE = """
INSERT INTO workspaces (hash, path, last_accessed) VALUES (%(hash)s, %(path)s, %(now)s)
ON CONFLICT (hash) DO UPDATE SET path = excluded.path, last_accessed = excluded.last_accessed"""

SESSION_COLUMNS = sqlite_sql.SESSION_COLUMNS
SUMMARY_COLUMNS = sqlite_sql.SUMMARY_COLUMNS

INSERT_SESSION = """
INSERT INTO sessions (workspace_hash, id, copy_number, file_hash, type, task, status, created_at, created_ns,
    updated_at, updated_ns, completed_at, model, timeout_seconds, preserve_worktrees, winner_id,
    runtime_mix, total_duration, total_files_changed, total_lines_added, total_lines_deleted,
    agent_names, extra, task_folded, id_folded, agents_folded, task_words)
VALUES (%(ws)s, %(id)s, %(copy_number)s, %(file_hash)s, %(type)s, %(task)s, %(status)s, %(created_at)s, %(created_ns)s,
    %(updated_at)s, %(updated_ns)s, %(completed_at)s, %(model)s, %(timeout_seconds)s,
    %(preserve_worktrees)s, %(winner_id)s, %(runtime_mix)s, %(total_duration)s,
    %(total_files_changed)s, %(total_lines_added)s, %(total_lines_deleted)s, %(agent_names)s,
    %(extra)s, %(task_folded)s, %(id_folded)s, %(agents_folded)s, %(task_words)s::tsvector)
RETURNING pk"""

UPDATE_SESSION = """
UPDATE sessions SET type = %(type)s, task = %(task)s, status = %(status)s,
    created_at = %(created_at)s, created_ns = %(created_ns)s, updated_at = %(updated_at)s,
    updated_ns = %(updated_ns)s, completed_at = %(completed_at)s, model = %(model)s,
    timeout_seconds = %(timeout_seconds)s, preserve_worktrees = %(preserve_worktrees)s,
    winner_id = %(winner_id)s, runtime_mix = %(runtime_mix)s,
    total_duration = %(total_duration)s, total_files_changed = %(total_files_changed)s,
    total_lines_added = %(total_lines_added)s, total_lines_deleted = %(total_lines_deleted)s,
    agent_names = %(agent_names)s, extra = %(extra)s, task_folded = %(task_folded)s,
    id_folded = %(id_folded)s, agents_folded = %(agents_folded)s,
    task_words = %(task_words)s::tsvector
WHERE pk = %(pk)s"""

# The session's row (its first copy, which the commands act on; see sqlite's SESSION_PK),
# locked until the transaction ends: writers of one session go one by one.
LOCK_SESSION = """
SELECT pk FROM sessions WHERE workspace_hash = %(ws)s AND id = %(id)s
ORDER BY copy_number LIMIT 1 FOR UPDATE"""
# Held until the transaction ends: upserts of one id that is not stored yet go one by one.
LOCK_SESSION_ID = "SELECT pg_advisory_xact_lock(hashtext(%(ws)s || '/' || %(id)s))"
SESSION_PK = """
SELECT pk FROM sessions WHERE workspace_hash = %(ws)s AND id = %(id)s
ORDER BY copy_number LIMIT 1"""
NEXT_COPY_NUMBER = """
SELECT coalesce(max(copy_number) + 1, 0) FROM sessions
WHERE workspace_hash = %(ws)s AND id = %(id)s"""
GET_SESSION = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s WHERE s.workspace_hash = %(ws)s AND s.id = %(id)s
ORDER BY s.copy_number LIMIT 1"""
SESSION_COPIES = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s WHERE s.workspace_hash = %(ws)s AND s.id = %(id)s
ORDER BY s.copy_number"""
DELETE_SESSION = "DELETE FROM sessions WHERE pk = %(pk)s"

# One workspace, one place (as ``ait42_session.sql``).
UNJOINED_SPELLINGS = """
SELECT w.hash FROM workspaces AS w
WHERE w.hash = ANY(%(hashes)s) AND w.hash <> %(ws)s AND w.path IS NULL AND w.joined_to IS NULL"""
UNJOINED_SPELLINGS_LOCKED = UNJOINED_SPELLINGS + " FOR UPDATE"
JOINED_TO = "SELECT joined_to FROM workspaces WHERE hash = %(hash)s"
SESSIONS_TO_MOVE = """
SELECT pk, id, file_hash FROM sessions WHERE workspace_hash = %(from_ws)s ORDER BY pk"""
MOVE_SESSION = """
UPDATE sessions SET workspace_hash = %(ws)s, copy_number = %(copy_number)s,
    file_hash = %(file_hash)s
WHERE pk = %(pk)s"""
MARK_JOINED = """
UPDATE workspaces SET joined_to = %(ws)s WHERE hash = %(from_ws)s OR joined_to = %(from_ws)s"""
REPEATED_IDS = """
SELECT workspace_hash, id FROM sessions
WHERE %(ws)s::text IS NULL OR workspace_hash = %(ws)s
GROUP BY workspace_hash, id HAVING count(*) > 1 ORDER BY workspace_hash, min(pk)"""
# Every copy, as the editor's `retain` removes them all.
DELETE_SESSION_COPIES = "DELETE FROM sessions WHERE workspace_hash = %(ws)s AND id = %(id)s"
TOUCH_SESSION = "UPDATE sessions SET updated_at = %(updated_at)s, updated_ns = %(updated_ns)s WHERE pk = %(pk)s"

# --- children ------------------------------------------------------------------------------------

INSTANCE_COLUMNS = sqlite_sql.instance_columns("i.output")
MESSAGE_COLUMNS = sqlite_sql.MESSAGE_COLUMNS

DELETE_INSTANCES_NOT_IN = """
DELETE FROM instances WHERE session_pk = %(session_pk)s AND instance_id <> ALL(%(keep)s)"""
UPSERT_INSTANCE = """
INSERT INTO instances (session_pk, instance_id, worktree_path, branch, agent_name, status,
    tmux_session_id, output, start_time, end_time, files_changed, lines_added, lines_deleted,
    runtime, model, runtime_label, extra, output_words)
VALUES (%(session_pk)s, %(instance_id)s, %(worktree_path)s, %(branch)s, %(agent_name)s,
    %(status)s, %(tmux_session_id)s, %(output)s, %(start_time)s, %(end_time)s,
    %(files_changed)s, %(lines_added)s, %(lines_deleted)s, %(runtime)s, %(model)s,
    %(runtime_label)s, %(extra)s, %(output_words)s::tsvector)
ON CONFLICT (session_pk, instance_id) DO UPDATE SET
    worktree_path = excluded.worktree_path, branch = excluded.branch,
    agent_name = excluded.agent_name, status = excluded.status,
    tmux_session_id = excluded.tmux_session_id, output = excluded.output,
    start_time = excluded.start_time, end_time = excluded.end_time,
    files_changed = excluded.files_changed, lines_added = excluded.lines_added,
    lines_deleted = excluded.lines_deleted, runtime = excluded.runtime, model = excluded.model,
    runtime_label = excluded.runtime_label, extra = excluded.extra,
    output_words = excluded.output_words
WHERE (instances.worktree_path, instances.branch, instances.agent_name, instances.status,
       instances.tmux_session_id, instances.output, instances.start_time, instances.end_time,
       instances.files_changed, instances.lines_added, instances.lines_deleted,
       instances.runtime, instances.model, instances.runtime_label, instances.extra)
    IS DISTINCT FROM
      (excluded.worktree_path, excluded.branch, excluded.agent_name, excluded.status,
       excluded.tmux_session_id, excluded.output, excluded.start_time, excluded.end_time,
       excluded.files_changed, excluded.lines_added, excluded.lines_deleted,
       excluded.runtime, excluded.model, excluded.runtime_label, excluded.extra)"""
SET_INSTANCE_STATUS = """
UPDATE instances SET status = %(status)s
WHERE session_pk = %(session_pk)s AND instance_id = %(instance_id)s"""

INSTANCE_OUTPUT = """
SELECT pk, output FROM instances
WHERE session_pk = %(session_pk)s AND instance_id = %(instance_id)s FOR UPDATE"""

SET_OUTPUT = """
UPDATE instances SET output = %(output)s, output_words = %(output_words)s::tsvector
WHERE pk = %(pk)s"""
INSTANCES_OF = f"""
SELECT {INSTANCE_COLUMNS} FROM instances AS i
WHERE i.session_pk = ANY(%(pks)s) ORDER BY i.session_pk, i.instance_id"""

DELETE_MESSAGES_FROM = """
DELETE FROM chat_messages WHERE session_pk = %(session_pk)s AND position >= %(count)s"""
UPSERT_MESSAGE = """
INSERT INTO chat_messages (session_pk, position, id, role, content, timestamp, timestamp_ns,
    instance_id, extra, content_words)
VALUES (%(session_pk)s, %(position)s, %(id)s, %(role)s, %(content)s, %(timestamp)s,
    %(timestamp_ns)s, %(instance_id)s, %(extra)s, %(content_words)s::tsvector)
ON CONFLICT (session_pk, position) DO UPDATE SET
    id = excluded.id, role = excluded.role, content = excluded.content,
    timestamp = excluded.timestamp, timestamp_ns = excluded.timestamp_ns,
    instance_id = excluded.instance_id, extra = excluded.extra,
    content_words = excluded.content_words
WHERE (chat_messages.id, chat_messages.role, chat_messages.content, chat_messages.timestamp,
       chat_messages.instance_id, chat_messages.extra)
    IS DISTINCT FROM
      (excluded.id, excluded.role, excluded.content, excluded.timestamp, excluded.instance_id,
       excluded.extra)"""
NEXT_MESSAGE_POSITION = """
SELECT coalesce(max(position) + 1, 0) FROM chat_messages WHERE session_pk = %(session_pk)s"""
MESSAGES_OF = f"""
SELECT {MESSAGE_COLUMNS} FROM chat_messages AS m
WHERE m.session_pk = ANY(%(pks)s) ORDER BY m.session_pk, m.position"""

# --- filtered queries ----------------------------------------------------------------------------

SORT_EXPRESSIONS = sqlite_sql.SORT_EXPRESSIONS
FILTER_WORKSPACE = "s.workspace_hash = %(ws)s"
FILTER_FROM = "s.created_ns >= %(from_ns)s"
FILTER_TO = "s.created_ns <= %(to_ns)s"
# The needle is case-folded in Python, as the columns are; LIKE reads the trigram indexes.
FILTER_TEXT = """(s.task_folded LIKE %(like)s ESCAPE '\\' OR s.id_folded LIKE %(like)s ESCAPE '\\'
    OR s.agents_folded LIKE %(like)s ESCAPE '\\')"""
FILTER_NOTHING = sqlite_sql.FILTER_NOTHING


@lru_cache(maxsize=256)
def filter_in(column: str, prefix: str, count: int) -> str:
    return f"{column} IN ({', '.join(f'%({prefix}{n})s' for n in range(count))})"


PAGE = " LIMIT %(limit)s OFFSET %(offset)s"


def select_sessions(columns: str, where: tuple[str, ...], sort_field: str, descending: bool,
                    paged: bool) -> str:  # fmt: skip
    return sqlite_sql.select_sessions(
        columns, where, sort_field, descending, paged, PAGE
    )


count_sessions = sqlite_sql.count_sessions  # the same text: no placeholder of its own


# --- full-text search: candidates by their words, best first; the exact phrase is checked after --

SEARCH_TASKS = """
SELECT s.id, NULL, NULL, s.task, ts_rank(s.task_words, %(query)s::tsquery) AS r
FROM sessions AS s
WHERE s.workspace_hash = %(ws)s AND s.task_words @@ %(query)s::tsquery
ORDER BY r DESC, s.pk"""
SEARCH_MESSAGES = """
SELECT s.id, m.id, NULL, m.content, ts_rank(m.content_words, %(query)s::tsquery) AS r
FROM chat_messages AS m JOIN sessions AS s ON s.pk = m.session_pk
WHERE s.workspace_hash = %(ws)s AND m.content_words @@ %(query)s::tsquery
ORDER BY r DESC, m.pk"""
SEARCH_OUTPUTS = """
SELECT s.id, NULL, i.instance_id, i.output, ts_rank(i.output_words, %(query)s::tsquery) AS r
FROM instances AS i JOIN sessions AS s ON s.pk = i.session_pk
WHERE s.workspace_hash = %(ws)s AND i.output_words @@ %(query)s::tsquery
ORDER BY r DESC, i.pk"""

# --- day-to-day operations -----------------------------------------------------------------------

LIST_WORKSPACES = sqlite_sql.LIST_WORKSPACES  # no placeholder: the same text
WORKSPACE_KNOWN = "SELECT EXISTS (SELECT 1 FROM workspaces WHERE hash = %(ws)s)"
PRUNABLE = """
SELECT s.pk, s.id FROM sessions AS s
WHERE s.workspace_hash = %(ws)s AND s.updated_ns < %(before_ns)s
    AND (%(any_status)s OR s.status = ANY(%(statuses)s))
ORDER BY s.updated_ns, s.id"""
# Bumped by a statement trigger on every write to the sessions' tables, by any connection
# (a sequence: no lock, so writers never wait on it).
DATA_VERSION = (
    "SELECT last_value + (CASE WHEN is_called THEN 1 ELSE 0 END) FROM ait42_changes"
)

# --- the move from the editor's JSON files (as ``from_json/sql.py`` for SQLite) -------------------

GET_IMPORT_SOURCE = """
SELECT sha256, size, session_count, issue_count FROM import_sources WHERE path = %(path)s"""

PUT_IMPORT_SOURCE = """
INSERT INTO import_sources (path, workspace_hash, sha256, size, session_count, issue_count,
    imported_at)
VALUES (%(path)s, %(ws)s, %(sha256)s, %(size)s, %(session_count)s, %(issue_count)s, %(now)s)
ON CONFLICT (path) DO UPDATE SET workspace_hash = excluded.workspace_hash,
    sha256 = excluded.sha256, size = excluded.size, session_count = excluded.session_count,
    issue_count = excluded.issue_count, imported_at = excluded.imported_at"""

ENSURE_HASH_WORKSPACE = """
INSERT INTO workspaces (hash, path, last_accessed) VALUES (%(hash)s, NULL, NULL)
ON CONFLICT (hash) DO NOTHING"""

SESSIONS_OF_FILE = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s
WHERE (s.workspace_hash = %(file)s AND s.file_hash IS NULL) OR s.file_hash = %(file)s
ORDER BY s.pk"""
FILES_WITH_SESSIONS = """
SELECT DISTINCT coalesce(file_hash, workspace_hash) FROM sessions ORDER BY 1"""

# Export reads every workspace in one snapshot.
REPEATABLE_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

GET_METADATA = """
SELECT migration_status, json_backup_path, migrated_at, last_updated_at
FROM migration_metadata WHERE id = 1"""

SET_MIGRATION_STATUS = """
INSERT INTO migration_metadata (id, migration_status, last_updated_at) VALUES (1, %(status)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET migration_status = excluded.migration_status,
    last_updated_at = excluded.last_updated_at
WHERE migration_metadata.migration_status IS DISTINCT FROM excluded.migration_status"""

MARK_IMPORTED = """
UPDATE migration_metadata SET migration_status = 'imported', last_updated_at = %(now)s
WHERE id = 1 AND migration_status = 'pending'"""

# --- health (``ait42-session verify`` and ``stats``) ----------------------------------------------

COUNTS = """
SELECT (SELECT count(*) FROM workspaces), (SELECT count(*) FROM sessions),
    (SELECT count(*) FROM instances), (SELECT count(*) FROM chat_messages)"""

# Rows whose search columns are missing or stale: their text could not be found by search.
UNSEARCHABLE = """
SELECT
    (SELECT count(*) FROM sessions WHERE task_words IS NULL OR task_folded IS NULL
        OR id_folded IS NULL OR agents_folded IS NULL),
    (SELECT count(*) FROM instances WHERE (output IS NULL) <> (output_words IS NULL)),
    (SELECT count(*) FROM chat_messages WHERE content_words IS NULL)"""

# Constraints PostgreSQL has not validated (added NOT VALID): rows may break them.
UNVALIDATED_CONSTRAINTS = """
SELECT count(*) FROM pg_constraint
WHERE NOT convalidated
  AND conrelid IN ('workspaces'::regclass, 'sessions'::regclass, 'instances'::regclass,
                   'chat_messages'::regclass)"""

AMCHECK_INSTALLED = (
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')"
)

# amcheck's structural check of every B-tree index of the store's tables: raises on damage.
CHECK_INDEXES = """
SELECT bt_index_check(c.oid)
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = c.relam
WHERE am.amname = 'btree'
  AND i.indrelid IN ('workspaces'::regclass, 'sessions'::regclass, 'instances'::regclass,
                     'chat_messages'::regclass, 'import_sources'::regclass)"""

DATABASE_SIZE = """
SELECT pg_database_size(current_database()), current_setting('block_size')::int"""

VACUUM_TABLES = [
    f"VACUUM (ANALYZE) {table}"
    for table in (
        "workspaces",
        "sessions",
        "instances",
        "chat_messages",
        "import_sources",
    )
]
