//! Committing an entry for a request id: append it (once), compute its
//! outcome by replay, record the outcome, and write a snapshot when the
//! tail has grown past the pool's interval. Every write path goes through
//! [`commit`], so exactly-once and the log-first rule hold everywhere.

use spin_sdk::redis::Connection;
use tombola_core::{Outcome, PoolId, PoolState, RequestId};

use crate::ledger::{self, Ledger, Start};
use crate::problem::Problem;
use crate::store::{self, Appended, Recording, StoreError};

/// How long a request id's record is kept, and so how long a retry is
/// answered from it.
pub fn record_ttl_secs() -> u64 {
    crate::backend::number_variable("request_ttl_secs", 86_400)
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
    /// The pool's state after the newest entry replayed, when this request
    /// replayed (an answer read from the record replays nothing).
    pub state: Option<PoolState>,
}

/// Extra state saved atomically with the outcome record.
pub type SaveWith<'a> = &'a dyn Fn(&Committed) -> Option<(String, String, u64)>;

/// Appends `line` for `request` unless its id was used, and returns the
/// entry's outcome.
///
/// 404 when the pool does not exist; 409 when the request id was used with
/// another body (`fingerprint`); 503 when Redis is unreachable; 422 when
/// the stored history cannot be replayed.
pub fn commit(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    line: &str,
    fingerprint: &str,
    save_with: Option<SaveWith<'_>>,
) -> Result<Committed, Problem> {
    let appended = store::append(conn, pool, request, line, fingerprint, record_ttl_secs())?;
    let (record, tail, fresh) = match appended {
        Appended::NoPool => return Err(Problem::no_pool(pool.as_str())),
        Appended::New { record, tail } => (record, tail, true),
        Appended::Duplicate { record, tail } => (record, tail, false),
    };
    if record.fingerprint != fingerprint {
        return Err(Problem::conflict(
            "request-id-reused",
            format!(
                "request id {request} was used for another request (entry {}); use a new id",
                record.seq
            ),
        )
        .with("seq", record.seq));
    }
    // Each route logs its answer at info, with the sequence number.
    if fresh {
        tracing::debug!(pool = %pool, request = %request, seq = record.seq, "entry appended");
    } else {
        tracing::debug!(pool = %pool, request = %request, seq = record.seq, "request id seen before");
    }
    if let Some(json) = &record.outcome {
        let outcome = serde_json::from_str(json).map_err(|e| {
            StoreError::Data(format!("recorded outcome of {request} is not valid: {e}"))
        })?;
        return Ok(Committed {
            seq: record.seq,
            outcome,
            replay: true,
            state: None,
        });
    }

    let mut ledger = ledger::from_tail(conn, pool, &tail)?;
    if ledger.replayed.outcome(record.seq).is_none() {
        // A retry of a request whose entry is already behind the newest
        // snapshot: replay what the archive keeps.
        let history = store::history(conn, pool)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
        ledger = ledger::oldest(pool, &history)?;
    }
    let outcome = ledger
        .replayed
        .outcome(record.seq)
        .cloned()
        .ok_or_else(|| {
            StoreError::Data(format!(
                "entry {} of request {request} is no longer retained",
                record.seq
            ))
        })?;
    let committed = Committed {
        seq: record.seq,
        outcome,
        replay: !fresh,
        state: ledger.replayed.state.clone(),
    };
    let snapshot = snapshot_due(&ledger)
        .then(|| ledger.replayed.snapshot())
        .flatten();
    let snapshot = snapshot.map(|s| s.encode());
    let outcome_json = serde_json::to_string(&committed.outcome).expect("outcomes serialize");
    let extra = save_with.and_then(|f| f(&committed));
    store::record(
        conn,
        pool,
        Recording {
            record: Some((request, &record, &outcome_json)),
            snapshot: snapshot.as_deref(),
            operation: extra.as_ref().map(|(k, j, t)| (k.as_str(), j.as_str(), *t)),
        },
    )?;
    if snapshot.is_some() {
        tracing::info!(pool = %pool, seq = ledger.seq(), "snapshot written");
    }
    Ok(committed)
}

/// Whether the replayed tail is long enough (or the snapshot it should
/// have started from was unusable) to store a new snapshot.
pub fn snapshot_due(ledger: &Ledger) -> bool {
    let Some(state) = &ledger.replayed.state else {
        return false;
    };
    let every = u64::from(state.config().snapshot_every().max(1));
    let from = match &ledger.start {
        Start::Beginning => 0,
        Start::Snapshot { seq, .. } => *seq,
    };
    !ledger.skipped.is_empty() || ledger.seq().saturating_sub(from) >= every
}

/// The pool's state now: reads the snapshot and tail (and `extra`).
///
/// 404 when the pool does not exist.
pub fn load(
    conn: &Connection,
    pool: &PoolId,
    extra: Option<&str>,
) -> Result<(Option<Vec<u8>>, Ledger), Problem> {
    let (extra, tail) =
        store::read(conn, pool, extra)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
    let ledger = ledger::from_tail(conn, pool, &tail)?;
    Ok((extra, ledger))
}

/// The state in `ledger`, or 404 when it holds no pool (its CREATE was
/// lost).
pub fn state_of<'a>(ledger: &'a Ledger, pool: &PoolId) -> Result<&'a PoolState, Problem> {
    ledger
        .replayed
        .state
        .as_ref()
        .ok_or_else(|| Problem::no_pool(pool.as_str()))
}
