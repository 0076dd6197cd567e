//! A pool's persistence in Redis: one script call per round trip.
//!
//! The keys are `tombola-core`'s ([`tombola_core::keys`]). Errors keep
//! Redis's fault apart from ours: [`StoreError::Unavailable`] (cannot reach
//! Redis) and [`StoreError::Busy`] (Redis up but not serving) are 503s a
//! client retries; [`StoreError::Data`] (a reply or a stored value of the
//! wrong shape) is a 500 an operator must look at.

use spin_sdk::redis::{Connection, RedisResult};
use tombola_core::{PoolId, RequestId, keys};

use crate::backend;
use crate::scripts::{self, Reply};

pub use tombola_edge::redis::StoreError;

/// Opens the Redis connection for a request.
pub fn connect() -> Result<Connection, StoreError> {
    backend::redis().map_err(|e| {
        let message = backend::describe_redis(&e);
        match e {
            spin_sdk::redis::Error::InvalidAddress => StoreError::Data(format!(
                "redis_address {:?} is invalid or not allowed: {message}",
                backend::redis_address()
            )),
            _ => StoreError::Unavailable(format!("connect: {message}")),
        }
    })
}

/// A pool's newest snapshot and the log after it, as one script read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The sequence number of the entry before `log[0]`.
    pub base: u64,
    /// The list index the lines start at.
    pub start: u64,
    /// The stored snapshot, undecoded.
    pub snapshot: Option<Vec<u8>>,
    /// Log lines from `start` on.
    pub lines: Vec<String>,
}

impl Tail {
    /// The sequence number of the first line.
    pub fn first_seq(&self) -> u64 {
        self.base + self.start + 1
    }

    /// The sequence number of the last line (of the entry before the first
    /// line when there are none).
    pub fn last_seq(&self) -> u64 {
        self.base + self.start + self.lines.len() as u64
    }

    fn read(reply: &mut Reply) -> Result<Self, StoreError> {
        Ok(Self {
            base: reply.uint()?,
            start: reply.uint()?,
            snapshot: reply.bytes_or_nil()?,
            lines: reply.rest()?,
        })
    }
}

/// A request id's record: where its entry is, the body it came with, and
/// the outcome once computed. Stored as `<seq> <fingerprint>[ <outcome>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The entry's sequence number.
    pub seq: u64,
    /// What the request asked, so a reuse with another body is caught.
    pub fingerprint: String,
    /// The outcome as JSON, once recorded.
    pub outcome: Option<String>,
}

impl Record {
    /// Parses a stored record.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Data(format!("request record {text:?} is malformed"));
        let mut parts = text.splitn(3, ' ');
        let seq = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let fingerprint = parts.next().filter(|f| !f.is_empty()).ok_or_else(bad)?;
        Ok(Self {
            seq,
            fingerprint: fingerprint.to_owned(),
            outcome: parts.next().map(str::to_owned),
        })
    }

    /// The record as the append script stores it, before the outcome.
    pub fn pending(&self) -> String {
        format!("{} {}", self.seq, self.fingerprint)
    }

    /// The record with its outcome.
    pub fn complete(&self, outcome: &str) -> String {
        format!("{} {} {outcome}", self.seq, self.fingerprint)
    }
}

/// What appending an entry for a request id did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// The pool does not exist; nothing was written.
    NoPool,
    /// The entry was appended with this sequence number.
    New {
        /// The request's record, as stored (no outcome yet).
        record: Record,
        /// Snapshot and tail, the new entry last.
        tail: Tail,
    },
    /// The request id was used before; nothing was written.
    Duplicate {
        /// The earlier request's record.
        record: Record,
        /// Snapshot and tail as they are now.
        tail: Tail,
    },
}

fn status(reply: &mut Reply) -> Result<String, StoreError> {
    reply.text()
}

/// Starts a pool's log with its CREATE line; `false` if the pool exists.
pub fn create(conn: &Connection, pool: &PoolId, line: &str) -> Result<bool, StoreError> {
    let mut reply = scripts::CREATE.call(
        conn,
        &[&keys::base(pool), &keys::log(pool)],
        &[line.as_bytes()],
    )?;
    match status(&mut reply)?.as_str() {
        "OK" => Ok(true),
        "EXISTS" => Ok(false),
        other => Err(StoreError::Data(format!("create.lua replied {other:?}"))),
    }
}

/// Appends `line` for `request` unless the request id was used before.
pub fn append(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    line: &str,
    fingerprint: &str,
    record_ttl_secs: u64,
) -> Result<Appended, StoreError> {
    let ttl = record_ttl_secs.to_string();
    let mut reply = scripts::APPEND.call(
        conn,
        &[
            &keys::base(pool),
            &keys::log(pool),
            &keys::snap(pool),
            &keys::request(pool, request),
        ],
        &[line.as_bytes(), fingerprint.as_bytes(), ttl.as_bytes()],
    )?;
    match status(&mut reply)?.as_str() {
        "NOPOOL" => Ok(Appended::NoPool),
        "OK" => {
            let seq = reply.uint()?;
            let tail = Tail::read(&mut reply)?;
            Ok(Appended::New {
                record: Record {
                    seq,
                    fingerprint: fingerprint.to_owned(),
                    outcome: None,
                },
                tail,
            })
        }
        "DUP" => {
            let record = Record::parse(&reply.text()?)?;
            let tail = Tail::read(&mut reply)?;
            Ok(Appended::Duplicate { record, tail })
        }
        other => Err(StoreError::Data(format!("append.lua replied {other:?}"))),
    }
}

