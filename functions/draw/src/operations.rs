//! Multi-draw operations: `/v1/pools/{pool}/operations`.
//!
//! An operation runs in chunks; chunk `i` is one DRAW entry with request id
//! `<operation>#<i>`, so a chunk is appended at most once however often a
//! call is retried or raced. After each chunk the DrawState is validated
//! and saved with a TTL, atomically with the chunk's outcome record. A call
//! runs at most `chunks_per_call` chunks (a serverless time budget) and
//! answers 202 while work remains; calling again resumes from `completed`.

use serde::Deserialize;
use spin_sdk::http::Response;
use tombola_core::{
    DrawState, DrawStateCorrupted, DrawStatus, FailReason, OperationId, Outcome, PoolId, RequestId,
    decide, keys,
};

use crate::commit::{self, Committed};
use crate::pools::decide_problem;
use crate::problem::{self, Problem};
use crate::store::{self, Recording, StoreError};
use crate::{backend, request};

/// The most draws one operation may ask for.
pub const MAX_OPERATION_COUNT: u32 = 1_000_000;

/// The request body of `POST .../operations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    /// Chosen by the client; names the operation for resume and rollback.
    pub operation_id: OperationId,
    /// Draws in all.
    pub count: u32,
    /// Draws per chunk, 1 to 1000.
    #[serde(default = "default_chunk")]
    pub chunk_size: u32,
}

fn default_chunk() -> u32 {
    10
}

fn ttl_secs() -> u64 {
    backend::number_variable("operation_ttl_secs", 3600)
}

fn corrupted(key: &str, error: DrawStateCorrupted) -> Problem {
    tracing::error!(key, error = %error, "saved DrawState is corrupted");
    Problem::new(
        422,
        "draw-state-corrupted",
        "DrawStateCorrupted",
        format!("{key}: {error}"),
    )
    .with("key", key)
}

fn load_state(key: &str, json: Option<Vec<u8>>) -> Result<Option<DrawState>, Problem> {
    let Some(json) = json else {
        return Ok(None);
    };
    let text = String::from_utf8(json)
        .map_err(|_| corrupted(key, DrawStateCorrupted::Json("not UTF-8".into())))?;
    let state = DrawState::from_json(&text).map_err(|e| corrupted(key, e))?;
    Ok(Some(state))
}

fn get_state(conn: &spin_sdk::redis::Connection, key: &str) -> Result<Option<DrawState>, Problem> {
    let json = conn
        .get(key)
        .map_err(|e| StoreError::from_redis("GET operation state", &e))?;
    load_state(key, json)
}

