//! The audit: recorded outcomes, snapshots and conservation, each break
//! named at its entry; and the history's choices of where replay starts.

use tombola_core::pool::audit::{self, Report};
use tombola_core::pool::history::{self, FromTail, History, Tail};
use tombola_core::pool::{
    Entry, Fingerprint, OperationId, Outcome, PoolId, Record, RequestId, Snapshot, chunk_entry,
    draw_entry, replay, rollback_entry,
};

const HOUR: u64 = 3_600_000;

fn pool() -> PoolId {
    PoolId::new("p").unwrap()
}

// A pool of 500 units, a client draw, an operation of 6 chunks rolled back
// after the 4th, two more chunks that land after the rollback, and a last
// client draw.
fn log() -> Vec<Entry> {
    let op = OperationId::new("op").unwrap();
    let mut log = vec![Entry::decode("CREATE/1 p 1 stock 32 P a:1:400 b:1:100").unwrap()];
    log.push(draw_entry(RequestId::new("r-1").unwrap(), 5, false, 1).unwrap());
    for index in 0..4 {
        log.push(chunk_entry(&op, index, 10, 10 + u64::from(index), 1_000, 1_000 + HOUR).unwrap());
    }
    log.push(rollback_entry(&op, 2_000, 2_000 + HOUR));
    for index in 4..6 {
        log.push(chunk_entry(&op, index, 10, 10 + u64::from(index), 2_100, 2_100 + HOUR).unwrap());
    }
    log.push(draw_entry(RequestId::new("r-2").unwrap(), 3, false, 2).unwrap());
    log
}

fn lines(log: &[Entry]) -> Vec<String> {
    log.iter().map(Entry::encode).collect()
}

fn history_of(lines: Vec<String>) -> History {
    History {
        segments: Vec::new(),
        live: Tail {
            base: 0,
            start: 0,
            snapshot: None,
            lines,
            secret: None,
        },
    }
}

// The records the engine would have written for `log`, by request id.
fn records_of(log: &[Entry]) -> Vec<(RequestId, String)> {
    let replayed = replay(None, (1u64..).zip(log.iter().cloned())).unwrap();
    log.iter()
        .zip(&replayed.outcomes)
        .filter_map(|(entry, (seq, outcome))| {
            let request = entry.request_id()?;
            let record = Record {
                seq: *seq,
                fingerprint: Fingerprint::of(entry)?,
                outcome: Some(outcome.clone()),
            };
            Some((request, record.encode()))
        })
        .collect()
}

fn audit(history: &History, records: &[(RequestId, String)]) -> Report {
    let prepared = audit::prepare(&pool(), history).unwrap();
    let found = prepared
        .requests()
        .iter()
        .map(|request| {
            records
                .iter()
                .find(|(r, _)| r == request)
                .map(|(_, text)| text.clone())
        })
        .collect();
    prepared.finish(found)
}

#[test]
fn a_clean_history_balances() {
    let log = log();
    let report = audit(&history_of(lines(&log)), &records_of(&log));
    assert_eq!(report.mismatches, []);
    assert!(report.conserved, "{:?}", report.conservation_break);
    assert_eq!(report.entries_replayed, log.len());
    // Every request has a record: two draws, six chunks and the rollback.
    assert_eq!(report.outcomes_checked, 9);
}

#[test]
fn a_deleted_rollback_breaks_conservation_at_its_position() {
    let log = log();
    let records = records_of(&log);
    let mut damaged = lines(&log);
    let at = damaged
        .iter()
        .position(|l| l.starts_with("RETURN/2"))
        .unwrap();
    damaged.remove(at);
    let report = audit(&history_of(damaged), &records);
    let rollback_seq = at as u64 + 1;
    let broken = report.conservation_break.expect("the books cannot balance");
    assert_eq!(broken.seq, rollback_seq, "{broken:?}");
    assert!(!report.conserved);
    assert!(
        report.mismatches.iter().any(|m| m.seq == rollback_seq),
        "{:?}",
        report.mismatches
    );
}

