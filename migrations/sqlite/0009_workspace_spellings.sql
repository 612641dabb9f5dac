-- One workspace, one place. The debate runner files its sessions under the hash of the working
-- directory as spelled (no canonicalisation, no trimmed slash), the commands under the hash of
-- the canonical path: a workspace opened through a symlink or with a trailing slash has a
-- second file. Its sessions join the workspace when it is opened by that spelling (see
-- workspace.spelled_hashes), and `ait42-session rebind FROM TO` moves a workspace's sessions
-- to another path.
--
-- workspaces.joined_to: the workspace whose sessions this hash's now are (its later imports go
-- there too). sessions.file_hash: the editor file a session came from, when it is not its
-- workspace's own (NULL: the workspace's), so that export writes each file back as it was.

ALTER TABLE workspaces ADD COLUMN joined_to TEXT REFERENCES workspaces(hash);
ALTER TABLE sessions ADD COLUMN file_hash TEXT CHECK (length(file_hash) = 16);
CREATE INDEX idx_sessions_file ON sessions (file_hash, pk) WHERE file_hash IS NOT NULL;
