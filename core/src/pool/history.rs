//! What Redis holds of a pool, and what the core computes from it: where
//! replay starts, when it needs more than the tail, when a snapshot is due,
//! and how the log is compacted.
//!
//! A request's script returns a [`Tail`]: the newest snapshot and the log
//! after it. Usually that is enough. When the snapshot is missing or
//! damaged, or the entry a retry asks about is already behind it, the core
//! says so ([`FromTail::NeedHistory`]) rather than fetching anything; the
//! component then reads the whole [`History`] (the archive too) and asks
//! again. Nothing here guesses: a history that cannot give a trustworthy
//! state is [`Unrecoverable`], naming the key or entry at fault.
//!
//! ```
//! use tombola_core::pool::history::{self, FromTail, Tail};
//! use tombola_core::pool::PoolId;
//!
//! let pool = PoolId::new("p")?;
//! let tail = Tail {
//!     base: 0,
//!     start: 0,
//!     snapshot: None,
//!     lines: vec!["CREATE/1 p 1 stock 32 P a:1:3".into(), "CLOSE/1".into()],
//!     secret: None,
//! };
//! let FromTail::Computed(computed) = history::from_tail(&pool, &tail)? else {
//!     unreachable!("a log read from its beginning needs nothing else");
//! };
//! assert_eq!(computed.seq(), 2);
//! assert!(computed.state()?.is_closed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::pool::entry::Entry;
use crate::pool::fair::ServerSeed;
use crate::pool::id::PoolId;
use crate::pool::keys;
use crate::pool::outcome::Outcome;
use crate::pool::provable::Keyring;
use crate::pool::replay::{Replayed, decode_tail, replay_with};
use crate::pool::snapshot::Snapshot;
use crate::pool::state::PoolState;

/// A pool's newest snapshot and the log after it, as one script read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The sequence number of the entry before `log[0]`.
    pub base: u64,
    /// The list index the lines start at.
    pub start: u64,
    /// The stored snapshot, undecoded.
    pub snapshot: Option<Vec<u8>>,
    /// Log lines from `start` on.
    pub lines: Vec<String>,
    /// Rules 2: the server seed in force, read in the same step, so the
    /// draws made under it replay; the seeds before it are revealed in the
    /// log. `None` for pools of other rules.
    pub secret: Option<ServerSeed>,
}

impl Tail {
    /// The sequence number of the first line.
    pub fn first_seq(&self) -> u64 {
        self.base + self.start + 1
    }

    /// The sequence number of the last line (of the entry before the first
    /// line when there are none).
    pub fn last_seq(&self) -> u64 {
        self.base + self.start + self.lines.len() as u64
    }
}

/// One archived log segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The sequence number of its first line.
    pub first: u64,
    /// The snapshot at `first - 1`, if one was kept (none for a segment
    /// that starts the log).
    pub snapshot: Option<Vec<u8>>,
    /// Its lines.
    pub lines: Vec<String>,
}

/// Everything retained of a pool: the archive, oldest first, then the live
/// snapshot and the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Archived segments, oldest first.
    pub segments: Vec<Segment>,
    /// The live snapshot and the whole live log (`start` is 0).
    pub live: Tail,
}

impl History {
    /// The oldest sequence number retained anywhere.
    pub fn retained_from(&self) -> u64 {
        self.segments
            .first()
            .map_or(self.live.base + 1, |segment| segment.first)
    }
}

/// What Redis holds cannot give a trustworthy state: a log line that does
/// not decode, or no usable snapshot to start from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {reason}")]
pub struct Unrecoverable {
    /// Where: a key, or `log entry <seq>`.
    pub position: String,
    /// Why.
    pub reason: String,
}

fn unrecoverable(position: impl Into<String>, reason: impl ToString) -> Unrecoverable {
    Unrecoverable {
        position: position.into(),
        reason: reason.to_string(),
    }
}

/// Where a replay started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// From the first entry of the pool.
    Beginning,
    /// From the snapshot at this sequence number, stored under `key`.
    Snapshot {
        /// The snapshot's sequence number.
        seq: u64,
        /// The key it was read from.
        key: String,
    },
}

