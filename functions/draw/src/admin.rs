//! Operator routes: restock, close, recover (compaction).

use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::{Command, ItemId, PoolId, RequestId, Snapshot, decide};

use crate::commit::{self, state_of};
use crate::ledger::{self, Start};
use crate::pools::decide_problem;
use crate::problem::{self, Problem};
use crate::store::{self, Recording, Rotation};
use crate::{backend, request};

/// `POST .../restock` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestockRequest {
    /// The item to add units to.
    pub item: ItemId,
    /// How many units, at least 1.
    pub quantity: u64,
    /// Optional: makes a retry safe.
    pub request_id: Option<RequestId>,
}

/// `POST .../close` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Optional: makes a retry safe.
    pub request_id: Option<RequestId>,
}

fn generated_request(prefix: &str) -> RequestId {
    RequestId::new(&format!("{prefix}-{:016x}", backend::seed()))
        .expect("a prefix and hex digits form a valid id")
}

fn operator_change(
    pool: &PoolId,
    command: Command,
    request: RequestId,
    fingerprint: &str,
) -> Result<Response, Problem> {
    let conn = store::connect()?;
    let (_, ledger) = commit::load(&conn, pool, None)?;
    let entry = decide(Some(state_of(&ledger, pool)?), command).map_err(decide_problem)?;
    let committed = commit::commit(&conn, pool, &request, &entry.encode(), fingerprint, None)?;
    tracing::info!(pool = %pool, request = %request, seq = committed.seq, outcome = ?committed.outcome, "operator change");
    Ok(problem::json(
        200,
        &json!({
            "pool": pool, "request_id": request, "seq": committed.seq,
            "outcome": committed.outcome, "replay": committed.replay,
        }),
    ))
}

/// `POST /v1/pools/{pool}/restock` (operator).
pub fn restock(pool: &PoolId, body: &[u8]) -> Result<Response, Problem> {
    let ask: RestockRequest = request::json(body)?;
    let request = ask
        .request_id
        .unwrap_or_else(|| generated_request("restock"));
    let fingerprint = format!("restock:{}:{}", ask.item, ask.quantity);
    let command = Command::Restock {
        item: ask.item,
        quantity: ask.quantity,
    };
    operator_change(pool, command, request, &fingerprint)
}

/// `POST /v1/pools/{pool}/close` (operator).
pub fn close(pool: &PoolId, body: &[u8]) -> Result<Response, Problem> {
    let ask: CloseRequest = request::json(body)?;
    let request = ask.request_id.unwrap_or_else(|| generated_request("close"));
    operator_change(pool, Command::Close, request, "close")
}

/// `POST /v1/pools/{pool}/recover` (operator): replays the log from the
/// newest usable snapshot, writes a new snapshot, and moves the replayed
/// entries into a new archive segment (dropping the oldest segment when
/// the archive is full).
pub fn recover(pool: &PoolId) -> Result<Response, Problem> {
    let conn = store::connect()?;
    let history = store::history(&conn, pool)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
    let ledger = ledger::newest(pool, &history, Vec::new())?;
    let state = state_of(&ledger, pool)?.clone();
    let seq = ledger.seq();
    let snapshot = Snapshot { seq, state }.encode();
    let live = &history.live;
    let count = live.lines.len() as u64;
    let mut archived = None;
    let mut dropped = None;
    if count == 0 {
        store::record(
            &conn,
            pool,
            Recording {
                snapshot: Some(&snapshot),
                ..Recording::default()
            },
        )?;
    } else {
        let segment_start = match (&ledger.start, &live.snapshot) {
            (Start::Snapshot { seq, .. }, Some(bytes)) if *seq == live.base => Some(bytes.clone()),
            _ if live.base == 0 => None,
            _ => ledger::snapshot_at(pool, &history, live.base)?.map(|s| s.encode()),
        };
        let max_segments = backend::number_variable("archive_segments", 8).max(1) as usize;
        dropped = (history.segments.len() >= max_segments).then(|| history.segments[0].first);
        let moved = store::rotate(
            &conn,
            pool,
            Rotation {
                base: live.base,
                count,
                snapshot: &snapshot,
                segment_start: segment_start.as_deref(),
                drop_oldest: dropped,
            },
        )?;
        if !moved {
            return Err(Problem::conflict(
                "recover-raced",
                "another recover compacted the log at the same time; retry",
            ));
        }
        archived = Some(live.base + 1);
    }
    tracing::info!(
        pool = %pool,
        seq,
        replayed = ledger.entries.len(),
        archived = count,
        dropped = dropped.unwrap_or_default(),
        "pool recovered"
    );
    Ok(problem::json(
        200,
        &json!({
            "pool": pool,
            "seq": seq,
            "replayed_from": ledger::start_seq(&ledger.start),
            "entries_replayed": ledger.entries.len(),
            "snapshot_seq": seq,
            "archived_entries": count,
            "archive_segment": archived,
            "dropped_segment": dropped,
            "skipped": ledger.skipped,
        }),
    ))
}
