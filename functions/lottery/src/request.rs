//! Reading a request: bodies (bounded per route), JSON with the field at
//! fault, path parameters as the core's types, and a page's limit.

use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;
use tombola_core::lottery::{BinNumber, GameCode, PackKey, PackNumber, StoreId};
use tombola_edge::error::ApiError;
use tombola_edge::route::{self, Params};

/// The largest body most routes accept.
pub const MAX_BODY: usize = 64 * 1024;

/// The largest push body: room for a full push of day closes.
pub const MAX_PUSH_BODY: usize = 8 * 1024 * 1024;

/// Reads the body, refusing one over `max` (413) without reading past it.
pub async fn body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, ApiError> {
    Ok(tombola_edge::body::read(request, max).await?)
}

/// Parses a JSON body; an error names the field. Whole numbers may be
/// spelt `934.0` ([`tombola_core::number`]): every number in the lottery's
/// bodies is an id, a count or an amount in cents.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    Ok(tombola_edge::body::counts_json(body)?)
}

/// The `{store}` parameter.
pub fn store(params: &Params<'_>) -> Result<StoreId, ApiError> {
    params.get("store", str::parse::<StoreId>)
}

/// The `{code}` parameter, a game's code.
pub fn game_code(params: &Params<'_>) -> Result<GameCode, ApiError> {
    params.get("code", str::parse::<GameCode>)
}

/// The `{number}` parameter, a bin's number.
pub fn bin(params: &Params<'_>) -> Result<BinNumber, ApiError> {
    params.get("number", |text| {
        text.parse::<u32>()
            .map_err(|e| e.to_string())
            .and_then(|n| BinNumber::new(n).map_err(|e| e.to_string()))
    })
}

/// The `{game}` and `{number}` parameters, a pack's key.
pub fn pack_key(params: &Params<'_>) -> Result<PackKey, ApiError> {
    Ok(PackKey {
        game: params.get("game", str::parse::<GameCode>)?,
        number: params.get("number", |text| {
            text.parse::<u32>()
                .map_err(|e| e.to_string())
                .and_then(|n| PackNumber::new(n).map_err(|e| e.to_string()))
        })?,
    })
}

/// The query's `limit`: `default` when absent, else 1 to `max`.
///
/// Fails with a 400 naming `limit` for anything else.
pub fn limit(query: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = route::query_number(query, "limit", default as u64, 1..=max as u64)?;
    Ok(usize::try_from(limit).unwrap_or(max))
}