impl Start {
    /// The sequence number the replay started after (0 from the
    /// beginning).
    pub fn seq(&self) -> u64 {
        match self {
            Start::Beginning => 0,
            Start::Snapshot { seq, .. } => *seq,
        }
    }
}

/// A computed state and the outcome of every entry replayed to get it.
#[derive(Debug, Clone)]
pub struct Computed {
    /// State and outcomes.
    pub replayed: Replayed,
    /// The entries replayed, in order, with their sequence numbers.
    pub entries: Vec<(u64, Entry)>,
    /// Where the replay started.
    pub start: Start,
    /// Problems with newer snapshots that were skipped to get here.
    pub skipped: Vec<String>,
}

impl Computed {
    /// The newest sequence number.
    pub fn seq(&self) -> u64 {
        self.replayed.seq
    }

    /// The outcome of the entry at `seq`, if it was replayed.
    pub fn outcome(&self, seq: u64) -> Option<&Outcome> {
        self.replayed.outcome(seq)
    }

    /// The pool's state.
    ///
    /// # Errors
    ///
    /// When the history holds no pool (its CREATE was lost).
    pub fn state(&self) -> Result<&PoolState, Unrecoverable> {
        self.replayed.state.as_ref().ok_or_else(|| {
            unrecoverable(
                format!("log entry {}", self.start.seq() + 1),
                "the pool's CREATE entry is missing",
            )
        })
    }

    /// Whether the replayed tail is long enough (or the snapshot it should
    /// have started from was unusable) to store a new snapshot.
    pub fn snapshot_due(&self) -> bool {
        let Some(state) = &self.replayed.state else {
            return false;
        };
        let every = u64::from(state.config().snapshot_every().max(1));
        !self.skipped.is_empty() || self.seq().saturating_sub(self.start.seq()) >= every
    }

    /// The snapshot to store after this replay, when one is due.
    pub fn due_snapshot(&self) -> Option<Snapshot> {
        self.snapshot_due()
            .then(|| self.replayed.snapshot())
            .flatten()
    }
}

/// What [`from_tail`] can tell from a tail alone.
#[derive(Debug)]
pub enum FromTail {
    /// The state, computed.
    Computed(Box<Computed>),
    /// The tail is not enough: its snapshot cannot be used, or (from
    /// [`for_entry`]) the entry asked about is behind it. Read the
    /// [`History`] and call [`newest`] or [`containing`] with `skipped`.
    NeedHistory {
        /// Why the tail's snapshot cannot be used; empty when it can.
        skipped: Vec<String>,
    },
}

/// Decodes a stored snapshot expected at `seq`, for pool `pool`.
fn decode_snapshot(bytes: &[u8], seq: u64, pool: &PoolId, key: &str) -> Result<Snapshot, String> {
    let snapshot = Snapshot::decode(bytes).map_err(|e| format!("{key}: {e}"))?;
    if snapshot.seq != seq {
        return Err(format!(
            "{key}: snapshot is at sequence number {}, expected {seq}",
            snapshot.seq
        ));
    }
    if snapshot.state.id() != pool {
        return Err(format!(
            "{key}: snapshot is of pool {}, not {pool}",
            snapshot.state.id()
        ));
    }
    Ok(snapshot)
}

fn run(
    start: Option<Snapshot>,
    first_seq: u64,
    lines: &[&String],
    start_at: Start,
    skipped: Vec<String>,
    secret: Option<&ServerSeed>,
) -> Result<Computed, Unrecoverable> {
    let entries = decode_tail(first_seq, lines.iter().map(|l| l.as_bytes()))
        .map_err(|e| unrecoverable(format!("log entry {}", e.seq), e.source))?;
    let mut keys = Keyring::of(secret.cloned());
    keys.learn(entries.iter().map(|(_, entry)| entry));
    let replayed = replay_with(start, entries.iter().cloned(), keys)
        .map_err(|e| unrecoverable(format!("log entry {first_seq}"), e))?;
    Ok(Computed {
        replayed,
        entries,
        start: start_at,
        skipped,
    })
}

