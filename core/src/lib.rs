//! Tombola's pure draw engine.
//!
//! Everything that decides an outcome lives here, deterministic and free of
//! I/O: no clock, no operating-system randomness, no storage. Randomness
//! arrives as a seed in each draw entry, time as a timestamp argument,
//! storage as bytes and lines; the components around the core stay thin,
//! and an auditor can re-compute every draw from the log.
//!
//! The core is a sans-io state machine:
//!
//! - [`decide`] checks a [`Command`] against a [`PoolState`] and produces the
//!   [`Entry`] to append to the pool's log (or refuses, with a
//!   [`DecideError`]);
//! - [`apply`] folds an entry into the state and returns its [`Outcome`]; it
//!   never refuses a well-formed entry, because replay runs the same code;
//! - [`replay()`] is `apply` over a [`Snapshot`] and the log tail after it.
//!
//! No floating point and nothing that depends on `usize` width lies on the
//! path to an outcome, so wasm32 and x86_64 compute the same draws; the
//! golden vectors test proves it on both.
//!
//! ```
//! use tombola_core::{decide, replay, Command, Entry, PoolConfig, RequestId};
//!
//! let config: PoolConfig = serde_json::from_str(r#"{"id":"summer","name":"Summer",
//!     "mode":"stock","items":[{"id":"gold","stock":1},{"id":"none","weight":3,"stock":null}]}"#)?;
//! let create = decide(None, Command::Create(config))?;
//! // The component appends `create.encode()` to the log; RPUSH says it is entry 1.
//! let log = vec![create.encode()];
//!
//! let created = replay(None, [(1, Entry::decode(&log[0])?)])?;
//! let draw = decide(created.state.as_ref(), Command::Draw {
//!     request_id: RequestId::new("r-1")?, count: 2, all_or_nothing: false, seed: 0x5eed,
//! })?;
//! let tail = [(2, Entry::decode(&draw.encode())?)];
//! let drawn = replay(created.snapshot(), tail)?;
//! assert_eq!(drawn.outcome(2).map(|outcome| outcome.drawn().len()), Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! - [`id`]: pool, item, operation and request ids, and lock keys.
//! - [`config`]: [`PoolConfig`], the create-pool body, and its validation.
//! - [`rules`]: rules versions, the seeded generator and unbiased uniform
//!   integers an auditor needs to reproduce a draw.
//! - [`sampler`]: the cache-aware weighted sampler draws run on.
//! - [`entry`]: log entries, with the line grammar on [`Entry`]; [`codec`]:
//!   their text encoding and its errors.
//! - [`state`]: [`PoolState`] and what each entry does to it; [`outcome`]:
//!   what it did.
//! - [`machine`]: [`Command`], [`decide`] and [`apply`].
//! - [`replay`](mod@replay): [`replay()`], [`replay_tail`] and the streaming
//!   [`Ledger`]; sequence numbers and log tails.
//! - [`snapshot`]: the versioned, checksummed binary snapshot.
//! - [`draw_state`]: multi-draw progress, [`DrawState`].
//! - [`keys`]: the Redis keys of a pool.
//! - [`state_api`]: the versioned state API's rules: keys, values,
//!   compare-and-swap, the change feed and snapshots.
//! - [`lottery`]: the back office: games, barcodes, packs, days, sync rules.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod config;
mod crc;
pub mod draw_state;
pub mod entry;
mod fnv;
pub mod id;
pub mod keys;
pub mod lottery;
pub mod machine;
pub mod outcome;
pub mod replay;
pub mod rules;
pub mod sampler;
pub mod snapshot;
pub mod state;
pub mod state_api;

pub use codec::{CodecError, CodecReason, Field, FieldProblem};
pub use config::{
    ConfigError, ConfigField, ConfigProblem, Item, ItemConfig, Mode, PoolConfig, Stock, ValidConfig,
};
pub use draw_state::{ChunkResult, DrawState, DrawStateCorrupted, DrawStatus};
pub use entry::{Draw, DrawCount, Entry, MAX_DRAW_COUNT, Restock, Return, SeedDraw};
pub use id::{IdError, ItemId, LockKey, OperationId, PoolId, RequestId};
pub use machine::{Command, DecideError, apply, decide, draw_entry};
pub use outcome::{FailReason, IgnoreReason, ItemCount, Outcome};
pub use replay::{
    Ledger, LogError, ReplayError, Replayed, decode_tail, replay, replay_tail, seq_of_push,
};
pub use rules::Rules;
pub use snapshot::{Snapshot, SnapshotError};
pub use state::{Odds, PoolState};
