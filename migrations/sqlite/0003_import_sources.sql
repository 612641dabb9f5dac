-- Which editor JSON files have been imported, and in what state.
--
-- Import runs whenever it is asked to, not only when the database file is new: each source
-- file's SHA-256 and size are recorded here in the same transaction as the sessions it
-- brought in, so a later run skips a file that is byte-for-byte unchanged and re-reads one
-- that changed (new or changed sessions come in; identical ones are counted as skipped).
-- A file whose last import reported bad sessions (issue_count > 0) is always re-read, so its
-- problems keep being reported until the file is fixed.

CREATE TABLE import_sources (
    path TEXT PRIMARY KEY,              -- absolute path of the JSON file that was read
    workspace_hash TEXT NOT NULL CHECK (length(workspace_hash) = 16),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    session_count INTEGER NOT NULL,     -- sessions in the file when it was imported
    issue_count INTEGER NOT NULL,       -- sessions of that file that were reported and skipped
    imported_at TEXT NOT NULL
) WITHOUT ROWID;
