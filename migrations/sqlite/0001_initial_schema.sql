-- Initial schema: workspaces, sessions, instances, chat messages, migration metadata.
-- Every table that full-text search indexes has an explicit INTEGER PRIMARY KEY, because
-- external-content FTS5 tables are keyed by rowid and implicit rowids can change on VACUUM.
-- Each timestamp that is sorted or filtered on has a numeric twin (*_ns: nanoseconds since the
-- Unix epoch), so that ordering compares instants, not strings in mixed formats.

CREATE TABLE workspaces (
    hash TEXT PRIMARY KEY CHECK (length(hash) = 16),
    path TEXT,                 -- the real path, filled in once a caller opens it by path
    last_accessed TEXT
) WITHOUT ROWID;

CREATE TABLE sessions (
    pk INTEGER PRIMARY KEY,
    workspace_hash TEXT NOT NULL REFERENCES workspaces(hash) ON DELETE CASCADE,
    id TEXT NOT NULL CHECK (id <> ''),
    type TEXT NOT NULL CHECK (type IN ('competition', 'ensemble', 'debate')),
    task TEXT NOT NULL CHECK (task <> ''),
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'paused')),
    created_at TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    completed_at TEXT,
    model TEXT,
    timeout_seconds INTEGER,
    preserve_worktrees INTEGER,        -- 0/1
    winner_id INTEGER,
    runtime_mix TEXT,                  -- JSON array of strings
    total_duration INTEGER,
    total_files_changed INTEGER,
    total_lines_added INTEGER,
    total_lines_deleted INTEGER,
    agent_names TEXT NOT NULL DEFAULT '',  -- instances' agent names, joined by U+001F
    extra TEXT,                        -- JSON object of keys the model does not know
    UNIQUE (workspace_hash, id)
);

-- One index per sort field, workspace first and id last: a page of any sort is read in index
-- order, with the id tie-break, and never sorted in memory.
CREATE INDEX idx_sessions_ws_updated ON sessions (workspace_hash, updated_ns, id);
CREATE INDEX idx_sessions_ws_created ON sessions (workspace_hash, created_ns, id);
CREATE INDEX idx_sessions_ws_duration
    ON sessions (workspace_hash, coalesce(total_duration, 0), id);
CREATE INDEX idx_sessions_ws_files
    ON sessions (workspace_hash, coalesce(total_files_changed, 0), id);
-- Covers counts by type, status and date without reading table rows.
CREATE INDEX idx_sessions_ws_type_status
    ON sessions (workspace_hash, type, status, created_ns);
CREATE INDEX idx_sessions_ws_status ON sessions (workspace_hash, status, created_ns);

CREATE TABLE instances (
    pk INTEGER PRIMARY KEY,
    session_pk INTEGER NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    instance_id INTEGER NOT NULL CHECK (instance_id >= 0),
    worktree_path TEXT NOT NULL,
    branch TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('idle', 'running', 'completed', 'failed', 'paused', 'archived')),
    tmux_session_id TEXT NOT NULL,
    output TEXT,
    start_time TEXT,
    end_time TEXT,
    files_changed INTEGER,
    lines_added INTEGER,
    lines_deleted INTEGER,
    runtime TEXT,
    model TEXT,
    runtime_label TEXT,
    extra TEXT,
    UNIQUE (session_pk, instance_id)
);

CREATE TABLE chat_messages (
    pk INTEGER PRIMARY KEY,
    session_pk INTEGER NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    position INTEGER NOT NULL,  -- insertion order; timestamps may be equal or out of order
    id TEXT NOT NULL CHECK (id <> ''),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL CHECK (content <> ''),
    timestamp TEXT NOT NULL,
    timestamp_ns INTEGER NOT NULL,
    instance_id INTEGER,
    extra TEXT,
    UNIQUE (session_pk, position)
);

-- The seed's single-row table: which migration phase this database is in.
CREATE TABLE migration_metadata (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL DEFAULT 1,
    migrated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    json_backup_path TEXT,
    migration_status TEXT NOT NULL DEFAULT 'pending',
    last_updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO migration_metadata (id, schema_version, migration_status) VALUES (1, 1, 'pending');
