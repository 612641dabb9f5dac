-- Agent output is stored zstd-compressed when that makes it smaller (a BLOB holding one zstd
-- frame; short outputs stay TEXT), so that the database is no larger than the editor's JSON
-- files. ait42_unpack() (registered by every connection, see stored_text.py) turns a stored
-- value back into text. The output index reads its text through the view instance_texts, and
-- its triggers hand it the text, so the words it holds are the same as before.

DROP TRIGGER instances_fts_insert;
DROP TRIGGER instances_fts_delete;
DROP TRIGGER instances_fts_update;
DROP TABLE fts_outputs;

-- Existing outputs are converted by the same rule as new ones (stored_text.pack).
UPDATE instances SET output = ait42_pack(output) WHERE typeof(output) = 'text';

CREATE VIEW instance_texts (pk, output) AS
SELECT pk, CASE WHEN typeof(output) = 'blob' THEN ait42_unpack(output) ELSE output END
FROM instances;

CREATE VIRTUAL TABLE fts_outputs USING fts5(
    output, content='instance_texts', content_rowid='pk',
    tokenize='unicode61 remove_diacritics 0'
);
INSERT INTO fts_outputs (fts_outputs, rank) VALUES ('secure-delete', 0);
INSERT INTO fts_outputs (fts_outputs) VALUES ('rebuild');

-- Every instance row is indexed, a NULL output as an empty document, so that the index and
-- its content hold the same rows (FTS5's integrity check compares them).
CREATE TRIGGER instances_fts_insert AFTER INSERT ON instances BEGIN
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, ait42_unpack(new.output));
END;
CREATE TRIGGER instances_fts_delete AFTER DELETE ON instances BEGIN
    INSERT INTO fts_outputs (fts_outputs, rowid, output)
    VALUES ('delete', old.pk, ait42_unpack(old.output));
END;
CREATE TRIGGER instances_fts_update AFTER UPDATE OF output ON instances
WHEN old.output IS NOT new.output BEGIN
    INSERT INTO fts_outputs (fts_outputs, rowid, output)
    VALUES ('delete', old.pk, ait42_unpack(old.output));
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, ait42_unpack(new.output));
END;
