//! Rules 2 routes: `POST /v1/pools/{pool}/rotate` (operator), `GET
//! /v1/pools/{pool}/fairness` and `GET
//! /v1/pools/{pool}/draws/{request_id}/proof`. No answer carries a server
//! seed before the ROTATE entry that reveals it.

use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;
use spin_sdk::redis::Connection;
use tombola_core::pool::proof::{self, ProveError};
use tombola_core::pool::{Fingerprint, PoolId, Record, RequestId, ServerSeed, history, provable};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::commit::{self, state_of};
use crate::pools::fairness_view;
use crate::store::Reseeded;
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

/// What rotating did.
#[derive(Debug)]
pub enum Rotation {
    /// Rotated now.
    Rotated(Rotated),
    /// The request id has a record: a rotation already made for it.
    Recorded(Record),
    /// The pool has no server seed: it is not under rules 2.
    NotFair,
}

/// Rotates a rules-2 pool's server seed, at most once for `request` when
/// one is given. 409 when other rotations keep coming first.
pub fn rotate_seed(
    conn: &Connection,
    pool: &PoolId,
    request: Option<&RequestId>,
) -> Result<Rotation, ApiError> {
    let request = request.map(|request| (request, commit::record_ttl_secs()));
    for _ in 0..ROTATE_ATTEMPTS {
        let Some(current) = store::server_seed(conn, pool)? else {
            return Ok(Rotation::NotFair);
        };
        let next = backend::server_seed();
        let line = provable::rotate_entry(&current, &next).encode();
        match store::reseed(conn, pool, &current, &line, &next, request)? {
            Reseeded::Rotated(seq) => {
                tracing::info!(pool = %pool, seq, request = ?request.map(|(r, _)| r.as_str()), "server seed rotated");
                return Ok(Rotation::Rotated(Rotated {
                    seq,
                    revealed: current,
                    next,
                }));
            }
            Reseeded::Recorded(record) => return Ok(Rotation::Recorded(record)),
            Reseeded::Moved => {
                tracing::debug!(pool = %pool, "another rotation came first; trying again");
            }
        }
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

/// `POST .../rotate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Chosen by the operator: the pool rotates at most once for it, and a
    /// retry with the same id gets the same answer.
    pub request_id: RequestId,
}

/// `POST /v1/pools/{pool}/rotate` (operator): reveals the server seed in
/// force and commits the next, once per request id.
pub fn rotate(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let RotateRequest { request_id } = request::json(body)?;
    let conn = store::connect()?;
    commit::load(&conn, pool)?;
    let rotated = match rotate_seed(&conn, pool, Some(&request_id))? {
        Rotation::Rotated(rotated) => rotated,
        Rotation::Recorded(record) => return recorded_rotation(&conn, pool, &request_id, &record),
        Rotation::NotFair => return Err(not_fair(pool)),
    };
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "request_id": request_id,
            "seq": rotated.seq,
            "replay": false,
            "revealed": {
                "commitment": rotated.revealed.commitment().to_string(),
                "server_seed": rotated.revealed.reveal(),
            },
            "commitment": rotated.next.commitment().to_string(),
        }),
    ))
}

// A retried rotation: the answer its ROTATE entry gives, read back from the
// log (the seed it revealed, the commitment it published).
fn recorded_rotation(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    record: &Record,
) -> Result<Response, ApiError> {
    if !record.answers(&Fingerprint::Rotate) {
        return Err(errors::request_id_reused(request, record.seq));
    }
    let history = store::history(conn, pool)?.ok_or_else(|| errors::no_pool(pool.as_str()))?;
    let computed = history::oldest(pool, &history).map_err(errors::unrecoverable)?;
    let seeds = proof::seeds(&computed.entries);
    let revealed = seeds.iter().find(|s| s.revealed_at == Some(record.seq));
    let next = seeds.iter().find(|s| s.committed_at == record.seq);
    let (Some(revealed), Some(next)) = (revealed, next) else {
        return Err(ApiError::not_found(
            "rotation-not-retained",
            "Rotation not retained",
            format!(
                "rotation {request} is log entry {}, which is no longer retained",
                record.seq
            ),
        ));
    };
    tracing::debug!(pool = %pool, request = %request, seq = record.seq, "rotation answered from its record");
    Ok(answer::json(
        200,
        &json!({
            "pool": pool,
            "request_id": request,
            "seq": record.seq,
            "replay": true,
            "revealed": {
                "commitment": revealed.commitment,
                "server_seed": revealed.server_seed,
            },
            "commitment": next.commitment,
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