/// Computes the state from a tail, or says that the history is needed.
///
/// # Errors
///
/// [`Unrecoverable`] when a line of the tail does not decode.
pub fn from_tail(pool: &PoolId, tail: &Tail) -> Result<FromTail, Unrecoverable> {
    let key = keys::snap(pool);
    let lines: Vec<&String> = tail.lines.iter().collect();
    let problem = match &tail.snapshot {
        Some(bytes) => match decode_snapshot(bytes, tail.base + tail.start, pool, &key) {
            Ok(snapshot) => {
                let start = Start::Snapshot {
                    seq: snapshot.seq,
                    key,
                };
                let computed = run(
                    Some(snapshot),
                    tail.first_seq(),
                    &lines,
                    start,
                    Vec::new(),
                    tail.secret.as_ref(),
                )?;
                return Ok(FromTail::Computed(Box::new(computed)));
            }
            Err(problem) => problem,
        },
        None if tail.base == 0 && tail.start == 0 => {
            let computed = run(
                None,
                1,
                &lines,
                Start::Beginning,
                Vec::new(),
                tail.secret.as_ref(),
            )?;
            return Ok(FromTail::Computed(Box::new(computed)));
        }
        None => format!("{key}: missing"),
    };
    Ok(FromTail::NeedHistory {
        skipped: vec![problem],
    })
}

/// Computes the state from a tail for the request whose entry is at
/// `seq`: like [`from_tail`], and also [`FromTail::NeedHistory`] when that
/// entry is behind the tail's snapshot (a retry of an old request), so its
/// outcome can be replayed from the archive with [`containing`].
///
/// # Errors
///
/// As [`from_tail`].
pub fn for_entry(pool: &PoolId, tail: &Tail, seq: u64) -> Result<FromTail, Unrecoverable> {
    match from_tail(pool, tail)? {
        FromTail::Computed(computed) if computed.outcome(seq).is_none() => {
            Ok(FromTail::NeedHistory {
                skipped: Vec::new(),
            })
        }
        other => Ok(other),
    }
}

/// Everything retained from the oldest usable start, not yet replayed.
#[derive(Debug, Clone)]
pub struct Retained {
    /// The start's snapshot; none from the pool's beginning.
    pub start: Option<Snapshot>,
    /// Where the start is.
    pub start_at: Start,
    /// Problems with the older starts that were skipped.
    pub skipped: Vec<String>,
    /// Every entry after the start, decoded, with its sequence number.
    pub entries: Vec<(u64, Entry)>,
}

/// Everything retained from the oldest usable start, decoded.
///
/// # Errors
///
/// [`Unrecoverable`] when no start is usable or a line does not decode.
pub fn oldest_entries(pool: &PoolId, history: &History) -> Result<Retained, Unrecoverable> {
    let candidates = candidates(pool, history).into_iter().rev();
    let (position, start, start_at, skipped) = first_usable(candidates, Vec::new())?;
    let (first_seq, lines) = lines_from(history, position);
    let entries = decode_tail(first_seq, lines.iter().map(|l| l.as_bytes()))
        .map_err(|e| unrecoverable(format!("log entry {}", e.seq), e.source))?;
    Ok(Retained {
        start,
        start_at,
        skipped,
        entries,
    })
}

/// The state from the newest usable start in `history` that replays the
/// entry at `seq`: the newest one, or everything retained when `seq` is
/// older than it.
///
/// # Errors
///
/// [`Unrecoverable`] when no start is usable, a line does not decode, or
/// the entry at `seq` is no longer retained.
pub fn containing(
    pool: &PoolId,
    history: &History,
    seq: u64,
    skipped: Vec<String>,
) -> Result<Computed, Unrecoverable> {
    let computed = newest(pool, history, skipped)?;
    if computed.outcome(seq).is_some() {
        return Ok(computed);
    }
    let computed = oldest(pool, history)?;
    if computed.outcome(seq).is_none() {
        return Err(unrecoverable(
            format!("log entry {seq}"),
            "is no longer retained",
        ));
    }
    Ok(computed)
}

