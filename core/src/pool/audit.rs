//! The audit: replays everything retained of a pool and checks what is
//! stored against it, and that no unit was created or lost.
//!
//! Three checks, each naming the entry where it fails:
//!
//! - every recorded outcome (what a client was told) against the outcome
//!   replay gives its entry;
//! - every stored snapshot against the replayed state at its position;
//! - conservation, over what clients were told (the recorded outcome where
//!   there is one, the replayed one elsewhere): for every limited item,
//!   `stock at the start + restocks + units given back = remaining + units
//!   drawn` after every entry, where an operation's chunks count as drawn
//!   until its rollback gives exactly them back; a chunk of an operation
//!   that draws after its rollback breaks it too.
//!
//! The component reads the [`History`], asks [`prepare`] which request
//! records it needs, reads them, and calls [`Prepared::finish`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::pool::entry::Entry;
use crate::pool::history::{self, History, Unrecoverable};
use crate::pool::id::{OperationId, PoolId, RequestId};
use crate::pool::keys;
use crate::pool::outcome::Outcome;
use crate::pool::provable::Keyring;
use crate::pool::record::{Fingerprint, Record};
use crate::pool::snapshot::Snapshot;
use crate::pool::state::PoolState;

/// One disagreement between what is stored and what replay computes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The entry (or snapshot) sequence number.
    pub seq: u64,
    /// What is stored: a request id or a snapshot key.
    pub what: String,
    /// What differs.
    pub detail: String,
}

/// Where conservation first breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The entry after which the books do not balance.
    pub seq: u64,
    /// The item whose units do not add up, when one does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// What does not add up.
    pub detail: String,
}

/// The audit's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The pool.
    pub pool: PoolId,
    /// The sequence number replay started after.
    pub replayed_from: u64,
    /// How many entries were replayed.
    pub entries_replayed: usize,
    /// The newest sequence number.
    pub last_seq: u64,
    /// Recorded outcomes compared.
    pub outcomes_checked: u64,
    /// Entries whose request has no recorded outcome (expired, or the
    /// request failed before recording).
    pub unrecorded: u64,
    /// Every disagreement found.
    pub mismatches: Vec<Mismatch>,
    /// Whether conservation holds after every entry.
    pub conserved: bool,
    /// Where conservation first breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conservation_break: Option<Break>,
    /// Newer starts that could not be used, and why.
    pub skipped: Vec<String>,
}

/// A replay ready to be checked against the request records.
#[derive(Debug)]
pub struct Prepared {
    pool: PoolId,
    start: Option<PoolState>,
    from: u64,
    entries: Vec<(u64, Entry)>,
    snapshots: BTreeMap<u64, (String, Snapshot)>,
    mismatches: Vec<Mismatch>,
    skipped: Vec<String>,
    requests: Vec<RequestId>,
    keys: Keyring,
}

/// Replays everything retained of `pool` from the oldest usable start and
/// lists the request records the audit needs: those of every entry's
/// request, and the rollback of every operation that appears.
///
/// # Errors
///
/// [`Unrecoverable`] when no start is usable or a line does not decode.
pub fn prepare(pool: &PoolId, history: &History) -> Result<Prepared, Unrecoverable> {
    let history::Retained {
        start,
        start_at,
        skipped,
        entries,
    } = history::oldest_entries(pool, history)?;
    let from = start_at.seq();

    // Every stored snapshot after the start, by the sequence number it
    // holds; one that does not decode is a mismatch on its own.
    let mut mismatches = Vec::new();
    let mut snapshots = BTreeMap::new();
    let stored = history
        .segments
        .iter()
        .filter_map(|s| {
            let key = keys::archive_snap(pool, s.first);
            s.snapshot.as_ref().map(|b| (s.first - 1, key, b))
        })
        .chain(
            history
                .live
                .snapshot
                .as_ref()
                .map(|b| (history.live.base, keys::snap(pool), b)),
        );
    for (at, key, bytes) in stored {
        match Snapshot::decode(bytes) {
            Ok(snapshot) if snapshot.seq > from => {
                snapshots.insert(snapshot.seq, (key, snapshot));
            }
            Ok(_) => {}
            Err(e) => mismatches.push(Mismatch {
                seq: at,
                what: key,
                detail: format!("does not decode: {e}"),
            }),
        }
    }

    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    let mut operations = HashSet::new();
    for (_, entry) in &entries {
        if let Some(request) = entry.request_id()
            && seen.insert(request.clone())
        {
            requests.push(request);
        }
        if let Some(operation) = entry.chunk_operation()
            && operations.insert(operation.clone())
        {
            let rollback = RequestId::rollback(operation);
            if seen.insert(rollback.clone()) {
                requests.push(rollback);
            }
        }
    }
    let mut keys = Keyring::of(history.live.secret.clone());
    keys.learn(entries.iter().map(|(_, entry)| entry));
    Ok(Prepared {
        keys,
        pool: pool.clone(),
        start: start.map(|s| s.state),
        from,
        entries,
        snapshots,
        mismatches,
        skipped,
        requests,
    })
}

