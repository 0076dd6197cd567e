//! The component's backing services: Spin's key-value store and Redis.
//!
//! Both are opened per request, as Spin instantiates a component per
//! request; the host keeps the underlying connections warm.

use spin_sdk::key_value::Store;
use spin_sdk::redis::Connection;
use spin_sdk::variables;

/// The Redis address used when the `redis_address` variable is not set.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";

/// The Redis address, from the `redis_address` variable.
pub fn redis_address() -> String {
    variables::get("redis_address").unwrap_or_else(|_| DEFAULT_REDIS_ADDRESS.to_owned())
}

/// Opens a Redis connection to the configured address.
///
/// Fails when the address is not allowed by the manifest or Redis cannot be
/// reached; both mean the request cannot be served now (503).
pub fn redis() -> Result<Connection, spin_sdk::redis::Error> {
    Connection::open(&redis_address())
}

/// Opens Spin's `default` key-value store.
///
/// Fails when the store is not granted to the component or its backend is
/// down.
pub fn key_value() -> Result<Store, spin_sdk::key_value::Error> {
    Store::open_default()
}

pub use tombola_edge::host::{now_millis, number_variable, seed};
pub use tombola_edge::redis::{describe_key_value, describe_redis};
