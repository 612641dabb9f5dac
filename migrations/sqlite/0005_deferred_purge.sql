-- Deleted and replaced text leaves the full-text indexes as delete markers instead of having
-- every doclist it touched rewritten at once ('secure-delete' cost hundreds of milliseconds
-- for a session with large agent output). The text is gone from every read, list, count and
-- search at once; its words stay readable in the file only inside older index segments, until
-- the next purge (Database.purge, run by optimize and `ait42-session purge`) merges each index
-- into one segment, which drops them, and truncates the WAL. Rows of the content tables are
-- still overwritten on delete (PRAGMA secure_delete).
INSERT INTO fts_tasks (fts_tasks, rank) VALUES ('secure-delete', 0);
INSERT INTO fts_messages (fts_messages, rank) VALUES ('secure-delete', 0);
INSERT INTO fts_outputs (fts_outputs, rank) VALUES ('secure-delete', 0);
INSERT INTO session_trigrams (session_trigrams, rank) VALUES ('secure-delete', 0);
