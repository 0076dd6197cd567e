//! The multi-draw lifecycle: what a run, a resume, a rollback and a look at
//! an operation are told, given what is saved and what the log decided.
//!
//! An operation runs in chunks, each one CHUNK entry under the request id
//! `<operation>#<index>`, so a chunk is appended at most once however often
//! a call is retried or raced. Its [`DrawState`] is saved after each chunk
//! and kept, marked rolled back, after a rollback. A rollback is one RETURN
//! entry naming the operation: the log decides what it gives back and
//! which chunks fail after it ([`crate::pool::holding`]); this module only
//! reads those outcomes.
//!
//! ```
//! use tombola_core::pool::operation::{self, OperationRequest, Run, Step};
//! use tombola_core::pool::{ItemId, OperationId, Outcome, PoolId};
//!
//! let pool = PoolId::new("summer")?;
//! let ask = OperationRequest { operation_id: OperationId::new("op-7")?, count: 2, chunk_size: 1, client_seed: None };
//! let Run::Draw(mut state) = operation::start(&pool, &ask, None, None, 1_000)? else {
//!     unreachable!("a new operation draws");
//! };
//! let drawn = Outcome::Draw { drawn: vec![ItemId::new("gold")?], failed: 0, reason: None };
//! assert_eq!(operation::after_chunk(&mut state, 12, &drawn, 1_001)?, Step::Continue);
//! assert_eq!(operation::after_chunk(&mut state, 14, &drawn, 1_002)?, Step::Done);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Deserialize;

use crate::pool::draw_state::{DrawState, DrawStateCorrupted, DrawStatus};
use crate::pool::entry::MAX_DRAW_COUNT;
use crate::pool::id::{ClientSeed, OperationId, PoolId};
use crate::pool::outcome::{FailReason, Outcome};
use crate::pool::record::Record;

/// The most draws one operation may ask for.
pub const MAX_OPERATION_COUNT: u32 = 1_000_000;

/// The chunk size when a request names none.
pub const DEFAULT_CHUNK_SIZE: u32 = 10;

fn default_chunk() -> u32 {
    DEFAULT_CHUNK_SIZE
}

/// The body of `POST .../operations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    /// Chosen by the client; names the operation for resume and rollback.
    pub operation_id: OperationId,
    /// Draws in all, 1 to [`MAX_OPERATION_COUNT`].
    pub count: u32,
    /// Draws per chunk, 1 to [`MAX_DRAW_COUNT`].
    #[serde(default = "default_chunk")]
    pub chunk_size: u32,
    /// Rules 2 only: the player's client seed for the chunks this call
    /// draws; absent, the server picks one per chunk. Each chunk's entry
    /// holds the one it drew with.
    #[serde(default)]
    pub client_seed: Option<ClientSeed>,
}

/// Why an operation request is refused or stopped. Nothing was appended
/// for the refusals; a stop says where the operation stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// `count` outside 1 to [`MAX_OPERATION_COUNT`] (the client's fault,
    /// field `count`).
    #[error("count must be from 1 to {MAX_OPERATION_COUNT}")]
    Count,
    /// `chunk_size` outside 1 to [`MAX_DRAW_COUNT`] (field `chunk_size`).
    #[error("chunk_size must be from 1 to {MAX_DRAW_COUNT}")]
    ChunkSize,
    /// The operation exists with another count or chunk size.
    #[error("operation {operation} exists with count {total} and chunk_size {chunk_size}")]
    Mismatch {
        /// The operation.
        operation: OperationId,
        /// Its count.
        total: u32,
        /// Its chunk size.
        chunk_size: u32,
    },
    /// The operation was rolled back; its id stays spent.
    #[error("{}", rolled_back_detail(.operation, *.seq))]
    RolledBack {
        /// The operation.
        operation: OperationId,
        /// The RETURN entry's position, when known.
        seq: Option<u64>,
    },
    /// The pool is closed: the operation stopped where it stands.
    #[error("pool {pool} is closed: operation {} stopped after {} of {} draws", .state.operation, .state.completed, .state.total)]
    PoolClosed {
        /// The pool.
        pool: PoolId,
        /// The operation as saved.
        state: Box<DrawState>,
    },
    /// No state is saved for the operation (never started, or expired).
    #[error("operation {operation} has no saved state (never started, or expired)")]
    NoSavedState {
        /// The operation.
        operation: OperationId,
    },
    /// The saved state cannot be trusted.
    #[error("{key}: {error}")]
    Corrupted {
        /// The key it was read from.
        key: String,
        /// What is wrong with it.
        error: DrawStateCorrupted,
    },
    /// A chunk's entry had an outcome no chunk can have: stored data is not
    /// what Tombola writes.
    #[error("chunk entry {seq} has outcome {outcome:?}")]
    NotAChunk {
        /// The entry.
        seq: u64,
        /// Its outcome.
        outcome: Box<Outcome>,
    },
}

