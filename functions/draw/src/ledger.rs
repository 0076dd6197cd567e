//! A pool's state, computed from what Redis returned: the newest snapshot
//! plus the log after it, falling back to older snapshots and the archive
//! when the newest snapshot is missing or damaged.
//!
//! Nothing here decides an outcome: decoding, replay and the checks on a
//! snapshot are `tombola-core`'s. This module only chooses where replay
//! starts, and refuses (with the exact position) rather than guess.

use tombola_core::{Entry, PoolId, Replayed, Snapshot, decode_tail, replay};

use crate::store::{self, History, StoreError, Tail};

/// Why a pool's state cannot be computed.
#[derive(Debug)]
pub enum LedgerError {
    /// Redis failed.
    Store(StoreError),
    /// What Redis holds cannot give a trustworthy state: a log line that
    /// does not decode, or no usable snapshot to start from.
    Unrecoverable {
        /// Where: a key, or a log entry's sequence number.
        position: String,
        /// Why.
        reason: String,
    },
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        LedgerError::Store(e)
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

/// A computed state and the outcome of every entry replayed to get it.
#[derive(Debug)]
pub struct Ledger {
    /// State and outcomes.
    pub replayed: Replayed,
    /// The entries replayed, in order, with their sequence numbers.
    pub entries: Vec<(u64, Entry)>,
    /// Where the replay started.
    pub start: Start,
    /// Problems with newer snapshots that were skipped to get here.
    pub skipped: Vec<String>,
}

impl Ledger {
    /// The newest sequence number.
    pub fn seq(&self) -> u64 {
        self.replayed.seq
    }
}

fn unrecoverable(position: impl Into<String>, reason: impl ToString) -> LedgerError {
    LedgerError::Unrecoverable {
        position: position.into(),
        reason: reason.to_string(),
    }
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
) -> Result<Ledger, LedgerError> {
    let entries = decode_tail(first_seq, lines.iter().map(|l| l.as_bytes()))
        .map_err(|e| unrecoverable(format!("log entry {}", e.seq), e.source))?;
    let replayed = replay(start, entries.iter().cloned())
        .map_err(|e| unrecoverable(format!("log entry {first_seq}"), e))?;
    Ok(Ledger {
        replayed,
        entries,
        start: start_at,
        skipped,
    })
}

/// Computes the state from a tail, reading the archive only when the
/// tail's snapshot cannot be used.
pub fn from_tail(
    conn: &spin_sdk::redis::Connection,
    pool: &PoolId,
    tail: &Tail,
) -> Result<Ledger, LedgerError> {
    let key = tombola_core::keys::snap(pool);
    let problem = match &tail.snapshot {
        Some(bytes) => match decode_snapshot(bytes, tail.base + tail.start, pool, &key) {
            Ok(snapshot) => {
                let start = Start::Snapshot {
                    seq: snapshot.seq,
                    key,
                };
                let lines: Vec<&String> = tail.lines.iter().collect();
                return run(Some(snapshot), tail.first_seq(), &lines, start, Vec::new());
            }
            Err(problem) => problem,
        },
        None if tail.base == 0 && tail.start == 0 => {
            let lines: Vec<&String> = tail.lines.iter().collect();
            return run(None, 1, &lines, Start::Beginning, Vec::new());
        }
        None => format!("{key}: missing"),
    };
    tracing::warn!(pool = %pool, problem = %problem, "snapshot unusable; replaying from the archive");
    let history = store::history(conn, pool)?
        .ok_or_else(|| unrecoverable(tombola_core::keys::base(pool), "the pool vanished"))?;
    newest(pool, &history, vec![problem])
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
    let live_key = tombola_core::keys::snap(pool);
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
                        Err(format!("{live_key}: snapshot is of pool {}", snapshot.state.id()))
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
        let key = tombola_core::keys::archive_snap(pool, segment.first);
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
    let first_retained = history.segments.first().map_or(live.base + 1, |s| s.first);
    if first_retained == 1 {
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

/// The sequence number a start is at.
pub fn start_seq(start: &Start) -> u64 {
    match start {
        Start::Beginning => 0,
        Start::Snapshot { seq, .. } => *seq,
    }
}

fn replay_from(
    history: &History,
    position: Position,
    start: Option<Snapshot>,
    start_at: Start,
    skipped: Vec<String>,
) -> Result<Ledger, LedgerError> {
    let (first_seq, lines) = lines_from(history, position);
    run(start, first_seq, &lines, start_at, skipped)
}

/// The pool's state at `seq`, replayed from the newest usable start at or
/// before it; `None` if no start is usable or the pool did not exist yet.
pub fn snapshot_at(
    pool: &PoolId,
    history: &History,
    seq: u64,
) -> Result<Option<Snapshot>, LedgerError> {
    for (position, candidate) in candidates(pool, history) {
        let Ok((start, start_at)) = candidate else {
            continue;
        };
        let from = start_seq(&start_at);
        if from > seq {
            continue;
        }
        let (first_seq, lines) = lines_from(history, position);
        let upto = usize::try_from(seq - from)
            .unwrap_or(usize::MAX)
            .min(lines.len());
        let ledger = run(start, first_seq, &lines[..upto], start_at, Vec::new())?;
        return Ok(ledger.replayed.snapshot());
    }
    Ok(None)
}

/// Replays from the first usable start among `candidates`, collecting
/// why the others were skipped.
fn first_usable(
    history: &History,
    candidates: impl IntoIterator<Item = (Position, Candidate)>,
    mut skipped: Vec<String>,
) -> Result<Ledger, LedgerError> {
    for (position, candidate) in candidates {
        match candidate {
            Ok((start, start_at)) => {
                return replay_from(history, position, start, start_at, skipped);
            }
            Err(problem) => skipped.push(problem),
        }
    }
    let position = skipped.first().cloned().unwrap_or_default();
    Err(unrecoverable(
        position,
        format!("no usable snapshot to replay from: {}", skipped.join("; ")),
    ))
}

/// The state from the newest usable start in `history`.
pub fn newest(
    pool: &PoolId,
    history: &History,
    skipped: Vec<String>,
) -> Result<Ledger, LedgerError> {
    first_usable(history, candidates(pool, history), skipped)
}

/// Everything retained, from the oldest usable start: what an audit and
/// the log route replay.
pub fn oldest(pool: &PoolId, history: &History) -> Result<Ledger, LedgerError> {
    first_usable(
        history,
        candidates(pool, history).into_iter().rev(),
        Vec::new(),
    )
}
