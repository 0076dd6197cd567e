//! The component's backing service, Redis, and the host's clock and
//! randomness.
//!
//! Redis is opened per request, as Spin instantiates a component per
//! request.

/// The Redis address used when the `redis_address` variable is not set.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";

/// The Redis address, from the `redis_address` variable.
pub fn redis_address() -> String {
    tombola_edge::settings::text("redis_address", DEFAULT_REDIS_ADDRESS)
}

pub use tombola_edge::host::{now_millis, seed};
pub use tombola_edge::redis::describe_redis;
