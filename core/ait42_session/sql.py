"""Every SQL statement the SQLite repository runs, as constants with named parameters.

Statement text stays constant so that APSW's statement cache keeps each one prepared; the only
statements assembled at run time are the filtered queries, built from fixed fragments here
(their shapes are few: a fragment per filter, placeholders per listed type or status).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, NamedTuple

SESSION_COLUMNS = """s.pk, s.id, s.type, s.task, s.status, s.created_at, s.updated_at,
    s.completed_at, s.model, s.timeout_seconds, s.preserve_worktrees, s.winner_id,
    s.runtime_mix, s.total_duration, s.total_files_changed, s.total_lines_added,
    s.total_lines_deleted, s.extra"""

SUMMARY_COLUMNS = """s.pk, s.id, s.type, s.task, s.status, s.created_at, s.updated_at,
    s.completed_at, s.model, s.timeout_seconds, s.preserve_worktrees, s.winner_id,
    s.runtime_mix, s.total_duration, s.total_files_changed, s.total_lines_added,
    s.total_lines_deleted,
    (SELECT count(*) FROM instances AS i WHERE i.session_pk = s.pk),
    (SELECT count(*) FROM chat_messages AS m WHERE m.session_pk = s.pk)"""

# --- workspaces ---------------------------------------------------------------------------

ENSURE_WORKSPACE = """
INSERT INTO workspaces (hash, path, last_accessed) VALUES (:hash, :path, :now)
ON CONFLICT (hash) DO UPDATE SET path = excluded.path, last_accessed = excluded.last_accessed
WHERE workspaces.path IS NOT excluded.path"""

# A workspace's other spellings (workspace.spelled_hashes) that hold sessions of their own:
# hashes known only from a file (never opened by path) and not joined to a workspace yet.
UNJOINED_SPELLINGS = """
SELECT w.hash FROM workspaces AS w
WHERE w.hash IN (SELECT value FROM json_each(:hashes)) AND w.hash <> :ws
    AND w.path IS NULL AND w.joined_to IS NULL"""

JOINED_TO = "SELECT joined_to FROM workspaces WHERE hash = :hash"

# A hash's sessions, to move into another workspace (join, rebind), in stored order.
SESSIONS_TO_MOVE = """
SELECT pk, id, file_hash FROM sessions WHERE workspace_hash = :from_ws ORDER BY pk"""

# One session into workspace :ws as the next copy of its id; :file_hash is where it came from.
MOVE_SESSION = """
UPDATE sessions SET workspace_hash = :ws, copy_number = :copy_number, file_hash = :file_hash
WHERE pk = :pk"""

# The hash joins :ws, and so do the hashes that had joined it.
MARK_JOINED = """
UPDATE workspaces SET joined_to = :ws WHERE hash = :from_ws OR joined_to = :from_ws"""

# --- sessions -----------------------------------------------------------------------------

# A repeated id (the editor appends on create) has copies numbered in file order; the
# commands act on the first, as the editor's `find` does.
SESSION_PK = """
SELECT pk FROM sessions WHERE workspace_hash = :ws AND id = :id ORDER BY copy_number LIMIT 1"""

NEXT_COPY_NUMBER = """
SELECT coalesce(max(copy_number) + 1, 0) FROM sessions WHERE workspace_hash = :ws AND id = :id"""

INSERT_SESSION = """
INSERT INTO sessions (workspace_hash, id, copy_number, file_hash, type, task, status, created_at, created_ns,
    updated_at, updated_ns, completed_at, model, timeout_seconds, preserve_worktrees, winner_id,
    runtime_mix, total_duration, total_files_changed, total_lines_added, total_lines_deleted,
    agent_names, extra)
VALUES (:ws, :id, :copy_number, :file_hash, :type, :task, :status, :created_at, :created_ns, :updated_at, :updated_ns,
    :completed_at, :model, :timeout_seconds, :preserve_worktrees, :winner_id, :runtime_mix,
    :total_duration, :total_files_changed, :total_lines_added, :total_lines_deleted,
    :agent_names, :extra)"""

UPDATE_SESSION = """
UPDATE sessions SET type = :type, task = :task, status = :status, created_at = :created_at,
    created_ns = :created_ns, updated_at = :updated_at, updated_ns = :updated_ns,
    completed_at = :completed_at, model = :model, timeout_seconds = :timeout_seconds,
    preserve_worktrees = :preserve_worktrees, winner_id = :winner_id,
    runtime_mix = :runtime_mix, total_duration = :total_duration,
    total_files_changed = :total_files_changed, total_lines_added = :total_lines_added,
    total_lines_deleted = :total_lines_deleted, agent_names = :agent_names, extra = :extra