/// `POST /v1/pools/{pool}/operations`: starts or resumes an operation.
pub fn run(pool: &PoolId, body: &[u8]) -> Result<Response, Problem> {
    let ask: OperationRequest = request::json(body)?;
    if !(1..=MAX_OPERATION_COUNT).contains(&ask.count) {
        return Err(Problem::bad_request(
            "count",
            format!("count must be from 1 to {MAX_OPERATION_COUNT}"),
        ));
    }
    if !(1..=tombola_core::MAX_DRAW_COUNT).contains(&ask.chunk_size) {
        return Err(Problem::bad_request(
            "chunk_size",
            format!(
                "chunk_size must be from 1 to {}",
                tombola_core::MAX_DRAW_COUNT
            ),
        ));
    }
    let key = keys::operation(pool, &ask.operation_id);
    let conn = store::connect()?;
    let now = backend::now_millis();
    let mut state = match get_state(&conn, &key)? {
        Some(state) => {
            if state.total != ask.count || state.chunk_size != ask.chunk_size {
                return Err(Problem::conflict(
                    "operation-mismatch",
                    format!(
                        "operation {} exists with count {} and chunk_size {}",
                        ask.operation_id, state.total, state.chunk_size
                    ),
                ));
            }
            state
        }
        None => {
            // The state is deleted by a rollback; the rollback's record
            // outlives it, and the id stays spent while it does.
            if let Some(seq) = rolled_back_at(&conn, pool, &ask.operation_id)? {
                return Err(rolled_back(&ask.operation_id, seq));
            }
            DrawState::new(&ask.operation_id, pool, ask.count, now).with_chunk_size(ask.chunk_size)
        }
    };
    match state.status {
        DrawStatus::RolledBack => {
            return Err(Problem::conflict(
                "operation-rolled-back",
                format!("operation {} was rolled back", ask.operation_id),
            ));
        }
        DrawStatus::Completed => return Ok(problem::json(200, &state)),
        DrawStatus::InProgress => {}
    }

    let budget = backend::number_variable("chunks_per_call", 8).max(1);
    let ttl = ttl_secs();
    for _ in 0..budget {
        if state.status != DrawStatus::InProgress {
            break;
        }
        let chunk = state.chunk_request().map_err(|e| corrupted(&key, e))?;
        let count = state.next_chunk_count();
        let entry = tombola_core::draw_entry(chunk.clone(), count, false, backend::seed())
            .map_err(decide_problem)?;
        let updated = |committed: &Committed| {
            let mut next = state.clone();
            let (drawn, failed) = draw_result(committed)?;
            next.record(committed.seq, drawn, failed, backend::now_millis());
            Some((key.clone(), next.to_json(), ttl))
        };
        let committed = commit::commit(
            &conn,
            pool,
            &chunk,
            &entry.encode(),
            &format!("chunk:{count}"),
            Some(&updated),
        )?;
        let (drawn, failed) = draw_result(&committed).ok_or_else(|| {
            StoreError::Data(format!("chunk {chunk} has outcome {:?}", committed.outcome))
        })?;
        state.record(committed.seq, drawn, failed, backend::now_millis());
        state.validate().map_err(|e| corrupted(&key, e))?;
        let closed = matches!(
            committed.outcome,
            Outcome::Draw {
                reason: Some(FailReason::Closed),
                ..
            }
        );
        if committed.replay {
            // Answered from the chunk's record: the state saved with it may
            // have expired, so save what was rebuilt.
            let json = state.to_json();
            store::record(
                &conn,
                pool,
                Recording {
                    operation: Some((&key, &json, ttl)),
                    ..Recording::default()
                },
            )?;
        }
        tracing::info!(
            pool = %pool,
            operation = %ask.operation_id,
            request = %chunk,
            seq = committed.seq,
            completed = state.completed,
            total = state.total,
            "chunk drawn"
        );
        if closed && state.status == DrawStatus::InProgress {
            // Every chunk after this one would fail the same way.
            return Err(Problem::conflict(
                "pool-closed",
                format!(
                    "pool {pool} is closed: operation {} stopped after {} of {} draws",
                    ask.operation_id, state.completed, state.total
                ),
            )
            .with("operation", &state));
        }
    }
    let status = if state.status == DrawStatus::Completed {
        200
    } else {
        202
    };
    Ok(problem::json(status, &state))
}

/// The record of an operation's rollback, if it was rolled back (within
/// the request records' lifetime).
fn rollback_record(
    conn: &spin_sdk::redis::Connection,
    pool: &PoolId,
    operation: &OperationId,
) -> Result<Option<store::Record>, Problem> {
    let request = RequestId::rollback(operation);
    match store::records(conn, pool, std::slice::from_ref(&request))?
        .pop()
        .flatten()
    {
        Some(record) => Ok(Some(store::Record::parse(&record)?)),
        None => Ok(None),
    }
}

/// The sequence number of an operation's rollback, if it was rolled back.
fn rolled_back_at(
    conn: &spin_sdk::redis::Connection,
    pool: &PoolId,
    operation: &OperationId,
) -> Result<Option<u64>, Problem> {
    Ok(rollback_record(conn, pool, operation)?.map(|record| record.seq))
}

fn rolled_back(operation: &OperationId, seq: u64) -> Problem {
    Problem::conflict(
        "operation-rolled-back",
        format!("operation {operation} was rolled back (log entry {seq}); start a new operation under a new id"),
    )
    .with("rollback_seq", seq)
}

fn draw_result(committed: &Committed) -> Option<(Vec<tombola_core::ItemId>, u32)> {
    match &committed.outcome {
        Outcome::Draw { drawn, failed, .. } => Some((drawn.clone(), *failed)),
        _ => None,
    }
}

