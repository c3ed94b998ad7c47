-- What kind of installation this database is, decided once at its first start: 'demo' (made by
-- serve --demo: public passwords, a development keystore; everything created in it is demo data)
-- or 'production'. A demo database never runs without --demo, and --demo never touches a
-- production database.
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kind TEXT NOT NULL CHECK (kind IN ('demo', 'production')),
    marked_at TEXT NOT NULL
);

-- A database from before this table: demo if the demo made users or a development keystore in
-- it, production if it has users or a keystore otherwise, unmarked (decided at its next start) if
-- it is still empty.
INSERT INTO installation(id, kind, marked_at)
SELECT 1,
       CASE WHEN EXISTS (SELECT 1 FROM users WHERE demo) OR EXISTS (SELECT 1 FROM keystore WHERE mode = 'development')
            THEN 'demo' ELSE 'production' END,
       COALESCE((SELECT MIN(created_at) FROM users), '')
WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM keystore);
