-- Marks the file as an ait42-session database ('AI42'), so that opening refuses another
-- application's SQLite file instead of adding tables to it.
PRAGMA application_id = 1095316530;
