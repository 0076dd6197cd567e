//! Replay: a snapshot plus the log tail after it gives the state and every
//! outcome.
//!
//! Sequence numbers are `u64`, and the first entry of a pool's log is 1. In
//! Redis, an entry's sequence number is the log's `base` (the sequence number
//! of the entry before `log[0]`, 0 until the log is first rotated) plus the
//! list length RPUSH returned ([`seq_of_push`]).

use crate::pool::codec::CodecError;
use crate::pool::codec::Line;
use crate::pool::entry::Entry;
use crate::pool::machine::{apply_line_keyed, apply_with};
use crate::pool::outcome::Outcome;
use crate::pool::provable::Keyring;
use crate::pool::snapshot::Snapshot;
use crate::pool::state::PoolState;

/// A line of a log that does not decode, with its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("log entry {seq}: {source}")]
pub struct LogError {
    /// The sequence number of the line.
    pub seq: u64,
    /// Why it does not decode.
    pub source: CodecError,
}

/// Why a replay cannot proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An entry does not have the next sequence number: the log skips or
    /// repeats one at `expected`.
    #[error("expected entry {expected}, found entry {found}")]
    Gap {
        /// The sequence number the entry should have.
        expected: u64,
        /// The one it has.
        found: u64,
    },
    /// The sequence numbers reached `u64::MAX`.
    #[error("sequence numbers exhausted after {0}")]
    SeqExhausted(u64),
    /// A log line does not decode.
    #[error(transparent)]
    Decode(#[from] LogError),
}

/// The sequence number of an entry RPUSH placed at list length `length`,
/// given the log's `base`; `None` on overflow.
pub fn seq_of_push(base: u64, length: u64) -> Option<u64> {
    base.checked_add(length)
}

/// Decodes log lines, the first having sequence number `first_seq`.
///
/// # Errors
///
/// The first line that does not decode, as a [`LogError`] with its sequence
/// number; lines are never skipped.
pub fn decode_tail<I>(first_seq: u64, lines: I) -> Result<Vec<(u64, Entry)>, LogError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut seq = first_seq;
    lines
        .into_iter()
        .map(|line| {
            let this = seq;
            seq = seq.wrapping_add(1);
            Entry::decode_bytes(line.as_ref())
                .map(|entry| (this, entry))
                .map_err(|source| LogError { seq: this, source })
        })
        .collect()
}

/// A pool's position in its log and its state there (none before the
/// CREATE): what replay folds entries into, one at a time. An audit of a
/// long log streams through a ledger instead of collecting every outcome.
///
/// ```
/// use tombola_core::pool::{Ledger, Outcome};
///
/// let mut ledger = Ledger::new();
/// assert_eq!(ledger.apply_line(b"CREATE/1 p 1 weight 32 P a:1:1")?, Outcome::Create);
/// assert_eq!(ledger.apply_line(b"CLOSE/1")?, Outcome::Close);
/// assert_eq!(ledger.seq(), 2);
/// assert!(ledger.state().is_some_and(|state| state.is_closed()));
/// # Ok::<(), tombola_core::pool::ReplayError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    seq: u64,
    state: Option<PoolState>,
    keys: Keyring,
}

impl Ledger {
    /// The start of a log: no entry, no pool.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// The position and state of a snapshot.
    pub fn from_snapshot(snapshot: Snapshot) -> Ledger {
        Ledger {
            seq: snapshot.seq,
            state: Some(snapshot.state),
            keys: Keyring::new(),
        }
    }

    /// An empty ledger that holds `keys` for rules-2 draws.
    pub fn with_keys(keys: Keyring) -> Ledger {
        Ledger {
            keys,
            ..Ledger::default()
        }
    }

    /// This ledger, holding `keys` for rules-2 draws (see
    /// [`provable`](super::provable)).
    pub fn holding(self, keys: Keyring) -> Ledger {
        Ledger { keys, ..self }
    }

    /// The sequence number of the last entry applied (0 for none).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The pool's state, `None` before its CREATE.
    pub fn state(&self) -> Option<&PoolState> {
        self.state.as_ref()
    }

    /// A snapshot of the pool at this position, if it exists.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.state.clone().map(|state| Snapshot {
            seq: self.seq,
            state,
        })
    }

    /// The position and the state.
    pub fn into_parts(self) -> (u64, Option<PoolState>) {
        (self.seq, self.state)
    }

    /// Applies the entry with sequence number `seq`, which must be the next
    /// one, and returns its outcome.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Gap`] if `seq` is not the next sequence number,
    /// [`ReplayError::SeqExhausted`] after `u64::MAX`; the ledger is
    /// unchanged.
    pub fn apply(&mut self, seq: u64, entry: &Entry) -> Result<Outcome, ReplayError> {
        let expected = self.next()?;
        if seq != expected {
            return Err(ReplayError::Gap {
                expected,
                found: seq,
            });
        }
        self.seq = seq;
        Ok(apply_with(&mut self.state, entry, &self.keys))
    }

    /// Decodes the next log line and applies it.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Decode`] if the line does not decode,
    /// [`ReplayError::SeqExhausted`] after `u64::MAX`; the ledger is
    /// unchanged.
    pub fn apply_line(&mut self, line: &[u8]) -> Result<Outcome, ReplayError> {
        let seq = self.next()?;
        // Parsed lines borrow their ids: no allocation per entry.
        let parsed = Line::parse_bytes(line).map_err(|source| LogError { seq, source })?;
        self.seq = seq;
        Ok(apply_line_keyed(&mut self.state, &parsed, &self.keys))
    }

    fn next(&self) -> Result<u64, ReplayError> {
        self.seq
            .checked_add(1)
            .ok_or(ReplayError::SeqExhausted(self.seq))
    }
}

