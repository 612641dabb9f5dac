-- The output index keeps no copy of the text and forgets a row by its rowid (FTS5
-- contentless_delete): replacing or deleting an output no longer decompresses and tokenizes
-- the old text a second time to find the words to remove. A streamed output (a few KB added
-- to hundreds) is tokenized once per save instead of twice, and a deleted session's outputs
-- are not read at all. Words, ranking (bm25) and matches are the same: the index holds the
-- same rows with the same tokens. Snippets, which need the text, are made from the stored
-- output of the hits kept (see scratch_index.py).
--
-- As before, deleted and replaced words stay in older segments until the next purge
-- (Database.purge), which merges the index into one segment and drops them.

DROP TRIGGER instances_fts_insert;
DROP TRIGGER instances_fts_delete;
DROP TRIGGER instances_fts_update;
DROP TABLE fts_outputs;
DROP VIEW instance_texts;

CREATE VIRTUAL TABLE fts_outputs USING fts5(
    output, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 0'
);

-- Every instance row is indexed, a NULL output as an empty document, as before: the number of
-- rows is part of bm25.
INSERT INTO fts_outputs (rowid, output) SELECT pk, ait42_unpack(output) FROM instances;

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
