//! The state's persistence in Redis: one script call per operation.
//!
//! Every key shares the hash tag `{s}`, so the whole state lives in one
//! Redis Cluster slot and its scripts may touch any of it:
//!
//! ```text
//! tombola:state:{s}:rev          string  the global revision
//! tombola:state:{s}:index        zset    live keys (score 0), listed with ZRANGEBYLEX
//! tombola:state:{s}:sizes        hash    key -> bytes of its value
//! tombola:state:{s}:total        string  the sum of the sizes
//! tombola:state:{s}:meta         set     keys that carry metadata
//! tombola:state:{s}:ttl          zset    key -> expiry (ms since the epoch)
//! tombola:state:{s}:events       list    the change feed, one stored event per revision
//!                                        (tombola-core's `Event::encode`)
//! tombola:state:{s}:compacted    string  the last revision dropped from the feed
//! tombola:state:{s}:snaps        zset    the revisions of kept snapshots
//! tombola:state:{s}:snapinfo     hash    revision -> "<created_at> <keys>"
//! tombola:state:{s}:snapclock    string  when the timed snapshots' interval started (ms)
//! tombola:state:{s}:counters     hash    what the metrics count: changes by type, ...
//! tombola:state:{s}:e:<key>      hash    an entry: v value, m metadata, c create
//!                                        revision, r modify revision, t updated
//!                                        (ms), s source, x ttl (s); with a Redis
//!                                        expiry when it has a ttl, tombola-core's
//!                                        `EXPIRED_VALUE_GRACE_SECS` after it
//! tombola:state:{s}:snap:<rev>   list    a snapshot: key, value, metadata, ttl, ...
//! tombola:state:{s}:idem:<key>   list    the record of the write made under an
//!                                        Idempotency-Key (tombola-core's `Record`),
//!                                        with a Redis expiry
//! ```
//!
//! Errors keep Redis's fault apart from ours ([`StoreError`]); every
//! error of a write's script call is marked sent
//! ([`StoreError::sent`]): once it is sent, what it did cannot be known
//! from a failure.

use spin_sdk::redis::Connection;
use tombola_core::state::txn::Op;
use tombola_core::state::{
    DEFAULT_SNAPSHOT_INTERVAL_SECS, EXPIRED_VALUE_GRACE_SECS, Fingerprint, IdempotencyKey,
    KeyReused, ListQuery, Record, Recorded, SnapshotInfo, StateKey, Write, WriteKind, replay,
};
use tombola_edge::redis::StoreError;

use crate::scripts::{self, Reply, Script};

/// The prefix of every key.
pub const PREFIX: &str = "tombola:state:{s}:";

const FIXED: [&str; 12] = [
    "rev",
    "index",
    "sizes",
    "total",
    "meta",
    "ttl",
    "events",
    "compacted",
    "snaps",
    "snapinfo",
    "snapclock",
    "counters",
];

/// How many revisions the feed keeps when `event_retention` is not set.
pub const DEFAULT_EVENT_RETENTION: u64 = 10_000;

/// How many snapshots are kept when `max_snapshots` is not set.
pub const DEFAULT_MAX_SNAPSHOTS: u64 = 5;

/// A write's `Idempotency-Key`: where its record lives, the request's
/// fingerprint, and how long the record is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    key: IdempotencyKey,
    record_key: String,
    fingerprint: Fingerprint,
    ttl_secs: u64,
}

impl Idempotency {
    /// The slot of `write` under `key`, recorded for `ttl_secs`.
    pub fn new(key: IdempotencyKey, write: &Write<'_>, ttl_secs: u64) -> Self {
        Self {
            record_key: record_key(&key),
            key,
            fingerprint: write.fingerprint(),
            ttl_secs,
        }
    }

    /// The key as the client sent it.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }
}

/// Where the record of the write made under `key` is kept.
pub fn record_key(key: &IdempotencyKey) -> String {
    format!("{PREFIX}idem:{key}")
}

/// A request whose idempotency key already had a record: it wrote nothing,
/// and is answered from the record ([`replay`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Again {
    /// The key.
    pub key: IdempotencyKey,
    /// The recorded answer, if this request is the one recorded.
    pub answer: Result<Recorded, KeyReused>,
}

