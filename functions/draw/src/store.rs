//! A pool's persistence in Redis: one script call per round trip.
//!
//! The keys and every stored format are `tombola-core`'s
//! ([`tombola_core::pool::keys`], [`Record`], [`Tail`] and [`History`]);
//! this module only moves them. Errors keep Redis's fault apart from ours
//! ([`StoreError`]).

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use tombola_core::pool::history::{Compaction, History, Segment, Tail};
use tombola_core::pool::provable::FairDrawLine;
use tombola_core::pool::{Fingerprint, OperationId, PoolId, Record, RequestId, ServerSeed, keys};
use tombola_edge::error::ApiError;

use crate::errors;
use crate::scripts::{self, Reply};

pub use tombola_edge::redis::StoreError;

/// Opens the Redis connection for a request, at the `redis_address`
/// variable's address.
pub fn connect() -> Result<Connection, StoreError> {
    tombola_edge::redis::connect(&crate::backend::redis_address())
}

fn read_tail(reply: &mut Reply) -> Result<Tail, StoreError> {
    Ok(Tail {
        base: reply.uint()?,
        start: reply.uint()?,
        snapshot: reply.bytes_or_nil()?,
        secret: secret(reply.bytes_or_nil()?)?,
        lines: reply.rest()?,
    })
}

// A rules-2 pool's server seed in force, as its fair hash holds it.
fn secret(bytes: Option<Vec<u8>>) -> Result<Option<ServerSeed>, StoreError> {
    bytes
        .map(|bytes| {
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| ServerSeed::from_hex(text).ok())
                .ok_or_else(|| {
                    StoreError::Data("the pool's server seed is not 64 hex digits".into())
                })
        })
        .transpose()
}

fn record(text: &str) -> Result<Record, ApiError> {
    Record::decode(text).map_err(errors::record)
}

/// What appending an entry for a request id did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// The pool does not exist; nothing was written.
    NoPool,
    /// The entry was appended: its record (no outcome yet), and the
    /// snapshot and tail with the new entry last.
    New(Record, Tail),
    /// The request id was used before; nothing was written: the earlier
    /// request's record, and the snapshot and tail as they are now.
    Duplicate(Record, Tail),
}

fn status(reply: &mut Reply) -> Result<String, StoreError> {
    reply.text()
}

/// A rules-2 pool's first commitment, written with its CREATE.
#[derive(Debug)]
pub struct Committing<'a> {
    /// The COMMIT line.
    pub line: &'a str,
    /// The server seed it commits to, kept secret in the pool's fair hash.
    pub seed: &'a ServerSeed,
    /// The rotation interval.
    pub rotate_every: u32,
}

/// Starts a pool's log with its CREATE line (and a rules-2 pool's COMMIT);
/// `false` if the pool exists.
pub fn create(
    conn: &Connection,
    pool: &PoolId,
    line: &str,
    commit: Option<Committing<'_>>,
) -> Result<bool, StoreError> {
    let (secret, every) = commit
        .as_ref()
        .map(|c| (c.seed.reveal(), c.rotate_every.to_string()))
        .unwrap_or_default();
    let mut args: Vec<&[u8]> = vec![line.as_bytes()];
    if let Some(commit) = &commit {
        args.extend([commit.line.as_bytes(), secret.as_bytes(), every.as_bytes()]);
    }
    let mut reply = scripts::CREATE.call(
        conn,
        &[&keys::base(pool), &keys::log(pool), &keys::fair(pool)],
        &args,
    )?;
    match status(&mut reply)?.as_str() {
        "OK" => Ok(true),
        "EXISTS" => Ok(false),
        other => Err(reply.unexpected(other)),
    }
}

// The keys of the scripts that append for a request id.
fn append_keys(pool: &PoolId, request: &RequestId) -> [String; 5] {
    [
        keys::base(pool),
        keys::log(pool),
        keys::snap(pool),
        keys::request(pool, request),
        keys::fair(pool),
    ]
}

