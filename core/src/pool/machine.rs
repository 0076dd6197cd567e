//! The state machine: `decide` turns a command into an entry, `apply` folds
//! an entry into the state.
//!
//! `decide` checks a command against the newest state the caller has read.
//! That state may already be behind the log when the entry is appended, so
//! `apply` checks again at the entry's position and reports in the outcome
//! anything that no longer holds (a draw on a pool closed in between fails,
//! and so on). `apply` is what replay runs, so it never refuses.

use std::num::NonZeroU64;
use std::sync::Arc;

use crate::pool::codec::Line;
use crate::pool::config::{ConfigError, PoolConfig, ValidConfig};
use crate::pool::entry::{Chunk, Draw, DrawCount, Entry, MAX_DRAW_COUNT, Restock, Rollback};
use crate::pool::id::{ItemId, OperationId, RequestId};
use crate::pool::outcome::{IgnoreReason, Outcome};
use crate::pool::provable::Keyring;
use crate::pool::state::{AddError, PoolState};

/// What a caller asks of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Create the pool.
    Create(PoolConfig),
    /// Draw `count` items.
    Draw {
        /// The request id: the client's, or `<operation>#<chunk>`.
        request_id: RequestId,
        /// How many draws, 1 to [`MAX_DRAW_COUNT`].
        count: u32,
        /// Draw nothing if the stock cannot fill `count`.
        all_or_nothing: bool,
        /// 64 bits from the host's CSPRNG.
        seed: u64,
    },
    /// Add units of a limited item.
    Restock {
        /// The item.
        item: ItemId,
        /// How many units, at least 1.
        quantity: u64,
    },
    /// Close the pool for draws.
    Close,
}

/// Why `decide` refuses a command. Nothing was appended: these are the
/// caller's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// Any command but CREATE on a pool that does not exist.
    #[error("no such pool")]
    NoPool,
    /// CREATE on a pool that exists.
    #[error("the pool already exists")]
    AlreadyExists,
    /// CREATE with an invalid configuration.
    #[error("invalid pool configuration: {0}")]
    Config(#[from] ConfigError),
    /// DRAW or RESTOCK on a closed pool.
    #[error("the pool is closed")]
    Closed,
    /// CLOSE on a closed pool.
    #[error("the pool is already closed")]
    AlreadyClosed,
    /// A draw count outside 1..=[`MAX_DRAW_COUNT`].
    #[error("count {0} is outside 1..={MAX_DRAW_COUNT}")]
    BadCount(u32),
    /// An item the pool does not have.
    #[error("no item {0} in the pool")]
    UnknownItem(ItemId),
    /// RESTOCK of an unlimited item.
    #[error("item {0} has unlimited stock")]
    UnlimitedItem(ItemId),
    /// RESTOCK of zero units.
    #[error("the quantity must be at least 1")]
    ZeroQuantity,
    /// A RESTOCK that would take an item's stock or the pool's total
    /// weight past `u64::MAX`.
    #[error("item {0} would overflow the pool's stock or total weight")]
    Overflow(ItemId),
}

/// The DRAW entry for a request, decided without reading the pool's state.
///
/// A draw is the one command whose checks do not need the state: its count
/// is checked here, and whether the pool exists, is open and has stock is
/// checked where it counts, at the entry's position in the log (the append
/// script refuses a missing pool; [`apply`] fails draws on a closed pool or
/// out of stock). This lets a draw be appended in the same atomic step that
/// reads the state, with no read before it.
///
/// # Errors
///
/// [`DecideError::BadCount`] unless `count` is 1 to [`MAX_DRAW_COUNT`].
///
/// ```
/// use tombola_core::pool::{draw_entry, DecideError, RequestId};
///
/// let entry = draw_entry(RequestId::new("r1")?, 10, false, 0xdeadbeef)?;
/// assert_eq!(entry.encode(), "DRAW/1 r1 10 00000000deadbeef partial");
/// assert_eq!(draw_entry(RequestId::new("r1")?, 0, false, 1), Err(DecideError::BadCount(0)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn draw_entry(
    request_id: RequestId,
    count: u32,
    all_or_nothing: bool,
    seed: u64,
) -> Result<Entry, DecideError> {
    let count = DrawCount::new(count).ok_or(DecideError::BadCount(count))?;
    Ok(Entry::Draw(Draw {
        request_id,
        count,
        seed,
        all_or_nothing,
    }))
}

/// The CHUNK entry of chunk `index` of an operation, decided without
/// reading the pool's state, as a draw is ([`draw_entry`]): whether the
/// pool is open, has stock and whether the operation was rolled back is
/// settled where the entry lands in the log. `at` is the host's clock now
/// and `until` the end of the operation's rollback window, both in
/// milliseconds since the Unix epoch.
///
/// # Errors
///
/// [`DecideError::BadCount`] unless `count` is 1 to [`MAX_DRAW_COUNT`].
///
/// ```
/// use tombola_core::pool::{chunk_entry, OperationId};
///
/// let entry = chunk_entry(&OperationId::new("op-7")?, 2, 10, 0xbeef, 1_000, 3_601_000)?;
/// assert_eq!(entry.encode(), "CHUNK/1 op-7 2 10 000000000000beef 1000 3601000");
/// assert_eq!(entry.request_id().map(|r| r.to_string()), Some("op-7#2".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn chunk_entry(
    operation: &OperationId,
    index: u32,
    count: u32,
    seed: u64,
    at: u64,
    until: u64,
) -> Result<Entry, DecideError> {
    let count = DrawCount::new(count).ok_or(DecideError::BadCount(count))?;
    Ok(Entry::Chunk(Chunk {
        operation_id: operation.clone(),
        index,
        count,
        seed,
        at,
        until,
    }))
}

