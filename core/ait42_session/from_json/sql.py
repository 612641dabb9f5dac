"""SQL of the move from the editor's JSON files: import bookkeeping, the recorded phase, export.

Like ``sql.py``: fixed text with named parameters, so APSW's statement cache keeps each one
prepared and no value is ever pasted into a statement.
"""

from __future__ import annotations

from ..sql import SESSION_COLUMNS

# --- import bookkeeping (migrations/0003_import_sources.sql) -------------------------------

GET_IMPORT_SOURCE = """
SELECT sha256, size, session_count, issue_count FROM import_sources WHERE path = :path"""

PUT_IMPORT_SOURCE = """
INSERT INTO import_sources (path, workspace_hash, sha256, size, session_count, issue_count,
    imported_at)
VALUES (:path, :ws, :sha256, :size, :session_count, :issue_count, :now)
ON CONFLICT (path) DO UPDATE SET workspace_hash = excluded.workspace_hash,
    sha256 = excluded.sha256, size = excluded.size, session_count = excluded.session_count,
    issue_count = excluded.issue_count, imported_at = excluded.imported_at"""

# The first import into a database that already holds sessions takes a backup first.
NEEDS_BACKUP = """
SELECT NOT EXISTS (SELECT 1 FROM import_sources)
   AND EXISTS (SELECT 1 FROM sessions)
   AND (SELECT json_backup_path FROM migration_metadata WHERE id = 1) IS NULL"""

# Files that brought in at least one session, and files with reported problems.
COUNT_IMPORT_SOURCES = """
SELECT count(*) FILTER (WHERE session_count > issue_count),
    count(*) FILTER (WHERE issue_count > 0)
FROM import_sources"""

# A workspace known only by its hash (the editor's file name); the repository fills in the
# path the first time the workspace is opened by path.
ENSURE_HASH_WORKSPACE = """
INSERT INTO workspaces (hash, path, last_accessed) VALUES (:hash, NULL, NULL)
ON CONFLICT (hash) DO NOTHING"""

# The sessions of one editor file, in stored order (the order they were imported or created:
# the editor appends to its file). A session belongs to its workspace's file unless it came
# from another (sessions.file_hash: a debate runner's file under another spelling of the path).
SESSIONS_OF_FILE = f"""
SELECT {SESSION_COLUMNS} FROM sessions AS s
WHERE (s.workspace_hash = :file AND s.file_hash IS NULL) OR s.file_hash = :file
ORDER BY s.pk"""

FILES_WITH_SESSIONS = """
SELECT DISTINCT coalesce(file_hash, workspace_hash) FROM sessions ORDER BY 1"""

SAVEPOINT = "SAVEPOINT import_session"
RELEASE = "RELEASE import_session"
ROLLBACK_TO = "ROLLBACK TO import_session"

# --- migration_metadata -------------------------------------------------------------------

GET_METADATA = """
SELECT migration_status, json_backup_path, migrated_at, last_updated_at
FROM migration_metadata WHERE id = 1"""

SET_MIGRATION_STATUS = """
INSERT INTO migration_metadata (id, migration_status, last_updated_at) VALUES (1, :status, :now)
ON CONFLICT (id) DO UPDATE SET migration_status = excluded.migration_status,
    last_updated_at = excluded.last_updated_at
WHERE migration_metadata.migration_status IS NOT excluded.migration_status"""

MARK_IMPORTED = """
UPDATE migration_metadata SET migration_status = 'imported', last_updated_at = :now
WHERE id = 1 AND migration_status = 'pending'"""

SET_BACKUP_PATH = """
INSERT INTO migration_metadata (id, json_backup_path, last_updated_at) VALUES (1, :path, :now)
ON CONFLICT (id) DO UPDATE SET json_backup_path = excluded.json_backup_path,
    last_updated_at = excluded.last_updated_at"""
