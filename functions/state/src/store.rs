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
//! tombola:state:{s}:events       list    the change feed, one event JSON per revision
//! tombola:state:{s}:compacted    string  the last revision dropped from the feed
//! tombola:state:{s}:snaps        zset    the revisions of kept snapshots
//! tombola:state:{s}:snapinfo     hash    revision -> "<created_at> <keys>"
//! tombola:state:{s}:e:<key>      hash    an entry: v value, m metadata, c create
//!                                        revision, r modify revision, t updated
//!                                        (ms), s source, x ttl (s); with a Redis
//!                                        expiry when it has a ttl
//! tombola:state:{s}:snap:<rev>   list    a snapshot: key, value, metadata, ttl, ...
//! ```
//!
//! Errors keep Redis's fault apart from ours: [`StoreError::Unavailable`]
//! and [`StoreError::Busy`] are 503s a client retries; [`StoreError::Data`]
//! (a reply of the wrong shape) is a 500 an operator must look at.

use spin_sdk::redis::Connection;
use tombola_core::state::{ListQuery, SnapshotInfo, StateKey};

use crate::backend::{self, Settings};
use crate::scripts::{self, Reply, Script};

/// The prefix of every key.
pub const PREFIX: &str = "tombola:state:{s}:";

const FIXED: [&str; 10] = [
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
];

pub use tombola_edge::redis::StoreError;

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

/// What writing an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written at `revision`; the key was created at `create_revision`.
    Ok {
        /// The new revision, the entry's new version.
        revision: u64,
        /// The revision that created the key (equal to `revision` for a new key).
        create_revision: u64,
    },
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

/// A read of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The current revision.
    pub revision: u64,
    /// The last revision dropped from the feed.
    pub compacted: u64,
    /// Event JSON after the asked revision, oldest first (none when the
    /// asked revision is compacted).
    pub events: Vec<String>,
}

/// A snapshot just taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// What it is.
    pub info: SnapshotInfo,
    /// Revisions of the snapshots dropped to keep `max_snapshots`.
    pub dropped: Vec<u64>,
}

/// The state in Redis, for one request.
pub struct Store {
    conn: Connection,
    settings: Settings,
    keys: Vec<String>,
}

impl Store {
    /// Opens the Redis connection.
    ///
    /// Fails when Redis cannot be reached (503) or the address is invalid
    /// or not allowed (500).
    pub fn open(settings: Settings) -> Result<Self, StoreError> {
        let conn = backend::redis().map_err(|e| {
            let message = backend::describe_redis(&e);
            match e {
                spin_sdk::redis::Error::InvalidAddress => StoreError::Data(format!(
                    "redis_address {:?} is invalid or not allowed: {message}",
                    backend::redis_address()
                )),
                _ => StoreError::Unavailable(format!("connect: {message}")),
            }
        })?;
        let keys = FIXED.iter().map(|k| format!("{PREFIX}{k}")).collect();
        Ok(Self {
            conn,
            settings,
            keys,
        })
    }