WHERE pk = :pk"""

TOUCH_SESSION = "UPDATE sessions SET updated_at = :updated_at, updated_ns = :updated_ns WHERE pk = :pk"

DELETE_SESSION = "DELETE FROM sessions WHERE pk = :pk"

# Ids stored more than once, in one workspace (:ws) or in all (:ws NULL), by first appearance.
REPEATED_IDS = """
SELECT workspace_hash, id FROM sessions WHERE :ws IS NULL OR workspace_hash = :ws
GROUP BY workspace_hash, id HAVING count(*) > 1 ORDER BY workspace_hash, min(pk)"""

# Every copy, as the editor's `retain` removes them all.
DELETE_SESSION_COPIES = "DELETE FROM sessions WHERE workspace_hash = :ws AND id = :id"

GET_SESSION = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s WHERE s.workspace_hash = :ws AND s.id = :id
ORDER BY s.copy_number LIMIT 1"""

SESSION_COPIES = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s WHERE s.workspace_hash = :ws AND s.id = :id
ORDER BY s.copy_number"""

# --- the substring index (casefolded text, written from Python) ---------------------------

DELETE_TRIGRAMS = "DELETE FROM session_trigrams WHERE rowid = :pk"
INSERT_TRIGRAMS = "INSERT INTO session_trigrams (rowid, task, id, agents) VALUES (:pk, :task, :id, :agents)"
ALL_TRIGRAM_SOURCES = "SELECT pk, task, id, agent_names FROM sessions"
CLEAR_TRIGRAMS = "DELETE FROM session_trigrams"

# --- instances ----------------------------------------------------------------------------


def instance_columns(output: str) -> str:
    """The instance columns in the model's order, with ``output`` as the expression given."""
    return f"""i.session_pk, i.instance_id, i.worktree_path, i.branch, i.agent_name,
    i.status, i.tmux_session_id, {output}, i.start_time, i.end_time, i.files_changed,
    i.lines_added, i.lines_deleted, i.runtime, i.model, i.runtime_label, i.extra"""


# An output is its pieces joined in order (migration 0010); instances.output is NULL for none.
# A BLOB piece is a zstd frame (stored_text); only those cost a call into Python.
PIECES_PER_OUTPUT = 1_048_576  # a piece's pk is its instance's pk * this + its number
# the pieces (p) of instance i: one range of pks
_PIECES_OF_I = (
    f"p.pk BETWEEN i.pk * {PIECES_PER_OUTPUT} AND i.pk * {PIECES_PER_OUTPUT} + {PIECES_PER_OUTPUT - 1}"
)
OUTPUT_TEXT = f"""CASE WHEN i.output IS NULL THEN NULL ELSE (
    SELECT coalesce(group_concat(
        CASE WHEN typeof(p.body) = 'blob' THEN ait42_unpack(p.body) ELSE p.body END,
        '' ORDER BY p.pk), '')
    FROM output_pieces AS p
    WHERE {_PIECES_OF_I}
) END"""
INSTANCE_COLUMNS = instance_columns(OUTPUT_TEXT)

# A session's instances and messages are written as sets: staged in a temporary table (one
# row per statement there, where nothing is indexed), then moved into place by one statement.
# FTS5 writes out the words it holds at the start of every statement in a transaction (its
# savepoint), so a statement per row left one index segment per message and output, and
# merging those cost more than the indexing itself.


class Staged(NamedTuple):
    """The statements that write a set of child rows (of one session or of many): ``create``
    the staging table (once per connection; it is temporary), ``stage`` each row into it,
    ``upsert`` them all into place, and ``clear`` it."""

    create: str
    stage: str
    upsert: str
    clear: str