/// The value of an extra key read along with a tail (`None`: no such key).
pub type Extra = Option<Vec<u8>>;

/// Reads the newest snapshot and tail, and the value of `extra` (a key of
/// the same pool) if given. `None` when the pool does not exist.
pub fn read(
    conn: &Connection,
    pool: &PoolId,
    extra: Option<&str>,
) -> Result<Option<(Extra, Tail)>, StoreError> {
    let (base, log, snap) = (keys::base(pool), keys::log(pool), keys::snap(pool));
    let mut keys: Vec<&str> = vec![&base, &log, &snap];
    keys.extend(extra);
    let mut reply = scripts::READ.call(conn, &keys, &[])?;
    match status(&mut reply)?.as_str() {
        "NOPOOL" => Ok(None),
        "OK" => {
            let extra = reply.bytes_or_nil()?;
            Ok(Some((extra, Tail::read(&mut reply)?)))
        }
        other => Err(StoreError::Data(format!("read.lua replied {other:?}"))),
    }
}

/// What to write after an entry's outcome is known.
#[derive(Debug, Default)]
pub struct Recording<'a> {
    /// The request's record and its outcome JSON.
    pub record: Option<(&'a RequestId, &'a Record, &'a str)>,
    /// A snapshot to store if it is newer than the stored one.
    pub snapshot: Option<&'a [u8]>,
    /// An operation's state key, JSON and TTL.
    pub operation: Option<(&'a str, &'a str, u64)>,
}

/// Records an outcome, a snapshot and an operation's state in one script.
pub fn record(conn: &Connection, pool: &PoolId, what: Recording<'_>) -> Result<(), StoreError> {
    let request_key = match what.record {
        Some((request, _, _)) => keys::request(pool, request),
        // A key of the pool that is never a request record, so the
        // script's key list stays in the pool's slot.
        None => keys::base(pool),
    };
    let snap = keys::snap(pool);
    let mut keys: Vec<&str> = vec![&request_key, &snap];
    let (pending, complete) = match what.record {
        Some((_, record, outcome)) => (record.pending(), record.complete(outcome)),
        None => (String::new(), String::new()),
    };
    let (op_json, op_ttl) = match what.operation {
        Some((key, json, ttl)) => {
            keys.push(key);
            (json, ttl.to_string())
        }
        None => ("", String::new()),
    };
    let mut reply = scripts::RECORD.call(
        conn,
        &keys,
        &[
            pending.as_bytes(),
            complete.as_bytes(),
            what.snapshot.unwrap_or_default(),
            op_json.as_bytes(),
            op_ttl.as_bytes(),
        ],
    )?;
    match status(&mut reply)?.as_str() {
        "OK" => {
            let recorded = reply.uint()?;
            let written = reply.uint()?;
            tracing::debug!(pool = %pool, recorded, snapshot_written = written, "recorded");
            Ok(())
        }
        other => Err(StoreError::Data(format!("record.lua replied {other:?}"))),
    }
}

/// One archived log segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The sequence number of its first line.
    pub first: u64,
    /// The snapshot at `first - 1`, if one was kept (none for a segment
    /// that starts the log).
    pub snapshot: Option<Vec<u8>>,
    /// Its lines.
    pub lines: Vec<String>,
}

/// Everything retained of a pool: the archive, oldest first, then the live
/// snapshot and the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Archived segments, oldest first.
    pub segments: Vec<Segment>,
    /// The live snapshot and the whole live log (`start` is 0).
    pub live: Tail,
}

/// The archive's index: the first sequence number of each segment.
pub fn segment_firsts(conn: &Connection, pool: &PoolId) -> Result<Vec<u64>, StoreError> {
    let key = keys::archive_index(pool);
    let values = conn
        .execute(
            "LRANGE",
            &[
                spin_sdk::redis::RedisParameter::Binary(key.into_bytes()),
                spin_sdk::redis::RedisParameter::Int64(0),
                spin_sdk::redis::RedisParameter::Int64(-1),
            ],
        )
        .map_err(|e| StoreError::from_redis("LRANGE archive index", &e))?;
    values
        .into_iter()
        .map(|v| match v {
            RedisResult::Binary(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    StoreError::Data(format!("archive index entry {b:?} is not a number"))
                }),
            other => Err(StoreError::Data(format!("archive index holds {other:?}"))),
        })
        .collect()
}

