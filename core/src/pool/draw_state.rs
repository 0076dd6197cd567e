//! Multi-draw progress, saved between chunks so an interrupted multi-draw
//! can be resumed or rolled back.

use serde::{Deserialize, Serialize};

use crate::pool::entry::MAX_DRAW_COUNT;
use crate::pool::id::{IdError, ItemId, LockKey, OperationId, PoolId, RequestId};

/// Where a multi-draw stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawStatus {
    /// Chunks remain to be drawn.
    InProgress,
    /// Every draw was made.
    Completed,
    /// The drawn items were given back.
    RolledBack,
}

/// The outcome of one chunk: one DRAW entry of the operation.
///
/// JSON: `{"seq":12,"items":["gold","none"],"failed":0}`; `failed`
/// defaults to 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkResult {
    /// The sequence number of the chunk's DRAW entry.
    pub seq: u64,
    /// The items drawn, in draw order.
    pub items: Vec<ItemId>,
    /// How many of the chunk's draws failed.
    #[serde(default)]
    pub failed: u32,
}

/// Why a saved [`DrawState`] cannot be trusted. The component answers 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawStateCorrupted {
    /// The JSON does not parse as a draw state.
    #[error("not a draw state: {0}")]
    Json(String),
    /// An empty operation id, pool id or lock key.
    #[error("{0} is empty")]
    EmptyId(&'static str),
    /// An operation id, pool id or lock key that is not valid.
    #[error("{field} is invalid: {error}")]
    InvalidId {
        /// The field.
        field: &'static str,
        /// Why.
        error: IdError,
    },
    /// A lock key that does not name the state's pool and operation.
    #[error("lock key {found} does not match {expected}")]
    LockKeyMismatch {
        /// The lock key of the pool and operation.
        expected: String,
        /// The lock key in the state.
        found: String,
    },
    /// A total of zero draws.
    #[error("total is zero")]
    ZeroTotal,
    /// A chunk size outside 1 to [`MAX_DRAW_COUNT`].
    #[error("chunk_size {0} is outside 1..={MAX_DRAW_COUNT}")]
    ChunkSize(u32),
    /// More draws completed than the total.
    #[error("completed {completed} exceeds total {total}")]
    CompletedExceedsTotal {
        /// Draws completed.
        completed: u32,
        /// Draws in total.
        total: u32,
    },
    /// The chunk results do not add up to the completed count.
    #[error("results account for {counted} draws, completed says {completed}")]
    ResultsMismatch {
        /// Draws the results hold (items plus failures).
        counted: u64,
        /// Draws completed.
        completed: u32,
    },
    /// A chunk of no draws, or of more than the chunk size.
    #[error("chunk {chunk} does not hold 1 to chunk_size draws")]
    BadChunkSize {
        /// The chunk's index.
        chunk: usize,
    },
    /// Chunk sequence numbers that do not increase.
    #[error("chunk {chunk} has sequence number {seq}, not after the previous chunk's")]
    SeqNotIncreasing {
        /// The chunk's index.
        chunk: usize,
        /// Its sequence number.
        seq: u64,
    },
    /// A status that contradicts the counts.
    #[error("status {status:?} is impossible with {completed} of {total} draws completed")]
    ImpossibleStatus {
        /// The status.
        status: DrawStatus,
        /// Draws completed.
        completed: u32,
        /// Draws in total.
        total: u32,
    },
    /// A state saved under one operation's key that names another pool or
    /// operation.
    #[error("saved for {expected} but names {found}")]
    WrongKey {
        /// The lock key of the pool and operation it was read for.
        expected: String,
        /// The lock key its fields name.
        found: String,
    },
    /// A rollback position on a state that is not rolled back.
    #[error("rollback_seq {0} on a state that is not rolled back")]
    RollbackSeqWithoutRollback(u64),
    /// Updated before it was created.
    #[error("updated_at {updated_at} is before created_at {created_at}")]
    UpdatedBeforeCreated {
        /// Creation time.
        created_at: u64,
        /// Last update time.
        updated_at: u64,
    },
}

