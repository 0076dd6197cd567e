//! Committing an entry for a request id: append it (once), compute its
//! outcome by replay, record the outcome, and write a snapshot when one is
//! due. This is the one place that alternates between Redis and the core:
//! when the core says the tail is not enough, it reads the history and
//! asks again.

use spin_sdk::redis::Connection;
use tombola_core::pool::history::{self, Computed, FromTail, Tail};
use tombola_core::pool::provable::{self, FairDrawLine, Receipt};
use tombola_core::pool::{Entry, Fingerprint, Outcome, PoolId, PoolState, Record, RequestId};
use tombola_edge::error::ApiError;

use crate::errors;
use crate::store::{self, Appended, DrawAppended, Recording};

/// How long a request id's record is kept, and so how long a retry is
/// answered from it.
pub fn record_ttl_secs() -> u64 {
    tombola_edge::settings::number("request_ttl_secs", 86_400)
}

/// An entry in the log, with its outcome.
#[derive(Debug)]
pub struct Committed {
    /// The entry's sequence number.
    pub seq: u64,
    /// What the entry did.
    pub outcome: Outcome,
    /// Whether an earlier request with the same id appended it.
    pub replay: bool,
    /// A rules-2 draw's client seed, nonce and commitment, also when the
    /// answer comes from the request's record.
    pub receipt: Option<Receipt>,
}

/// Extra state saved atomically with the outcome record: a key of the
/// pool, its JSON and its TTL.
pub type SaveWith<'a> = &'a dyn Fn(&Committed) -> Option<(String, String, u64)>;

/// Appends `entry` for `request` unless the request id was used, and
/// returns the entry's outcome. What the record keeps to catch a reused id
/// is the entry's [`Fingerprint`].
///
/// 404 when the pool does not exist; 409 when the request id was used with
/// another request; 503 when Redis is unreachable (with an unknown outcome
/// once the append was sent: a retry with the same id is safe); 422 when
/// the stored history cannot be replayed.
pub fn commit(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    entry: &Entry,
    save_with: Option<SaveWith<'_>>,
) -> Result<Committed, ApiError> {
    let fingerprint = fingerprint_of(entry)?;
    let appended = store::append(
        conn,
        pool,
        request,
        &entry.encode(),
        &fingerprint,
        record_ttl_secs(),
    )?;
    settle(conn, pool, request, &fingerprint, appended, save_with)
}

/// What committing a draw did.
#[derive(Debug)]
pub enum DrawCommitted {
    /// The draw's entry, with its outcome.
    Committed(Box<Committed>),
    /// A client seed for a pool not under rules 2: nothing was written.
    NotFair,
    /// The rules-2 pool must rotate its server seed first: nothing was
    /// written.
    RotationDue,
}

/// Appends a draw or an operation's chunk for `request` unless the request
/// id was used: `entry` (DRAW/1, CHUNK/1) on a pool of rules 1, `fair`
/// (DRAW/2, CHUNK/2) with the next nonce on a rules-2 pool, as the script
/// decides in the same step as the append. Errors as [`commit`].
pub fn commit_draw(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    entry: &Entry,
    fair: &FairDrawLine,
    client_seed_given: bool,
    save_with: Option<SaveWith<'_>>,
) -> Result<DrawCommitted, ApiError> {
    let fingerprint = fingerprint_of(entry)?;
    let rules_1 = entry.encode();
    let lines = store::DrawLines {
        rules_1: &rules_1,
        rules_2: fair,
        client_seed_given,
    };
    let appended =
        store::append_draw(conn, pool, request, &lines, &fingerprint, record_ttl_secs())?;
    match appended {
        DrawAppended::NotFair => Ok(DrawCommitted::NotFair),
        DrawAppended::RotationDue => Ok(DrawCommitted::RotationDue),
        DrawAppended::Appended(appended) => {
            let committed = settle(conn, pool, request, &fingerprint, appended, save_with)?;
            Ok(DrawCommitted::Committed(Box::new(committed)))
        }
    }
}

fn fingerprint_of(entry: &Entry) -> Result<Fingerprint, ApiError> {
    Fingerprint::of(entry).ok_or_else(|| {
        ApiError::from(tombola_edge::redis::StoreError::Data(format!(
            "entry {} is not one a request appends",
            entry.encode()
        )))
    })
}