def _staged(table: str, columns: str, conflict: str) -> Staged:
    staging = f"staged_{table}"
    names = [name.strip() for name in columns.split(",")]
    return Staged(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({columns})",
        f"INSERT INTO temp.{staging} ({columns}) "
        f"VALUES ({', '.join(':' + name for name in names)})",
        f"INSERT INTO main.{table} ({columns})\n"
        f"SELECT {columns} FROM temp.{staging} WHERE true ORDER BY rowid\n{conflict}",
        f"DELETE FROM temp.{staging}",
    )


# Inserts new instances, and rewrites a stored one only when something in it differs, so that
# an unchanged output is not re-indexed.
INSTANCES = _staged(
    "instances",
    """session_pk, instance_id, worktree_path, branch, agent_name, status, tmux_session_id, output,
    start_time, end_time, files_changed, lines_added, lines_deleted, runtime, model,
    runtime_label, extra""",
    """ON CONFLICT (session_pk, instance_id) DO UPDATE SET
    worktree_path = excluded.worktree_path, branch = excluded.branch,
    agent_name = excluded.agent_name, status = excluded.status,
    tmux_session_id = excluded.tmux_session_id, output = excluded.output,
    start_time = excluded.start_time, end_time = excluded.end_time,
    files_changed = excluded.files_changed, lines_added = excluded.lines_added,
    lines_deleted = excluded.lines_deleted, runtime = excluded.runtime,
    model = excluded.model, runtime_label = excluded.runtime_label, extra = excluded.extra
WHERE (worktree_path, branch, agent_name, status, tmux_session_id, output, start_time,
       end_time, files_changed, lines_added, lines_deleted, runtime, model, runtime_label,
       extra)
  IS NOT (excluded.worktree_path, excluded.branch, excluded.agent_name, excluded.status,
       excluded.tmux_session_id, excluded.output, excluded.start_time, excluded.end_time,
       excluded.files_changed, excluded.lines_added, excluded.lines_deleted, excluded.runtime,
       excluded.model, excluded.runtime_label, excluded.extra)""",
)

# The pieces a replaced session's outputs have now (number, size, digest), so that the
# unchanged ones are kept as stored; instances without an output or pieces have one NULL row.
STORED_PIECES = f"""
SELECT i.instance_id, p.number, p.size, p.digest
FROM instances AS i LEFT JOIN output_pieces AS p
    ON {_PIECES_OF_I}
WHERE i.session_pk = :session_pk ORDER BY i.instance_id, p.pk"""

# The pks of the instances of a set of sessions, by (session pk, instance id).
INSTANCE_PKS = """
SELECT session_pk, instance_id, pk FROM instances
WHERE session_pk IN (SELECT value FROM json_each(:pks))"""

PIECES = _staged(
    "output_pieces",
    "pk, number, start, size, digest, lead, body",
    """ON CONFLICT (pk) DO UPDATE SET number = excluded.number, start = excluded.start,
    size = excluded.size, digest = excluded.digest, lead = excluded.lead, body = excluded.body""",
)

# An output's pieces from :first_pk on, where it now has fewer (or is rewritten from there).
DELETE_PIECES_FROM = """
DELETE FROM output_pieces WHERE pk BETWEEN :first_pk AND :last_pk"""

# The last piece of an output (an append rewrites it and adds new ones).
LAST_PIECE = """
SELECT number, start, lead, body FROM output_pieces
WHERE pk BETWEEN :first_pk AND :last_pk ORDER BY pk DESC LIMIT 1"""

DELETE_INSTANCES_NOT_IN = """
DELETE FROM instances WHERE session_pk = :session_pk
    AND instance_id NOT IN (SELECT value FROM json_each(:keep))"""

SET_INSTANCE_STATUS = """
UPDATE instances SET status = :status WHERE session_pk = :session_pk AND instance_id = :instance_id"""

INSTANCE_PK = """
SELECT pk FROM instances WHERE session_pk = :session_pk AND instance_id = :instance_id"""

# An output never set becomes text (its pieces hold it).
MARK_OUTPUT = "UPDATE instances SET output = '' WHERE pk = :pk AND output IS NULL"