#[test]
fn a_chunk_told_it_drew_after_the_rollback_breaks_conservation() {
    let log = log();
    let mut records = records_of(&log);
    // What the engine before the log decided rollbacks would have told the
    // caller of a chunk that landed after the RETURN: items drawn.
    let late = RequestId::chunk(&OperationId::new("op").unwrap(), 4);
    let (_, text) = records.iter_mut().find(|(r, _)| *r == late).unwrap();
    let mut record = Record::decode(text).unwrap();
    record.outcome = Some(Outcome::Draw {
        drawn: vec![tombola_core::pool::ItemId::new("a").unwrap(); 10],
        failed: 0,
        reason: None,
    });
    *text = record.encode();
    let report = audit(&history_of(lines(&log)), &records);
    let broken = report
        .conservation_break
        .expect("a rolled-back operation drew");
    assert_eq!(broken.seq, record.seq);
    assert!(broken.detail.contains("rolled back"), "{}", broken.detail);
    assert!(report.mismatches.iter().any(|m| m.seq == record.seq));
}

#[test]
fn a_stored_snapshot_that_differs_is_named() {
    let log = log();
    let mut history = history_of(lines(&log));
    let head = replay(None, (1u64..).zip(log.iter().cloned()).take(3)).unwrap();
    let mut snapshot = head.snapshot().unwrap();
    // A snapshot of entry 3 taken from the state before it.
    snapshot.seq = 4;
    history.live.snapshot = Some(snapshot.encode());
    let report = audit(&history, &records_of(&log));
    assert_eq!(
        report
            .mismatches
            .iter()
            .map(|m| (m.seq, m.what.as_str()))
            .collect::<Vec<_>>(),
        [(4, "tombola:{p}:snap")]
    );
}

#[test]
fn a_tail_says_when_it_is_not_enough() {
    let log = log();
    let all = lines(&log);
    // A tail that starts after a snapshot that is missing needs the history.
    let tail = Tail {
        base: 0,
        start: 4,
        snapshot: None,
        lines: all[4..].to_vec(),
        secret: None,
    };
    assert!(matches!(
        history::from_tail(&pool(), &tail),
        Ok(FromTail::NeedHistory { .. })
    ));
    // A good snapshot and its tail compute, but an entry behind the
    // snapshot (a retry of an old request) needs the history.
    let head = replay(None, (1u64..).zip(log.iter().cloned()).take(4)).unwrap();
    let tail = Tail {
        base: 0,
        start: 4,
        snapshot: Some(head.snapshot().unwrap().encode()),
        lines: all[4..].to_vec(),
        secret: None,
    };
    assert!(matches!(
        history::for_entry(&pool(), &tail, 9),
        Ok(FromTail::Computed(_))
    ));
    assert!(matches!(
        history::for_entry(&pool(), &tail, 2),
        Ok(FromTail::NeedHistory { ref skipped }) if skipped.is_empty()
    ));
    let history = History {
        segments: Vec::new(),
        live: tail.clone(),
    };
    // The live log still holds everything, so the entry replays.
    let found = history::containing(&pool(), &history, 2, Vec::new()).unwrap();
    assert!(found.outcome(2).is_some());
}

#[test]
fn a_snapshot_is_due_every_interval() {
    let log = log();
    let all = lines(&log);
    let computed = |lines: &[String]| match history::from_tail(
        &pool(),
        &Tail {
            base: 0,
            start: 0,
            snapshot: None,
            lines: lines.to_vec(),
            secret: None,
        },
    ) {
        Ok(FromTail::Computed(computed)) => computed,
        other => panic!("{other:?}"),
    };
    // The pool's interval is 32 entries: a short log is not due.
    assert!(!computed(&all).snapshot_due());
    let mut long = all.clone();
    for n in 0..40 {
        long.push(
            draw_entry(RequestId::new(&format!("x-{n}")).unwrap(), 1, false, n)
                .unwrap()
                .encode(),
        );
    }
    let due = computed(&long);
    assert!(due.snapshot_due());
    let snapshot = due.due_snapshot().unwrap();
    assert_eq!(snapshot.seq, long.len() as u64);
    assert_eq!(Snapshot::decode(&snapshot.encode()).unwrap(), snapshot);
}

#[test]
fn a_compaction_moves_the_live_log() {
    let log = log();
    let history = history_of(lines(&log));
    let computed = history::newest(&pool(), &history, Vec::new()).unwrap();
    let plan = history::compaction(&pool(), &history, &computed, 8).unwrap();
    assert_eq!(
        (plan.base, plan.count, plan.seq),
        (0, log.len() as u64, log.len() as u64)
    );
    assert_eq!(plan.segment_start, None, "the log starts the pool");
    assert_eq!(plan.drop_oldest, None);
    assert_eq!(
        Snapshot::decode(&plan.snapshot).unwrap().state,
        computed.replayed.state.unwrap()
    );
}