/// What a write's script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied<T> {
    /// It ran now; with an idempotency key, its answer is recorded.
    Now(T),
    /// Its idempotency key had a record, so it wrote nothing.
    Again(Again),
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The value, as JSON text.
    pub value: String,
    /// The metadata, as JSON text, if any.
    pub metadata: Option<String>,
    /// The revision that created the key.
    pub create_revision: u64,
    /// The revision that last wrote it: the entry's version.
    pub mod_revision: u64,
    /// When it was last written, in ms since the epoch.
    pub updated_at: u64,
    /// Who last wrote it.
    pub source: String,
}

/// An entry to write, checked and in its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value, as compact JSON.
    pub value: String,
    /// The metadata, as compact JSON, if any.
    pub metadata: Option<String>,
    /// Seconds until it expires, if it does.
    pub ttl_secs: Option<u64>,
}

/// What writing an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written: a [`Recorded::Written`].
    Ok(Recorded),
    /// The key's version was no longer the expected one; nothing written.
    Conflict {
        /// The key's version now (0: absent).
        current: u64,
    },
}

/// One page of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The revision the keys were read at.
    pub revision: u64,
    /// How many keys have the prefix.
    pub total: u64,
    /// Whether more keys follow this page.
    pub more: bool,
    /// The keys, in byte order.
    pub keys: Vec<String>,
}

/// The state's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// The global revision.
    pub revision: u64,
    /// Live keys.
    pub keys: u64,
    /// Bytes of their values.
    pub bytes: u64,
    /// Keys with metadata.
    pub metadata_keys: u64,
}

/// What the metrics report, read in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// Keys, bytes, metadata keys and the revision.
    pub stats: Stats,
    /// Revisions the feed holds.
    pub feed_len: u64,
    /// The last revision dropped from the feed.
    pub compacted: u64,
    /// Snapshots kept.
    pub snapshots: u64,
    /// The newest snapshot, if any.
    pub newest_snapshot: Option<SnapshotInfo>,
    /// Redis's clock, ms since the epoch.
    pub now: u64,
    /// The scripts' counters, by name (`change:put`, `txn:success`, ...).
    pub counters: Vec<(String, u64)>,
}

/// A read of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The current revision.
    pub revision: u64,
    /// The last revision dropped from the feed.
    pub compacted: u64,
    /// Stored revisions after the asked one, oldest first (none when the
    /// asked revision is compacted), as `Event::decode_revision` reads
    /// them.
    pub events: Vec<String>,
}

/// A compared key as read: its value (JSON text) and its version.
pub type Compared = (String, u64);

/// What a transaction's script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// It ran: a [`Recorded::Txn`].
    Ok(Recorded),
    /// This compared key's modify revision was no longer the one read;
    /// nothing written.
    Moved(String),
}

/// The state in Redis, for one request.
pub struct Store {
    conn: Connection,
    /// How many revisions the feed keeps (`event_retention`, at least 1).
    retention: u64,
    /// `snapshot_interval_secs` (0: no timed snapshots).
    snapshot_interval: u64,
    /// `max_snapshots`, at least 1.
    max_snapshots: u64,
    keys: Vec<String>,
}

impl Store {
    /// Opens the Redis connection, at the `redis_address` variable's
    /// address.
    ///
    /// Fails when Redis cannot be reached (503) or the address is invalid
    /// or not allowed (500).
    pub fn open() -> Result<Self, StoreError> {
        let conn = tombola_edge::redis::connect(&tombola_edge::redis::address())?;
        let retention =
            tombola_edge::settings::number("event_retention", DEFAULT_EVENT_RETENTION).max(1);
        let snapshot_interval = tombola_edge::settings::number(
            "snapshot_interval_secs",
            DEFAULT_SNAPSHOT_INTERVAL_SECS,
        );
        let max_snapshots =
            tombola_edge::settings::number("max_snapshots", DEFAULT_MAX_SNAPSHOTS).max(1);
        let keys = FIXED.iter().map(|k| format!("{PREFIX}{k}")).collect();
        Ok(Self {
            conn,
            retention,
            snapshot_interval,
            max_snapshots,
            keys,
        })
    }