impl Prepared {
    /// The request records to read, in order.
    pub fn requests(&self) -> &[RequestId] {
        &self.requests
    }

    /// Checks everything against the records read for [`Self::requests`]
    /// (`None` where there is none), in the same order.
    pub fn finish(self, records: Vec<Option<String>>) -> Report {
        let mut mismatches = self.mismatches;
        let mut by_request: HashMap<RequestId, Record> = HashMap::new();
        for (request, text) in self.requests.iter().zip(records) {
            let Some(text) = text else { continue };
            match Record::decode(&text) {
                Ok(record) => {
                    by_request.insert(request.clone(), record);
                }
                Err(error) => mismatches.push(Mismatch {
                    seq: 0,
                    what: request.to_string(),
                    detail: error.to_string(),
                }),
            }
        }
        // What clients were told, by the position their record names.
        let mut told: BTreeMap<u64, (&RequestId, &Record)> = BTreeMap::new();
        for (request, record) in &by_request {
            if record.outcome.is_some() {
                told.insert(record.seq, (request, record));
            }
        }

        let mut books = Books::new(self.start.as_ref());
        let mut state = self.start;
        let mut snapshots = self.snapshots;
        let mut seen = HashSet::new();
        let (mut checked, mut unrecorded) = (0u64, 0u64);
        for (seq, entry) in &self.entries {
            let outcome = crate::pool::apply_with(&mut state, entry, &self.keys);
            if let Some(detail) = crate::pool::proof::fairness_problem(entry, &outcome) {
                mismatches.push(Mismatch {
                    seq: *seq,
                    what: "fairness".into(),
                    detail,
                });
            }
            if let Some(request) = entry.request_id() {
                if !seen.insert(request.clone()) {
                    mismatches.push(Mismatch {
                        seq: *seq,
                        what: request.to_string(),
                        detail: "request id appears twice in the log".into(),
                    });
                }
                let detail = match by_request.get(&request) {
                    None => {
                        unrecorded += 1;
                        None
                    }
                    Some(record) if record.seq != *seq => {
                        Some(format!("recorded for entry {}, found at {seq}", record.seq))
                    }
                    Some(Record { outcome: None, .. }) => {
                        unrecorded += 1;
                        None
                    }
                    Some(Record {
                        outcome: Some(recorded),
                        ..
                    }) => {
                        checked += 1;
                        (recorded != &outcome)
                            .then(|| format!("recorded {recorded:?}, replay gives {outcome:?}"))
                    }
                };
                if let Some(detail) = detail {
                    mismatches.push(Mismatch {
                        seq: *seq,
                        what: request.to_string(),
                        detail,
                    });
                }
            }
            if let Some((key, stored)) = snapshots.remove(seq)
                && state.as_ref() != Some(&stored.state)
            {
                mismatches.push(Mismatch {
                    seq: *seq,
                    what: key,
                    detail: "differs from the replayed state".into(),
                });
            }
            if books.broken.is_none() {
                match told.get(seq) {
                    Some((request, record)) => books.post_told(*seq, request, record),
                    None => books.post_entry(*seq, entry, &outcome),
                }
                if let Some(state) = &state {
                    books.balance(*seq, state);
                }
            }
        }
        for (seq, (key, _)) in snapshots {
            mismatches.push(Mismatch {
                seq,
                what: key,
                detail: "snapshot claims a sequence number past the log".into(),
            });
        }
        tracing::debug!(
            pool = %self.pool,
            entries = self.entries.len(),
            checked,
            mismatches = mismatches.len(),
            "audit replayed"
        );
        Report {
            pool: self.pool,
            replayed_from: self.from,
            entries_replayed: self.entries.len(),
            last_seq: self.entries.last().map_or(self.from, |(seq, _)| *seq),
            outcomes_checked: checked,
            unrecorded,
            mismatches,
            conserved: books.broken.is_none(),
            conservation_break: books.broken,
            skipped: self.skipped,
        }
    }
}