/// A multi-draw's progress, saved as JSON under
/// [`keys::operation`](crate::pool::keys::operation) after every chunk, and
/// kept marked rolled back for its TTL after a rollback.
///
/// Timestamps are whatever the caller passes in (milliseconds since the
/// Unix epoch, by convention): the core reads no clock. The ids are typed;
/// the saved JSON is data to be checked, not trusted, so it is read with
/// [`DrawState::load`] (or [`DrawState::from_json`]), which validates it.
///
/// JSON:
///
/// ```text
/// {"operation":"op-7","pool":"summer","lock_key":"summer/op-7","total":10,
///  "chunk_size":1000,"completed":4,
///  "results":[{"seq":12,"items":["gold","none","none"],"failed":0},
///  {"seq":15,"items":["none"],"failed":0}],"status":"in_progress",
///  "created_at":1700000000000,"updated_at":1700000000500}
/// ```
///
/// A rolled-back state also has `"rollback_seq"`, the position of its
/// RETURN entry.
///
/// ```
/// use tombola_core::pool::{DrawState, DrawStatus, ItemId, OperationId, PoolId};
///
/// let mut state = DrawState::new(&OperationId::new("op-7")?, &PoolId::new("summer")?, 3, 1_000);
/// assert_eq!(state.chunk_request().as_str(), "op-7#0");
/// state.record(12, vec![ItemId::new("gold")?; 2], 1, 1_500);
/// assert_eq!(state.completed, 3);
/// assert_eq!(state.status, DrawStatus::Completed);
/// let saved = state.to_json();
/// assert_eq!(DrawState::from_json(&saved)?, state);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawState {
    /// The operation id, chosen by the client.
    pub operation: OperationId,
    /// The pool drawn from.
    pub pool: PoolId,
    /// `<pool>/<operation>`: see [`LockKey`].
    #[serde(serialize_with = "as_text")]
    pub lock_key: LockKey,
    /// Draws asked for.
    pub total: u32,
    /// Draws per chunk, 1 to [`MAX_DRAW_COUNT`].
    pub chunk_size: u32,
    /// Draws made so far, failed ones included.
    pub completed: u32,
    /// One result per chunk, in order; chunk `i` is request `<operation>#<i>`.
    pub results: Vec<ChunkResult>,
    /// Where the operation stands.
    pub status: DrawStatus,
    /// The sequence number of the RETURN entry that rolled it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_seq: Option<u64>,
    /// When the operation started, as passed by the caller.
    pub created_at: u64,
    /// When the state last changed, as passed by the caller.
    pub updated_at: u64,
}

fn as_text<S: serde::Serializer>(key: &LockKey, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(key)
}

// The saved JSON as it is read, before its ids are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    operation: String,
    pool: String,
    lock_key: String,
    total: u32,
    // States saved before the field existed ran chunks of the maximum.
    #[serde(default = "max_chunk")]
    chunk_size: u32,
    completed: u32,
    results: Vec<ChunkResult>,
    status: DrawStatus,
    #[serde(default)]
    rollback_seq: Option<u64>,
    created_at: u64,
    updated_at: u64,
}

fn max_chunk() -> u32 {
    MAX_DRAW_COUNT
}

