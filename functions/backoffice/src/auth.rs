//! The store token: `Authorization: Bearer <store_token>`.
//!
//! The token is the `store_token` secret variable, compared in constant
//! time so its bytes cannot be guessed from response times. Every route
//! but the health probe and the OpenAPI document takes it: the store's
//! API is the store's alone, and its machine may sit on a shared network.

use spin_sdk::http::IncomingRequest;
use tombola_edge::error::ApiError;

/// Checks the request's bearer token against `store_token`.
///
/// 401 when there is no bearer token, 403 when it is wrong, 500 when the
/// token is not configured (an empty token would let anyone in).
pub fn require_store(request: &IncomingRequest) -> Result<(), ApiError> {
    tombola_edge::token::require(request, "store_token", "store")
}
