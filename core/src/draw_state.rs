//! Multi-draw progress, saved between chunks so an interrupted multi-draw
//! can be resumed or rolled back.

use serde::{Deserialize, Serialize};

use crate::entry::MAX_DRAW_COUNT;
use crate::id::{IdError, ItemId, LockKey, OperationId, PoolId, RequestId};
use crate::machine::Command;

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
/// [`keys::state`](crate::keys::state) after every chunk.
///
/// Timestamps are whatever the caller passes in (milliseconds since the
/// Unix epoch, by convention): the core reads no clock. Fields are public
/// because a saved state is data to be checked, not trusted: call
/// [`DrawState::validate`] (or load with [`DrawState::from_json`], which
/// does) before acting on one.
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
/// ```
/// use tombola_core::{DrawState, DrawStatus, ItemId, OperationId, PoolId};
///
/// let mut state = DrawState::new(&OperationId::new("op-7")?, &PoolId::new("summer")?, 3, 1_000);
/// assert_eq!(state.chunk_request()?.as_str(), "op-7#0");
/// state.record(12, vec![ItemId::new("gold")?; 2], 1, 1_500);
/// assert_eq!(state.completed, 3);
/// assert_eq!(state.status, DrawStatus::Completed);
/// let saved = state.to_json();
/// assert_eq!(DrawState::from_json(&saved)?, state);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawState {
    /// The operation id, chosen by the client.
    pub operation: String,
    /// The pool drawn from.
    pub pool: String,
    /// `<pool>/<operation>`: see [`LockKey`].
    pub lock_key: String,
    /// Draws asked for.
    pub total: u32,
    /// Draws per chunk, 1 to [`MAX_DRAW_COUNT`] (states saved before the
    /// field existed ran chunks of the maximum).
    #[serde(default = "max_chunk")]
    pub chunk_size: u32,
    /// Draws made so far, failed ones included.
    pub completed: u32,
    /// One result per chunk, in order; chunk `i` is request `<operation>#<i>`.
    pub results: Vec<ChunkResult>,
    /// Where the operation stands.
    pub status: DrawStatus,
    /// When the operation started, as passed by the caller.
    pub created_at: u64,
    /// When the state last changed, as passed by the caller.
    pub updated_at: u64,
}

fn max_chunk() -> u32 {
    MAX_DRAW_COUNT
}

impl DrawState {
    /// A new operation of `total` draws, started at `now`, in chunks of at
    /// most [`MAX_DRAW_COUNT`] (see [`DrawState::with_chunk_size`]).
    pub fn new(operation: &OperationId, pool: &PoolId, total: u32, now: u64) -> DrawState {
        DrawState {
            operation: operation.to_string(),
            pool: pool.to_string(),
            lock_key: LockKey::new(pool.clone(), operation.clone()).to_string(),
            total,
            chunk_size: MAX_DRAW_COUNT,
            completed: 0,
            results: Vec::new(),
            status: DrawStatus::InProgress,
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

    /// The request id of the next chunk: `<operation>#<chunk>`.
    ///
    /// # Errors
    ///
    /// [`DrawStateCorrupted`] if the state does not validate.
    pub fn chunk_request(&self) -> Result<RequestId, DrawStateCorrupted> {
        self.validate()?;
        let (_, operation) = self.validate_ids()?;
        // Every chunk holds at least one of at most u32::MAX draws.
        let chunk =
            u32::try_from(self.results.len()).map_err(|_| DrawStateCorrupted::ResultsMismatch {
                counted: self.results.len() as u64,
                completed: self.completed,
            })?;
        Ok(RequestId::chunk(&operation, chunk))
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

    /// The command that gives back everything drawn, for a rollback; `None`
    /// when nothing was drawn.
    ///
    /// # Errors
    ///
    /// [`DrawStateCorrupted`] if the state does not validate.
    pub fn return_command(&self) -> Result<Option<Command>, DrawStateCorrupted> {
        let operation_id = self.validate_ids()?.1;
        self.validate()?;
        let items = self.drawn();
        Ok((!items.is_empty()).then_some(Command::Return {
            operation_id,
            items,
        }))
    }

    /// Marks the operation rolled back at `now`.
    pub fn roll_back(&mut self, now: u64) {
        self.status = DrawStatus::RolledBack;
        self.updated_at = now;
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
        let state: DrawState = serde_json::from_str(json)
            .map_err(|error| DrawStateCorrupted::Json(error.to_string()))?;
        state.validate()?;
        Ok(state)
    }

    /// Checks that the state is one a multi-draw could have saved.
    ///
    /// # Errors
    ///
    /// The first problem found, in this order: an empty or invalid operation
    /// id, pool id or lock key; a lock key that does not match; a zero
    /// total; completed above total; a chunk of 0 or over [`MAX_DRAW_COUNT`]
    /// draws; chunk
    /// sequence numbers that do not increase; results that do not add up to
    /// completed; a status that contradicts the counts (in progress with
    /// every draw made, completed with draws left); `updated_at` before
    /// `created_at`.
    pub fn validate(&self) -> Result<(), DrawStateCorrupted> {
        self.validate_ids()?;
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
        if self.updated_at < self.created_at {
            return Err(DrawStateCorrupted::UpdatedBeforeCreated {
                created_at: self.created_at,
                updated_at: self.updated_at,
            });
        }
        Ok(())
    }

    fn validate_ids(&self) -> Result<(PoolId, OperationId), DrawStateCorrupted> {
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
        let operation = field("operation", &self.operation, OperationId::new)?;
        let pool = field("pool", &self.pool, PoolId::new)?;
        let lock_key = field("lock_key", &self.lock_key, str::parse::<LockKey>)?;
        let expected = LockKey::new(pool.clone(), operation.clone());
        if lock_key != expected {
            return Err(DrawStateCorrupted::LockKeyMismatch {
                expected: expected.to_string(),
                found: self.lock_key.clone(),
            });
        }
        Ok((pool, operation))
    }
}
