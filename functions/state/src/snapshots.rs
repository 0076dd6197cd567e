//! Snapshots: take one, list them, restore one.

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::state::{IdempotencyKey, SnapshotInfo, Write};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::store::{Applied, Store};
use crate::writes;

/// `POST /api/v1/state/snapshot`: captures every entry at the current
/// revision; the oldest snapshots beyond `max_snapshots` are dropped.
pub fn take(store: &Store, idempotency_key: Option<IdempotencyKey>) -> Result<Response, ApiError> {
    let idempotency = writes::idempotency(idempotency_key, &Write::Snapshot);
    match store.snapshot(idempotency.as_ref())? {
        Applied::Now(recorded) => {
            tracing::info!(?recorded, "snapshot taken");
            Ok(writes::answer(&recorded))
        }
        Applied::Again(again) => writes::again(again),
    }
}

#[derive(Debug, Serialize)]
struct List {
    snapshots: Vec<SnapshotInfo>,
    revision: u64,
}

/// `GET /api/v1/state/snapshots`: the kept snapshots, oldest first.
pub fn list(store: &Store) -> Result<Response, ApiError> {
    let (revision, snapshots) = store.snapshots()?;
    Ok(answer::envelope(
        200,
        &List {
            snapshots,
            revision,
        },
    ))
}

/// The `{revision}` of a restore's path.
///
/// Fails unless it is a whole number.
pub fn revision(text: &str) -> Result<u64, &'static str> {
    text.parse().map_err(|_| "is not a whole number")
}

/// `POST /api/v1/state/snapshots/{revision}/restore`: makes every entry
/// what it was at that revision, in one step; each change is an event.
pub fn restore(
    store: &Store,
    snapshot: u64,
    source: &str,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<Response, ApiError> {
    let write = Write::Restore { snapshot, source };
    let idempotency = writes::idempotency(idempotency_key, &write);
    match store.restore(snapshot, source, idempotency.as_ref())? {
        Applied::Now(Some(recorded)) => {
            tracing::info!(snapshot, ?recorded, source, "snapshot restored");
            Ok(writes::answer(&recorded))
        }
        Applied::Now(None) => Err(ApiError::not_found(
            "not-found",
            "No such snapshot",
            format!("no snapshot at revision {snapshot} is kept"),
        )),
        Applied::Again(again) => writes::again(again),
    }
}