// The units of each limited item, kept from what clients were told.
struct Books {
    // Per item position: stock at the start (plus what operations held
    // there), restocked, given back, and drawn (operations' chunks
    // included).
    base: Vec<i128>,
    moved: Vec<i128>,
    // What each operation's chunks drew, per position, until its rollback.
    held: HashMap<OperationId, BTreeMap<u32, u64>>,
    rolled_back: HashMap<OperationId, u64>,
    pool: Option<PoolState>,
    broken: Option<Break>,
}

impl Books {
    fn new(start: Option<&PoolState>) -> Books {
        let mut books = Books {
            base: Vec::new(),
            moved: Vec::new(),
            held: HashMap::new(),
            rolled_back: HashMap::new(),
            pool: None,
            broken: None,
        };
        if let Some(state) = start {
            books.open(state);
            for (operation, holding) in state.operations().iter() {
                if holding.is_rolled_back() {
                    books.rolled_back.insert(operation.clone(), 0);
                    continue;
                }
                for &(position, units) in holding.units() {
                    books.base[position as usize] += i128::from(units);
                    books.moved[position as usize] -= i128::from(units);
                    *books
                        .held
                        .entry(operation.clone())
                        .or_default()
                        .entry(position)
                        .or_default() += units;
                }
            }
        }
        books
    }

    // Starts the books from a state's remaining stock.
    fn open(&mut self, state: &PoolState) {
        self.base = state
            .stocks()
            .map(|(_, stock)| match stock {
                crate::pool::config::Stock::Limited(units) => i128::from(units),
                crate::pool::config::Stock::Unlimited => 0,
            })
            .collect();
        self.moved = vec![0; self.base.len()];
        self.pool = Some(state.clone());
    }

    fn position(&self, item: &str) -> Option<u32> {
        self.pool.as_ref()?.config().position(item)
    }

    fn break_at(&mut self, seq: u64, item: Option<String>, detail: String) {
        tracing::warn!(seq, item = item.as_deref(), detail = %detail, "conservation breaks");
        self.broken.get_or_insert(Break { seq, item, detail });
    }

    fn take(&mut self, seq: u64, operation: Option<&str>, drawn: &[crate::pool::ItemId]) {
        if drawn.is_empty() {
            return;
        }
        if let Some(operation) = operation
            && let Some(at) = self.rolled_back.get(operation)
        {
            let detail = format!(
                "operation {operation} was rolled back at entry {at}, but its chunk drew {} units after it",
                drawn.len()
            );
            self.break_at(seq, None, detail);
            return;
        }
        for item in drawn {
            let Some(position) = self.position(item.as_str()) else {
                self.break_at(
                    seq,
                    Some(item.to_string()),
                    "drawn, but the pool has no such item".into(),
                );
                return;
            };
            self.moved[position as usize] -= 1;
            if let Some(operation) = operation {
                let operation = OperationId::checked(operation);
                *self
                    .held
                    .entry(operation)
                    .or_default()
                    .entry(position)
                    .or_default() += 1;
            }
        }
    }