// Checks the record an append left and computes, records and answers the
// entry's outcome.
fn settle(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    fingerprint: &Fingerprint,
    appended: Appended,
    save_with: Option<SaveWith<'_>>,
) -> Result<Committed, ApiError> {
    let (record, tail, fresh) = match appended {
        Appended::NoPool => return Err(errors::no_pool(pool.as_str())),
        Appended::New(record, tail) => (record, tail, true),
        Appended::Duplicate(record, tail) => (record, tail, false),
    };
    if !record.answers(fingerprint) {
        return Err(errors::request_id_reused(request, record.seq));
    }
    if fresh {
        tracing::debug!(pool = %pool, request = %request, seq = record.seq, "entry appended");
    } else {
        tracing::debug!(pool = %pool, request = %request, seq = record.seq, "request id seen before");
    }
    if let Some(outcome) = record.outcome {
        // A rules-2 pool (its tail holds the seed in force): the retry
        // carries the receipt the first answer did, from the entry.
        let receipt = match tail.secret {
            Some(_) => provable::receipt(&containing(conn, pool, &tail, record.seq)?, record.seq),
            None => None,
        };
        return Ok(Committed {
            seq: record.seq,
            outcome,
            replay: true,
            receipt,
        });
    }

    let computed = containing(conn, pool, &tail, record.seq)?;
    let outcome = computed.outcome(record.seq).cloned().ok_or_else(|| {
        errors::unrecoverable(history::Unrecoverable {
            position: format!("log entry {}", record.seq),
            reason: "is not in the replayed history".into(),
        })
    })?;
    let committed = Committed {
        seq: record.seq,
        outcome,
        replay: !fresh,
        receipt: provable::receipt(&computed, record.seq),
    };
    let snapshot = computed.due_snapshot();
    let encoded = snapshot.as_ref().map(|s| (s.seq, s.encode()));
    let extra = save_with.and_then(|f| f(&committed));
    let recorded = Record {
        outcome: Some(committed.outcome.clone()),
        ..record
    };
    store::record_outcome(
        conn,
        pool,
        Recording {
            record: Some((request, &recorded)),
            snapshot: encoded
                .as_ref()
                .map(|(seq, bytes)| (*seq, bytes.as_slice())),
            operation: extra.as_ref().map(|(k, j, t)| (k.as_str(), j.as_str(), *t)),
        },
    )?;
    if let Some((seq, _)) = encoded {
        tracing::info!(pool = %pool, seq, "snapshot written");
    }
    Ok(committed)
}

// The replay that holds the entry at `seq`: from the tail, or the history
// when the core says the tail is not enough.
fn containing(
    conn: &Connection,
    pool: &PoolId,
    tail: &Tail,
    seq: u64,
) -> Result<Computed, ApiError> {
    Ok(
        match history::for_entry(pool, tail, seq).map_err(errors::unrecoverable)? {
            FromTail::Computed(computed) => *computed,
            FromTail::NeedHistory { skipped } => {
                let history =
                    store::history(conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
                tracing::warn!(pool = %pool, seq, skipped = ?skipped, "the tail is not enough; replaying the history");
                history::containing(pool, &history, seq, skipped).map_err(errors::unrecoverable)?
            }
        },
    )
}

/// The pool's state now, computed from a tail (and the history when the
/// core asks for it).
///
/// 404 when the pool does not exist.
pub fn computed(conn: &Connection, pool: &PoolId, tail: &Tail) -> Result<Computed, ApiError> {
    match history::from_tail(pool, tail).map_err(errors::unrecoverable)? {
        FromTail::Computed(computed) => Ok(*computed),
        FromTail::NeedHistory { skipped } => {
            tracing::warn!(pool = %pool, skipped = ?skipped, "snapshot unusable; replaying from the archive");
            let history =
                store::history(conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
            history::newest(pool, &history, skipped).map_err(errors::unrecoverable)
        }
    }
}

/// The pool's state now.
///
/// 404 when the pool does not exist.
pub fn load(conn: &Connection, pool: &PoolId) -> Result<Computed, ApiError> {
    let tail = store::read(conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    computed(conn, pool, &tail)
}

/// The state in `computed`, or 404 when it holds no pool (its CREATE was
/// lost).
pub fn state_of<'a>(computed: &'a Computed, pool: &PoolId) -> Result<&'a PoolState, ApiError> {
    computed
        .replayed
        .state
        .as_ref()
        .ok_or_else(|| errors::no_pool(pool.as_str()))
}
