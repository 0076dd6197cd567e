-- The store's back office, schema version 3: one sync at a time.
--
-- Two syncs at once (a write's, the page's, the timer's) would read the
-- queue and the cloud's last id apart from each other and could send one
-- id for two mutations. A sync first takes the lease: the one row here,
-- with its holder and a deadline it renews before each request to the
-- cloud. A sync that finds it held by another, before its deadline,
-- leaves the work to that one. Idempotent, like every migration.

CREATE TABLE IF NOT EXISTS sync_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder INTEGER NOT NULL,
  until INTEGER NOT NULL
);

INSERT OR IGNORE INTO schema_version (version, applied_at) VALUES (3, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
