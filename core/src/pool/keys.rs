//! The Redis keys of a pool.
//!
//! Every key of one pool carries the hash tag `{<pool>}`, so a pool lives in
//! one Redis Cluster slot and its Lua scripts may touch all of its keys.
//! Pool ids never contain `{`, `}` or `:` (see [`crate::pool::id`]), so no two
//! pools' keys can collide.
//!
//! ```text
//! tombola:{pool}:log          list    the write-ahead log (RPUSH only)
//! tombola:{pool}:base         integer sequence number of the entry before log[0]
//! tombola:{pool}:snap         string  encoded snapshot
//! tombola:{pool}:req:<id>     string  seq and recorded outcome of a request id
//! tombola:{pool}:op:<id>      string  a multi-draw DrawState as JSON
//! tombola:{pool}:archive:<n>  list    rotated log segment n, kept for audit
//! tombola:{pool}:fair         hash    rules 2: `seed` the server seed in force
//!                                     (64 hex digits, secret until a ROTATE
//!                                     reveals it), `nonce` the next draw's,
//!                                     `every` the rotation interval
//! ```
//!
//! The pool catalog, which pools exist and how to list them, lives beside
//! the logs under a hash tag of its own, so its scripts stay in one slot:
//!
//! ```text
//! tombola:{catalog}:pools     sorted set  pool ids, scored by creation time (ms)
//! tombola:{catalog}:listings  hash        pool id -> its listing as JSON
//! ```
//!
//! A pool named `catalog` shares that slot, never a key: a pool's keys end
//! in the names above, which are not `pools` or `listings`.
//!
//! ```
//! use tombola_core::pool::{keys, PoolId, RequestId};
//!
//! let pool = PoolId::new("summer")?;
//! assert_eq!(keys::log(&pool), "tombola:{summer}:log");
//! assert_eq!(keys::request(&pool, &RequestId::new("u42-1")?), "tombola:{summer}:req:u42-1");
//! # Ok::<(), tombola_core::pool::IdError>(())
//! ```

use crate::pool::id::{LockKey, OperationId, PoolId, RequestId};

/// The hash tag shared by all of a pool's keys: `{<pool>}`.
pub fn hash_tag(pool: &PoolId) -> String {
    format!("{{{pool}}}")
}

/// The write-ahead log: `tombola:{<pool>}:log`.
pub fn log(pool: &PoolId) -> String {
    format!("tombola:{{{pool}}}:log")
}

/// The sequence number of the entry before `log[0]`: `tombola:{<pool>}:base`.
pub fn base(pool: &PoolId) -> String {
    format!("tombola:{{{pool}}}:base")
}

/// The newest snapshot: `tombola:{<pool>}:snap`.
pub fn snap(pool: &PoolId) -> String {
    format!("tombola:{{{pool}}}:snap")
}

/// The recorded outcome of a request: `tombola:{<pool>}:req:<id>`.
pub fn request(pool: &PoolId, request: &RequestId) -> String {
    format!("tombola:{{{pool}}}:req:{request}")
}

/// A multi-draw's saved state: `tombola:{<pool>}:op:<id>`.
pub fn operation(pool: &PoolId, operation: &OperationId) -> String {
    format!("tombola:{{{pool}}}:op:{operation}")
}

/// A rules-2 pool's randomness in Redis, a hash: the server seed in force
/// ([`FAIR_SEED`]), secret until a ROTATE entry reveals it, the nonce the
/// next draw takes ([`FAIR_NONCE`]) and the rotation interval
/// ([`FAIR_EVERY`]): `tombola:{<pool>}:fair`. No answer ever carries the
/// seed. The scripts that append COMMIT, ROTATE and DRAW/2 entries keep the
/// nonce equal to the one the log's `apply` expects.
pub fn fair(pool: &PoolId) -> String {
    format!("tombola:{{{pool}}}:fair")
}

/// The field of [`fair`] holding the server seed in force.
pub const FAIR_SEED: &str = "seed";
/// The field of [`fair`] holding the next draw's nonce.
pub const FAIR_NONCE: &str = "nonce";
/// The field of [`fair`] holding the rotation interval (0: by the operator).
pub const FAIR_EVERY: &str = "every";

