//! The pool catalog, in Redis beside the logs: which pools exist and how
//! to list them. Never the authority for stock: that is the log.
//!
//! The catalog's keys are the core's ([`keys::CATALOG_POOLS`],
//! [`keys::CATALOG_LISTINGS`]), under a hash tag of their own, so adding
//! and listing are each one script in one slot: a listing and its place in
//! the order are written together, and a list reads both at one instant.
//! A pool's log is in its own slot, so creating it and listing it are two
//! steps; a create that finds the log already there lists the pool again
//! from the log (see [`crate::pools::create`]).

use serde::{Deserialize, Serialize};
use spin_sdk::redis::Connection;

use tombola_core::pool::{ValidConfig, keys};
use tombola_edge::error::ApiError;

use crate::scripts;

/// How a pool is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The pool id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Weighting mode.
    pub mode: tombola_core::pool::Mode,
    /// Number of items.
    pub items: usize,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: u64,
}

impl Listing {
    /// The listing of a pool with `config`, created at `created_at`.
    pub fn of(config: &ValidConfig, created_at: u64) -> Self {
        Self {
            id: config.pool().to_string(),
            name: config.name().to_owned(),
            mode: config.mode(),
            items: config.len(),
            created_at,
        }
    }
}

/// Lists a pool; a pool already listed keeps its listing. Returns whether
/// this call added it.
///
/// Fails when Redis cannot be reached or answers out of shape.
pub fn add(conn: &Connection, listing: &Listing) -> Result<bool, ApiError> {
    let json = serde_json::to_vec(listing).expect("listings serialize");
    let created_at = listing.created_at.to_string();
    let mut reply = scripts::CATALOG_ADD.call(
        conn,
        &[keys::CATALOG_POOLS, keys::CATALOG_LISTINGS],
        &[listing.id.as_bytes(), created_at.as_bytes(), &json],
    )?;
    match reply.text()?.as_str() {
        "OK" => {
            let added = reply.uint()? == 1;
            tracing::debug!(pool = %listing.id, added, "pool listed");
            Ok(added)
        }
        other => Err(reply.unexpected(other).into()),
    }
}

/// Every listed pool, in creation order (ties by id).
///
/// Fails when Redis cannot be reached, and with a 500 naming the pool when
/// a listing is missing or is not what [`add`] writes.
pub fn list(conn: &Connection) -> Result<Vec<Listing>, ApiError> {
    let mut reply =
        scripts::CATALOG_LIST.call(conn, &[keys::CATALOG_POOLS, keys::CATALOG_LISTINGS], &[])?;
    match reply.text()?.as_str() {
        "OK" => {}
        other => return Err(reply.unexpected(other).into()),
    }
    let mut out = Vec::with_capacity(reply.remaining() / 2);
    while reply.remaining() > 0 {
        let id = reply.text()?;
        let corrupted = |why: String| {
            tracing::error!(pool = %id, key = keys::CATALOG_LISTINGS, error = %why, "catalog corrupted");
            ApiError::new(
                500,
                "catalog-corrupted",
                "Catalog corrupted",
                format!("{} field {id}: {why}", keys::CATALOG_LISTINGS),
            )
        };
        let Some(bytes) = reply.bytes_or_nil()? else {
            return Err(corrupted(
                "the pool is in the order but has no listing".into(),
            ));
        };
        out.push(serde_json::from_slice(&bytes).map_err(|e| corrupted(e.to_string()))?);
    }
    Ok(out)
}
