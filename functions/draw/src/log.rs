//! `GET /v1/pools/{pool}/log?after=&limit=`: log entries with the outcomes
//! replay gives them, for auditors.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::pool::{PoolId, history};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::route::query_number;

use crate::{commit, errors, store};

/// The most entries one page holds.
pub const MAX_LIMIT: u64 = 1000;

/// `GET /v1/pools/{pool}/log`.
pub fn get(pool: &PoolId, query: &str) -> Result<Response, ApiError> {
    let after = query_number(query, "after", 0, 0..=u64::MAX)?;
    let limit = query_number(query, "limit", 100, 1..=MAX_LIMIT)?;
    let conn = store::connect()?;
    let tail = store::read(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let mut computed = commit::computed(&conn, pool, &tail)?;
    if after < computed.start.seq() {
        let history = store::history(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
        computed = history::oldest(pool, &history).map_err(errors::unrecoverable)?;
    }
    // The oldest entry kept anywhere: the archive's first segment, or the
    // live log when nothing was archived.
    let retained_from = store::segment_firsts(&conn, pool)?
        .first()
        .copied()
        .unwrap_or(tail.base + 1);
    let entries: Vec<_> = computed
        .entries
        .iter()
        .zip(&computed.replayed.outcomes)
        .filter(|((seq, _), _)| *seq > after)
        .take(limit as usize)
        .map(|((seq, entry), (_, outcome))| {
            json!({ "seq": seq, "line": entry.encode(), "outcome": outcome })
        })
        .collect();
    let next_after = entries.last().and_then(|e| e["seq"].as_u64());
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "retained_from": retained_from,
            "last_seq": computed.seq(),
            "entries": entries,
            "next_after": next_after,
        }),
    ))
}
