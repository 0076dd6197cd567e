//! Bearer tokens: read, compared in constant time, and required.

use spin_sdk::http::IncomingRequest;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive as HTTP says); `None` when there is none.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Whether `token` is `expected`, in time that does not depend on where
/// they differ. An empty `expected` matches nothing.
pub fn matches(token: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(token.as_bytes().ct_eq(expected.as_bytes()))
}

/// Checks the request's `Authorization: Bearer` token against the secret
/// variable `variable`, the token of `who` (for messages: `admin`,
/// `store`).
///
/// # Errors
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// variable is not set (an empty token would let anyone in).
pub fn require(request: &IncomingRequest, variable: &str, who: &str) -> Result<(), ApiError> {
    let header = authorization(request);
    check(
        header.as_deref(),
        crate::settings::secret(variable).as_deref(),
        variable,
        who,
    )
}

/// The request's `Authorization` header, if it has one.
pub fn authorization(request: &IncomingRequest) -> Option<String> {
    request
        .headers()
        .get("authorization")
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// [`require`] on a header and the configured secret.
///
/// # Errors
///
/// As [`require`].
pub fn check(
    header: Option<&str>,
    expected: Option<&str>,
    variable: &str,
    who: &str,
) -> Result<(), ApiError> {
    let expected = expected.filter(|t| !t.is_empty()).ok_or_else(|| {
        tracing::error!(variable, "the token is not set; its routes are closed");
        ApiError::not_configured(format!("the {variable} variable is not set"))
    })?;
    let token = bearer(header).ok_or_else(|| {
        ApiError::unauthorized(format!(
            "this route needs Authorization: Bearer <{who} token>"
        ))
    })?;
    if matches(token, expected) {
        Ok(())
    } else {
        tracing::warn!(variable, "a route was called with a wrong token");
        Err(ApiError::forbidden(format!(
            "the bearer token is not the {who} token"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_required() {
        let check = |header, expected| check(header, expected, "admin_token", "admin");
        assert!(check(Some("Bearer s3cret"), Some("s3cret")).is_ok());
        assert_eq!(check(None, Some("s3cret")).unwrap_err().status, 401);
        assert_eq!(
            check(Some("Basic s3cret"), Some("s3cret"))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            check(Some("Bearer s3cre"), Some("s3cret"))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            check(Some("Bearer s3cret!"), Some("s3cret"))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(check(Some("Bearer x"), Some("")).unwrap_err().status, 500);
        let unset = check(Some("Bearer x"), None).unwrap_err();
        assert_eq!(
            (unset.status, &*unset.detail),
            (500, "the admin_token variable is not set")
        );
    }

    #[test]
    fn bearer_tokens_are_read_and_compared() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
        assert!(matches("abc", "abc"));
        assert!(!matches("abd", "abc"));
        assert!(!matches("abcd", "abc"));
        assert!(!matches("", ""));
    }
}
