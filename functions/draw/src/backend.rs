//! The component's backing service, Redis, and the host's clock and
//! randomness.
//!
//! Redis is opened per request, as Spin instantiates a component per
//! request.

pub use tombola_edge::host::{now_millis, seed};
pub use tombola_edge::redis::address as redis_address;
pub use tombola_edge::redis::describe_redis;

use tombola_core::pool::ServerSeed;

/// A fresh rules-2 server seed: 32 bytes from the host's CSPRNG.
pub fn server_seed() -> ServerSeed {
    let mut bytes = [0u8; 32];
    for word in bytes.chunks_exact_mut(8) {
        word.copy_from_slice(&seed().to_be_bytes());
    }
    ServerSeed::from_bytes(bytes)
}
