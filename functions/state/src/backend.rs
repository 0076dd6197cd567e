//! The component's settings (Spin variables) and its Redis connection.

use spin_sdk::redis::Connection;
use spin_sdk::variables;
use tombola_core::state::{DEFAULT_IDEMPOTENCY_TTL_SECS, DEFAULT_MAX_VALUE_BYTES};

/// The Redis address used when the `redis_address` variable is not set.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";

/// How many snapshots are kept when `max_snapshots` is not set.
pub const DEFAULT_MAX_SNAPSHOTS: u64 = 5;

/// How many events the feed keeps when `event_retention` is not set.
pub const DEFAULT_EVENT_RETENTION: u64 = 10_000;

/// The settings a request runs with, read from Spin variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The largest value, in bytes of compact JSON (`max_value_bytes`).
    pub max_value_bytes: usize,
    /// How many snapshots are kept (`max_snapshots`, at least 1).
    pub max_snapshots: u64,
    /// How many events the feed keeps (`event_retention`, at least 1).
    pub event_retention: u64,
    /// How long the record of a write made under an `Idempotency-Key` is
    /// kept, in seconds (`idempotency_ttl_secs`, at least 1).
    pub idempotency_ttl_secs: u64,
}

impl Settings {
    /// Reads the settings; an unset or invalid variable takes its default.
    pub fn load() -> Self {
        let max_value_bytes = number_variable("max_value_bytes", DEFAULT_MAX_VALUE_BYTES as u64);
        Self {
            max_value_bytes: usize::try_from(max_value_bytes).unwrap_or(usize::MAX),
            max_snapshots: number_variable("max_snapshots", DEFAULT_MAX_SNAPSHOTS).max(1),
            event_retention: number_variable("event_retention", DEFAULT_EVENT_RETENTION).max(1),
            idempotency_ttl_secs: number_variable(
                "idempotency_ttl_secs",
                DEFAULT_IDEMPOTENCY_TTL_SECS,
            )
            .max(1),
        }
    }

    /// The largest request body: a value at the limit plus room for the
    /// rest of the body (metadata, the CAS's expected value).
    pub fn max_body_bytes(&self) -> usize {
        self.max_value_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024)
    }
}

/// The Redis address, from the `redis_address` variable.
pub fn redis_address() -> String {
    variables::get("redis_address").unwrap_or_else(|_| DEFAULT_REDIS_ADDRESS.to_owned())
}

/// Opens a Redis connection to the configured address.
///
/// Fails when the address is not allowed by the manifest or Redis cannot be
/// reached.
pub fn redis() -> Result<Connection, spin_sdk::redis::Error> {
    Connection::open(&redis_address())
}

pub use tombola_edge::host::number_variable;
pub use tombola_edge::redis::describe_redis;