# Children of a set of sessions, passed as one JSON array: one statement for any number of
# sessions, and no placeholder list to outgrow SQLite's variable limit.
INSTANCES_OF = f"""
SELECT {INSTANCE_COLUMNS} FROM instances AS i
WHERE i.session_pk IN (SELECT value FROM json_each(:pks))
ORDER BY i.session_pk, i.instance_id"""

# --- chat messages ------------------------------------------------------------------------

MESSAGE_COLUMNS = (
    "m.session_pk, m.id, m.role, m.content, m.timestamp, m.instance_id, m.extra"
)

_MESSAGE_CONFLICT = """ON CONFLICT (session_pk, position) DO UPDATE SET
    id = excluded.id, role = excluded.role, content = excluded.content,
    timestamp = excluded.timestamp, timestamp_ns = excluded.timestamp_ns,
    instance_id = excluded.instance_id, extra = excluded.extra
WHERE (id, role, content, timestamp, instance_id, extra)
  IS NOT (excluded.id, excluded.role, excluded.content, excluded.timestamp,
          excluded.instance_id, excluded.extra)"""

# A session's messages, as a set (see INSTANCES); one message is added by UPSERT_MESSAGE.
MESSAGES = _staged(
    "chat_messages",
    "session_pk, position, id, role, content, timestamp, timestamp_ns, instance_id, extra",
    _MESSAGE_CONFLICT,
)

UPSERT_MESSAGE = f"""
INSERT INTO chat_messages (session_pk, position, id, role, content, timestamp, timestamp_ns,
    instance_id, extra)
VALUES (:session_pk, :position, :id, :role, :content, :timestamp, :timestamp_ns, :instance_id,
    :extra)
{_MESSAGE_CONFLICT}"""

DELETE_MESSAGES_FROM = (
    "DELETE FROM chat_messages WHERE session_pk = :session_pk AND position >= :count"
)

NEXT_MESSAGE_POSITION = "SELECT coalesce(max(position) + 1, 0) FROM chat_messages WHERE session_pk = :session_pk"

MESSAGES_OF = f"""
SELECT {MESSAGE_COLUMNS} FROM chat_messages AS m
WHERE m.session_pk IN (SELECT value FROM json_each(:pks))
ORDER BY m.session_pk, m.position"""

# --- filtered queries ---------------------------------------------------------------------

SORT_EXPRESSIONS = {
    "created_at": "s.created_ns",
    "updated_at": "s.updated_ns",
    "duration": "coalesce(s.total_duration, 0)",
    "files_changed": "coalesce(s.total_files_changed, 0)",
}

FILTER_WORKSPACE = "s.workspace_hash = :ws"
FILTER_FROM = "s.created_ns >= :from_ns"
FILTER_TO = "s.created_ns <= :to_ns"
# Trigrams narrow the candidates; the exact rule (the same Python function the JSON store
# uses) decides, so both stores agree on unicode case folding.
FILTER_TRIGRAMS = "s.pk IN (SELECT rowid FROM session_trigrams WHERE session_trigrams MATCH :trigram_query)"
FILTER_TEXT = "ait42_text_matches(:needle, s.task, s.id, s.agent_names)"
FILTER_NOTHING = "false"  # a needle no stored text can hold (CheckedQuery.needle_matches_nothing)


# The builders below are cached: a query's text depends only on its shape (which filters,
# how many values, which order), and the same text hits APSW's statement cache.


@lru_cache(maxsize=256)
def filter_in(column: str, prefix: str, count: int) -> str:
    """``column IN (:prefix0, :prefix1, ...)`` for ``count`` named placeholders."""
    return f"{column} IN ({', '.join(f':{prefix}{n}' for n in range(count))})"


PAGE = " LIMIT :limit OFFSET :offset"


@lru_cache(maxsize=256)
def select_sessions(columns: str, where: tuple[str, ...], sort_field: str, descending: bool,
                    paged: bool, page_clause: str = PAGE) -> str:  # fmt: skip
    """A SELECT over sessions: the WHERE fragments ANDed, ordered by key, id and copy number
    in one direction; paged by ``page_clause`` (PostgreSQL passes its own placeholders)."""
    direction = "DESC" if descending else "ASC"
    order = (
        f"{SORT_EXPRESSIONS[sort_field]} {direction}, s.id {direction}, "
        f"s.copy_number {direction}"
    )
    page = page_clause if paged else ""
    return f"SELECT {columns} FROM sessions AS s WHERE {' AND '.join(where)} ORDER BY {order}{page}"