    fn call(
        &self,
        script: &Script,
        args: &[&[u8]],
        idempotency: Option<&Idempotency>,
    ) -> Result<(String, Reply), StoreError> {
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        let entry_prefix = format!("{PREFIX}e:");
        let snap_prefix = format!("{PREFIX}snap:");
        let retention = self.retention.to_string();
        let grace = EXPIRED_VALUE_GRACE_SECS.to_string();
        let interval = self.snapshot_interval.to_string();
        let max_snapshots = self.max_snapshots.to_string();
        let (record_key, fingerprint, ttl) = match idempotency {
            Some(slot) => (
                slot.record_key.as_str(),
                slot.fingerprint.as_str(),
                slot.ttl_secs.to_string(),
            ),
            None => ("", "", "0".to_owned()),
        };
        let mut all: Vec<&[u8]> = vec![
            entry_prefix.as_bytes(),
            retention.as_bytes(),
            snap_prefix.as_bytes(),
            record_key.as_bytes(),
            fingerprint.as_bytes(),
            ttl.as_bytes(),
            grace.as_bytes(),
            interval.as_bytes(),
            max_snapshots.as_bytes(),
        ];
        all.extend_from_slice(args);
        let mut reply = script.call(&self.conn, &keys, &all)?;
        let status = reply.text()?;
        Ok((status, reply))
    }

    /// Runs a script that may answer from an idempotency key's record
    /// (`RECORDED`, from the prelude); `parse` reads its other replies.
    fn call_recorded<T>(
        &self,
        script: &Script,
        args: &[&[u8]],
        idempotency: Option<&Idempotency>,
        parse: impl FnOnce(&str, &mut Reply) -> Result<T, StoreError>,
    ) -> Result<Applied<T>, StoreError> {
        let (status, mut reply) = self.call(script, args, idempotency)?;
        if let ("RECORDED", Some(slot)) = (status.as_str(), idempotency) {
            let record = Record::decode(&reply.rest()?).map_err(|e| {
                reply.invalid(format!(
                    "the record of Idempotency-Key {:?} is damaged: {e}",
                    slot.key.as_str()
                ))
            })?;
            return Ok(Applied::Again(Again {
                key: slot.key.clone(),
                answer: replay(&record, &slot.fingerprint).cloned(),
            }));
        }
        parse(&status, &mut reply).map(Applied::Now)
    }

    /// Reads an entry, with the revision it was read at.
    pub fn get(&self, key: &StateKey) -> Result<(u64, Option<Stored>), StoreError> {
        let (status, mut reply) = self.call(&scripts::GET, &[key.as_str().as_bytes()], None)?;
        read_entry(&status, &mut reply)
    }

