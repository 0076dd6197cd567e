//! `GET /v1/pools/{pool}/audit` (operator): replays everything retained
//! and checks every recorded outcome and every stored snapshot against it.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::{Outcome, PoolId, Snapshot, apply, decode_tail};

use crate::ledger::{self, LedgerError};
use crate::problem::{self, Problem};
use crate::store::{self, Record};

/// One disagreement between what is stored and what replay computes.
#[derive(Debug, Serialize)]
pub struct Mismatch {
    /// The entry (or snapshot) sequence number.
    pub seq: u64,
    /// What is stored: a request id or a snapshot key.
    pub what: String,
    /// What differs.
    pub detail: String,
}

/// `GET /v1/pools/{pool}/audit`.
pub fn run(pool: &PoolId) -> Result<Response, Problem> {
    let conn = store::connect()?;
    let history = store::history(&conn, pool)?.ok_or_else(|| Problem::no_pool(pool.as_str()))?;
    let mut skipped = Vec::new();
    let mut chosen = None;
    for (position, candidate) in ledger::candidates(pool, &history).into_iter().rev() {
        match candidate {
            Ok(start) => {
                chosen = Some((position, start));
                break;
            }
            Err(problem) => skipped.push(problem),
        }
    }
    let Some((position, (start, start_at))) = chosen else {
        return Err(LedgerError::Unrecoverable {
            position: skipped.first().cloned().unwrap_or_default(),
            reason: format!("no usable snapshot to replay from: {}", skipped.join("; ")),
        }
        .into());
    };
    let (first_seq, lines) = ledger::lines_from(&history, position);
    let entries = decode_tail(first_seq, lines.iter().map(|l| l.as_bytes())).map_err(|e| {
        Problem::from(LedgerError::Unrecoverable {
            position: format!("log entry {}", e.seq),
            reason: e.source.to_string(),
        })
    })?;

    // Every stored snapshot after the start, by the sequence number it
    // holds; one that does not decode is a mismatch on its own.
    let from = ledger::start_seq(&start_at);
    let mut mismatches = Vec::new();
    let mut snapshots: BTreeMap<u64, (String, Snapshot)> = BTreeMap::new();
    let stored = history
        .segments
        .iter()
        .filter_map(|s| {
            let key = tombola_core::keys::archive_snap(pool, s.first);
            s.snapshot.as_ref().map(|b| (s.first - 1, key, b))
        })
        .chain(
            history
                .live
                .snapshot
                .as_ref()
                .map(|b| (history.live.base, tombola_core::keys::snap(pool), b)),
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
    let mut state = start.map(|s| s.state);
    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    for (seq, entry) in &entries {
        let outcome = apply(&mut state, entry);
        if let Some(request) = entry.request_id() {
            if !seen.insert(request.clone()) {
                mismatches.push(Mismatch {
                    seq: *seq,
                    what: request.to_string(),
                    detail: "request id appears twice in the log".into(),
                });
            }
            requests.push((*seq, request, outcome));
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
    }
    for (seq, (key, _)) in snapshots {
        mismatches.push(Mismatch {
            seq,
            what: key,
            detail: "snapshot claims a sequence number past the log".into(),
        });
    }

    let ids: Vec<_> = requests.iter().map(|(_, r, _)| r.clone()).collect();
    let records = store::records(&conn, pool, &ids)?;
    let (mut checked, mut unrecorded) = (0u64, 0u64);
    for ((seq, request, replayed), record) in requests.iter().zip(records) {
        let Some(text) = record else {
            unrecorded += 1;
            continue;
        };
        let record = Record::parse(&text)?;
        let detail = if record.seq != *seq {
            Some(format!("recorded for entry {}, found at {seq}", record.seq))
        } else if let Some(json) = &record.outcome {
            checked += 1;
            match serde_json::from_str::<Outcome>(json) {
                Ok(recorded) if &recorded == replayed => None,
                Ok(recorded) => Some(format!("recorded {recorded:?}, replay gives {replayed:?}")),
                Err(e) => Some(format!("recorded outcome does not parse: {e}")),
            }
        } else {
            unrecorded += 1;
            None
        };
        if let Some(detail) = detail {
            mismatches.push(Mismatch {
                seq: *seq,
                what: request.to_string(),
                detail,
            });
        }
    }
    tracing::info!(
        pool = %pool,
        entries = entries.len(),
        checked,
        mismatches = mismatches.len(),
        "audit finished"
    );
    Ok(problem::json(
        200,
        &json!({
            "pool": pool,
            "replayed_from": from,
            "entries_replayed": entries.len(),
            "last_seq": entries.last().map_or(from, |(seq, _)| *seq),
            "outcomes_checked": checked,
            "unrecorded": unrecorded,
            "mismatches": mismatches,
            "skipped": skipped,
        }),
    ))
}