fn rolled_back_detail(operation: &OperationId, seq: Option<u64>) -> String {
    match seq {
        Some(seq) => format!(
            "operation {operation} was rolled back (log entry {seq}); start a new operation under a new id"
        ),
        None => {
            format!("operation {operation} was rolled back; start a new operation under a new id")
        }
    }
}

impl OperationRequest {
    /// Checks the counts.
    ///
    /// # Errors
    ///
    /// [`OperationError::Count`] or [`OperationError::ChunkSize`].
    pub fn validate(&self) -> Result<(), OperationError> {
        if !(1..=MAX_OPERATION_COUNT).contains(&self.count) {
            return Err(OperationError::Count);
        }
        if !(1..=MAX_DRAW_COUNT).contains(&self.chunk_size) {
            return Err(OperationError::ChunkSize);
        }
        Ok(())
    }
}

/// What a run or resume does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Draw the next chunks from this state.
    Draw(DrawState),
    /// Nothing: the operation is complete, answer with its state.
    Done(DrawState),
}

/// What a run or resume of `ask` does, given the state saved under its key
/// (`saved`) and the position of its rollback's record (`rolled_back`, if
/// the record is still kept), at `now`.
///
/// # Errors
///
/// The request's own errors first ([`OperationRequest::validate`]); then
/// [`OperationError::RolledBack`] once the operation was rolled back (by
/// the saved state or the record: a state saved by a chunk that raced the
/// rollback is stale), and [`OperationError::Mismatch`] for another count
/// or chunk size.
pub fn start(
    pool: &PoolId,
    ask: &OperationRequest,
    saved: Option<DrawState>,
    rolled_back: Option<u64>,
    now: u64,
) -> Result<Run, OperationError> {
    ask.validate()?;
    let rolled = |seq| OperationError::RolledBack {
        operation: ask.operation_id.clone(),
        seq,
    };
    let Some(state) = saved else {
        if rolled_back.is_some() {
            return Err(rolled(rolled_back));
        }
        let state =
            DrawState::new(&ask.operation_id, pool, ask.count, now).with_chunk_size(ask.chunk_size);
        return Ok(Run::Draw(state));
    };
    if state.status == DrawStatus::RolledBack || rolled_back.is_some() {
        return Err(rolled(state.rollback_seq.or(rolled_back)));
    }
    if state.total != ask.count || state.chunk_size != ask.chunk_size {
        return Err(OperationError::Mismatch {
            operation: ask.operation_id.clone(),
            total: state.total,
            chunk_size: state.chunk_size,
        });
    }
    Ok(match state.status {
        DrawStatus::Completed => Run::Done(state),
        _ => Run::Draw(state),
    })
}

/// What follows a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// More chunks remain.
    Continue,
    /// Every draw is made.
    Done,
}

/// Folds the outcome of the chunk at `seq` into `state` at `now`, and says
/// what follows.
///
/// # Errors
///
/// [`OperationError::PoolClosed`] when the pool was closed where the chunk
/// landed, whatever the number of chunks: the state is left as it was (the
/// chunk drew nothing), and every later call stops the same way.
/// [`OperationError::RolledBack`] when the operation's rollback landed
/// before the chunk: the chunk changed nothing.
/// [`OperationError::NotAChunk`] for an outcome that is not a draw's.
pub fn after_chunk(
    state: &mut DrawState,
    seq: u64,
    outcome: &Outcome,
    now: u64,
) -> Result<Step, OperationError> {
    let Outcome::Draw {
        drawn,
        failed,
        reason,
    } = outcome
    else {
        return Err(OperationError::NotAChunk {
            seq,
            outcome: Box::new(outcome.clone()),
        });
    };
    match reason {
        Some(FailReason::Closed) => {
            return Err(OperationError::PoolClosed {
                pool: state.pool.clone(),
                state: Box::new(state.clone()),
            });
        }
        Some(FailReason::RolledBack) => {
            return Err(OperationError::RolledBack {
                operation: state.operation.clone(),
                seq: None,
            });
        }
        _ => {}
    }
    state.record(seq, drawn.clone(), *failed, now);
    Ok(match state.status {
        DrawStatus::Completed => Step::Done,
        _ => Step::Continue,
    })
}