@lru_cache(maxsize=256)
def count_sessions(where: tuple[str, ...]) -> str:
    return f"SELECT count(*) FROM sessions AS s WHERE {' AND '.join(where)}"


def pk_list(pks: Iterable[int]) -> str:
    """Row ids (session pks, FTS rowids) as the JSON array ``json_each`` reads."""
    return "[" + ",".join(map(str, pks)) + "]"


# --- full-text search ---------------------------------------------------------------------

# One statement per kind; each ranked by bm25 and cut to the limit, then merged in Python.
# Snippets come after the merge, for the hits kept only: snippet() reads the whole text (an
# output of hundreds of KB, decompressed) and would otherwise run for every match.
SEARCH_TASKS = """
SELECT fts_tasks.rowid, s.id, NULL, NULL, bm25(fts_tasks)
FROM fts_tasks JOIN sessions AS s ON s.pk = fts_tasks.rowid
WHERE fts_tasks MATCH :query AND s.workspace_hash = :ws
ORDER BY bm25(fts_tasks) LIMIT :limit"""

SEARCH_MESSAGES = """
SELECT fts_messages.rowid, s.id, m.id, NULL, bm25(fts_messages)
FROM fts_messages JOIN chat_messages AS m ON m.pk = fts_messages.rowid
    JOIN sessions AS s ON s.pk = m.session_pk
WHERE fts_messages MATCH :query AND s.workspace_hash = :ws
ORDER BY bm25(fts_messages) LIMIT :limit"""

# Outputs are indexed in pieces (migration 0010), each ranked by its best piece: the least
# bm25 of its pieces for any of the terms (:any, ORed; FTS5's rank column is bm25, which an
# aggregate may read where the bm25() call is refused). Which outputs match is decided over
# the whole output: with one term, the pieces holding it; with more, the outputs each term
# has a piece in (:matched, from matched_outputs; NULL with one term).
SEARCH_OUTPUTS = f"""
SELECT i.pk, s.id, NULL, i.instance_id, best.rank
FROM (SELECT rowid / {PIECES_PER_OUTPUT} AS instance_pk, min(rank) AS rank
      FROM fts_outputs WHERE fts_outputs MATCH :any GROUP BY 1) AS best
    JOIN instances AS i ON i.pk = best.instance_pk
    JOIN sessions AS s ON s.pk = i.session_pk
WHERE s.workspace_hash = :ws
    AND (:matched IS NULL OR i.pk IN (SELECT value FROM json_each(:matched)))
ORDER BY best.rank, i.pk LIMIT :limit"""


def matched_outputs(terms: int) -> str:
    """The statement listing the outputs (instance pks) of workspace :ws that hold every one
    of ``terms`` terms (:term0, :term1, ...), each perhaps in another piece."""
    each = [
        f"SELECT rowid / {PIECES_PER_OUTPUT} FROM fts_outputs WHERE fts_outputs MATCH :term{n}"
        for n in range(terms)
    ]
    return f"""
SELECT i.pk FROM instances AS i JOIN sessions AS s ON s.pk = i.session_pk
WHERE s.workspace_hash = :ws AND i.pk IN ({" INTERSECT ".join(each)})"""


def _snippets(table: str) -> str:
    return f"""
SELECT rowid, snippet({table}, 0, '[', ']', '…', 12) FROM {table}
WHERE {table} MATCH :query AND rowid IN (SELECT value FROM json_each(:rowids))"""


SNIPPETS_TASKS = _snippets("fts_tasks")
SNIPPETS_MESSAGES = _snippets("fts_messages")

# The output index keeps no text (migration 0007): the kept hits' outputs are read whole, and
# scratch_index makes their snippets with the same snippet() call on a private table.
OUTPUT_TEXTS = f"""
SELECT i.pk, {OUTPUT_TEXT} FROM instances AS i
WHERE i.pk IN (SELECT value FROM json_each(:rowids))"""

