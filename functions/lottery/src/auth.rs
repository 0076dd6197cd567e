//! Who may call: operators with `Authorization: Bearer <admin_token>`, and
//! each store with its own API key.
//!
//! A store's key is checked against the SHA-256 the cloud keeps, in
//! constant time ([`tombola_core::lottery::key_matches`]).

use spin_sdk::http::IncomingRequest;
use tombola_core::lottery::key_matches;
use tombola_edge::error::ApiError;

/// Checks the request's bearer token against `admin_token`.
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// token is not configured.
pub fn require_admin(request: &IncomingRequest) -> Result<(), ApiError> {
    tombola_edge::token::require(request, "admin_token", "admin")
}

/// The request's `Authorization` header, if any.
pub fn header(request: &IncomingRequest) -> Option<String> {
    request
        .headers()
        .get("authorization")
        .into_iter()
        .next()
        .map(|value| String::from_utf8_lossy(&value).into_owned())
}

/// Checks a store's bearer key (from `header`) against the hash it is
/// kept as.
///
/// 401 when there is no bearer token, 403 when it is not the store's key.
pub fn require_store(header: Option<&str>, key_hash: &str, store: &str) -> Result<(), ApiError> {
    let key = tombola_edge::token::bearer(header).ok_or_else(|| {
        ApiError::unauthorized("this route needs Authorization: Bearer <the store's API key>")
    })?;
    if key_matches(key, key_hash) {
        Ok(())
    } else {
        tracing::warn!(store, "a store route was called with a wrong key");
        Err(ApiError::forbidden(format!(
            "the bearer token is not store {store}'s API key"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombola_core::lottery::key_hash;

    #[test]
    fn a_store_needs_its_own_key() {
        let hash = key_hash("tsk_right");
        assert!(require_store(Some("Bearer tsk_right"), &hash, "s").is_ok());
        assert_eq!(require_store(None, &hash, "s").unwrap_err().status, 401);
        assert_eq!(
            require_store(Some("Bearer tsk_wrong"), &hash, "s")
                .unwrap_err()
                .status,
            403
        );
    }
}
