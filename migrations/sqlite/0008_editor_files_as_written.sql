-- Files as the shipping editor writes them: every copy of a repeated id, and values the
-- contract's lists do not know (the debate runner's round_1..round_3, or anything else a file
-- holds), are stored as they are.
--
-- The editor appends on create, so each competition and ensemble it starts is in its file
-- twice under one id; its commands act on the first copy. sessions.copy_number numbers the
-- copies of an id within a workspace in file order (0 the first); ids are unique per copy.
-- The CHECKs on session type and status, instance status and message role go: which values a
-- caller may write is the contract's rule (models.validate), not the file's.
--
-- SQLite cannot drop a constraint, so the three tables are rebuilt (the documented procedure:
-- new table, copy, drop, rename; the migration runs with foreign keys off and is checked with
-- foreign_key_check before it commits). Row ids are kept, so the full-text indexes, which
-- are keyed by them, stay as they are; the triggers and indexes are made again.

CREATE TABLE sessions_rebuilt (
    pk INTEGER PRIMARY KEY,
    workspace_hash TEXT NOT NULL REFERENCES workspaces(hash) ON DELETE CASCADE,
    id TEXT NOT NULL CHECK (id <> ''),
    copy_number INTEGER NOT NULL DEFAULT 0 CHECK (copy_number >= 0),
    type TEXT NOT NULL,
    task TEXT NOT NULL CHECK (task <> ''),
    status TEXT NOT NULL,
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
    UNIQUE (workspace_hash, id, copy_number)
);
INSERT INTO sessions_rebuilt (pk, workspace_hash, id, copy_number, type, task, status,
    created_at, created_ns, updated_at, updated_ns, completed_at, model, timeout_seconds,
    preserve_worktrees, winner_id, runtime_mix, total_duration, total_files_changed,
    total_lines_added, total_lines_deleted, agent_names, extra)
SELECT pk, workspace_hash, id, 0, type, task, status, created_at, created_ns, updated_at,
    updated_ns, completed_at, model, timeout_seconds, preserve_worktrees, winner_id,
    runtime_mix, total_duration, total_files_changed, total_lines_added, total_lines_deleted,
    agent_names, extra
FROM sessions;

CREATE TABLE instances_rebuilt (
    pk INTEGER PRIMARY KEY,
    session_pk INTEGER NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    instance_id INTEGER NOT NULL CHECK (instance_id >= 0),
    worktree_path TEXT NOT NULL,
    branch TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    status TEXT NOT NULL,
    tmux_session_id TEXT NOT NULL,
    output TEXT,                       -- text, or a BLOB holding one zstd frame (0006)
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
INSERT INTO instances_rebuilt SELECT * FROM instances;

CREATE TABLE chat_messages_rebuilt (
    pk INTEGER PRIMARY KEY,
    session_pk INTEGER NOT NULL REFERENCES sessions(pk) ON DELETE CASCADE,
    position INTEGER NOT NULL,  -- insertion order; timestamps may be equal or out of order
    id TEXT NOT NULL CHECK (id <> ''),
    role TEXT NOT NULL,
    content TEXT NOT NULL CHECK (content <> ''),
    timestamp TEXT NOT NULL,
    timestamp_ns INTEGER NOT NULL,
    instance_id INTEGER,
    extra TEXT,
    UNIQUE (session_pk, position)
);
INSERT INTO chat_messages_rebuilt SELECT * FROM chat_messages;

-- Dropping a table drops its triggers and indexes with it.
DROP TABLE chat_messages;
DROP TABLE instances;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;
ALTER TABLE instances_rebuilt RENAME TO instances;
ALTER TABLE chat_messages_rebuilt RENAME TO chat_messages;

-- As in 0001, with the copy last: a page of any sort is read in index order, copies of one
-- id in the sort's direction.
CREATE INDEX idx_sessions_ws_updated ON sessions (workspace_hash, updated_ns, id, copy_number);
CREATE INDEX idx_sessions_ws_created ON sessions (workspace_hash, created_ns, id, copy_number);
CREATE INDEX idx_sessions_ws_duration
    ON sessions (workspace_hash, coalesce(total_duration, 0), id, copy_number);
CREATE INDEX idx_sessions_ws_files
    ON sessions (workspace_hash, coalesce(total_files_changed, 0), id, copy_number);
CREATE INDEX idx_sessions_ws_type_status
    ON sessions (workspace_hash, type, status, created_ns);
CREATE INDEX idx_sessions_ws_status ON sessions (workspace_hash, status, created_ns);

-- The triggers of 0002 and 0007, unchanged.
CREATE TRIGGER sessions_fts_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO fts_tasks (rowid, task) VALUES (new.pk, new.task);
END;
CREATE TRIGGER sessions_fts_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO fts_tasks (fts_tasks, rowid, task) VALUES ('delete', old.pk, old.task);
END;
CREATE TRIGGER sessions_fts_update AFTER UPDATE OF task ON sessions
WHEN old.task IS NOT new.task BEGIN
    INSERT INTO fts_tasks (fts_tasks, rowid, task) VALUES ('delete', old.pk, old.task);
    INSERT INTO fts_tasks (rowid, task) VALUES (new.pk, new.task);
END;
CREATE TRIGGER sessions_trigrams_delete AFTER DELETE ON sessions BEGIN
    DELETE FROM session_trigrams WHERE rowid = old.pk;
END;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON chat_messages BEGIN
    INSERT INTO fts_messages (rowid, content) VALUES (new.pk, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON chat_messages BEGIN
    INSERT INTO fts_messages (fts_messages, rowid, content) VALUES ('delete', old.pk, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON chat_messages
WHEN old.content IS NOT new.content BEGIN
    INSERT INTO fts_messages (fts_messages, rowid, content) VALUES ('delete', old.pk, old.content);
    INSERT INTO fts_messages (rowid, content) VALUES (new.pk, new.content);
END;

CREATE TRIGGER instances_fts_insert AFTER INSERT ON instances BEGIN
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, ait42_unpack(new.output));
END;
CREATE TRIGGER instances_fts_delete AFTER DELETE ON instances BEGIN
    DELETE FROM fts_outputs WHERE rowid = old.pk;
END;
CREATE TRIGGER instances_fts_update AFTER UPDATE OF output ON instances
WHEN old.output IS NOT new.output BEGIN
    DELETE FROM fts_outputs WHERE rowid = old.pk;
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, ait42_unpack(new.output));
END;
