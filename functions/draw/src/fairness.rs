//! Rules 2 routes: `POST /v1/pools/{pool}/rotate` (operator), `GET
//! /v1/pools/{pool}/fairness` and `GET
//! /v1/pools/{pool}/draws/{request_id}/proof`. No answer carries a server
//! seed before the ROTATE entry that reveals it.

use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;
use spin_sdk::redis::Connection;
use tombola_core::pool::proof::{self, ProveError};
use tombola_core::pool::{PoolId, Record, RequestId, ServerSeed, history, provable};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::commit::{self, state_of};
use crate::pools::fairness_view;
use crate::{backend, errors, request, store};

// Attempts before a rotation that keeps meeting another gives up.
const ROTATE_ATTEMPTS: usize = 3;

/// A rotation done: the ROTATE entry's position, the seed it revealed and
/// the next seed in force.
#[derive(Debug)]
pub struct Rotated {
    /// The ROTATE entry's sequence number.
    pub seq: u64,
    /// The server seed now revealed.
    pub revealed: ServerSeed,
    /// The next server seed (secret).
    pub next: ServerSeed,
}

/// Rotates a rules-2 pool's server seed: `None` when the pool has none (it
/// is not under rules 2). 409 when other rotations keep coming first.
pub fn rotate_seed(conn: &Connection, pool: &PoolId) -> Result<Option<Rotated>, ApiError> {
    for _ in 0..ROTATE_ATTEMPTS {
        let Some(current) = store::server_seed(conn, pool)? else {
            return Ok(None);
        };
        let next = backend::server_seed();
        let line = provable::rotate_entry(&current, &next).encode();
        if let Some(seq) = store::reseed(conn, pool, &current, &line, &next)? {
            tracing::info!(pool = %pool, seq, "server seed rotated");
            return Ok(Some(Rotated {
                seq,
                revealed: current,
                next,
            }));
        }
        tracing::debug!(pool = %pool, "another rotation came first; trying again");
    }
    Err(ApiError::conflict(
        "rotation-contended",
        "other rotations kept coming first; retry",
    ))
}

fn not_fair(pool: &PoolId) -> ApiError {
    ApiError::conflict(
        "pool-not-fair",
        format!("pool {pool} is not under rules 2: it has no server seed to commit or rotate"),
    )
}

/// `POST .../rotate` body: nothing yet, but a body that is not `{}` is
/// refused rather than ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {}

/// `POST /v1/pools/{pool}/rotate` (operator): reveals the server seed in
/// force and commits the next. Each call rotates once more.
pub fn rotate(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let RotateRequest {} = request::json(body)?;
    let conn = store::connect()?;
    commit::load(&conn, pool)?;
    let rotated = rotate_seed(&conn, pool)?.ok_or_else(|| not_fair(pool))?;
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "seq": rotated.seq,
            "revealed": {
                "commitment": rotated.revealed.commitment().to_string(),
                "server_seed": rotated.revealed.reveal(),
            },
            "commitment": rotated.next.commitment().to_string(),
        }),
    ))
}

/// `GET /v1/pools/{pool}/fairness`: the commitment in force and every
/// commitment and reveal retained, with their log positions.
pub fn get(pool: &PoolId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let history = store::history(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let computed = history::oldest(pool, &history).map_err(errors::unrecoverable)?;
    let state = state_of(&computed, pool)?;
    let current = fairness_view(state).ok_or_else(|| not_fair(pool))?;
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "rules": state.rules().version(),
            "current": current,
            "seeds": proof::seeds(&computed.entries),
        }),
    ))
}

/// `GET /v1/pools/{pool}/draws/{request_id}/proof`: what a player needs to
/// recompute one rules-2 draw.
pub fn proof(pool: &PoolId, request: &RequestId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let record = store::records(&conn, pool, std::slice::from_ref(request))?
        .pop()
        .flatten()
        .ok_or_else(|| {
            ApiError::not_found(
                "no-such-draw",
                "No such draw",
                format!("no draw {request} is recorded in pool {pool}"),
            )
        })?;
    let record = Record::decode(&record).map_err(errors::record)?;
    let history = store::history(&conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let proof = proof::prove(pool, &history, record.seq).map_err(|error| match error {
        ProveError::Unrecoverable(error) => errors::unrecoverable(error),
        ProveError::NotRetained(_) => {
            ApiError::not_found("draw-not-retained", "Draw not retained", error.to_string())
        }
        ProveError::NotFairDraw(_) => ApiError::conflict("not-a-fair-draw", error.to_string()),
    })?;
    Ok(answer::json(200, &proof))
}
