-- One workspace, one place (as SQLite's 0009): a hash the debate runner filed sessions under
-- joins the workspace it spells (workspaces.joined_to), and each session remembers the editor
-- file it came from when that is not its workspace's own (sessions.file_hash), for export.

ALTER TABLE workspaces ADD COLUMN joined_to TEXT REFERENCES workspaces(hash);
ALTER TABLE sessions ADD COLUMN file_hash TEXT CHECK (length(file_hash) = 16);
CREATE INDEX sessions_file ON sessions (file_hash, pk) WHERE file_hash IS NOT NULL;