/// A place replay can start from: the snapshot (none at the pool's
/// beginning) and where it is, or why it cannot be used.
pub type Candidate = Result<(Option<Snapshot>, Start), String>;

/// Where a candidate's entries begin: a segment index (`segments.len()`
/// for the live log) and the line within it.
pub type Position = (usize, usize);

/// Every start in `history`, newest first, with where its entries begin:
/// the live snapshot, then each archived segment's start snapshot, then
/// the pool's beginning when the first entry is still retained.
pub fn candidates(pool: &PoolId, history: &History) -> Vec<(Position, Candidate)> {
    let mut out = Vec::new();
    let live_key = keys::snap(pool);
    let live = &history.live;
    let live_segment = history.segments.len();
    let live_end = live.base + live.lines.len() as u64;
    match &live.snapshot {
        Some(bytes) => {
            let decoded = Snapshot::decode(bytes)
                .map_err(|e| format!("{live_key}: {e}"))
                .and_then(|snapshot| {
                    if snapshot.seq < live.base || snapshot.seq > live_end {
                        Err(format!(
                            "{live_key}: snapshot is at sequence number {}, outside the live log {}..={live_end}",
                            snapshot.seq, live.base
                        ))
                    } else if snapshot.state.id() != pool {
                        Err(format!(
                            "{live_key}: snapshot is of pool {}",
                            snapshot.state.id()
                        ))
                    } else {
                        Ok(snapshot)
                    }
                });
            let offset = decoded.as_ref().map_or(0, |s| {
                usize::try_from(s.seq - live.base).unwrap_or(usize::MAX)
            });
            out.push((
                (live_segment, offset),
                decoded.map(|s| {
                    let start = Start::Snapshot {
                        seq: s.seq,
                        key: live_key.clone(),
                    };
                    (Some(s), start)
                }),
            ));
        }
        None if live.base > 0 => out.push(((live_segment, 0), Err(format!("{live_key}: missing")))),
        None => {}
    }
    for (index, segment) in history.segments.iter().enumerate().rev() {
        if segment.first == 1 {
            continue;
        }
        let key = keys::archive_snap(pool, segment.first);
        out.push((
            (index, 0),
            match &segment.snapshot {
                Some(bytes) => decode_snapshot(bytes, segment.first - 1, pool, &key).map(|s| {
                    let start = Start::Snapshot {
                        seq: s.seq,
                        key: key.clone(),
                    };
                    (Some(s), start)
                }),
                None => Err(format!("{key}: missing")),
            },
        ));
    }
    if history.retained_from() == 1 {
        out.push(((0, 0), Ok((None, Start::Beginning))));
    }
    out
}

/// The lines from `position` to the end, with the first one's sequence
/// number.
pub fn lines_from(history: &History, (segment, offset): Position) -> (u64, Vec<&String>) {
    let first_seq = history
        .segments
        .get(segment)
        .map_or(history.live.base + 1, |s| s.first)
        + offset as u64;
    let lines = history.segments[segment.min(history.segments.len())..]
        .iter()
        .flat_map(|s| &s.lines)
        .chain(&history.live.lines)
        .skip(offset)
        .collect();
    (first_seq, lines)
}

/// The pool's state at `seq`, replayed from the newest usable start at or
/// before it; `None` if no start is usable or the pool did not exist yet.
///
/// # Errors
///
/// [`Unrecoverable`] when a line does not decode.
pub fn snapshot_at(
    pool: &PoolId,
    history: &History,
    seq: u64,
) -> Result<Option<Snapshot>, Unrecoverable> {
    for (position, candidate) in candidates(pool, history) {
        let Ok((start, start_at)) = candidate else {
            continue;
        };
        let from = start_at.seq();
        if from > seq {
            continue;
        }
        let (first_seq, lines) = lines_from(history, position);
        let upto = usize::try_from(seq - from)
            .unwrap_or(usize::MAX)
            .min(lines.len());
        let computed = run(
            start,
            first_seq,
            &lines[..upto],
            start_at,
            Vec::new(),
            history.live.secret.as_ref(),
        )?;
        return Ok(computed.replayed.snapshot());
    }
    Ok(None)
}