impl DrawState {
    /// A new operation of `total` draws, started at `now`, in chunks of at
    /// most [`MAX_DRAW_COUNT`] (see [`DrawState::with_chunk_size`]).
    pub fn new(operation: &OperationId, pool: &PoolId, total: u32, now: u64) -> DrawState {
        DrawState {
            operation: operation.clone(),
            pool: pool.clone(),
            lock_key: LockKey::new(pool.clone(), operation.clone()),
            total,
            chunk_size: MAX_DRAW_COUNT,
            completed: 0,
            results: Vec::new(),
            status: DrawStatus::InProgress,
            rollback_seq: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Draws still to make.
    pub fn remaining(&self) -> u32 {
        self.total.saturating_sub(self.completed)
    }

    /// The same state with chunks of `chunk_size` draws; a size outside 1
    /// to [`MAX_DRAW_COUNT`] makes [`DrawState::validate`] fail.
    pub fn with_chunk_size(mut self, chunk_size: u32) -> DrawState {
        self.chunk_size = chunk_size;
        self
    }

    /// How many draws the next chunk asks for: the rest, at most the chunk
    /// size (and never more than [`MAX_DRAW_COUNT`]).
    pub fn next_chunk_count(&self) -> u32 {
        self.remaining().min(self.chunk_size).min(MAX_DRAW_COUNT)
    }

    /// The index of the next chunk, from 0.
    pub fn next_chunk(&self) -> u32 {
        // Every chunk holds at least one of at most u32::MAX draws.
        u32::try_from(self.results.len()).unwrap_or(u32::MAX)
    }

    /// The request id of the next chunk: `<operation>#<chunk>`.
    pub fn chunk_request(&self) -> RequestId {
        RequestId::chunk(&self.operation, self.next_chunk())
    }

    /// Records a chunk at `now`: the DRAW entry's sequence number, the items
    /// it drew and how many of its draws failed. They all count as completed
    /// draws, and the status becomes completed once every draw is made.
    pub fn record(&mut self, seq: u64, items: Vec<ItemId>, failed: u32, now: u64) {
        let made = u32::try_from(items.len())
            .unwrap_or(u32::MAX)
            .saturating_add(failed);
        self.completed = self.completed.saturating_add(made);
        self.results.push(ChunkResult { seq, items, failed });
        if self.completed >= self.total {
            self.status = DrawStatus::Completed;
        }
        self.updated_at = now;
    }

    /// Every item drawn so far, in draw order.
    pub fn drawn(&self) -> Vec<ItemId> {
        self.results
            .iter()
            .flat_map(|result| result.items.iter().cloned())
            .collect()
    }

    /// Marks the operation rolled back at `now` by the RETURN entry at
    /// `seq`.
    pub fn roll_back(&mut self, seq: u64, now: u64) {
        self.status = DrawStatus::RolledBack;
        self.rollback_seq = Some(seq);
        self.updated_at = now.max(self.updated_at);
    }

    /// The state as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings, integers and unit enums always serialize")
    }

    /// Loads a saved state and validates it.
    ///
    /// # Errors
    ///
    /// [`DrawStateCorrupted::Json`] if it does not parse, or what
    /// [`DrawState::validate`] finds.
    pub fn from_json(json: &str) -> Result<DrawState, DrawStateCorrupted> {
        let saved: Saved = serde_json::from_str(json)
            .map_err(|error| DrawStateCorrupted::Json(error.to_string()))?;
        fn field<T>(
            field: &'static str,
            text: &str,
            parse: fn(&str) -> Result<T, IdError>,
        ) -> Result<T, DrawStateCorrupted> {
            if text.is_empty() {
                return Err(DrawStateCorrupted::EmptyId(field));
            }
            parse(text).map_err(|error| DrawStateCorrupted::InvalidId { field, error })
        }
        let state = DrawState {
            operation: field("operation", &saved.operation, OperationId::new)?,
            pool: field("pool", &saved.pool, PoolId::new)?,
            lock_key: field("lock_key", &saved.lock_key, str::parse::<LockKey>)?,
            total: saved.total,
            chunk_size: saved.chunk_size,
            completed: saved.completed,
            results: saved.results,
            status: saved.status,
            rollback_seq: saved.rollback_seq,
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        };
        state.validate()?;
        Ok(state)
    }

    /// Loads the state saved under the key of `operation` in `pool`: what
    /// [`DrawState::from_json`] checks, and that it names that pool and
    /// operation.
    ///
    /// # Errors
    ///
    /// As [`DrawState::from_json`]; [`DrawStateCorrupted::WrongKey`] for a
    /// state of another pool or operation; [`DrawStateCorrupted::Json`] for
    /// bytes that are not UTF-8.
    pub fn load(
        bytes: &[u8],
        pool: &PoolId,
        operation: &OperationId,
    ) -> Result<DrawState, DrawStateCorrupted> {
        let json =
            std::str::from_utf8(bytes).map_err(|_| DrawStateCorrupted::Json("not UTF-8".into()))?;
        let state = DrawState::from_json(json)?;
        let expected = LockKey::new(pool.clone(), operation.clone());
        if state.lock_key != expected {
            return Err(DrawStateCorrupted::WrongKey {
                expected: expected.to_string(),
                found: state.lock_key.to_string(),
            });
        }
        Ok(state)
    }

    /// Checks that the state is one a multi-draw could have saved.
    ///
    /// # Errors
    ///
    /// The first problem found, in this order: a lock key that does not
    /// match the pool and operation; a zero total; completed above total; a
    /// chunk of 0 or over [`MAX_DRAW_COUNT`] draws; chunk sequence numbers
    /// that do not increase; results that do not add up to completed; a
    /// status that contradicts the counts (in progress with every draw made,
    /// completed with draws left); a rollback position on a state not rolled
    /// back; `updated_at` before `created_at`.
    pub fn validate(&self) -> Result<(), DrawStateCorrupted> {
        let expected = LockKey::new(self.pool.clone(), self.operation.clone());
        if self.lock_key != expected {
            return Err(DrawStateCorrupted::LockKeyMismatch {
                expected: expected.to_string(),
                found: self.lock_key.to_string(),
            });
        }
        if self.total == 0 {
            return Err(DrawStateCorrupted::ZeroTotal);
        }
        if !(1..=MAX_DRAW_COUNT).contains(&self.chunk_size) {
            return Err(DrawStateCorrupted::ChunkSize(self.chunk_size));
        }
        if self.completed > self.total {
            return Err(DrawStateCorrupted::CompletedExceedsTotal {
                completed: self.completed,
                total: self.total,
            });
        }
        let mut counted = 0u64;
        let mut previous: Option<u64> = None;
        for (chunk, result) in self.results.iter().enumerate() {
            let draws = result.items.len() as u64 + u64::from(result.failed);
            if !(1..=u64::from(self.chunk_size)).contains(&draws) {
                return Err(DrawStateCorrupted::BadChunkSize { chunk });
            }
            if previous.is_some_and(|previous| result.seq <= previous) {
                return Err(DrawStateCorrupted::SeqNotIncreasing {
                    chunk,
                    seq: result.seq,
                });
            }
            previous = Some(result.seq);
            counted += draws;
        }
        if counted != u64::from(self.completed) {
            return Err(DrawStateCorrupted::ResultsMismatch {
                counted,
                completed: self.completed,
            });
        }
        let impossible = match self.status {
            DrawStatus::InProgress => self.completed == self.total,
            DrawStatus::Completed => self.completed != self.total,
            DrawStatus::RolledBack => false,
        };
        if impossible {
            return Err(DrawStateCorrupted::ImpossibleStatus {
                status: self.status,
                completed: self.completed,
                total: self.total,
            });
        }
        if let Some(seq) = self.rollback_seq
            && self.status != DrawStatus::RolledBack
        {
            return Err(DrawStateCorrupted::RollbackSeqWithoutRollback(seq));
        }
        if self.updated_at < self.created_at {
            return Err(DrawStateCorrupted::UpdatedBeforeCreated {
                created_at: self.created_at,
                updated_at: self.updated_at,
            });
        }
        Ok(())
    }
}