/// `GET /v1/pools/{pool}/operations/{operation}`.
pub fn get(pool: &PoolId, operation: &OperationId) -> Result<Response, Problem> {
    let key = keys::operation(pool, operation);
    let conn = store::connect()?;
    if let Some(state) = get_state(&conn, &key)? {
        return Ok(problem::json(200, &state));
    }
    let detail = match rolled_back_at(&conn, pool, operation)? {
        Some(seq) => format!("operation {operation} was rolled back (log entry {seq})"),
        None => format!("operation {operation} has no saved state (never started, or expired)"),
    };
    Err(Problem::new(
        404,
        "no-saved-state",
        "No saved state",
        detail,
    ))
}

/// `POST /v1/pools/{pool}/operations/{operation}/rollback`: gives every
/// drawn item back with one RETURN entry, then deletes the saved state (or,
/// when nothing was drawn, keeps it marked rolled back).
pub fn rollback(pool: &PoolId, operation: &OperationId) -> Result<Response, Problem> {
    let key = keys::operation(pool, operation);
    let request = RequestId::rollback(operation);
    let conn = store::connect()?;
    let (saved, ledger) = commit::load(&conn, pool, Some(&key))?;
    let Some(mut state) = load_state(&key, saved)? else {
        // Already rolled back (the state is deleted once the RETURN is
        // durable): answer from the rollback's record.
        return match rollback_record(&conn, pool, operation)? {
            Some(record) => Ok(problem::json(
                200,
                &serde_json::json!({
                    "pool": pool, "operation": operation, "status": DrawStatus::RolledBack,
                    "seq": record.seq, "replay": true,
                    "outcome": record.outcome.as_deref().map(serde_json::from_str::<serde_json::Value>).transpose().map_err(|e| StoreError::Data(e.to_string()))?,
                }),
            )),
            None => Err(Problem::new(
                404,
                "no-saved-state",
                "No saved state",
                format!("operation {operation} has no saved state to roll back"),
            )),
        };
    };
    state.validate().map_err(|e| corrupted(&key, e))?;
    if state.pool != pool.as_str() || state.operation != operation.as_str() {
        return Err(corrupted(
            &key,
            DrawStateCorrupted::Json(format!(
                "saved under {key} but names pool {} and operation {}",
                state.pool, state.operation
            )),
        ));
    }
    if state.status == DrawStatus::RolledBack {
        return Ok(problem::json(
            200,
            &serde_json::json!({
                "pool": pool, "operation": operation, "status": state.status,
                "seq": null, "replay": true, "outcome": null, "state": state,
            }),
        ));
    }
    let command = state.return_command().map_err(|e| corrupted(&key, e))?;
    let (seq, outcome) = match command {
        None => (None, None),
        Some(command) => {
            let pool_state = commit::state_of(&ledger, pool)?;
            let entry = decide(Some(pool_state), command).map_err(decide_problem)?;
            let committed =
                commit::commit(&conn, pool, &request, &entry.encode(), "rollback", None)?;
            (Some(committed.seq), Some(committed.outcome))
        }
    };
    state.roll_back(backend::now_millis());
    tracing::info!(
        pool = %pool,
        operation = %operation,
        seq = seq.unwrap_or_default(),
        items = state.drawn().len(),
        "operation rolled back"
    );
    if seq.is_none() {
        // Nothing was drawn, so no RETURN (and no record of it) exists:
        // the rolled-back state itself, kept for its TTL, is what stops
        // the operation from being resumed.
        let json = state.to_json();
        store::record(
            &conn,
            pool,
            Recording {
                operation: Some((&key, &json, ttl_secs())),
                ..Recording::default()
            },
        )?;
    } else if let Err(error) = store::delete(&conn, &key) {
        // The RETURN is durable and idempotent; a stale state only makes a
        // later rollback answer from the record.
        tracing::error!(
            pool = %pool,
            operation = %operation,
            key = %key,
            error = error.message(),
            "rolled back, but the saved state could not be deleted"
        );
    }
    Ok(problem::json(
        200,
        &serde_json::json!({
            "pool": pool, "operation": operation, "status": state.status,
            "seq": seq, "replay": false, "outcome": outcome, "state": state,
        }),
    ))
}