/// Rotated log segment `n`: `tombola:{<pool>}:archive:<n>`.
pub fn archive(pool: &PoolId, segment: u64) -> String {
    format!("tombola:{{{pool}}}:archive:{segment}")
}

/// The snapshot an archived segment starts from (the state before its
/// first entry, `n - 1`): `tombola:{<pool>}:archive:<n>:snap`.
pub fn archive_snap(pool: &PoolId, segment: u64) -> String {
    format!("tombola:{{{pool}}}:archive:{segment}:snap")
}

/// The archive's index, a list of each segment's first sequence number,
/// oldest first: `tombola:{<pool>}:archive:index`.
pub fn archive_index(pool: &PoolId) -> String {
    format!("tombola:{{{pool}}}:archive:index")
}

/// The catalog's order: a sorted set of pool ids scored by creation time,
/// `tombola:{catalog}:pools`. Written only together with
/// [`CATALOG_LISTINGS`], in one script.
pub const CATALOG_POOLS: &str = "tombola:{catalog}:pools";

/// The catalog's listings: a hash from pool id to its listing as JSON,
/// `tombola:{catalog}:listings`. Holds exactly the ids of [`CATALOG_POOLS`].
pub const CATALOG_LISTINGS: &str = "tombola:{catalog}:listings";

/// The kinds of state an operation keeps in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationType {
    /// A multi-draw's progress, a [`crate::pool::DrawState`]: the `op:<id>` key.
    MultiDraw,
    /// The record of the RETURN that rolls the operation back, appended as
    /// request [`RequestId::rollback`]: the `req:<id>#rollback` key.
    Rollback,
}

/// The key of an operation's state of the given type, from its lock key.
///
/// ```
/// use tombola_core::pool::keys::{state, OperationType};
/// use tombola_core::pool::LockKey;
///
/// let lock: LockKey = "summer/op-7".parse()?;
/// assert_eq!(state(&lock, OperationType::MultiDraw), "tombola:{summer}:op:op-7");
/// assert_eq!(state(&lock, OperationType::Rollback), "tombola:{summer}:req:op-7#rollback");
/// # Ok::<(), tombola_core::pool::IdError>(())
/// ```
pub fn state(lock: &LockKey, kind: OperationType) -> String {
    match kind {
        OperationType::MultiDraw => operation(lock.pool(), lock.operation()),
        OperationType::Rollback => request(lock.pool(), &RequestId::rollback(lock.operation())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_pool_hash_tag() {
        let pool = PoolId::new("p.1").unwrap();
        let keys = [
            log(&pool),
            base(&pool),
            snap(&pool),
            request(&pool, &RequestId::new("r").unwrap()),
            operation(&pool, &OperationId::new("o").unwrap()),
            archive(&pool, 3),
            archive_snap(&pool, 3),
            archive_index(&pool),
            fair(&pool),
        ];
        assert_eq!(
            keys,
            [
                "tombola:{p.1}:log",
                "tombola:{p.1}:base",
                "tombola:{p.1}:snap",
                "tombola:{p.1}:req:r",
                "tombola:{p.1}:op:o",
                "tombola:{p.1}:archive:3",
                "tombola:{p.1}:archive:3:snap",
                "tombola:{p.1}:archive:index",
                "tombola:{p.1}:fair",
            ]
        );
        let tag = hash_tag(&pool);
        assert_eq!(tag, "{p.1}");
        assert!(keys.iter().all(|key| key.contains(&tag)));
    }

    #[test]
    fn the_catalog_shares_one_slot_and_no_key_with_a_pool_named_catalog() {
        let catalog = [CATALOG_POOLS, CATALOG_LISTINGS];
        let pool = PoolId::new("catalog").unwrap();
        assert!(catalog.iter().all(|key| key.contains(&hash_tag(&pool))));
        let pool_keys = [
            log(&pool),
            base(&pool),
            snap(&pool),
            archive_index(&pool),
            request(&pool, &RequestId::new("pools").unwrap()),
            operation(&pool, &OperationId::new("listings").unwrap()),
        ];
        for key in catalog {
            assert!(!pool_keys.iter().any(|k| k == key), "{key}");
        }
    }
}