/// The result of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The sequence number of the last entry applied (the snapshot's when
    /// the tail was empty, 0 with neither).
    pub seq: u64,
    /// The pool's state after the last entry; `None` if no CREATE was seen.
    pub state: Option<PoolState>,
    /// Every entry's outcome, with its sequence number, in log order.
    pub outcomes: Vec<(u64, Outcome)>,
}

impl Replayed {
    /// The outcome of the entry with sequence number `seq`, if it was
    /// replayed.
    pub fn outcome(&self, seq: u64) -> Option<&Outcome> {
        let first = self.outcomes.first()?.0;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.outcomes.get(index).map(|(_, outcome)| outcome)
    }

    /// A snapshot of the final state, if the pool exists.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.state.clone().map(|state| Snapshot {
            seq: self.seq,
            state,
        })
    }

    fn collect<T>(
        start: Option<Snapshot>,
        keys: Keyring,
        items: impl IntoIterator<Item = T>,
        mut step: impl FnMut(&mut Ledger, T) -> Result<(u64, Outcome), ReplayError>,
    ) -> Result<Replayed, ReplayError> {
        let mut ledger = start
            .map_or_else(Ledger::new, Ledger::from_snapshot)
            .holding(keys);
        let items = items.into_iter();
        let mut outcomes = Vec::with_capacity(items.size_hint().0);
        for item in items {
            outcomes.push(step(&mut ledger, item)?);
        }
        let (seq, state) = ledger.into_parts();
        Ok(Replayed {
            seq,
            state,
            outcomes,
        })
    }
}

/// Applies `entries` to `start` (or to no pool, from sequence number 1), and
/// returns the final state and every outcome.
///
/// # Errors
///
/// [`ReplayError::Gap`] unless the sequence numbers follow the snapshot's
/// one by one; nothing is returned for a partial replay.
///
/// ```
/// use tombola_core::pool::{replay, Entry, Outcome};
///
/// let log = ["CREATE/1 p 1 weight 32 P a:1:1", "DRAW/1 r1 2 0000000000000007 partial"];
/// let entries = log.iter().zip(1..).map(|(line, seq)| Ok((seq, Entry::decode(line)?)));
/// let replayed = replay(None, entries.collect::<Result<Vec<_>, tombola_core::pool::CodecError>>()?)?;
/// assert_eq!(replayed.seq, 2);
/// assert_eq!(replayed.outcome(2).map(Outcome::drawn).map(<[_]>::len), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay<I>(start: Option<Snapshot>, entries: I) -> Result<Replayed, ReplayError>
where
    I: IntoIterator<Item = (u64, Entry)>,
{
    replay_with(start, entries, Keyring::new())
}

/// As [`replay()`], holding the server seeds in `keys` for rules-2 draws
/// (see [`provable`](super::provable)).
///
/// # Errors
///
/// As [`replay()`].
pub fn replay_with<I>(
    start: Option<Snapshot>,
    entries: I,
    keys: Keyring,
) -> Result<Replayed, ReplayError>
where
    I: IntoIterator<Item = (u64, Entry)>,
{
    Replayed::collect(start, keys, entries, |ledger, (seq, entry)| {
        Ok((seq, ledger.apply(seq, &entry)?))
    })
}

/// Decodes and replays the log lines that follow `start` (or that start the
/// log, from sequence number 1): what a request does with the newest
/// snapshot and the tail after it. Line `i` has sequence number
/// `start.seq + 1 + i`, so there can be no gap.
///
/// # Errors
///
/// [`ReplayError::Decode`] for the first line that does not decode, with
/// its sequence number; nothing is returned for a partial replay.
///
/// ```
/// use tombola_core::pool::{replay_tail, Outcome};
///
/// let log = ["CREATE/1 p 1 weight 32 P a:1:1", "CLOSE/1"];
/// let replayed = replay_tail(None, log)?;
/// assert_eq!(replayed.outcome(2), Some(&Outcome::Close));
/// let tail = replay_tail(replayed.snapshot(), ["CLOSE/1"])?;
/// assert_eq!(tail.seq, 3);
/// # Ok::<(), tombola_core::pool::ReplayError>(())
/// ```
pub fn replay_tail<I>(start: Option<Snapshot>, lines: I) -> Result<Replayed, ReplayError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    replay_tail_with(start, lines, Keyring::new())
}

/// As [`replay_tail`], holding the server seeds in `keys` for rules-2
/// draws (see [`provable`](super::provable)).
///
/// # Errors
///
/// As [`replay_tail`].
pub fn replay_tail_with<I>(
    start: Option<Snapshot>,
    lines: I,
    keys: Keyring,
) -> Result<Replayed, ReplayError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    Replayed::collect(start, keys, lines, |ledger, line| {
        let outcome = ledger.apply_line(line.as_ref())?;
        Ok((ledger.seq(), outcome))
    })
}