/// Appends `line` for `request` unless the request id has a record.
pub fn append(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    line: &str,
    fingerprint: &Fingerprint,
    record_ttl_secs: u64,
) -> Result<Appended, ApiError> {
    let ttl = record_ttl_secs.to_string();
    let fingerprint_text = fingerprint.to_string();
    let names = append_keys(pool, request);
    let mut reply = scripts::APPEND.call(
        conn,
        &names.each_ref().map(String::as_str),
        &[line.as_bytes(), fingerprint_text.as_bytes(), ttl.as_bytes()],
    )?;
    let status = status(&mut reply)?;
    appended(&status, reply, fingerprint)
}

/// What appending a draw did: as [`Appended`], or refused before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawAppended {
    /// Appended, a duplicate, or no pool.
    Appended(Appended),
    /// A client seed for a pool that is not under rules 2; nothing written.
    NotFair,
    /// The rules-2 pool's rotation interval is reached; nothing written.
    RotationDue,
}

/// The lines a draw may append: the script picks by the pool's rules.
#[derive(Debug)]
pub struct DrawLines<'a> {
    /// The DRAW/1 line, for a pool of rules 1.
    pub rules_1: &'a str,
    /// The DRAW/2 line around its nonce, for a rules-2 pool.
    pub rules_2: &'a FairDrawLine,
    /// Whether the client chose the client seed (refused by rules 1).
    pub client_seed_given: bool,
}

/// Appends a draw for `request` unless the request id has a record: the
/// DRAW/2 line with the next nonce on a rules-2 pool, the DRAW/1 line
/// otherwise.
pub fn append_draw(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    lines: &DrawLines<'_>,
    fingerprint: &Fingerprint,
    record_ttl_secs: u64,
) -> Result<DrawAppended, ApiError> {
    let ttl = record_ttl_secs.to_string();
    let fingerprint_text = fingerprint.to_string();
    let given: &[u8] = if lines.client_seed_given { b"1" } else { b"" };
    let (line, fair) = (lines.rules_1, lines.rules_2);
    let names = append_keys(pool, request);
    let mut reply = scripts::FAIR_APPEND.call(
        conn,
        &names.each_ref().map(String::as_str),
        &[
            line.as_bytes(),
            fair.head.as_bytes(),
            fair.tail.as_bytes(),
            fingerprint_text.as_bytes(),
            ttl.as_bytes(),
            given,
        ],
    )?;
    let status = status(&mut reply)?;
    match status.as_str() {
        "NOTFAIR" => Ok(DrawAppended::NotFair),
        "ROTATE" => Ok(DrawAppended::RotationDue),
        _ => appended(&status, reply, fingerprint).map(DrawAppended::Appended),
    }
}

fn appended(
    status: &str,
    mut reply: Reply,
    fingerprint: &Fingerprint,
) -> Result<Appended, ApiError> {
    match status {
        "NOPOOL" => Ok(Appended::NoPool),
        "OK" => {
            let seq = reply.uint()?;
            let tail = read_tail(&mut reply)?;
            let record = Record {
                seq,
                fingerprint: fingerprint.clone(),
                outcome: None,
            };
            Ok(Appended::New(record, tail))
        }
        "DUP" => {
            let record = record(&reply.text()?)?;
            let tail = read_tail(&mut reply)?;
            Ok(Appended::Duplicate(record, tail))
        }
        other => Err(reply.unexpected(other).into()),
    }
}

/// The saved state of an operation and its rollback's record, as read
/// along with a tail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationKeys {
    /// The DrawState's JSON, undecoded.
    pub state: Option<Vec<u8>>,
    /// The rollback's request record.
    pub rollback: Option<Record>,
}

/// Reads the newest snapshot and tail; `None` when the pool does not
/// exist.
pub fn read(conn: &Connection, pool: &PoolId) -> Result<Option<Tail>, StoreError> {
    let mut reply = scripts::READ.call(
        conn,
        &[
            &keys::base(pool),
            &keys::log(pool),
            &keys::snap(pool),
            &keys::fair(pool),
        ],
        &[],
    )?;
    match status(&mut reply)?.as_str() {
        "NOPOOL" => Ok(None),
        "OK" => Ok(Some(read_tail(&mut reply)?)),
        other => Err(reply.unexpected(other)),
    }
}

