-- FTS5 merges an index's segments as it is written: a little after each write (automerge),
-- and all of a level's segments at once, inside the write that makes them 16 (crisismerge,
-- 16 by default). On a long-lived store of realistic size the crisis merge of the output
-- index took about a second inside one append, every couple of thousand appends, with every
-- request queued behind it (python -m bench open-loop). At 64 the incremental merging keeps
-- up: 6,000 appends in a row on the realistic 1,000-session store showed no call over 150 ms
-- (three over 1 s at 16). Searches read at most a few more segments while it catches up.
INSERT INTO fts_outputs (fts_outputs, rank) VALUES ('crisismerge', 64);
INSERT INTO fts_messages (fts_messages, rank) VALUES ('crisismerge', 64);