/// What a rollback does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollback {
    /// Append the operation's RETURN entry (at most once, under its
    /// rollback request id), then save this state marked rolled back.
    Append(DrawState),
    /// Already rolled back: answer with the saved state, marked so.
    Answered(DrawState),
    /// The state expired, but the rollback's record is kept: answer from it.
    Recorded(Record),
}

/// What a rollback of `operation` does, given the state saved under its
/// key and its rollback's record.
///
/// # Errors
///
/// [`OperationError::NoSavedState`] when neither is there: nothing is known
/// to give back (a multi-draw can only be rolled back while its state is
/// kept).
pub fn roll_back(
    operation: &OperationId,
    saved: Option<DrawState>,
    record: Option<Record>,
) -> Result<Rollback, OperationError> {
    match (saved, record) {
        (Some(state), _) if state.status == DrawStatus::RolledBack => Ok(Rollback::Answered(state)),
        // A record without a rolled-back state: the state was saved by a
        // chunk racing the rollback. Appending again answers from the record.
        (Some(state), _) => Ok(Rollback::Append(state)),
        (None, Some(record)) => Ok(Rollback::Recorded(record)),
        (None, None) => Err(OperationError::NoSavedState {
            operation: operation.clone(),
        }),
    }
}

/// What `GET .../operations/{operation}` answers: the saved state, marked
/// rolled back at the rollback's position when its record says so (a state
/// saved by a chunk that raced the rollback is stale).
///
/// # Errors
///
/// [`OperationError::NoSavedState`] when no state is saved; a rollback's
/// record alone is reported as [`OperationError::RolledBack`].
pub fn view(
    operation: &OperationId,
    saved: Option<DrawState>,
    rolled_back: Option<u64>,
) -> Result<DrawState, OperationError> {
    match (saved, rolled_back) {
        (Some(mut state), Some(seq)) if state.status != DrawStatus::RolledBack => {
            state.roll_back(seq, state.updated_at);
            Ok(state)
        }
        (Some(state), _) => Ok(state),
        (None, Some(seq)) => Err(OperationError::RolledBack {
            operation: operation.clone(),
            seq: Some(seq),
        }),
        (None, None) => Err(OperationError::NoSavedState {
            operation: operation.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::id::ItemId;

    fn pool() -> PoolId {
        PoolId::new("p").unwrap()
    }

    fn op() -> OperationId {
        OperationId::new("op").unwrap()
    }

    fn ask(count: u32, chunk_size: u32) -> OperationRequest {
        OperationRequest {
            operation_id: op(),
            count,
            chunk_size,
            client_seed: None,
        }
    }

    fn drew(items: usize) -> Outcome {
        Outcome::Draw {
            drawn: vec![ItemId::new("a").unwrap(); items],
            failed: 0,
            reason: None,
        }
    }

    fn failed(count: u32, reason: FailReason) -> Outcome {
        Outcome::Draw {
            drawn: Vec::new(),
            failed: count,
            reason: Some(reason),
        }
    }

    fn running(count: u32, chunk_size: u32) -> DrawState {
        match start(&pool(), &ask(count, chunk_size), None, None, 5).unwrap() {
            Run::Draw(state) => state,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counts_are_bounded() {
        for (count, chunk, error) in [
            (0, 10, OperationError::Count),
            (MAX_OPERATION_COUNT + 1, 10, OperationError::Count),
            (10, 0, OperationError::ChunkSize),
            (10, MAX_DRAW_COUNT + 1, OperationError::ChunkSize),
        ] {
            assert_eq!(
                start(&pool(), &ask(count, chunk), None, None, 0),
                Err(error)
            );
        }
        assert!(
            start(
                &pool(),
                &ask(MAX_OPERATION_COUNT, MAX_DRAW_COUNT),
                None,
                None,
                0
            )
            .is_ok()
        );
    }

    #[test]
    fn a_saved_operation_resumes_only_with_its_own_counts() {
        let state = running(20, 10);
        assert_eq!(
            start(&pool(), &ask(20, 5), Some(state.clone()), None, 9),
            Err(OperationError::Mismatch {
                operation: op(),
                total: 20,
                chunk_size: 10
            })
        );
        assert_eq!(
            start(&pool(), &ask(20, 10), Some(state.clone()), None, 9),
            Ok(Run::Draw(state))
        );
    }

    #[test]
    fn a_rolled_back_id_stays_spent() {
        let mut state = running(20, 10);
        assert_eq!(
            start(&pool(), &ask(20, 10), None, Some(7), 9),
            Err(OperationError::RolledBack {
                operation: op(),
                seq: Some(7)
            })
        );
        // A stale in-progress state loses to the rollback's record.
        assert_eq!(
            start(&pool(), &ask(20, 10), Some(state.clone()), Some(7), 9),
            Err(OperationError::RolledBack {
                operation: op(),
                seq: Some(7)
            })
        );
        state.roll_back(8, 10);
        // Even with other counts: the rollback is what the client must hear.
        assert_eq!(
            start(&pool(), &ask(3, 1), Some(state), None, 11),
            Err(OperationError::RolledBack {
                operation: op(),
                seq: Some(8)
            })
        );
    }

    #[test]
    fn a_completed_operation_answers_without_drawing() {
        let mut state = running(2, 2);
        assert_eq!(after_chunk(&mut state, 3, &drew(2), 6), Ok(Step::Done));
        assert_eq!(
            start(&pool(), &ask(2, 2), Some(state.clone()), None, 7),
            Ok(Run::Done(state))
        );
    }

    #[test]
    fn a_closed_pool_stops_any_operation_where_it_stands() {
        for chunks in [1, 3] {
            let mut state = running(5 * chunks, 5);
            let before = state.clone();
            let stopped = after_chunk(&mut state, 4, &failed(5, FailReason::Closed), 6);
            assert_eq!(
                stopped,
                Err(OperationError::PoolClosed {
                    pool: pool(),
                    state: Box::new(before.clone())
                }),
                "{chunks} chunks"
            );
            assert_eq!(state, before, "nothing recorded");
        }
    }

    #[test]
    fn a_chunk_after_the_rollback_changes_nothing() {
        let mut state = running(20, 10);
        let before = state.clone();
        assert_eq!(
            after_chunk(&mut state, 9, &failed(10, FailReason::RolledBack), 6),
            Err(OperationError::RolledBack {
                operation: op(),
                seq: None
            })
        );
        assert_eq!(state, before);
    }

    #[test]
    fn out_of_stock_chunks_count_as_made() {
        let mut state = running(20, 10);
        let partial = Outcome::Draw {
            drawn: vec![ItemId::new("a").unwrap(); 4],
            failed: 6,
            reason: Some(FailReason::OutOfStock),
        };
        assert_eq!(after_chunk(&mut state, 3, &partial, 6), Ok(Step::Continue));
        assert_eq!(state.completed, 10);
        assert!(matches!(
            after_chunk(&mut state, 4, &Outcome::Close, 7),
            Err(OperationError::NotAChunk { seq: 4, .. })
        ));
    }

    #[test]
    fn rollbacks_append_once_and_then_answer() {
        let state = running(20, 10);
        assert_eq!(
            roll_back(&op(), Some(state.clone()), None),
            Ok(Rollback::Append(state.clone()))
        );
        let mut rolled = state.clone();
        rolled.roll_back(12, 9);
        assert_eq!(
            roll_back(&op(), Some(rolled.clone()), None),
            Ok(Rollback::Answered(rolled))
        );
        let record = Record::decode("12 rollback").unwrap();
        assert_eq!(
            roll_back(&op(), None, Some(record.clone())),
            Ok(Rollback::Recorded(record))
        );
        assert_eq!(
            roll_back(&op(), None, None),
            Err(OperationError::NoSavedState { operation: op() })
        );
    }

    #[test]
    fn a_look_reconciles_a_stale_state_with_the_rollback() {
        let state = running(20, 10);
        let seen = view(&op(), Some(state.clone()), Some(12)).unwrap();
        assert_eq!(
            (seen.status, seen.rollback_seq),
            (DrawStatus::RolledBack, Some(12))
        );
        assert_eq!(view(&op(), Some(state.clone()), None), Ok(state));
        assert_eq!(
            view(&op(), None, Some(12)),
            Err(OperationError::RolledBack {
                operation: op(),
                seq: Some(12)
            })
        );
        assert_eq!(
            view(&op(), None, None),
            Err(OperationError::NoSavedState { operation: op() })
        );
    }
}
