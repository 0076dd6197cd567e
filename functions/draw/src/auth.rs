//! Operator authentication: `Authorization: Bearer <admin_token>`.
//!
//! The token is the `admin_token` secret variable, compared in constant
//! time so its bytes cannot be guessed from response times.

use spin_sdk::http::IncomingRequest;
use tombola_edge::error::ApiError;

/// Checks the request's bearer token against `admin_token`.
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// token is not configured (an empty token would let anyone in).
pub fn require_admin(request: &IncomingRequest) -> Result<(), ApiError> {
    tombola_edge::token::require(request, "admin_token", "admin")
}