SCRATCH_TABLE = (
    "CREATE VIRTUAL TABLE scratch USING fts5(text, tokenize='unicode61 remove_diacritics 0')"
)  # fmt: skip
SCRATCH_INSERT = "INSERT INTO scratch (rowid, text) VALUES (?, ?)"
SNIPPETS_SCRATCH = _snippets("scratch")


class SearchKind(NamedTuple):
    """One kind of hit: its search, and where its snippets come from - ``snippets`` on the
    database, or for an index without the text, ``texts`` read there and snippets made by
    ``scratch_index``."""

    kind: str
    search: str
    snippets: str | None
    texts: str | None = None
    in_pieces: bool = False  # indexed in pieces: several terms match by ``matched_outputs``


# In the order hits of equal rank are returned.
SEARCHES = (
    SearchKind("task", SEARCH_TASKS, SNIPPETS_TASKS),
    SearchKind("message", SEARCH_MESSAGES, SNIPPETS_MESSAGES),
    SearchKind("output", SEARCH_OUTPUTS, None, OUTPUT_TEXTS, in_pieces=True),
)

REBUILD_FTS = [
    "INSERT INTO fts_tasks (fts_tasks) VALUES ('rebuild')",
    "INSERT INTO fts_messages (fts_messages) VALUES ('rebuild')",
    # contentless: emptied, then filled from the stored outputs
    "INSERT INTO fts_outputs (fts_outputs) VALUES ('delete-all')",
    "INSERT INTO fts_outputs (rowid, output) SELECT pk, lead || ait42_unpack(body) FROM output_pieces",
]

# Merging each full-text index into one segment drops the words of deleted and replaced text
# (see migrations/sqlite/0005_deferred_purge.sql). A no-op for an index already merged.
FTS_TABLES = ("fts_tasks", "fts_messages", "fts_outputs", "session_trigrams")

PURGE_FTS = [f"INSERT INTO {t} ({t}) VALUES ('optimize')" for t in FTS_TABLES]


def fts_setting(table: str, name: str) -> str:
    """The statement that sets ``name``, one of the settings FTS5 stores with the index of
    ``table`` (``automerge``, ``crisismerge``...), to ``:value``."""
    return f"INSERT INTO {table} ({table}, rank) VALUES ('{name}', :value)"


# --- checks (Database.verify_integrity, ait42-session verify) -------------------------------

INTEGRITY_CHECK = "PRAGMA integrity_check"
FOREIGN_KEY_CHECK = "PRAGMA foreign_key_check"

# FTS5's own check: for external-content tables (rank 1) it compares the index with the rows.
FTS_INTEGRITY_CHECKS = {
    "fts_tasks": "INSERT INTO fts_tasks (fts_tasks, rank) VALUES ('integrity-check', 1)",
    "fts_messages": "INSERT INTO fts_messages (fts_messages, rank) VALUES ('integrity-check', 1)",
    "fts_outputs": "INSERT INTO fts_outputs (fts_outputs, rank) VALUES ('integrity-check', 1)",
    "session_trigrams": (
        "INSERT INTO session_trigrams (session_trigrams, rank) VALUES ('integrity-check', 1)"
    ),
}


# --- day-to-day operations ----------------------------------------------------------------

# Every workspace the store knows, with its session count and latest session (index order).
LIST_WORKSPACES = """
SELECT w.hash, w.path, w.joined_to,
    (SELECT count(*) FROM sessions AS s WHERE s.workspace_hash = w.hash),
    (SELECT s.updated_at FROM sessions AS s WHERE s.workspace_hash = w.hash
        ORDER BY s.updated_ns DESC, s.id DESC LIMIT 1)
FROM workspaces AS w ORDER BY w.hash"""

WORKSPACE_KNOWN = "SELECT EXISTS (SELECT 1 FROM workspaces WHERE hash = :ws)"

# Sessions a prune takes: last updated before :before_ns (when given) with a listed status.
PRUNABLE = """
SELECT s.pk, s.id FROM sessions AS s
WHERE s.workspace_hash = :ws AND s.updated_ns < :before_ns
    AND (:any_status OR s.status IN (SELECT value FROM json_each(:statuses)))
ORDER BY s.updated_ns, s.id"""
