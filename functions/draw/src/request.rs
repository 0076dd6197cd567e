//! Reading a request: the body (bounded per route) and JSON with the field
//! at fault.

use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;
use tombola_edge::error::ApiError;

/// The largest body most routes accept.
pub const MAX_BODY: usize = 64 * 1024;

/// The largest body `POST /v1/pools` accepts: room for a pool of about a
/// million items with short ids.
pub const MAX_POOL_BODY: usize = 64 * 1024 * 1024;

/// Reads the body, refusing one over `max` (413) without reading past it.
pub async fn body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, ApiError> {
    Ok(tombola_edge::body::read(request, max).await?)
}

/// Parses a JSON body (an empty one as `{}`); an error names the field at
/// fault (`items[2].id`). Whole numbers may be spelt `307.0` or `3.07e2`
/// ([`tombola_core::number`]): every number in the draw API's bodies is a
/// count, a weight or a stock.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    Ok(tombola_edge::body::counts_json(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_are_empty_objects_and_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Close {
            request_id: Option<String>,
        }
        assert_eq!(json::<Close>(b"").unwrap().request_id, None);
        let err = json::<Close>(br#"{"request_id": 7}"#).unwrap_err();
        assert_eq!(
            (err.status, err.field.as_deref()),
            (400, Some("request_id"))
        );
    }
}