    /// The settings the store was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn call(&self, script: &Script, args: &[&[u8]]) -> Result<(String, Reply), StoreError> {
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        let entry_prefix = format!("{PREFIX}e:");
        let snap_prefix = format!("{PREFIX}snap:");
        let retention = self.settings.event_retention.to_string();
        let mut all: Vec<&[u8]> = vec![
            entry_prefix.as_bytes(),
            retention.as_bytes(),
            snap_prefix.as_bytes(),
        ];
        all.extend_from_slice(args);
        let mut reply = script.call(&self.conn, &keys, &all)?;
        let status = reply.text()?;
        Ok((status, reply))
    }

    /// Reads an entry, with the revision it was read at.
    pub fn get(&self, key: &StateKey) -> Result<(u64, Option<Stored>), StoreError> {
        let (status, mut reply) = self.call(&scripts::GET, &[key.as_str().as_bytes()])?;
        let revision = reply.uint()?;
        match status.as_str() {
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

    /// Writes an entry; with `expect`, only if its version is still that
    /// (0: only if the key is absent).
    pub fn put(
        &self,
        key: &StateKey,
        value: &str,
        metadata: Option<&str>,
        ttl_secs: Option<u64>,
        source: &str,
        expect: Option<u64>,
    ) -> Result<Written, StoreError> {
        let ttl = ttl_secs.unwrap_or(0).to_string();
        let expect = expect.map(|v| v.to_string()).unwrap_or_default();
        let (status, mut reply) = self.call(
            &scripts::PUT,
            &[
                key.as_str().as_bytes(),
                value.as_bytes(),
                metadata.unwrap_or_default().as_bytes(),
                ttl.as_bytes(),
                source.as_bytes(),
                expect.as_bytes(),
            ],
        )?;
        match status.as_str() {
            "OK" => Ok(Written::Ok {
                revision: reply.uint()?,
                create_revision: reply.uint()?,
            }),
            "CONFLICT" => Ok(Written::Conflict {
                current: reply.uint()?,
            }),
            other => Err(reply.unexpected(other)),
        }
    }

    /// Deletes an entry: the new revision, or `Err` of the current
    /// revision when there was no such key.
    pub fn delete(&self, key: &StateKey, source: &str) -> Result<Result<u64, u64>, StoreError> {
        let (status, mut reply) = self.call(
            &scripts::DELETE,
            &[key.as_str().as_bytes(), source.as_bytes()],
        )?;
        let revision = reply.uint()?;
        match status.as_str() {
            "OK" => Ok(Ok(revision)),
            "NONE" => Ok(Err(revision)),
            other => Err(reply.unexpected(other)),
        }
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
        let (status, mut reply) = self.call(&scripts::STATS, &[])?;
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

    /// Reads up to `limit` events after revision `after`.
    pub fn events(&self, after: u64, limit: u64) -> Result<Feed, StoreError> {
        let (after, limit) = (after.to_string(), limit.to_string());
        let (status, mut reply) =
            self.call(&scripts::EVENTS, &[after.as_bytes(), limit.as_bytes()])?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        Ok(Feed {
            revision: reply.uint()?,
            compacted: reply.uint()?,
            events: (0..reply.remaining())
                .map(|_| reply.text())
                .collect::<Result<_, _>>()?,
        })
    }

    /// Captures every entry at the current revision.
    pub fn snapshot(&self) -> Result<Taken, StoreError> {
        let max = self.settings.max_snapshots.to_string();
        let (status, mut reply) = self.call(&scripts::SNAPSHOT, &[max.as_bytes()])?;
        if status != "OK" {
            return Err(reply.unexpected(&status));
        }
        let info = SnapshotInfo {
            revision: reply.uint()?,
            created_at: reply.uint()?,
            keys: reply.uint()?,
        };
        let dropped = (0..reply.remaining())
            .map(|_| reply.uint())
            .collect::<Result<_, _>>()?;
        Ok(Taken { info, dropped })
    }

    /// The kept snapshots, oldest first, and the current revision.
    pub fn snapshots(&self) -> Result<(u64, Vec<SnapshotInfo>), StoreError> {
        let (status, mut reply) = self.call(&scripts::SNAPSHOTS, &[])?;
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

    /// Restores the snapshot taken at `snapshot`: the new revision and how
    /// many keys changed, or `Err` of the current revision when no such
    /// snapshot is kept.
    pub fn restore(
        &self,
        snapshot: u64,
        source: &str,
    ) -> Result<Result<(u64, u64), u64>, StoreError> {
        let snapshot = snapshot.to_string();
        let (status, mut reply) =
            self.call(&scripts::RESTORE, &[snapshot.as_bytes(), source.as_bytes()])?;
        let revision = reply.uint()?;
        match status.as_str() {
            "OK" => Ok(Ok((revision, reply.uint()?))),
            "NONE" => Ok(Err(revision)),
            other => Err(reply.unexpected(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_sdk::redis::Error;

    #[test]
    fn errors_are_classified_by_what_redis_said() {
        let other = |m: &str| Error::Other(m.into());
        let kind = |e: &Error| StoreError::from_redis("s", e).kind();
        assert_eq!(
            kind(&other("Connection refused (os error 111)")),
            "connection"
        );
        assert_eq!(kind(&other("broken pipe")), "connection");
        assert_eq!(
            kind(&other("LOADING: Redis is loading the dataset")),
            "busy"
        );
        assert_eq!(kind(&other("WRONGTYPE: Operation against a key")), "data");
        assert_eq!(kind(&Error::TypeError), "data");
        assert_eq!(kind(&other("NoScript: No matching script")), "data");
    }
}
