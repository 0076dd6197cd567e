//! The headers a request carries besides its token: `X-Source` and
//! `Idempotency-Key`.

use spin_sdk::http::IncomingRequest;
use tombola_core::state::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey, check_source};
use tombola_edge::error::ApiError;

use crate::auth::Caller;

/// One header's value, if present.
pub fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    headers(request, name).into_iter().next()
}

/// Every value of a header, in the order sent.
pub fn headers(request: &IncomingRequest, name: &str) -> Vec<String> {
    request
        .headers()
        .get(name)
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

/// Who a write is attributed to: `X-Source` if given, else the token's name.
///
/// Fails when `X-Source` breaks the core's rules for a source.
pub fn source(header: Option<String>, caller: Caller) -> Result<String, ApiError> {
    match header {
        None => Ok(caller.name().to_owned()),
        Some(source) => {
            check_source(&source)
                .map_err(|e| ApiError::bad_request("X-Source", format!("X-Source {e}")))?;
            Ok(source)
        }
    }
}

/// The `Idempotency-Key` of a write, if it carries one (`values`: the
/// header's values as sent).
///
/// Fails when it is given more than once (which one would count is a
/// guess) or breaks [`IdempotencyKey`]'s rules.
pub fn idempotency_key(values: &[String]) -> Result<Option<IdempotencyKey>, ApiError> {
    match values {
        [] => Ok(None),
        [value] => ApiError::parsed(IDEMPOTENCY_KEY_HEADER, value, IdempotencyKey::parse).map(Some),
        _ => Err(ApiError::bad_request(
            IDEMPOTENCY_KEY_HEADER,
            format!("{IDEMPOTENCY_KEY_HEADER} is given more than once"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idempotency_key_is_optional_single_and_well_formed() {
        let values = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(idempotency_key(&[]).unwrap(), None);
        assert_eq!(
            idempotency_key(&values(&["\"k-1\""]))
                .unwrap()
                .unwrap()
                .as_str(),
            "k-1"
        );
        for bad in [values(&["a b"]), values(&[""]), values(&["a", "b"])] {
            let refused = idempotency_key(&bad).unwrap_err();
            assert_eq!(
                (refused.status, refused.field.as_deref()),
                (400, Some("Idempotency-Key")),
                "{bad:?}"
            );
            assert!(
                refused.detail.starts_with("Idempotency-Key "),
                "{}",
                refused.detail
            );
        }
    }

    #[test]
    fn writes_are_attributed_to_x_source_or_the_token() {
        assert_eq!(source(None, Caller::Admin).unwrap(), "admin");
        assert_eq!(
            source(Some("deploy-bot".into()), Caller::Admin).unwrap(),
            "deploy-bot"
        );
        let bad = source(Some(String::new()), Caller::Admin).unwrap_err();
        assert_eq!((bad.status, bad.field.as_deref()), (400, Some("X-Source")));
    }
}
