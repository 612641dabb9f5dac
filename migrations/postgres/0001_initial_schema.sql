-- The SQLite schema's tables (../sqlite/0001_initial_schema.sql and after), in PostgreSQL.
--
-- The same columns, checks and sort indexes, so both engines answer alike. Text search: each
-- searchable text carries a tsvector of its words as this package splits them (letters and
-- digits, case-folded: ``fulltext.tokens``), written from Python, so PostgreSQL finds the words
-- SQLite's FTS5 finds; GIN indexes serve it. The substring filter reads case-folded copies
-- (``*_folded``, folded in Python) through trigram indexes (pg_trgm). Ids compare in byte
-- order (COLLATE "C"), as Python compares them, so ties break the same way.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
    hash TEXT PRIMARY KEY CHECK (length(hash) = 16),
    path TEXT,                 -- the real path, filled in once a caller opens it by path
    last_accessed TEXT
);

CREATE TABLE sessions (
    pk BIGSERIAL PRIMARY KEY,
    workspace_hash TEXT NOT NULL REFERENCES workspaces(hash) ON DELETE CASCADE,
    id TEXT COLLATE "C" NOT NULL CHECK (id <> ''),
    type TEXT NOT NULL CHECK (type IN ('competition', 'ensemble', 'debate')),
    task TEXT NOT NULL CHECK (task <> ''),
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'paused')),
    created_at TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_ns BIGINT NOT NULL,
    completed_at TEXT,
    model TEXT,
    timeout_seconds BIGINT,
    preserve_worktrees BOOLEAN,
    winner_id BIGINT,
    runtime_mix TEXT,                  -- JSON array of strings
    total_duration BIGINT,
    total_files_changed BIGINT,
    total_lines_added BIGINT,
    total_lines_deleted BIGINT,
    agent_names TEXT NOT NULL DEFAULT '',  -- instances' agent names, joined by U+001F
    extra TEXT,                        -- JSON object of keys the model does not know
    task_folded TEXT NOT NULL,         -- for the substring filter
    id_folded TEXT NOT NULL,
    agents_folded TEXT NOT NULL,
    task_words TSVECTOR NOT NULL,      -- for full-text search
    UNIQUE (workspace_hash, id)
);

CREATE INDEX sessions_ws_updated ON sessions (workspace_hash, updated_ns, id);
CREATE INDEX sessions_ws_created ON sessions (workspace_hash, created_ns, id);
CREATE INDEX sessions_ws_duration ON sessions (workspace_hash, (coalesce(total_duration, 0)), id);
CREATE INDEX sessions_ws_files ON sessions (workspace_hash, (coalesce(total_files_changed, 0)), id);
CREATE INDEX sessions_ws_type_status ON sessions (workspace_hash, type, status, created_ns);
CREATE INDEX sessions_ws_status ON sessions (workspace_hash, status, created_ns);
CREATE INDEX sessions_task_trigrams ON sessions USING gin (task_folded gin_trgm_ops);
CREATE INDEX sessions_id_trigrams ON sessions USING gin (id_folded gin_trgm_ops);
CREATE INDEX sessions_agents_trigrams ON sessions USING gin (agents_folded gin_trgm_ops);
CREATE INDEX sessions_task_words ON sessions USING gin (task_words);

CREATE TABLE instances (
    pk BIGSERIAL PRIMARY KEY,
    session_pk BIGINT NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    instance_id BIGINT NOT NULL CHECK (instance_id >= 0),
    worktree_path TEXT NOT NULL,
    branch TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('idle', 'running', 'completed', 'failed', 'paused', 'archived')),
    tmux_session_id TEXT NOT NULL,
    output TEXT,
    start_time TEXT,
    end_time TEXT,
    files_changed BIGINT,
    lines_added BIGINT,
    lines_deleted BIGINT,
    runtime TEXT,
    model TEXT,
    runtime_label TEXT,
    extra TEXT,
    output_words TSVECTOR,
    UNIQUE (session_pk, instance_id)
);

CREATE INDEX instances_output_words ON instances USING gin (output_words);

CREATE TABLE chat_messages (
    pk BIGSERIAL PRIMARY KEY,
    session_pk BIGINT NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    position INTEGER NOT NULL,  -- insertion order; timestamps may be equal or out of order
    id TEXT NOT NULL CHECK (id <> ''),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL CHECK (content <> ''),
    timestamp TEXT NOT NULL,
    timestamp_ns BIGINT NOT NULL,
    instance_id BIGINT,
    extra TEXT,
    content_words TSVECTOR NOT NULL,
    UNIQUE (session_pk, position)
);

CREATE INDEX chat_messages_content_words ON chat_messages USING gin (content_words);

-- The seed's single-row table: which migration phase this database is in.
CREATE TABLE migration_metadata (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL DEFAULT 1,
    migrated_at TEXT NOT NULL
        DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    json_backup_path TEXT,
    migration_status TEXT NOT NULL DEFAULT 'pending',
    last_updated_at TEXT NOT NULL
        DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
);

INSERT INTO migration_metadata (id, schema_version, migration_status) VALUES (1, 1, 'pending');

-- Which editor JSON files have been imported, and in what state (see ../sqlite/0003).
CREATE TABLE import_sources (
    path TEXT PRIMARY KEY,
    workspace_hash TEXT NOT NULL CHECK (length(workspace_hash) = 16),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size BIGINT NOT NULL CHECK (size >= 0),
    session_count INTEGER NOT NULL,
    issue_count INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);

-- A number that moves whenever anyone writes to the sessions' tables (``data_version``): a
-- statement trigger draws from a sequence, which takes no lock, so writers never wait on it.
CREATE SEQUENCE ait42_changes;

CREATE FUNCTION ait42_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('ait42_changes');
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_changed AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION ait42_changed();
CREATE TRIGGER instances_changed AFTER INSERT OR UPDATE OR DELETE ON instances
    FOR EACH STATEMENT EXECUTE FUNCTION ait42_changed();
CREATE TRIGGER chat_messages_changed AFTER INSERT OR UPDATE OR DELETE ON chat_messages
    FOR EACH STATEMENT EXECUTE FUNCTION ait42_changed();
