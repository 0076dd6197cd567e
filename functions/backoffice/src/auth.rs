//! The store token: `Authorization: Bearer <store_token>`.
//!
//! The token is the `store_token` secret variable, compared in constant
//! time so its bytes cannot be guessed from response times. Every route
//! but the health probe and the OpenAPI document takes it: the store's
//! API is the store's alone, and its machine may sit on a shared network.

use spin_sdk::http::IncomingRequest;
use tombola_edge::error::ApiError;
use tombola_edge::token;

/// Checks the request's bearer token against `store_token`.
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// token is not configured (an empty token would let anyone in).
pub fn require_store(request: &IncomingRequest) -> Result<(), ApiError> {
    let header = request
        .headers()
        .get("authorization")
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    check(
        header.as_deref(),
        tombola_edge::settings::secret("store_token"),
    )
}

fn check(header: Option<&str>, expected: Option<String>) -> Result<(), ApiError> {
    let expected = expected.ok_or_else(|| {
        tracing::error!("store_token is not set; the back office is closed");
        ApiError::not_configured("the store_token variable is not set")
    })?;
    let token = token::bearer(header).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthorized",
            "Unauthorized",
            "this route needs Authorization: Bearer <store token>",
        )
    })?;
    if token::matches(token, &expected) {
        Ok(())
    } else {
        tracing::warn!("back-office route called with a wrong token");
        Err(ApiError::new(
            403,
            "forbidden",
            "Forbidden",
            "the bearer token is not the store token",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        let token = || Some("s3cret".to_owned());
        assert!(check(Some("Bearer s3cret"), token()).is_ok());
        assert_eq!(check(None, token()).unwrap_err().status, 401);
        assert_eq!(
            check(Some("Bearer s3cre"), token()).unwrap_err().status,
            403
        );
        assert_eq!(
            check(Some("Bearer s3cret!"), token()).unwrap_err().status,
            403
        );
        assert_eq!(check(Some("Bearer x"), None).unwrap_err().status, 500);
    }
}