    /// Reads an entry for a write that carries `idempotency`: unless that
    /// key's record answers the write already.
    pub fn get_unless_recorded(
        &self,
        key: &StateKey,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<(u64, Option<Stored>)>, StoreError> {
        self.call_recorded(
            &scripts::GET,
            &[key.as_str().as_bytes()],
            idempotency,
            read_entry,
        )
    }

    /// Writes an entry; with `expect`, only if its version is still that
    /// (0: only if the key is absent).
    ///
    /// The write is recorded under `idempotency`, if given, or answered
    /// from its record.
    pub fn put(
        &self,
        key: &StateKey,
        entry: &Entry,
        source: &str,
        expect: Option<u64>,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Written>, StoreError> {
        let ttl = entry.ttl_secs.unwrap_or(0).to_string();
        let kind = if expect.is_some() {
            WriteKind::Cas
        } else {
            WriteKind::Put
        };
        let expect = expect.map(|v| v.to_string()).unwrap_or_default();
        self.call_recorded(
            &scripts::PUT,
            &[
                key.as_str().as_bytes(),
                entry.value.as_bytes(),
                entry.metadata.as_deref().unwrap_or_default().as_bytes(),
                ttl.as_bytes(),
                source.as_bytes(),
                expect.as_bytes(),
            ],
            idempotency,
            |status, reply| match status {
                "OK" => answered(kind, reply).map(Written::Ok),
                "CONFLICT" => Ok(Written::Conflict {
                    current: reply.uint()?,
                }),
                other => Err(reply.unexpected(other)),
            },
        )
        .map_err(StoreError::sent)
    }

    /// Deletes an entry: a [`Recorded::Deleted`], or `None` when there was
    /// no such key.
    pub fn delete(
        &self,
        key: &StateKey,
        source: &str,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Option<Recorded>>, StoreError> {
        self.call_recorded(
            &scripts::DELETE,
            &[key.as_str().as_bytes(), source.as_bytes()],
            idempotency,
            |status, reply| match status {
                "OK" => answered(WriteKind::Delete, reply).map(Some),
                "NONE" => Ok(None),
                other => Err(reply.unexpected(other)),
            },
        )
        .map_err(StoreError::sent)
    }

    /// Reads one page of keys.
    pub fn keys(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.to_string();
        let (status, mut reply) = self.call(
            &scripts::KEYS,
            &[
                query.prefix.as_bytes(),
                query.cursor.as_deref().unwrap_or_default().as_bytes(),
                limit.as_bytes(),
            ],
            None,
        )?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        let revision = reply.uint()?;
        let total = reply.uint()?;
        let more = reply.uint()? == 1;
        let keys = (0..reply.remaining())
            .map(|_| reply.text())
            .collect::<Result<_, _>>()?;
        Ok(Page {
            revision,
            total,
            more,
            keys,
        })
    }

    /// Reads the statistics.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let (status, mut reply) = self.call(&scripts::STATS, &[], None)?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        Ok(Stats {
            revision: reply.uint()?,
            keys: reply.uint()?,
            bytes: reply.uint()?,
            metadata_keys: reply.uint()?,
        })
    }

