-- The store's back office, schema version 1.
--
-- The component applies this file itself on first use (see src/schema.rs),
-- and `spin up --sqlite @functions/backoffice/migrations/0001_init.sql`
-- may apply it before serving: every statement is idempotent, so running
-- it again, or after the component did, changes nothing. One statement per
-- `;` at the end of a line.
--
-- Money is in whole cents, times are milliseconds since the Unix epoch,
-- readings are the core's JSON (`{"next": 12}` or `"sold_out"`), and each
-- `record` or `close` column holds the core's value as JSON, checked again
-- whenever it is read.

-- Outside any transaction: SQLite cannot change journal mode inside one.
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL
);

-- Games, as the cloud defines them (written locally by PUT /games/{code}
-- until the sync does it).
CREATE TABLE IF NOT EXISTS games (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  price INTEGER NOT NULL,
  pack_value INTEGER NOT NULL,
  tickets_per_pack INTEGER NOT NULL,
  numbering TEXT NOT NULL CHECK (numbering IN ('ascending', 'descending')),
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
  updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS bins (
  number INTEGER PRIMARY KEY CHECK (number BETWEEN 1 AND 999),
  created_at INTEGER NOT NULL
);

-- A pack's `record` is the core's Pack; `status` and `bin` repeat it for
-- queries, and the index keeps one active pack per bin even against a bug.
CREATE TABLE IF NOT EXISTS packs (
  game TEXT NOT NULL,
  number INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('RECEIVED', 'ACTIVE', 'SETTLED', 'RETURNED')),
  bin INTEGER,
  record TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (game, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS packs_one_active_per_bin ON packs (bin) WHERE status = 'ACTIVE';
CREATE INDEX IF NOT EXISTS packs_by_status ON packs (status, game);

-- Business days; `close` is the core's PreparedClose once prepared. The
-- index allows one day that is not closed.
CREATE TABLE IF NOT EXISTS days (
  date TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'PENDING_CLOSE', 'CLOSED')),
  close TEXT,
  opened_at INTEGER NOT NULL,
  prepared_at INTEGER,
  closed_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS days_one_not_closed ON days (status != 'CLOSED') WHERE status != 'CLOSED';

-- Each pack's serials in a day: where it opened (carried from the last
-- close, or activated that day) and, once the close is prepared, where it
-- closed and what it sold.
CREATE TABLE IF NOT EXISTS day_serials (
  date TEXT NOT NULL,
  game TEXT NOT NULL,
  number INTEGER NOT NULL,
  bin INTEGER NOT NULL,
  opening TEXT NOT NULL,
  closing TEXT,
  tickets INTEGER,
  amount INTEGER,
  PRIMARY KEY (date, game, number)
);

-- Counts that contradicted what was known, kept for review when a day
-- closes.
CREATE TABLE IF NOT EXISTS variances (
  date TEXT NOT NULL,
  game TEXT NOT NULL,
  number INTEGER NOT NULL,
  bin INTEGER NOT NULL,
  kind TEXT NOT NULL,
  known TEXT NOT NULL,
  counted TEXT NOT NULL,
  tickets INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (date, game, number, kind)
);

-- The outbox: one mutation per change, written in the change's own
-- transaction. `id` is the mutation id the push carries (it rises by one
-- per change and is never reused); `attempts`, `next_attempt_at` and
-- `last_error` are the sync's, and a mutation the cloud refuses for good
-- becomes `dead`.
CREATE TABLE IF NOT EXISTS sync_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS sync_queue_due ON sync_queue (status, next_attempt_at);

-- Per synced entity (the push, games, bins): the server's cookie, when it
-- last synced, how that went and how many records it moved.
CREATE TABLE IF NOT EXISTS sync_state (
  entity TEXT PRIMARY KEY,
  cookie TEXT,
  last_synced_at INTEGER,
  status TEXT NOT NULL DEFAULT 'never',
  records_synced INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
INSERT OR IGNORE INTO sync_state (entity) VALUES ('push'), ('games'), ('bins');

-- The id this store's pushes carry as Replicache's client_id.
CREATE TABLE IF NOT EXISTS store_identity (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  client_id TEXT NOT NULL
);
INSERT OR IGNORE INTO store_identity (id, client_id) VALUES (1, lower(hex(randomblob(16))));

INSERT OR IGNORE INTO schema_version (version, applied_at) VALUES (1, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
