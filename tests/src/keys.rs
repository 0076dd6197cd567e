//! A pool's Redis keys for the suites and the bench, by pool and id text:
//! `tombola_core::pool::keys` spells them; these only parse the ids.

use tombola_core::pool::{OperationId, PoolId, RequestId, keys};

fn pool(id: &str) -> PoolId {
    PoolId::new(id).expect("the suites use valid pool ids")
}

/// The pool's log.
pub fn log(id: &str) -> String {
    keys::log(&pool(id))
}

/// The sequence number before the log's first entry.
pub fn base(id: &str) -> String {
    keys::base(&pool(id))
}

/// The newest snapshot.
pub fn snap(id: &str) -> String {
    keys::snap(&pool(id))
}

/// A client request's record.
pub fn request(id: &str, request: &str) -> String {
    keys::request(
        &pool(id),
        &RequestId::new(request).expect("the suites use valid request ids"),
    )
}

/// An operation's saved DrawState.
pub fn operation(id: &str, operation: &str) -> String {
    keys::operation(
        &pool(id),
        &OperationId::new(operation).expect("the suites use valid operation ids"),
    )
}

/// Archived segment `first`.
pub fn archive(id: &str, first: u64) -> String {
    keys::archive(&pool(id), first)
}

/// Every key of the pool, as a `KEYS` pattern.
pub fn all(id: &str) -> String {
    format!("tombola:{}*", keys::hash_tag(&pool(id)))
}
