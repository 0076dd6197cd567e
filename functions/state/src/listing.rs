//! Keys by prefix, and statistics.

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::state::ListQuery;

use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::route;

use crate::store::Store;

#[derive(Debug, Serialize)]
struct Listing {
    keys: Vec<String>,
    total: u64,
    revision: u64,
    next_cursor: Option<String>,
}

/// `GET /api/v1/state/keys?prefix=&limit=&cursor=`: keys in byte order,
/// how many have the prefix, and the revision they were read at (follow
/// the event feed from `revision + 1` to see every later change).
pub fn keys(store: &Store, query: &str) -> Result<Response, ApiError> {
    let prefix = route::query(query, "prefix")?;
    let cursor = route::query(query, "cursor")?;
    let limit = route::query(query, "limit")?;
    let list = ListQuery::new(prefix.as_deref(), cursor.as_deref(), limit.as_deref())
        .map_err(|e| ApiError::bad_request(e.field(), e.to_string()))?;
    let page = store.keys(&list)?;
    let next_cursor = if page.more {
        page.keys.last().cloned()
    } else {
        None
    };
    Ok(answer::envelope(
        200,
        &Listing {
            keys: page.keys,
            total: page.total,
            revision: page.revision,
            next_cursor,
        },
    ))
}

#[derive(Debug, Serialize)]
struct StatsAnswer {
    total_keys: u64,
    total_size: u64,
    version: u64,
    metadata_keys: u64,
}

/// `GET /api/v1/state/stats`: live keys, the bytes of their values, the
/// global revision and how many keys carry metadata.
pub fn stats(store: &Store) -> Result<Response, ApiError> {
    let stats = store.stats()?;
    Ok(answer::envelope(
        200,
        &StatsAnswer {
            total_keys: stats.keys,
            total_size: stats.bytes,
            version: stats.revision,
            metadata_keys: stats.metadata_keys,
        },
    ))
}
