-- Agent output in pieces (see pieces.py and stored_text.py): a save costs what changed.
--
-- An output was one value, compressed and indexed whole, so a 1 KB append onto a 2 MB output
-- recompressed, re-tokenized and rewrote 2 MB. Now each output is cut into pieces of about
-- 16 K characters where a grown output keeps its cuts; each piece is a row here, compressed
-- on its own and indexed on its own (with the tokens before it, so a phrase across a cut is
-- found). An append rewrites the last piece and adds new ones; a save rewrites from the first
-- piece whose digest changed.
--
-- A piece's pk is its instance's pk * 2^20 + its number, so an output's pieces are one range
-- of rowids, in the index too: search finds an output's best piece with `rowid >> 20`, and an
-- instance's delete removes its range. instances.output keeps whether there is an output:
-- NULL for none, '' for text (which lives here; '' with no pieces is an empty output).
--
-- Search ranks an output by the bm25 of its best piece (deliberately: FTS5 ranks rows, and
-- counting across pieces cannot run in C from here); which outputs match is unchanged.

DROP TRIGGER instances_fts_insert;
DROP TRIGGER instances_fts_delete;
DROP TRIGGER instances_fts_update;
DROP TABLE fts_outputs;

CREATE TABLE output_pieces (
    pk INTEGER PRIMARY KEY,  -- instance pk * 1048576 + number
    number INTEGER NOT NULL CHECK (number BETWEEN 0 AND 1048575),
    start INTEGER NOT NULL CHECK (start >= 0),  -- where it begins in the output, in characters
    size INTEGER NOT NULL CHECK (size > 0),     -- its length in characters
    digest BLOB NOT NULL,                       -- stored_text.digest of its UTF-8
    lead TEXT NOT NULL,                         -- the tokens before it, indexed with it
    body NOT NULL,                              -- its text, or a zstd frame of it
    CHECK (pk % 1048576 = number)
);

CREATE VIRTUAL TABLE fts_outputs USING fts5(
    output, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 0'
);

INSERT INTO output_pieces (pk, number, start, size, digest, lead, body)
SELECT i.pk * 1048576 + p.number, p.number, p.start, p.size, p.digest, p.lead, p.body
FROM instances AS i CROSS JOIN ait42_output_pieces(i.output) AS p
WHERE i.output IS NOT NULL;
UPDATE instances SET output = '' WHERE output IS NOT NULL;

INSERT INTO fts_outputs (rowid, output)
SELECT pk, lead || ait42_unpack(body) FROM output_pieces;

CREATE TRIGGER output_pieces_fts_insert AFTER INSERT ON output_pieces BEGIN
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, new.lead || ait42_unpack(new.body));
END;
CREATE TRIGGER output_pieces_fts_delete AFTER DELETE ON output_pieces BEGIN
    DELETE FROM fts_outputs WHERE rowid = old.pk;
END;
CREATE TRIGGER output_pieces_fts_update AFTER UPDATE ON output_pieces BEGIN
    DELETE FROM fts_outputs WHERE rowid = old.pk;
    INSERT INTO fts_outputs (rowid, output) VALUES (new.pk, new.lead || ait42_unpack(new.body));
END;
CREATE TRIGGER instances_pieces_delete AFTER DELETE ON instances BEGIN
    DELETE FROM output_pieces
    WHERE pk BETWEEN old.pk * 1048576 AND old.pk * 1048576 + 1048575;
END;
