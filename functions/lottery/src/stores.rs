//! `/v1/lottery/stores`: registering a store, listing the stores, showing
//! one, and rotating its API key. A key is shown once, in the answer that makes it; the cloud
//! keeps only its SHA-256.

use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::lottery::{
    DEFAULT_STORE_PAGE, MAX_STORE_PAGE, StoreId, api_key, check_store_name, key_hash, store_page,
};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::host::{now_millis, seed};
use tombola_edge::route;

use crate::request;
use crate::store::{self, Parts, Pulled, StoreView};

/// 404 for a store that is not registered.
pub fn no_store(store: &StoreId) -> ApiError {
    ApiError::not_found(
        "no-such-store",
        "No such store",
        format!("no store {store}"),
    )
}

/// `store`, read with `parts` (recording `pulled`), or 404.
pub fn read(
    conn: &spin_sdk::redis::Connection,
    store: &StoreId,
    parts: Parts,
    pulled: Option<Pulled<'_>>,
) -> Result<StoreView, ApiError> {
    store::read_store(conn, store, None, parts, pulled)?.ok_or_else(|| no_store(store))
}

/// A new API key from the host's CSPRNG.
fn new_key() -> String {
    let mut random = [0u8; 32];
    for chunk in random.chunks_mut(8) {
        chunk.copy_from_slice(&seed().to_le_bytes());
    }
    api_key(random)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    store: StoreId,
    name: String,
}

/// `POST /v1/lottery/stores`: registers a store and answers its API key,
/// once (201); 409 when the id is taken (rotate its key to get a new one).
pub fn register(body: &[u8]) -> Result<Response, ApiError> {
    let asked: Register = request::json(body)?;
    check_store_name(&asked.name).map_err(|e| ApiError::bad_request("name", e.to_string()))?;
    let key = new_key();
    let conn = store::connect()?;
    store::list_store(&conn, &asked.store)?;
    if !store::register(
        &conn,
        &asked.store,
        &key_hash(&key),
        &asked.name,
        now_millis(),
    )? {
        return Err(ApiError::conflict(
            "store-exists",
            format!(
                "store {} is already registered; rotate its key to get a new one",
                asked.store
            ),
        ));
    }
    tracing::info!(store = %asked.store, "store registered");
    Ok(answer::json(
        201,
        &json!({"store": asked.store, "name": asked.name, "api_key": key}),
    ))
}

/// What the listing and the store's page read of a store: its bins and
/// clients; its packs and closes are only counted, so a page of stores
/// does not grow with their histories.
const SUMMARY: Parts = Parts {
    bins: true,
    clients: true,
    packs: false,
    closes: false,
    settled: false,
};

/// A store's registration, last push and pull, each of its clients' last
/// mutation id, and how much the cloud holds of it.
fn summary(store: &StoreId, view: &StoreView) -> serde_json::Value {
    let bins = view.bins.iter().filter(|bin| !bin.record.removed).count();
    json!({
        "store": store,
        "name": view.name,
        "created_at": view.created_at,
        "key_rotated_at": view.rotated_at,
        "last_push_at": view.last_push_at,
        "last_pull_at": view.last_pull_at,
        "bins_revision": view.revision,
        "clients": view.clients,
        "bins": bins,
        "packs": view.pack_count,
        "closes": view.close_count,
    })
}

/// `GET /v1/lottery/stores`: a page of the registered stores in id order
/// (`after`, `limit`), each as its own page shows it, and `next`.
pub fn list(query: &str) -> Result<Response, ApiError> {
    let after = route::query(query, "after")?
        .map(|text| ApiError::parsed("after", &text, str::parse::<StoreId>))
        .transpose()?;
    let limit = request::limit(query, DEFAULT_STORE_PAGE, MAX_STORE_PAGE)?;
    let conn = store::connect()?;
    // One more than the page, so the core can tell whether another follows.
    let ids = store::store_ids(&conn, after.as_ref(), limit.saturating_add(1))?;
    let page = store_page(ids, after.as_ref(), limit);
    let mut stores = Vec::with_capacity(page.stores.len());
    for id in &page.stores {
        // An id without info is a registration that never completed.
        if let Some(view) = store::read_store(&conn, id, None, SUMMARY, None)? {
            stores.push(summary(id, &view));
        }
    }
    Ok(answer::json(
        200,
        &json!({"stores": stores, "next": page.next}),
    ))
}

/// `GET /v1/lottery/stores/{store}`: the store's [`summary`].
pub fn show(store: &StoreId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let view = read(&conn, store, SUMMARY, None)?;
    Ok(answer::json(200, &summary(store, &view)))
}

/// `POST /v1/lottery/stores/{store}/key`: a new API key, shown once; the
/// old one stops working at once.
pub fn rotate(store: &StoreId) -> Result<Response, ApiError> {
    let key = new_key();
    let conn = store::connect()?;
    if !store::rotate(&conn, store, &key_hash(&key), now_millis())? {
        return Err(no_store(store));
    }
    tracing::info!(%store, "store key rotated");
    Ok(answer::json(200, &json!({"store": store, "api_key": key})))
}
