//! Bearer tokens.

use subtle::ConstantTimeEq;

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

#[cfg(test)]
mod tests {
    use super::*;

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