/// The saved state of an operation and its rollback's record, without the
/// pool's log (one MGET).
pub fn operation_keys(
    conn: &Connection,
    pool: &PoolId,
    operation: &OperationId,
) -> Result<OperationKeys, ApiError> {
    let names = [
        keys::operation(pool, operation),
        keys::request(pool, &RequestId::rollback(operation)),
    ];
    let mut values = mget(conn, &names)?.into_iter();
    let state = values.next().flatten();
    let rollback = values
        .next()
        .flatten()
        .map(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| StoreError::Data("a request record is not UTF-8".into()).into())
                .and_then(|text| record(&text))
        })
        .transpose()?;
    Ok(OperationKeys { state, rollback })
}

/// What to write after an entry's outcome is known, in one script.
#[derive(Debug, Default)]
pub struct Recording<'a> {
    /// The request's record, with its outcome (written only over its own
    /// pending record).
    pub record: Option<(&'a RequestId, &'a Record)>,
    /// A snapshot to store if it is newer than the stored one, with its
    /// sequence number.
    pub snapshot: Option<(u64, &'a [u8])>,
    /// An operation's state key, JSON and TTL.
    pub operation: Option<(&'a str, &'a str, u64)>,
}

/// Records an outcome, a snapshot and an operation's state in one script.
pub fn record_outcome(
    conn: &Connection,
    pool: &PoolId,
    what: Recording<'_>,
) -> Result<(), StoreError> {
    let request_key = match what.record {
        Some((request, _)) => keys::request(pool, request),
        // A key of the pool that is never a request record, so the
        // script's key list stays in the pool's slot.
        None => keys::base(pool),
    };
    let snap = keys::snap(pool);
    let mut names: Vec<&str> = vec![&request_key, &snap];
    let (pending, complete) = match what.record {
        Some((_, record)) => (record.pending(), record.encode()),
        None => (String::new(), String::new()),
    };
    let (snap_seq, snap_bytes) = match what.snapshot {
        Some((seq, bytes)) => (seq.to_string(), bytes),
        None => (String::new(), &[][..]),
    };
    let (op_json, op_ttl) = match what.operation {
        Some((key, json, ttl)) => {
            names.push(key);
            (json, ttl.to_string())
        }
        None => ("", String::new()),
    };
    let mut reply = scripts::RECORD.call(
        conn,
        &names,
        &[
            pending.as_bytes(),
            complete.as_bytes(),
            snap_bytes,
            snap_seq.as_bytes(),
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
        other => Err(reply.unexpected(other)),
    }
}

/// A rules-2 pool's server seed in force; `None` for other pools.
pub fn server_seed(conn: &Connection, pool: &PoolId) -> Result<Option<ServerSeed>, StoreError> {
    let values = conn
        .execute(
            "HGET",
            &[
                RedisParameter::Binary(keys::fair(pool).into_bytes()),
                RedisParameter::Binary(keys::FAIR_SEED.as_bytes().to_vec()),
            ],
        )
        .map_err(|e| StoreError::from_redis("HGET server seed", &e))?;
    match values.into_iter().next() {
        None | Some(RedisResult::Nil) => Ok(None),
        Some(RedisResult::Binary(bytes)) => secret(Some(bytes)),
        Some(other) => Err(StoreError::Data(format!("HGET returned {other:?}"))),
    }
}

/// What a rotation's script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reseeded {
    /// The ROTATE entry, at this sequence number.
    Rotated(u64),
    /// `current` is no longer in force (another rotation came first), or
    /// the pool is gone: nothing written.
    Moved,
    /// The request id has a record: nothing written.
    Recorded(Record),
}

