//! Operator routes: restock, close, recover (compaction).

use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::pool::history;
use tombola_core::pool::{Command, ItemId, PoolId, RequestId, decide};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::commit::{self, state_of};
use crate::{backend, errors, request, store};

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
) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let computed = commit::load(&conn, pool)?;
    let entry = decide(Some(state_of(&computed, pool)?), command).map_err(errors::decide)?;
    let committed = commit::commit(&conn, pool, &request, &entry, None)?;
    tracing::info!(pool = %pool, request = %request, seq = committed.seq, outcome = ?committed.outcome, "operator change");
    Ok(answer::json(
        200,
        &json!({
            "pool": pool, "request_id": request, "seq": committed.seq,
            "outcome": committed.outcome, "replay": committed.replay,
        }),
    ))
}

/// `POST /v1/pools/{pool}/restock` (operator).
pub fn restock(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let ask: RestockRequest = request::json(body)?;
    let request = ask
        .request_id
        .unwrap_or_else(|| generated_request("restock"));
    let command = Command::Restock {
        item: ask.item,
        quantity: ask.quantity,
    };
    operator_change(pool, command, request)
}

/// `POST /v1/pools/{pool}/close` (operator).
pub fn close(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let ask: CloseRequest = request::json(body)?;
    let request = ask.request_id.unwrap_or_else(|| generated_request("close"));
    operator_change(pool, Command::Close, request)
}

/// `POST /v1/pools/{pool}/recover` (operator): replays the log from the
/// newest usable snapshot, writes a new snapshot, and moves the replayed
/// entries into a new archive segment (dropping the oldest segment when
/// the archive is full), as the core plans it.
pub fn recover(pool: &PoolId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let history = store::history(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let computed = history::newest(pool, &history, Vec::new()).map_err(errors::unrecoverable)?;
    let max_segments = tombola_edge::settings::number("archive_segments", 8).max(1) as usize;
    let plan = history::compaction(pool, &history, &computed, max_segments)
        .map_err(errors::unrecoverable)?;
    if plan.count == 0 {
        store::record_outcome(
            &conn,
            pool,
            store::Recording {
                snapshot: Some((plan.seq, &plan.snapshot)),
                ..store::Recording::default()
            },
        )?;
    } else if !store::rotate(&conn, pool, &plan)? {
        return Err(ApiError::conflict(
            "recover-raced",
            "another recover compacted the log at the same time; retry",
        ));
    }
    let archived = (plan.count > 0).then_some(plan.base + 1);
    tracing::info!(
        pool = %pool,
        seq = plan.seq,
        replayed = computed.entries.len(),
        archived = plan.count,
        dropped = plan.drop_oldest.unwrap_or_default(),
        "pool recovered"
    );
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "seq": plan.seq,
            "replayed_from": computed.start.seq(),
            "entries_replayed": computed.entries.len(),
            "snapshot_seq": plan.seq,
            "archived_entries": plan.count,
            "archive_segment": archived,
            "dropped_segment": plan.drop_oldest,
            "skipped": computed.skipped,
        }),
    ))
}
