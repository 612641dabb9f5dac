-- Full-text search over tasks, chat messages and agent output, and the substring index behind
-- the editor's search box.
--
-- Three external-content FTS5 tables read their text from the rows they index, so no text is
-- stored twice; triggers keep them in step inside the same transaction as every write.
-- 'secure-delete' removes a deleted row's tokens from the index instead of leaving delete
-- markers, so that (with PRAGMA secure_delete) no deleted text stays readable in the file.

CREATE VIRTUAL TABLE fts_tasks USING fts5(
    task, content='sessions', content_rowid='pk', tokenize='unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE fts_messages USING fts5(
    content, content='chat_messages', content_rowid='pk',
    tokenize='unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE fts_outputs USING fts5(
    output, content='instances', content_rowid='pk', tokenize='unicode61 remove_diacritics 0'
);
INSERT INTO fts_tasks (fts_tasks, rank) VALUES ('secure-delete', 1);
INSERT INTO fts_messages (fts_messages, rank) VALUES ('secure-delete', 1);
INSERT INTO fts_outputs (fts_outputs, rank) VALUES ('secure-delete', 1);

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

-- Every instance row is indexed, a NULL output as an empty document, so that the index and
-- its content table hold the same rows (FTS5's integrity check compares them).
CREATE TRIGGER instances_fts_insert AFTER INSERT ON instances BEGIN
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, new.output);
END;
CREATE TRIGGER instances_fts_delete AFTER DELETE ON instances BEGIN
    INSERT INTO fts_outputs (fts_outputs, rowid, output) VALUES ('delete', old.pk, old.output);
END;
CREATE TRIGGER instances_fts_update AFTER UPDATE OF output ON instances
WHEN old.output IS NOT new.output BEGIN
    INSERT INTO fts_outputs (fts_outputs, rowid, output) VALUES ('delete', old.pk, old.output);
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, new.output);
END;

-- Substring index for SessionFilters.search_query: the casefolded task, id and agent names of
-- each session (written by the repository, which casefolds in Python so that both stores fold
-- alike). Trigrams serve substring queries of three or more characters; shorter ones scan.
CREATE VIRTUAL TABLE session_trigrams USING fts5(
    task, id, agents, content='', contentless_delete=1,
    tokenize='trigram case_sensitive 1'
);
INSERT INTO session_trigrams (session_trigrams, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER sessions_trigrams_delete AFTER DELETE ON sessions BEGIN
    DELETE FROM session_trigrams WHERE rowid = old.pk;
END;
