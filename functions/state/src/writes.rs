//! What every write shares: its `Idempotency-Key`, its answer, and the
//! answer to a retry.
//!
//! A write answers from what it recorded ([`Recorded`], tombola-core), so
//! a retry under the same `Idempotency-Key` is told exactly what the first
//! request was told, marked `Idempotent-Replayed: true`, and writes
//! nothing; the same key with another request is a 409. The record is kept
//! in the same Lua script as the write (`scripts/prelude.lua`), so a write
//! whose answer was lost (a timeout) is recorded if and only if it landed.

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::state::{
    DEFAULT_IDEMPOTENCY_TTL_SECS, IdempotencyKey, Recorded, SnapshotInfo, Write,
};
use tombola_edge::answer::envelope_with;
use tombola_edge::error::ApiError;

use crate::store::{Again, Idempotency};

/// The header that marks an answer given again from a record.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The slot of `write` under its idempotency key, if it carries one, kept
/// for `idempotency_ttl_secs`.
pub fn idempotency(key: Option<IdempotencyKey>, write: &Write<'_>) -> Option<Idempotency> {
    key.map(|key| {
        let ttl =
            tombola_edge::settings::number("idempotency_ttl_secs", DEFAULT_IDEMPOTENCY_TTL_SECS);
        Idempotency::new(key, write, ttl.max(1))
    })
}

#[derive(Debug, Serialize)]
struct WriteAnswer<'a> {
    key: &'a str,
    version: u64,
    create_revision: u64,
    created: bool,
}

#[derive(Debug, Serialize)]
struct Deleted<'a> {
    key: &'a str,
    revision: u64,
}

#[derive(Debug, Serialize)]
struct Taken<'a> {
    #[serde(flatten)]
    info: &'a SnapshotInfo,
    dropped: &'a [u64],
}

#[derive(Debug, Serialize)]
struct Restored {
    restored: u64,
    revision: u64,
    changed: u64,
}

fn respond(recorded: &Recorded, headers: &[(&str, String)]) -> Response {
    match recorded {
        Recorded::Written {
            key,
            revision,
            create_revision,
        } => {
            let created = revision == create_revision;
            envelope_with(
                if created { 201 } else { 200 },
                &WriteAnswer {
                    key,
                    version: *revision,
                    create_revision: *create_revision,
                    created,
                },
                headers,
            )
        }
        Recorded::Deleted { key, revision } => envelope_with(
            200,
            &Deleted {
                key,
                revision: *revision,
            },
            headers,
        ),
        Recorded::Snapshot { info, dropped } => {
            envelope_with(201, &Taken { info, dropped }, headers)
        }
        Recorded::Txn(answer) => envelope_with(200, answer, headers),
        Recorded::Restored {
            snapshot,
            revision,
            changed,
        } => envelope_with(
            200,
            &Restored {
                restored: *snapshot,
                revision: *revision,
                changed: *changed,
            },
            headers,
        ),
    }
}

/// The answer of a write that ran now.
pub fn answer(recorded: &Recorded) -> Response {
    respond(recorded, &[])
}

/// The answer of a request whose idempotency key had a record: the
/// recorded answer again, or 409 when the key was used for another
/// request. Nothing was written either way.
pub fn again(again: Again) -> Result<Response, ApiError> {
    let key = again.key.as_str();
    match again.answer {
        Ok(recorded) => {
            tracing::info!(
                idempotency_key = key,
                ?recorded,
                "answered again from the record of an earlier request"
            );
            Ok(respond(&recorded, &[(REPLAYED_HEADER, "true".to_owned())]))
        }
        Err(reused) => Err(ApiError::conflict(
            "idempotency-key-reused",
            format!("Idempotency-Key {key:?} {reused}"),
        )),
    }
}
