//! The component's backing service, Redis, and the host's clock and
//! randomness.
//!
//! Redis is opened per request, as Spin instantiates a component per
//! request.

pub use tombola_edge::host::{now_millis, seed};
pub use tombola_edge::redis::address as redis_address;
pub use tombola_edge::redis::describe_redis;