/// The RETURN entry that rolls an operation back. It needs no state: what
/// it gives back is what the operation's chunks hold where it lands in the
/// log, and it is accepted on a closed pool, since giving back must always
/// be possible. Its chunks after it fail until `until`.
///
/// ```
/// use tombola_core::pool::{rollback_entry, OperationId};
///
/// let entry = rollback_entry(&OperationId::new("op-7")?, 5_000, 3_605_000);
/// assert_eq!(entry.encode(), "RETURN/2 op-7 5000 3605000");
/// assert_eq!(entry.request_id().map(|r| r.to_string()), Some("op-7#rollback".into()));
/// # Ok::<(), tombola_core::pool::IdError>(())
/// ```
pub fn rollback_entry(operation: &OperationId, at: u64, until: u64) -> Entry {
    Entry::Rollback(Rollback {
        operation_id: operation.clone(),
        at,
        until,
    })
}

/// Checks a command against the state the caller has read (`None`: no pool
/// yet) and produces the entry to append.
///
/// A DRAW is not refused for lack of stock: its outcome records the
/// failure.
///
/// # Errors
///
/// A [`DecideError`] when the command does not apply to that state: see
/// each variant.
///
/// ```
/// use tombola_core::pool::{decide, Command, DecideError, PoolConfig, RequestId};
///
/// let config: PoolConfig = serde_json::from_str(r#"{"id":"p","name":"P","mode":"weight",
///     "items":[{"id":"a","stock":1}]}"#)?;
/// let create = decide(None, Command::Create(config))?;
/// assert_eq!(create.encode(), "CREATE/1 p 1 weight 32 P a:1:1");
///
/// let draw = Command::Draw { request_id: RequestId::new("r1")?, count: 0, all_or_nothing: false, seed: 7 };
/// assert_eq!(decide(None, draw), Err(DecideError::NoPool));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decide(state: Option<&PoolState>, command: Command) -> Result<Entry, DecideError> {
    let Some(state) = state else {
        return match command {
            Command::Create(config) => Ok(Entry::Create(Arc::new(ValidConfig::new(config)?))),
            _ => Err(DecideError::NoPool),
        };
    };
    match command {
        Command::Create(_) => Err(DecideError::AlreadyExists),
        Command::Draw {
            request_id,
            count,
            all_or_nothing,
            seed,
        } => {
            let entry = draw_entry(request_id, count, all_or_nothing, seed)?;
            if state.is_closed() {
                return Err(DecideError::Closed);
            }
            Ok(entry)
        }
        Command::Restock { item, quantity } => {
            if state.is_closed() {
                return Err(DecideError::Closed);
            }
            let position = state
                .config()
                .position(item.as_str())
                .ok_or_else(|| DecideError::UnknownItem(item.clone()))?;
            let quantity = NonZeroU64::new(quantity).ok_or(DecideError::ZeroQuantity)?;
            match state.check_add(position, quantity.get()) {
                Ok(_) => Ok(Entry::Restock(Restock { item, quantity })),
                Err(AddError::Unlimited) => Err(DecideError::UnlimitedItem(item)),
                Err(AddError::Overflow) => Err(DecideError::Overflow(item)),
            }
        }
        Command::Close if state.is_closed() => Err(DecideError::AlreadyClosed),
        Command::Close => Ok(Entry::Close),
    }
}

/// Applies an entry to a pool that may not exist yet, and returns its
/// outcome. Never fails: a CREATE starts the pool; any other entry before
/// it, and a second CREATE, change nothing and say so.
///
/// ```
/// use tombola_core::pool::{apply, Entry, IgnoreReason, Outcome};
///
/// let mut state = None;
/// let close = Entry::decode("CLOSE/1")?;
/// assert_eq!(apply(&mut state, &close), Outcome::Ignored { reason: IgnoreReason::NoPool });
/// let create = Entry::decode("CREATE/1 p 1 stock 32 P a:1:3")?;
/// assert_eq!(apply(&mut state, &create), Outcome::Create);
/// assert_eq!(apply(&mut state, &close), Outcome::Close);
/// assert!(state.is_some_and(|state| state.is_closed()));
/// # Ok::<(), tombola_core::pool::CodecError>(())
/// ```
pub fn apply(state: &mut Option<PoolState>, entry: &Entry) -> Outcome {
    apply_line(state, &entry.as_line())
}

/// As [`apply`], holding the server seeds in `keys` for rules-2 draws
/// (see [`provable`](super::provable)); [`apply`] holds none.
pub fn apply_with(state: &mut Option<PoolState>, entry: &Entry, keys: &Keyring) -> Outcome {
    apply_line_keyed(state, &entry.as_line(), keys)
}

pub(crate) fn apply_line(state: &mut Option<PoolState>, line: &Line<'_>) -> Outcome {
    apply_line_keyed(state, line, &Keyring::new())
}

pub(crate) fn apply_line_keyed(
    state: &mut Option<PoolState>,
    line: &Line<'_>,
    keys: &Keyring,
) -> Outcome {
    match (state.as_mut(), line) {
        (Some(state), line) => state.apply_line_keyed(line, keys),
        (None, Line::Create(config)) => {
            *state = Some(PoolState::new(Arc::clone(config)));
            Outcome::Create
        }
        (None, _) => {
            tracing::debug!("entry before the pool's CREATE ignored");
            Outcome::Ignored {
                reason: IgnoreReason::NoPool,
            }
        }
    }
}
