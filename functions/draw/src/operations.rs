//! Multi-draw operations: `/v1/pools/{pool}/operations`.
//!
//! Parse, ask the core's lifecycle ([`tombola_core::pool::operation`]),
//! persist, answer. Chunk `i` is one CHUNK entry (CHUNK/2 with the next
//! nonce on a rules-2 pool, taken by the append script) under request id
//! `<operation>#<i>`, appended at most once however often a call is retried
//! or raced; the DrawState is saved with each chunk's outcome record. A
//! call runs at most `chunks_per_call` chunks (a serverless time budget)
//! and answers 202 while work remains. A rollback is one RETURN entry: the
//! log decides what it gives back and which chunks fail after it.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::pool::operation::{self, OperationError, OperationRequest, Rollback, Run, Step};
use tombola_core::pool::provable::FairDrawLine;
use tombola_core::pool::{
    DrawState, DrawStatus, OperationId, PoolId, RequestId, chunk_entry, keys, rollback_entry,
};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::commit::{self, Committed};
use crate::store::{self, OperationKeys, Recording};
use crate::{backend, draws, errors, request};

fn ttl_secs() -> u64 {
    tombola_edge::settings::number("operation_ttl_secs", 3600)
}

/// The end of the rollback window for an entry appended at `now`.
fn window_end(now: u64) -> u64 {
    now.saturating_add(ttl_secs().saturating_mul(1000))
}

fn saved(
    pool: &PoolId,
    operation: &OperationId,
    keys: &OperationKeys,
) -> Result<Option<DrawState>, ApiError> {
    keys.state
        .as_deref()
        .map(|json| {
            DrawState::load(json, pool, operation)
                .map_err(|e| errors::corrupted(&keys::operation(pool, operation), &e))
        })
        .transpose()
}

/// `POST /v1/pools/{pool}/operations`: starts or resumes an operation.
pub fn run(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let ask: OperationRequest = request::json(body)?;
    ask.validate().map_err(errors::operation)?;
    let key = keys::operation(pool, &ask.operation_id);
    let conn = store::connect()?;
    let found = store::operation_keys(&conn, pool, &ask.operation_id)?;
    let saved = saved(pool, &ask.operation_id, &found)?;
    let rolled_back = found.rollback.as_ref().map(|record| record.seq);
    let mut state = match operation::start(pool, &ask, saved, rolled_back, backend::now_millis())
        .map_err(errors::operation)?
    {
        Run::Done(state) => return Ok(answer::json(200, &state)),
        Run::Draw(state) => state,
    };

    let budget = tombola_edge::settings::number("chunks_per_call", 8).max(1);
    let ttl = ttl_secs();
    for _ in 0..budget {
        let now = backend::now_millis();
        let index = state.next_chunk();
        let (count, until) = (state.next_chunk_count(), window_end(now));
        let entry = chunk_entry(&state.operation, index, count, backend::seed(), now, until)
            .map_err(errors::decide)?;
        // The script appends the CHUNK/2 line on a rules-2 pool.
        let client_seed = draws::client_seed(ask.client_seed.clone());
        let fair = FairDrawLine::chunk(&state.operation, index, count, client_seed, now, until)
            .map_err(errors::decide)?;
        // The state saved with the chunk's record: what the chunk makes
        // it, or as it stands when a closed pool stopped it; nothing when
        // the rollback landed first (its state is the rolled-back one).
        let next = |committed: &Committed| {
            let mut next = state.clone();
            match operation::after_chunk(&mut next, committed.seq, &committed.outcome, now) {
                Ok(_) | Err(OperationError::PoolClosed { .. }) => {
                    Some((key.clone(), next.to_json(), ttl))
                }
                Err(_) => None,
            }
        };
        let request = RequestId::chunk(&state.operation, index);
        let given = ask.client_seed.is_some();
        let committed =
            draws::committed_draw(&conn, pool, &request, &entry, &fair, given, Some(&next))?;
        let step = operation::after_chunk(&mut state, committed.seq, &committed.outcome, now)
            .map_err(errors::operation)?;
        if committed.replay {
            // Answered from the chunk's record: the state saved with it may
            // have expired, so save what was rebuilt.
            let json = state.to_json();
            store::record_outcome(
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
            operation = %state.operation,
            request = %request,
            seq = committed.seq,
            completed = state.completed,
            total = state.total,
            "chunk drawn"
        );
        if step == Step::Done {
            return Ok(answer::json(200, &state));
        }
    }
    Ok(answer::json(202, &state))
}

/// `GET /v1/pools/{pool}/operations/{operation}`.
pub fn get(pool: &PoolId, operation: &OperationId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let found = store::operation_keys(&conn, pool, operation)?;
    let saved = saved(pool, operation, &found)?;
    let rolled_back = found.rollback.as_ref().map(|record| record.seq);
    let state = operation::view(operation, saved, rolled_back).map_err(errors::operation)?;
    Ok(answer::json(200, &state))
}

/// `POST /v1/pools/{pool}/operations/{operation}/rollback`: appends one
/// RETURN entry for the operation (once), which gives back exactly what
/// its chunks drew before it, and keeps the state marked rolled back.
pub fn rollback(pool: &PoolId, operation: &OperationId) -> Result<Response, ApiError> {
    let key = keys::operation(pool, operation);
    let conn = store::connect()?;
    let found = store::operation_keys(&conn, pool, operation)?;
    let saved = saved(pool, operation, &found)?;
    let mut state =
        match operation::roll_back(operation, saved, found.rollback).map_err(errors::operation)? {
            Rollback::Answered(state) => {
                return Ok(answer::json(
                    200,
                    &json!({
                        "pool": pool, "operation": operation, "status": DrawStatus::RolledBack,
                        "seq": state.rollback_seq, "replay": true, "outcome": null, "state": state,
                    }),
                ));
            }
            Rollback::Recorded(record) => {
                return Ok(answer::json(
                    200,
                    &json!({
                        "pool": pool, "operation": operation, "status": DrawStatus::RolledBack,
                        "seq": record.seq, "replay": true, "outcome": record.outcome,
                    }),
                ));
            }
            Rollback::Append(state) => state,
        };
    let now = backend::now_millis();
    let entry = rollback_entry(operation, now, window_end(now));
    let request = RequestId::rollback(operation);
    let committed = commit::commit(&conn, pool, &request, &entry, None)?;
    state.roll_back(committed.seq, now);
    tracing::info!(
        pool = %pool,
        operation = %operation,
        seq = committed.seq,
        outcome = ?committed.outcome,
        replay = committed.replay,
        "operation rolled back"
    );
    // The RETURN is durable: a failure to keep the state only makes a later
    // call answer from the rollback's record.
    let json = state.to_json();
    if let Err(error) = store::record_outcome(
        &conn,
        pool,
        Recording {
            operation: Some((&key, &json, ttl_secs())),
            ..Recording::default()
        },
    ) {
        tracing::error!(
            pool = %pool,
            operation = %operation,
            key = %key,
            error = error.message(),
            "rolled back, but the rolled-back state could not be saved"
        );
    }
    Ok(answer::json(
        200,
        &json!({
            "pool": pool, "operation": operation, "status": state.status,
            "seq": committed.seq, "replay": committed.replay,
            "outcome": committed.outcome, "state": state,
        }),
    ))
}