    fn give_back(&mut self, seq: u64, operation: &OperationId, returned: u64) {
        let held = self.held.remove(operation).unwrap_or_default();
        let total: u64 = held.values().sum();
        self.rolled_back.insert(operation.clone(), seq);
        if returned == 0 {
            // Nothing to give back, or the operation's window had passed:
            // its chunks stay drawn for good.
            return;
        }
        if returned != total {
            let detail = format!(
                "operation {operation}'s chunks drew {total} units, its rollback gave back {returned}"
            );
            self.break_at(seq, None, detail);
            return;
        }
        for (position, units) in held {
            self.moved[position as usize] += i128::from(units);
        }
    }

    fn restock(&mut self, seq: u64, item: &str, quantity: u64) {
        match self.position(item) {
            Some(position) => self.moved[position as usize] += i128::from(quantity),
            None => self.break_at(
                seq,
                Some(item.to_owned()),
                "restocked, but the pool has no such item".into(),
            ),
        }
    }

    // Posts an entry as replay computed it (no client was told otherwise).
    fn post_entry(&mut self, seq: u64, entry: &Entry, outcome: &Outcome) {
        match (entry, outcome) {
            (Entry::Create(_), Outcome::Create) => {}
            (Entry::Chunk(_) | Entry::FairChunk(_), Outcome::Draw { drawn, .. }) => {
                let operation = entry.chunk_operation().map(OperationId::as_str);
                self.take(seq, operation, drawn);
            }
            (_, Outcome::Draw { drawn, .. }) => self.take(seq, None, drawn),
            (Entry::Rollback(rollback), Outcome::Return { returned, .. }) => {
                self.give_back(seq, &rollback.operation_id, *returned);
            }
            (Entry::Return(back), Outcome::Return { ignored, .. }) => {
                for count in &back.items {
                    let kept = ignored.iter().any(|i| i.item == count.item);
                    if let (false, Some(position)) = (kept, self.position(count.item.as_str())) {
                        self.moved[position as usize] += i128::from(count.quantity.get());
                    }
                }
            }
            (Entry::Restock(restock), Outcome::Restock { .. }) => {
                self.restock(seq, restock.item.as_str(), restock.quantity.get());
            }
            _ => {}
        }
    }

    // Posts what a client was told at `seq`, by its record.
    fn post_told(&mut self, seq: u64, request: &RequestId, record: &Record) {
        let Some(outcome) = &record.outcome else {
            return;
        };
        match (&record.fingerprint, outcome) {
            (Fingerprint::Draw { .. }, Outcome::Draw { drawn, .. }) => {
                self.take(seq, None, drawn);
            }
            (Fingerprint::Chunk { .. }, Outcome::Draw { drawn, .. }) => {
                self.take(seq, request.operation(), drawn);
            }
            (Fingerprint::Rollback, Outcome::Return { returned, .. }) => {
                if let Some(operation) = request.operation() {
                    self.give_back(seq, &OperationId::checked(operation), *returned);
                }
            }
            (Fingerprint::Restock { item, quantity }, Outcome::Restock { .. }) => {
                self.restock(seq, item.as_str(), *quantity);
            }
            _ => {}
        }
    }

    // Checks every limited item after the entry at `seq`.
    fn balance(&mut self, seq: u64, state: &PoolState) {
        if self.pool.is_none() {
            // The CREATE: the books open at the initial stock.
            self.open(state);
            return;
        }
        for (position, (item, stock)) in state.stocks().enumerate() {
            let crate::pool::config::Stock::Limited(remaining) = stock else {
                continue;
            };
            let expected = self.base[position] + self.moved[position];
            if expected != i128::from(remaining) {
                let detail = format!(
                    "the stock at the start, restocks and returns less the units drawn leave {expected}, but {remaining} remain"
                );
                self.break_at(seq, Some(item.to_string()), detail);
                return;
            }
        }
    }
}
