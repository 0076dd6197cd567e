//! Tokens: writes need `Authorization: Bearer <admin_token>`, reads the
//! admin token or `reader_token`; the OpenAPI document needs none.
//!
//! Both are secret variables, compared in constant time so their bytes
//! cannot be guessed from response times. An empty `reader_token` (the
//! default) opens reads to the admin token only, never to anyone.

use tombola_edge::error::ApiError;
use tombola_edge::{settings, token};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: the route serves nothing stored (the OpenAPI document).
    Public,
    /// The reader or the admin token.
    Read,
    /// The admin token.
    Write,
}

/// Who a request proved to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The admin token's holder.
    Admin,
    /// The reader token's holder.
    Reader,
    /// Anyone, on a [`Access::Public`] route; no token was looked at.
    Anyone,
}

impl Caller {
    /// The token's name, which writes are attributed to without `X-Source`.
    pub fn name(self) -> &'static str {
        match self {
            Caller::Admin => "admin",
            Caller::Reader => "reader",
            Caller::Anyone => "anyone",
        }
    }
}

/// The configured tokens (empty: not set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// `admin_token`.
    pub admin: String,
    /// `reader_token`.
    pub reader: String,
}

impl Tokens {
    /// Reads both tokens from Spin's secret variables.
    pub fn load() -> Self {
        let get = |name| settings::secret(name).unwrap_or_default();
        Self {
            admin: get("admin_token"),
            reader: get("reader_token"),
        }
    }

    /// Checks an `Authorization` header for `access`.
    ///
    /// 401 when there is no bearer token, 403 when it is wrong or only a
    /// reader's for a write, 500 when `admin_token` is not configured;
    /// never on a [`Access::Public`] route.
    pub fn check(&self, header: Option<&str>, access: Access) -> Result<Caller, ApiError> {
        if access == Access::Public {
            return Ok(Caller::Anyone);
        }
        if self.admin.is_empty() {
            tracing::error!("admin_token is not set; the state API is closed");
            return Err(ApiError::not_configured(
                "the admin_token variable is not set",
            ));
        }
        let token = token::bearer(header).ok_or_else(|| {
            ApiError::unauthorized("this route needs Authorization: Bearer <token>")
        })?;
        let is = |expected: &str| token::matches(token, expected);
        // Both comparisons always run, so timing does not tell which matched.
        let (admin, reader) = (is(&self.admin), is(&self.reader));
        match (access, admin, reader) {
            (Access::Public, _, _) => Ok(Caller::Anyone),
            (_, true, _) => Ok(Caller::Admin),
            (Access::Read, false, true) => Ok(Caller::Reader),
            (Access::Write, false, true) => Err(ApiError::forbidden(
                "the reader token cannot write; this route needs the admin token",
            )),
            (_, false, false) => {
                tracing::warn!(?access, "state route called with a wrong token");
                Err(ApiError::forbidden(
                    "the bearer token is not a state API token",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(reader: &str) -> Tokens {
        Tokens {
            admin: "adm1n".into(),
            reader: reader.into(),
        }
    }

    #[test]
    fn reads_take_either_token_and_writes_only_the_admin_one() {
        let t = tokens("r3ad");
        assert_eq!(
            t.check(Some("Bearer adm1n"), Access::Write),
            Ok(Caller::Admin)
        );
        assert_eq!(
            t.check(Some("Bearer adm1n"), Access::Read),
            Ok(Caller::Admin)
        );
        assert_eq!(
            t.check(Some("Bearer r3ad"), Access::Read),
            Ok(Caller::Reader)
        );
        assert_eq!(
            t.check(Some("Bearer r3ad"), Access::Write)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            t.check(Some("Bearer nope"), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            t.check(Some("Bearer adm1"), Access::Write)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(t.check(None, Access::Read).unwrap_err().status, 401);
        assert_eq!(
            t.check(Some("Basic adm1n"), Access::Read)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            t.check(Some("Bearer "), Access::Read).unwrap_err().status,
            401
        );
    }

    #[test]
    fn an_empty_reader_token_opens_nothing_and_no_admin_token_closes_all() {
        let t = tokens("");
        assert_eq!(
            t.check(Some("Bearer adm1n"), Access::Read),
            Ok(Caller::Admin)
        );
        assert_eq!(
            t.check(Some("Bearer x"), Access::Read).unwrap_err().status,
            403
        );
        let closed = Tokens::default();
        assert_eq!(
            closed
                .check(Some("Bearer x"), Access::Read)
                .unwrap_err()
                .status,
            500
        );
    }

    #[test]
    fn a_public_route_takes_any_token_or_none() {
        for tokens in [tokens("r3ad"), Tokens::default()] {
            for header in [
                None,
                Some("Bearer nope"),
                Some("Basic x"),
                Some("Bearer adm1n"),
            ] {
                assert_eq!(
                    tokens.check(header, Access::Public),
                    Ok(Caller::Anyone),
                    "{header:?}"
                );
            }
        }
    }
}
