//! The draw API's errors: what each refusal of the core is told, as
//! `application/problem+json` through [`tombola_edge::error::ApiError`].

use tombola_core::pool::history::Unrecoverable;
use tombola_core::pool::operation::OperationError;
use tombola_core::pool::{DecideError, DrawStateCorrupted, RecordError, RequestId};
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

/// 404 for a pool that does not exist.
pub fn no_pool(pool: &str) -> ApiError {
    ApiError::not_found("no-such-pool", "No such pool", format!("no pool {pool:?}"))
}

/// 409 `request-id-reused`: the request id's record, at entry `seq`, is
/// of another request.
pub fn request_id_reused(request: &RequestId, seq: u64) -> ApiError {
    ApiError::conflict(
        "request-id-reused",
        format!("request id {request} was used for another request (entry {seq}); use a new id"),
    )
    .with("seq", seq)
}

/// A refusal of [`tombola_core::pool::decide`].
pub fn decide(error: DecideError) -> ApiError {
    let detail = error.to_string();
    match error {
        DecideError::Config(e) => ApiError::bad_request(&e.field.to_string(), detail),
        DecideError::BadCount(_) => ApiError::bad_request("count", detail),
        DecideError::ZeroQuantity => ApiError::bad_request("quantity", detail),
        DecideError::UnknownItem(_) => ApiError::conflict("no-such-item", detail),
        DecideError::UnlimitedItem(_) => ApiError::conflict("item-unlimited", detail),
        DecideError::Overflow(_) => ApiError::conflict("stock-overflow", detail),
        DecideError::NoPool => ApiError::not_found("no-such-pool", "No such pool", detail),
        DecideError::AlreadyExists => ApiError::conflict("pool-exists", detail),
        DecideError::Closed | DecideError::AlreadyClosed => {
            ApiError::conflict("pool-closed", detail)
        }
    }
}

/// 422 for a history that cannot give a trustworthy state.
pub fn unrecoverable(error: Unrecoverable) -> ApiError {
    tracing::error!(position = %error.position, reason = %error.reason, "pool state cannot be computed");
    ApiError::unrecoverable(&error.position, &error.reason)
}

/// 422 for a saved DrawState that cannot be trusted.
pub fn corrupted(key: &str, error: &DrawStateCorrupted) -> ApiError {
    tracing::error!(key, error = %error, "saved DrawState is corrupted");
    ApiError::new(
        422,
        "draw-state-corrupted",
        "DrawStateCorrupted",
        format!("{key}: {error}"),
    )
    .with("key", key)
}

/// 500 for a request record that is not what the append script writes.
pub fn record(error: RecordError) -> ApiError {
    StoreError::Data(error.to_string()).into()
}

/// What a multi-draw's lifecycle refuses or stops with.
pub fn operation(error: OperationError) -> ApiError {
    let detail = error.to_string();
    match error {
        OperationError::Count => ApiError::bad_request("count", detail),
        OperationError::ChunkSize => ApiError::bad_request("chunk_size", detail),
        OperationError::Mismatch { .. } => ApiError::conflict("operation-mismatch", detail),
        OperationError::RolledBack { seq, .. } => {
            let error = ApiError::conflict("operation-rolled-back", detail);
            match seq {
                Some(seq) => error.with("rollback_seq", seq),
                None => error,
            }
        }
        OperationError::PoolClosed { state, .. } => {
            ApiError::conflict("pool-closed", detail).with("operation", &state)
        }
        OperationError::NoSavedState { .. } => {
            ApiError::not_found("no-saved-state", "No saved state", detail)
        }
        OperationError::Corrupted { key, error } => corrupted(&key, &error),
        OperationError::NotAChunk { .. } => StoreError::Data(detail).into(),
    }
}
