//! The draw engine: prize pools and everything that decides their answers.
//!
//! The engine is a sans-io state machine:
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
//! use tombola_core::pool::{decide, replay, Command, Entry, PoolConfig, RequestId};
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
//! - [`id`]: pool, item, operation and request ids (client request ids and
//!   the ids derived for an operation's chunks and rollback live in
//!   disjoint namespaces), and lock keys.
//! - [`config`]: [`PoolConfig`], the create-pool body, and its validation.
//! - [`rules`]: rules versions, the seeded generator and unbiased uniform
//!   integers an auditor needs to reproduce a draw.
//! - [`fair`]: rules 2, "provably fair": committed server seeds, client
//!   seeds and nonces, the HMAC-SHA256 stream and its unbiased integers.
//! - [`proof`]: what a player checks: the proof of one draw, an exported
//!   log, and the verdict of recomputing them.
//! - [`provable`]: rules 2 in the log: commitments, rotations, the draws
//!   made under them and the server seeds a replay holds.
//! - [`sampler`]: the cache-aware weighted sampler draws run on.
//! - [`entry`]: log entries, with the line grammar on [`Entry`]; [`codec`]:
//!   their text encoding and its errors.
//! - [`state`]: [`PoolState`] and what each entry does to it; [`holding`]:
//!   what each multi-draw operation holds, which a rollback gives back; [`outcome`]: what an entry did.
//! - [`machine`]: [`Command`], [`decide`] and [`apply`].
//! - [`replay`](mod@replay): [`replay()`], [`replay_tail`] and the streaming
//!   [`Ledger`]; sequence numbers and log tails.
//! - [`snapshot`]: the versioned, checksummed binary snapshot.
//! - [`history`]: what Redis returned (a tail, or everything retained), where
//!   replay starts, when it needs the archive, when a snapshot is due and
//!   how the log is compacted.
//! - [`record`]: a request id's record and the fingerprint of each command.
//! - [`draw_state`]: multi-draw progress, [`DrawState`]; [`operation`]: the
//!   multi-draw lifecycle (start, resume, stop, roll back).
//! - [`audit`]: the audit report, conservation included.
//! - [`keys`]: the Redis keys of a pool.

pub mod audit;
pub mod codec;
pub(crate) mod columns;
pub mod config;
pub mod draw_state;
pub mod entry;
pub mod fair;
pub mod history;
pub mod holding;
pub mod id;
pub mod keys;
pub mod machine;
pub mod operation;
pub mod outcome;
pub mod proof;
pub mod provable;
pub mod record;
pub mod replay;
pub mod rules;
pub mod sampler;
pub mod snapshot;
pub mod state;

pub use codec::{CodecError, CodecReason, Field, FieldProblem};
pub use config::{
    ConfigError, ConfigField, ConfigProblem, Item, ItemConfig, Mode, PoolConfig, Stock, ValidConfig,
};
pub use draw_state::{ChunkResult, DrawState, DrawStateCorrupted, DrawStatus};
pub use entry::{
    Chunk, Commit, Draw, DrawCount, Entry, FairChunk, FairDraw, GivenDraw, MAX_DRAW_COUNT, Restock,
    Return, Rollback, Rotate,
};
pub use fair::{Commitment, FairGenerator, FairInput, HexError, ServerSeed};
pub use holding::{Holding, Holdings};
pub use id::{ClientSeed, IdError, ItemId, LockKey, OperationId, PoolId, RequestId};
pub use machine::{
    Command, DecideError, apply, apply_with, chunk_entry, decide, draw_entry, rollback_entry,
};
pub use outcome::{FailReason, IgnoreReason, ItemCount, Outcome};
pub use provable::{Fairness, Keyring};
pub use record::{Fingerprint, Record, RecordError};
pub use replay::{
    Ledger, LogError, ReplayError, Replayed, decode_tail, replay, replay_tail, replay_tail_with,
    replay_with, seq_of_push,
};
pub use rules::Rules;
pub use snapshot::{Snapshot, SnapshotError};
pub use state::{Odds, PoolState};
