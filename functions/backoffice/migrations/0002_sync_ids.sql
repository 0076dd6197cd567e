-- The store's back office, schema version 2: mutation ids given at send
-- time.
--
-- A queued row is pushed with a mutation id given when it is first sent,
-- after the cloud's last `last_mutation_id` (kept as the 'push' cookie in
-- sync_state), and kept here only while its delivery is in doubt: sent,
-- with no reply saying what became of it. A reply, or a refusal of the
-- whole push, gives the id back; so a dead letter never holds an id the
-- cloud waits for. Idempotent, like every migration.

CREATE TABLE IF NOT EXISTS sync_ids (
  row INTEGER PRIMARY KEY,
  mutation_id INTEGER NOT NULL UNIQUE
);

INSERT OR IGNORE INTO schema_version (version, applied_at) VALUES (2, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
