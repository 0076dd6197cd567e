//! `GET /v1/pools/{pool}/log?after=&limit=`: log entries with the outcomes
//! replay gives them, for auditors.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::PoolId;

use crate::ledger::{self, Ledger};
use crate::problem::{self, Problem};
use crate::{request, store};

/// The most entries one page holds.
pub const MAX_LIMIT: u64 = 1000;

/// `GET /v1/pools/{pool}/log`.
pub fn get(pool: &PoolId, query: &str) -> Result<Response, Problem> {
    let after = request::query_number(query, "after", 0, 0..=u64::MAX)?;
    let limit = request::query_number(query, "limit", 100, 1..=MAX_LIMIT)?;
    let conn = store::connect()?;
    let (_, tail) =
        store::read(&conn, pool, None)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
    let mut ledger: Ledger = ledger::from_tail(&conn, pool, &tail)?;
    if after < ledger::start_seq(&ledger.start) {
        let history =
            store::history(&conn, pool)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
        ledger = ledger::oldest(pool, &history)?;
    }
    // The oldest entry kept anywhere: the archive's first segment, or the
    // live log when nothing was archived.
    let retained_from = store::segment_firsts(&conn, pool)?
        .first()
        .copied()
        .unwrap_or(tail.base + 1);
    let entries: Vec<_> = ledger
        .entries
        .iter()
        .zip(&ledger.replayed.outcomes)
        .filter(|((seq, _), _)| *seq > after)
        .take(limit as usize)
        .map(|((seq, entry), (_, outcome))| {
            json!({ "seq": seq, "line": entry.encode(), "outcome": outcome })
        })
        .collect();
    let next_after = entries.last().and_then(|e| e["seq"].as_u64());
    Ok(problem::json(
        200,
        &json!({
            "pool": pool,
            "retained_from": retained_from,
            "last_seq": ledger.seq(),
            "entries": entries,
            "next_after": next_after,
        }),
    ))
}
