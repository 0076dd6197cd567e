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

/// A Redis error as one readable line.
pub fn describe_redis(error: &spin_sdk::redis::Error) -> String {
    use spin_sdk::redis::Error;
    match error {
        Error::InvalidAddress => {
            "the Redis address is invalid or not allowed by the manifest".into()
        }
        Error::TooManyConnections => "too many Redis connections".into(),
        Error::TypeError => "Redis returned a value of an unexpected type".into(),
        Error::Other(message) => message.clone(),
    }
}

/// A key-value error as one readable line.
pub fn describe_key_value(error: &spin_sdk::key_value::Error) -> String {
    use spin_sdk::key_value::Error;
    match error {
        Error::StoreTableFull => "too many key-value stores open".into(),
        Error::NoSuchStore => "no such key-value store".into(),
        Error::AccessDenied => "the component may not open this key-value store".into(),
        Error::Other(message) => message.clone(),
    }
}

/// A numeric variable, or `default` when it is unset or not a number.
pub fn number_variable(name: &str, default: u64) -> u64 {
    match variables::get(name) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(variable = name, value = %text, default, "not a number; using the default");
            default
        }),
        Err(_) => default,
    }
}

/// Milliseconds since the Unix epoch, from the host's clock.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A 64-bit seed from the host's CSPRNG.
pub fn seed() -> u64 {
    wasi::random::random::get_random_u64()
}
