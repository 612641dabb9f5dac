-- Files as the shipping editor writes them (as SQLite's 0008): every copy of a repeated id is
-- kept, numbered in file order (copy_number, 0 the first; the commands act on the first), and
-- values the contract's lists do not know are stored as they are: which values a caller may
-- write is the contract's rule (models.validate), not the table's.

ALTER TABLE sessions
    ADD COLUMN copy_number INTEGER NOT NULL DEFAULT 0 CHECK (copy_number >= 0),
    DROP CONSTRAINT sessions_type_check,
    DROP CONSTRAINT sessions_status_check,
    DROP CONSTRAINT sessions_workspace_hash_id_key,
    ADD CONSTRAINT sessions_workspace_hash_id_copy_number_key
        UNIQUE (workspace_hash, id, copy_number);
ALTER TABLE instances DROP CONSTRAINT instances_status_check;
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_role_check;

-- The sort indexes end with the copy, so that a page of any sort is read in index order.
DROP INDEX sessions_ws_updated, sessions_ws_created, sessions_ws_duration, sessions_ws_files;
CREATE INDEX sessions_ws_updated ON sessions (workspace_hash, updated_ns, id, copy_number);
CREATE INDEX sessions_ws_created ON sessions (workspace_hash, created_ns, id, copy_number);
CREATE INDEX sessions_ws_duration
    ON sessions (workspace_hash, (coalesce(total_duration, 0)), id, copy_number);
CREATE INDEX sessions_ws_files
    ON sessions (workspace_hash, (coalesce(total_files_changed, 0)), id, copy_number);