/// Reads everything retained of a pool; `None` when it does not exist.
pub fn history(conn: &Connection, pool: &PoolId) -> Result<Option<History>, StoreError> {
    let firsts = segment_firsts(conn, pool)?;
    let mut owned = vec![keys::base(pool), keys::log(pool), keys::snap(pool)];
    for &first in &firsts {
        owned.push(keys::archive(pool, first));
        owned.push(keys::archive_snap(pool, first));
    }
    let keys: Vec<&str> = owned.iter().map(String::as_str).collect();
    let args: Vec<String> = firsts.iter().map(u64::to_string).collect();
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let mut reply = scripts::HISTORY.call(conn, &keys, &args)?;
    match status(&mut reply)?.as_str() {
        "NOPOOL" => return Ok(None),
        "OK" => {}
        other => return Err(StoreError::Data(format!("history.lua replied {other:?}"))),
    }
    let count = reply.uint()?;
    let mut segments = Vec::new();
    for _ in 0..count {
        let first = reply.uint()?;
        let n = reply.uint()?;
        let snapshot = reply.bytes_or_nil()?;
        let lines = reply.lines(n as usize)?;
        segments.push(Segment {
            first,
            snapshot,
            lines,
        });
    }
    let live = Tail::read(&mut reply)?;
    Ok(Some(History { segments, live }))
}

/// A compaction to perform.
#[derive(Debug)]
pub struct Rotation<'a> {
    /// The base the compaction was computed against.
    pub base: u64,
    /// How many log entries move to the new segment.
    pub count: u64,
    /// The snapshot at `base + count`.
    pub snapshot: &'a [u8],
    /// The snapshot at `base` (the new segment's start), if the pool
    /// existed there.
    pub segment_start: Option<&'a [u8]>,
    /// The oldest segment to drop, when the archive is full.
    pub drop_oldest: Option<u64>,
}

/// Moves replayed entries into the archive; `false` if another
/// compaction moved the log first.
pub fn rotate(
    conn: &Connection,
    pool: &PoolId,
    rotation: Rotation<'_>,
) -> Result<bool, StoreError> {
    let first = rotation.base + 1;
    let mut owned = vec![
        keys::base(pool),
        keys::log(pool),
        keys::snap(pool),
        keys::archive_index(pool),
        keys::archive(pool, first),
        keys::archive_snap(pool, first),
    ];
    if let Some(oldest) = rotation.drop_oldest {
        owned.push(keys::archive(pool, oldest));
        owned.push(keys::archive_snap(pool, oldest));
    }
    let keys: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (base, count, first) = (
        rotation.base.to_string(),
        rotation.count.to_string(),
        first.to_string(),
    );
    let mut reply = scripts::ROTATE.call(
        conn,
        &keys,
        &[
            base.as_bytes(),
            count.as_bytes(),
            rotation.snapshot,
            rotation.segment_start.unwrap_or_default(),
            first.as_bytes(),
        ],
    )?;
    match status(&mut reply)?.as_str() {
        "OK" => Ok(true),
        "MOVED" => Ok(false),
        other => Err(StoreError::Data(format!("rotate.lua replied {other:?}"))),
    }
}

/// Reads request records (`None` where there is none), in order.
pub fn records(
    conn: &Connection,
    pool: &PoolId,
    requests: &[RequestId],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut out = Vec::with_capacity(requests.len());
    for batch in requests.chunks(512) {
        let params: Vec<_> = batch
            .iter()
            .map(|r| spin_sdk::redis::RedisParameter::Binary(keys::request(pool, r).into_bytes()))
            .collect();
        let values = conn
            .execute("MGET", &params)
            .map_err(|e| StoreError::from_redis("MGET request records", &e))?;
        if values.len() != batch.len() {
            return Err(StoreError::Data(format!(
                "MGET of {} records returned {} values",
                batch.len(),
                values.len()
            )));
        }
        for value in values {
            out.push(match value {
                RedisResult::Nil => None,
                RedisResult::Binary(b) => Some(
                    String::from_utf8(b)
                        .map_err(|_| StoreError::Data("a request record is not UTF-8".into()))?,
                ),
                other => return Err(StoreError::Data(format!("MGET returned {other:?}"))),
            });
        }
    }
    Ok(out)
}

/// Deletes a key of the pool; `Ok(false)` if it was not there.
pub fn delete(conn: &Connection, key: &str) -> Result<bool, StoreError> {
    conn.del(&[key.to_owned()])
        .map(|n| n > 0)
        .map_err(|e| StoreError::from_redis("DEL", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let pending = Record::parse("12 d:1:0").unwrap();
        assert_eq!(pending.outcome, None);
        assert_eq!(pending.pending(), "12 d:1:0");
        let done = Record::parse(&pending.complete(r#"{"kind":"draw"}"#)).unwrap();
        assert_eq!(done.seq, 12);
        assert_eq!(done.outcome.as_deref(), Some(r#"{"kind":"draw"}"#));
        for bad in ["", "x d", "12", "12 "] {
            assert!(Record::parse(bad).is_err(), "{bad:?}");
        }
    }
}
