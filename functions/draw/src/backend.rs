//! The component's backing services: Spin's key-value store and Redis, and
//! the host's clock and randomness.
//!
//! Both stores are opened per request, as Spin instantiates a component
//! per request.

use spin_sdk::key_value::Store;

/// The Redis address used when the `redis_address` variable is not set.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";

/// The Redis address, from the `redis_address` variable.
pub fn redis_address() -> String {
    tombola_edge::settings::text("redis_address", DEFAULT_REDIS_ADDRESS)
}

/// Opens Spin's `default` key-value store.
///
/// Fails when the store is not granted to the component or its backend is
/// down.
pub fn key_value() -> Result<Store, spin_sdk::key_value::Error> {
    Store::open_default()
}

pub use tombola_edge::host::{now_millis, seed};
pub use tombola_edge::redis::{describe_key_value, describe_redis};