/// Appends a ROTATE line that reveals `current` and commits `next`, and
/// keeps `next` as the seed in force, unless `current` is no longer in
/// force. With a request id (and its record's TTL), at most once: the
/// record is written in the same step, and a request id that has one is
/// answered with it.
pub fn reseed(
    conn: &Connection,
    pool: &PoolId,
    current: &ServerSeed,
    line: &str,
    next: &ServerSeed,
    request: Option<(&RequestId, u64)>,
) -> Result<Reseeded, ApiError> {
    let (current, next) = (current.reveal(), next.reveal());
    let mut names = vec![keys::base(pool), keys::log(pool), keys::fair(pool)];
    let fingerprint = Fingerprint::Rotate.to_string();
    let mut args = vec![current.as_bytes(), line.as_bytes(), next.as_bytes()];
    let ttl = request.map(|(_, ttl)| ttl.to_string());
    if let (Some((request, _)), Some(ttl)) = (request, &ttl) {
        names.push(keys::request(pool, request));
        args.extend([fingerprint.as_bytes(), ttl.as_bytes()]);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut reply = scripts::RESEED.call(conn, &names, &args)?;
    match status(&mut reply)?.as_str() {
        "OK" => Ok(Reseeded::Rotated(reply.uint()?)),
        "MOVED" | "NOPOOL" => Ok(Reseeded::Moved),
        "DUP" => Ok(Reseeded::Recorded(record(&reply.text()?)?)),
        other => Err(reply.unexpected(other).into()),
    }
}

/// The archive's index: the first sequence number of each segment.
pub fn segment_firsts(conn: &Connection, pool: &PoolId) -> Result<Vec<u64>, StoreError> {
    let key = keys::archive_index(pool);
    let values = conn
        .execute(
            "LRANGE",
            &[
                RedisParameter::Binary(key.into_bytes()),
                RedisParameter::Int64(0),
                RedisParameter::Int64(-1),
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
    let mut owned = vec![
        keys::base(pool),
        keys::log(pool),
        keys::snap(pool),
        keys::fair(pool),
    ];
    for &first in &firsts {
        owned.push(keys::archive(pool, first));
        owned.push(keys::archive_snap(pool, first));
    }
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    let args: Vec<String> = firsts.iter().map(u64::to_string).collect();
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let mut reply = scripts::HISTORY.call(conn, &names, &args)?;
    match status(&mut reply)?.as_str() {
        "NOPOOL" => return Ok(None),
        "OK" => {}
        other => return Err(reply.unexpected(other)),
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
    let live = read_tail(&mut reply)?;
    Ok(Some(History { segments, live }))
}

/// Performs a compaction planned by the core; `false` if another
/// compaction moved the log first.
pub fn rotate(conn: &Connection, pool: &PoolId, plan: &Compaction) -> Result<bool, StoreError> {
    let first = plan.base + 1;
    let mut owned = vec![
        keys::base(pool),
        keys::log(pool),
        keys::snap(pool),
        keys::archive_index(pool),
        keys::archive(pool, first),
        keys::archive_snap(pool, first),
    ];
    if let Some(oldest) = plan.drop_oldest {
        owned.push(keys::archive(pool, oldest));
        owned.push(keys::archive_snap(pool, oldest));
    }
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (base, count, first) = (
        plan.base.to_string(),
        plan.count.to_string(),
        first.to_string(),
    );
    let mut reply = scripts::ROTATE.call(
        conn,
        &names,
        &[
            base.as_bytes(),
            count.as_bytes(),
            &plan.snapshot,
            plan.segment_start.as_deref().unwrap_or_default(),
            first.as_bytes(),
        ],
    )?;
    match status(&mut reply)?.as_str() {
        "OK" => Ok(true),
        "MOVED" => Ok(false),
        other => Err(reply.unexpected(other)),
    }
}

fn mget(conn: &Connection, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
    let params: Vec<_> = names
        .iter()
        .map(|name| RedisParameter::Binary(name.clone().into_bytes()))
        .collect();
    let values = conn
        .execute("MGET", &params)
        .map_err(|e| StoreError::from_redis("MGET", &e))?;
    if values.len() != names.len() {
        return Err(StoreError::Data(format!(
            "MGET of {} keys returned {} values",
            names.len(),
            values.len()
        )));
    }
    values
        .into_iter()
        .map(|value| match value {
            RedisResult::Nil => Ok(None),
            RedisResult::Binary(bytes) => Ok(Some(bytes)),
            other => Err(StoreError::Data(format!("MGET returned {other:?}"))),
        })
        .collect()
}

/// Reads request records (`None` where there is none), in order.
pub fn records(
    conn: &Connection,
    pool: &PoolId,
    requests: &[RequestId],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut out = Vec::with_capacity(requests.len());
    for batch in requests.chunks(512) {
        let names: Vec<String> = batch.iter().map(|r| keys::request(pool, r)).collect();
        for value in mget(conn, &names)? {
            out.push(
                value
                    .map(String::from_utf8)
                    .transpose()
                    .map_err(|_| StoreError::Data("a request record is not UTF-8".into()))?,
            );
        }
    }
    Ok(out)
}