/// The first usable start among `candidates`, its position, and why the
/// ones before it were skipped.
///
/// # Errors
///
/// [`Unrecoverable`] when none is usable.
pub fn first_usable(
    candidates: impl IntoIterator<Item = (Position, Candidate)>,
    mut skipped: Vec<String>,
) -> Result<(Position, Option<Snapshot>, Start, Vec<String>), Unrecoverable> {
    for (position, candidate) in candidates {
        match candidate {
            Ok((start, start_at)) => return Ok((position, start, start_at, skipped)),
            Err(problem) => skipped.push(problem),
        }
    }
    let position = skipped.first().cloned().unwrap_or_default();
    Err(unrecoverable(
        position,
        format!("no usable snapshot to replay from: {}", skipped.join("; ")),
    ))
}

fn replay_first_usable(
    history: &History,
    candidates: impl IntoIterator<Item = (Position, Candidate)>,
    skipped: Vec<String>,
) -> Result<Computed, Unrecoverable> {
    let (position, start, start_at, skipped) = first_usable(candidates, skipped)?;
    let (first_seq, lines) = lines_from(history, position);
    run(
        start,
        first_seq,
        &lines,
        start_at,
        skipped,
        history.live.secret.as_ref(),
    )
}

/// The state from the newest usable start in `history`.
///
/// # Errors
///
/// [`Unrecoverable`] when no start is usable or a line does not decode.
pub fn newest(
    pool: &PoolId,
    history: &History,
    skipped: Vec<String>,
) -> Result<Computed, Unrecoverable> {
    replay_first_usable(history, candidates(pool, history), skipped)
}

/// Everything retained, from the oldest usable start: what an audit and
/// the log route replay.
///
/// # Errors
///
/// As [`newest`].
pub fn oldest(pool: &PoolId, history: &History) -> Result<Computed, Unrecoverable> {
    replay_first_usable(
        history,
        candidates(pool, history).into_iter().rev(),
        Vec::new(),
    )
}

/// A compaction: the replayed live log moves into a new archive segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The base the compaction was computed against.
    pub base: u64,
    /// How many log entries move to the new segment (0: only the snapshot
    /// is written).
    pub count: u64,
    /// The newest sequence number, where the new snapshot is.
    pub seq: u64,
    /// The snapshot at `seq`.
    pub snapshot: Vec<u8>,
    /// The snapshot at `base` (the new segment's start), if the pool
    /// existed there.
    pub segment_start: Option<Vec<u8>>,
    /// The first sequence number of the oldest segment, to drop when the
    /// archive already holds `max_segments`.
    pub drop_oldest: Option<u64>,
}

/// Plans the compaction of `history`, whose newest state is `computed`,
/// keeping at most `max_segments` archived segments.
///
/// # Errors
///
/// [`Unrecoverable`] when the history holds no pool or the state at the
/// live log's base cannot be replayed.
pub fn compaction(
    pool: &PoolId,
    history: &History,
    computed: &Computed,
    max_segments: usize,
) -> Result<Compaction, Unrecoverable> {
    let state = computed.state()?.clone();
    let seq = computed.seq();
    let snapshot = Snapshot { seq, state }.encode();
    let live = &history.live;
    let count = live.lines.len() as u64;
    let segment_start = match (&computed.start, &live.snapshot) {
        _ if count == 0 || live.base == 0 => None,
        (Start::Snapshot { seq, .. }, Some(bytes)) if *seq == live.base => Some(bytes.clone()),
        _ => snapshot_at(pool, history, live.base)?.map(|s| s.encode()),
    };
    let drop_oldest = (count > 0 && history.segments.len() >= max_segments.max(1))
        .then(|| history.segments[0].first);
    Ok(Compaction {
        base: live.base,
        count,
        seq,
        snapshot,
        segment_start,
        drop_oldest,
    })
}
