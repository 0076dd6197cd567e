//! The pool catalog in Spin's key-value store: which pools exist and how
//! to show them. Never the authority for stock: that is the log.
//!
//! Spin's Redis-backed store lists every key of its database, so the
//! catalog keeps its own index under a known key instead of listing.

use serde::{Deserialize, Serialize};
use spin_sdk::key_value::Store;

use tombola_core::pool::keys;
use tombola_edge::error::ApiError;

use crate::backend;

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

fn open() -> Result<Store, ApiError> {
    backend::key_value().map_err(|e| {
        ApiError::new(
            503,
            "key-value-unavailable",
            "Service unavailable",
            format!("catalog store: {}", backend::describe_key_value(&e)),
        )
    })
}

fn kv_problem(step: &str, e: &spin_sdk::key_value::Error) -> ApiError {
    let message = format!("{step}: {}", backend::describe_key_value(e));
    tracing::error!(error = %message, "catalog step failed");
    ApiError::new(503, "key-value-unavailable", "Service unavailable", message)
}

fn index(store: &Store) -> Result<Vec<String>, ApiError> {
    match store
        .get(keys::CATALOG_INDEX)
        .map_err(|e| kv_problem("read catalog index", &e))?
    {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                500,
                "catalog-corrupted",
                "Catalog corrupted",
                format!("{}: {e}", keys::CATALOG_INDEX),
            )
        }),
    }
}

/// Adds a pool, idempotently.
///
/// The store has no compare-and-swap, so the index is written, read back
/// and written again until it holds the id: two creations racing each
/// re-add what the other's write dropped.
pub fn add(listing: &Listing) -> Result<(), ApiError> {
    let store = open()?;
    let entry = serde_json::to_vec(listing).expect("listings serialize");
    store
        .set(&keys::catalog_entry(&listing.id), &entry)
        .map_err(|e| kv_problem("write catalog entry", &e))?;
    for _ in 0..8 {
        let mut ids = index(&store)?;
        if ids.contains(&listing.id) {
            return Ok(());
        }
        ids.push(listing.id.clone());
        store
            .set(
                keys::CATALOG_INDEX,
                &serde_json::to_vec(&ids).expect("ids serialize"),
            )
            .map_err(|e| kv_problem("write catalog index", &e))?;
    }
    Err(ApiError::new(
        503,
        "key-value-unavailable",
        "Service unavailable",
        "the catalog index kept changing; retry",
    ))
}

/// Whether the catalog lists `id`.
pub fn contains(id: &str) -> Result<bool, ApiError> {
    Ok(index(&open()?)?.iter().any(|i| i == id))
}

/// Every listed pool, in creation order.
pub fn list() -> Result<Vec<Listing>, ApiError> {
    let store = open()?;
    let mut out = Vec::new();
    for id in index(&store)? {
        let key = keys::catalog_entry(&id);
        match store
            .get(&key)
            .map_err(|e| kv_problem("read catalog entry", &e))?
        {
            Some(bytes) => out.push(serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::new(
                    500,
                    "catalog-corrupted",
                    "Catalog corrupted",
                    format!("{key}: {e}"),
                )
            })?),
            None => tracing::warn!(pool = %id, "catalog index names a pool with no entry"),
        }
    }
    Ok(out)
}
