//! Snapshots: take one, list them, restore one.

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::state::SnapshotInfo;

use crate::answer::{self, ApiError};
use crate::store::Store;

#[derive(Debug, Serialize)]
struct TakenAnswer {
    #[serde(flatten)]
    info: SnapshotInfo,
    dropped: Vec<u64>,
}

/// `POST /api/v1/state/snapshot`: captures every entry at the current
/// revision; the oldest snapshots beyond `max_snapshots` are dropped.
pub fn take(store: &Store) -> Result<Response, ApiError> {
    let taken = store.snapshot()?;
    tracing::info!(revision = taken.info.revision, keys = taken.info.keys, dropped = ?taken.dropped, "snapshot taken");
    Ok(answer::ok(
        201,
        &TakenAnswer {
            info: taken.info,
            dropped: taken.dropped,
        },
    ))
}

#[derive(Debug, Serialize)]
struct List {
    snapshots: Vec<SnapshotInfo>,
    revision: u64,
}

/// `GET /api/v1/state/snapshots`: the kept snapshots, oldest first.
pub fn list(store: &Store) -> Result<Response, ApiError> {
    let (revision, snapshots) = store.snapshots()?;
    Ok(answer::ok(
        200,
        &List {
            snapshots,
            revision,
        },
    ))
}

#[derive(Debug, Serialize)]
struct Restored {
    restored: u64,
    revision: u64,
    changed: u64,
}

/// `POST /api/v1/state/snapshots/{revision}/restore`: makes every entry
/// what it was at that revision, in one step; each change is an event.
pub fn restore(store: &Store, snapshot: &str, source: &str) -> Result<Response, ApiError> {
    let snapshot: u64 = snapshot.parse().map_err(|_| {
        ApiError::bad_request(
            "revision",
            format!("revision must be a whole number, not {snapshot:?}"),
        )
    })?;
    match store.restore(snapshot, source)? {
        Ok((revision, changed)) => {
            tracing::info!(snapshot, revision, changed, source, "snapshot restored");
            Ok(answer::ok(
                200,
                &Restored {
                    restored: snapshot,
                    revision,
                    changed,
                },
            ))
        }
        Err(_) => Err(ApiError::new(
            404,
            "not-found",
            format!("no snapshot at revision {snapshot} is kept"),
        )),
    }
}
