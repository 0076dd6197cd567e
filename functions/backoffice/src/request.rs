//! Reading a request: the body (bounded), JSON with the field at fault,
//! and the path's pack key, game code and date.

use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;
use tombola_core::lottery::{BusinessDate, GameCode, PackKey, PackNumber};
use tombola_edge::error::ApiError;
use tombola_edge::route::Params;

use crate::errors;

/// The largest body any route reads: room for the closing counts of every
/// bin of a full counter.
pub const MAX_BODY: usize = 256 * 1024;

/// Reads the body, refusing one over [`MAX_BODY`] (413) without reading
/// past it.
pub async fn body(request: IncomingRequest) -> Result<Vec<u8>, ApiError> {
    Ok(tombola_edge::body::read(request, MAX_BODY).await?)
}

/// Parses a JSON body (an empty one as `{}`); an error names the field at
/// fault. Whole numbers may be spelt `3.0` or `3e0`, as JSON Schema
/// allows: every number in these bodies is a count, a serial or cents.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    Ok(tombola_edge::body::counts_json(body)?)
}

/// The path's `{code}` or `{game}`: 3 or 4 digits.
pub fn game_code(params: &Params<'_>, name: &str) -> Result<GameCode, ApiError> {
    params.get(name, str::parse::<GameCode>)
}

/// The path's `{game}` and `{number}`.
pub fn pack_key(params: &Params<'_>) -> Result<PackKey, ApiError> {
    let game = game_code(params, "game")?;
    let number = params.get("number", |text: &str| {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("is not a pack number (digits)".to_owned());
        }
        text.parse::<u32>()
            .map_err(|_| "is too large".to_owned())
            .and_then(|n| PackNumber::new(n).map_err(|e| e.to_string()))
    })?;
    Ok(PackKey { game, number })
}

/// The path's `{date}`, `YYYY-MM-DD`.
pub fn date(params: &Params<'_>) -> Result<BusinessDate, ApiError> {
    let text = params.raw("date").unwrap_or_default();
    text.parse().map_err(|e| errors::date("date", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_are_empty_objects_and_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bins {
            count: Option<u32>,
        }
        assert_eq!(json::<Bins>(b"").unwrap().count, None);
        assert_eq!(json::<Bins>(br#"{"count": 3.0}"#).unwrap().count, Some(3));
        let err = json::<Bins>(br#"{"count": "x"}"#).unwrap_err();
        assert_eq!((err.status, err.field.as_deref()), (400, Some("count")));
    }

    #[test]
    fn path_keys_are_checked() {
        let params =
            tombola_edge::route::match_template("/p/{game}/{number}", "/p/050/1234").unwrap();
        assert_eq!(pack_key(&params).unwrap().to_string(), "050-1234");
        let params =
            tombola_edge::route::match_template("/p/{game}/{number}", "/p/050/+12").unwrap();
        assert_eq!(
            pack_key(&params).unwrap_err().field.as_deref(),
            Some("number")
        );
        let params = tombola_edge::route::match_template("/p/{game}/{number}", "/p/5/12").unwrap();
        assert_eq!(
            pack_key(&params).unwrap_err().field.as_deref(),
            Some("game")
        );
    }
}
