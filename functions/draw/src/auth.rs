//! Operator authentication: `Authorization: Bearer <admin_token>`.
//!
//! The token is the `admin_token` secret variable, compared in constant
//! time so its bytes cannot be guessed from response times.

use spin_sdk::http::IncomingRequest;
use tombola_edge::token;

use tombola_edge::error::ApiError;

/// Checks the request's bearer token against `admin_token`.
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// token is not configured (an empty token would let anyone in).
pub fn require_admin(request: &IncomingRequest) -> Result<(), ApiError> {
    let header = request
        .headers()
        .get("authorization")
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    check(
        header.as_deref(),
        tombola_edge::settings::secret("admin_token"),
    )
}

fn check(header: Option<&str>, expected: Option<String>) -> Result<(), ApiError> {
    let expected = expected.filter(|t| !t.is_empty()).ok_or_else(|| {
        tracing::error!("admin_token is not set; operator routes are closed");
        ApiError::not_configured("the admin_token variable is not set")
    })?;
    let token = token::bearer(header).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthorized",
            "Unauthorized",
            "this route needs Authorization: Bearer <admin token>",
        )
    })?;
    if token::matches(token, &expected) {
        Ok(())
    } else {
        tracing::warn!("operator route called with a wrong token");
        Err(ApiError::new(
            403,
            "forbidden",
            "Forbidden",
            "the bearer token is not the admin token",
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
            check(Some("Basic s3cret"), token()).unwrap_err().status,
            401
        );
        assert_eq!(check(Some("Bearer "), token()).unwrap_err().status, 401);
        assert_eq!(
            check(Some("Bearer s3cre"), token()).unwrap_err().status,
            403
        );
        assert_eq!(
            check(Some("Bearer s3cret!"), token()).unwrap_err().status,
            403
        );
        assert_eq!(
            check(Some("Bearer x"), Some(String::new()))
                .unwrap_err()
                .status,
            500
        );
        assert_eq!(check(Some("Bearer x"), None).unwrap_err().status, 500);
    }
}