    /// Reads the value and the version of each of `keys` (`None`:
    /// absent), for a transaction that carries `idempotency`: unless that
    /// key's record answers the transaction already.
    pub fn read_compared(
        &self,
        keys: &[&StateKey],
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Vec<Option<Compared>>>, StoreError> {
        let args: Vec<&[u8]> = keys.iter().map(|k| k.as_str().as_bytes()).collect();
        self.call_recorded(&scripts::READ, &args, idempotency, |status, reply| {
            if status != "OK" {
                return Err(reply.unexpected(status));
            }
            reply.uint()?;
            keys.iter()
                .map(|_| match reply.uint()? {
                    0 => Ok(None),
                    _ => Ok(Some((reply.text()?, reply.uint()?))),
                })
                .collect()
        })
    }

    /// Runs `ops`, the branch of a transaction its compares chose
    /// (`succeeded`), if every one of `read` (a compared key and the
    /// version it was read at, 0: absent) is still at that version.
    ///
    /// It is recorded under `idempotency`, if given, or answered from its
    /// record.
    pub fn txn(
        &self,
        read: &[(&StateKey, u64)],
        succeeded: bool,
        ops: &[Op],
        source: &str,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Ran>, StoreError> {
        let mut args: Vec<String> = vec![source.to_owned(), read.len().to_string()];
        for (key, version) in read {
            args.extend([key.to_string(), version.to_string()]);
        }
        args.push(if succeeded { "1" } else { "0" }.to_owned());
        for op in ops {
            args.extend([op.name().to_owned(), op.key().to_string()]);
            if let Op::Put {
                value,
                metadata,
                ttl_secs,
                ..
            } = op
            {
                args.extend([
                    value.clone(),
                    metadata.clone().unwrap_or_default(),
                    ttl_secs.unwrap_or(0).to_string(),
                ]);
            }
        }
        let args: Vec<&[u8]> = args.iter().map(String::as_bytes).collect();
        self.call_recorded(
            &scripts::TXN,
            &args,
            idempotency,
            |status, reply| match status {
                "OK" => answered(WriteKind::Txn, reply).map(Ran::Ok),
                "CONFLICT" => Ok(Ran::Moved(reply.text()?)),
                other => Err(reply.unexpected(other)),
            },
        )
        .map_err(StoreError::sent)
    }

    /// Reads what the metrics report.
    pub fn metrics(&self) -> Result<Measured, StoreError> {
        let (status, mut reply) = self.call(&scripts::METRICS, &[], None)?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        let stats = Stats {
            revision: reply.uint()?,
            keys: reply.uint()?,
            bytes: reply.uint()?,
            metadata_keys: reply.uint()?,
        };
        let (feed_len, compacted, snapshots) = (reply.uint()?, reply.uint()?, reply.uint()?);
        let newest = reply.text()?;
        let newest_snapshot = match newest.as_str() {
            "" => None,
            info => Some(SnapshotInfo::parse(0, info).ok_or_else(|| {
                StoreError::Data(format!("the newest snapshot is described as {info:?}"))
            })?),
        };
        let now = reply.uint()?;
        let mut counters = Vec::new();
        while reply.remaining() > 0 {
            counters.push((reply.text()?, reply.uint()?));
        }
        Ok(Measured {
            stats,
            feed_len,
            compacted,
            snapshots,
            newest_snapshot,
            now,
            counters,
        })
    }

    /// Reads up to `limit` revisions of the feed after revision `after`.
    pub fn events(&self, after: u64, limit: u64) -> Result<Feed, StoreError> {
        let (after, limit) = (after.to_string(), limit.to_string());
        let (status, mut reply) = self.call(
            &scripts::EVENTS,
            &[after.as_bytes(), limit.as_bytes()],
            None,
        )?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        Ok(Feed {
            revision: reply.uint()?,
            compacted: reply.uint()?,
            events: reply.rest()?,
        })
    }

    /// Captures every entry at the current revision, keeping the newest
    /// `max_snapshots`: a [`Recorded::Snapshot`].
    pub fn snapshot(
        &self,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Recorded>, StoreError> {
        self.call_recorded(
            &scripts::SNAPSHOT,
            &[],
            idempotency,
            |status, reply| match status {
                "OK" => answered(WriteKind::Snapshot, reply),
                other => Err(reply.unexpected(other)),
            },
        )
        .map_err(StoreError::sent)
    }

    /// The kept snapshots, oldest first, and the current revision.
    pub fn snapshots(&self) -> Result<(u64, Vec<SnapshotInfo>), StoreError> {
        let (status, mut reply) = self.call(&scripts::SNAPSHOTS, &[], None)?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        let revision = reply.uint()?;
        let mut kept = Vec::new();
        while reply.remaining() > 0 {
            let snap = reply.uint()?;
            let stored = reply.text()?;
            kept.push(SnapshotInfo::parse(snap, &stored).ok_or_else(|| {
                StoreError::Data(format!("snapshot {snap} is described as {stored:?}"))
            })?);
        }
        Ok((revision, kept))
    }

    /// Restores the snapshot taken at `snapshot`: a
    /// [`Recorded::Restored`], or `None` when no such snapshot is kept.
    pub fn restore(
        &self,
        snapshot: u64,
        source: &str,
        idempotency: Option<&Idempotency>,
    ) -> Result<Applied<Option<Recorded>>, StoreError> {
        let snapshot = snapshot.to_string();
        self.call_recorded(
            &scripts::RESTORE,
            &[snapshot.as_bytes(), source.as_bytes()],
            idempotency,
            |status, reply| match status {
                "OK" => answered(WriteKind::Restore, reply).map(Some),
                "NONE" => Ok(None),
                other => Err(reply.unexpected(other)),
            },
        )
        .map_err(StoreError::sent)
    }
}

/// Reads the GET script's reply.
fn read_entry(status: &str, reply: &mut Reply) -> Result<(u64, Option<Stored>), StoreError> {
    let revision = reply.uint()?;
    match status {
        "NONE" => Ok((revision, None)),
        "OK" => Ok((
            revision,
            Some(Stored {
                value: reply.text()?,
                metadata: reply.text_or_nil()?,
                create_revision: reply.uint()?,
                mod_revision: reply.uint()?,
                updated_at: reply.uint()?,
                source: reply.text()?,
            }),
        )),
        other => Err(reply.unexpected(other)),
    }
}

/// Reads a write's `OK` reply: the parts of its answer, which its record
/// keeps too, in the layout [`Recorded::decode`] reads.
fn answered(kind: WriteKind, reply: &mut Reply) -> Result<Recorded, StoreError> {
    Recorded::decode(kind, &reply.rest()?)
        .map_err(|e| reply.invalid(format!("the {kind} script answered badly: {e}")))
}
