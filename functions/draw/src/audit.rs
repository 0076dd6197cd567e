//! `GET /v1/pools/{pool}/audit` (operator): the core's audit of everything
//! retained, against the request records.

use spin_sdk::http::Response;
use tombola_core::pool::{PoolId, audit};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::{errors, store};

/// `GET /v1/pools/{pool}/audit`.
pub fn run(pool: &PoolId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let history = store::history(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let prepared = audit::prepare(pool, &history).map_err(errors::unrecoverable)?;
    let records = store::records(&conn, pool, prepared.requests())?;
    let report = prepared.finish(records);
    tracing::info!(
        pool = %pool,
        entries = report.entries_replayed,
        checked = report.outcomes_checked,
        mismatches = report.mismatches.len(),
        conserved = report.conserved,
        "audit finished"
    );
    Ok(answer::json(200, &report))
}
