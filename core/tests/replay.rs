//! Replay: sequence numbers, gaps, undecodable lines, and the streaming
//! ledger agreeing with the collecting functions.

use tombola_core::pool::{
    CodecError, CodecReason, Entry, Ledger, LogError, Outcome, ReplayError, Snapshot, decode_tail,
    replay, replay_tail, seq_of_push,
};

const LOG: [&str; 4] = [
    "CREATE/1 p 1 stock 32 P a:1:3 b:1:*",
    "DRAW/1 r-1 2 0000000000000001 partial",
    "RESTOCK/1 a 1",
    "CLOSE/1",
];

fn entries(first: u64, lines: &[&str]) -> Vec<(u64, Entry)> {
    decode_tail(first, lines).expect("test lines decode")
}

fn snapshot_after(lines: &[&str]) -> Snapshot {
    replay_tail(None, lines)
        .expect("test lines replay")
        .snapshot()
        .expect("the pool exists")
}

#[test]
fn sequence_numbers_start_at_one_and_follow_the_snapshot() {
    let whole = replay(None, entries(1, &LOG)).unwrap();
    assert_eq!(whole.seq, 4);
    assert_eq!(
        whole
            .outcomes
            .iter()
            .map(|(seq, _)| *seq)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let tail = replay(Some(snapshot_after(&LOG[..2])), entries(3, &LOG[2..])).unwrap();
    assert_eq!(tail.state, whole.state);
    assert_eq!(tail.outcomes, whole.outcomes[2..]);
    // An empty tail leaves the snapshot as it was.
    let nothing = replay(Some(snapshot_after(&LOG)), []).unwrap();
    assert_eq!((nothing.seq, nothing.outcomes.len()), (4, 0));
    assert_eq!(replay(None, []).unwrap().seq, 0);
}

#[test]
fn a_gap_names_where_it_is() {
    assert_eq!(
        replay(None, entries(2, &LOG)),
        Err(ReplayError::Gap {
            expected: 1,
            found: 2
        })
    );
    let mut skipping = entries(1, &LOG);
    skipping[2].0 = 4;
    assert_eq!(
        replay(None, skipping),
        Err(ReplayError::Gap {
            expected: 3,
            found: 4
        })
    );
    let mut repeating = entries(1, &LOG);
    repeating[3].0 = 3;
    assert_eq!(
        replay(None, repeating),
        Err(ReplayError::Gap {
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        replay(Some(snapshot_after(&LOG[..2])), entries(2, &LOG[2..])),
        Err(ReplayError::Gap {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        ReplayError::Gap {
            expected: 3,
            found: 2
        }
        .to_string(),
        "expected entry 3, found entry 2"
    );
}

#[test]
fn an_undecodable_line_stops_the_replay_with_its_sequence_number() {
    let mut lines = LOG.to_vec();
    lines[2] = "RESTOCK/1 a zero";
    let error = replay_tail(None, &lines).unwrap_err();
    let expected = LogError {
        seq: 3,
        source: CodecError {
            offset: 12,
            reason: CodecReason::Invalid {
                field: tombola_core::pool::Field::Quantity,
                problem: tombola_core::pool::FieldProblem::NotDecimal,
            },
        },
    };
    assert_eq!(error, ReplayError::Decode(expected));
    assert_eq!(
        error.to_string(),
        "log entry 3: at byte 12: quantity is not a decimal number"
    );
    let from_snapshot = replay_tail(Some(snapshot_after(&LOG[..2])), &lines[2..]).unwrap_err();
    assert_eq!(from_snapshot, ReplayError::Decode(expected));
}

#[test]
fn sequence_numbers_cannot_run_out_silently() {
    let mut snapshot = snapshot_after(&LOG);
    snapshot.seq = u64::MAX;
    assert_eq!(
        replay(Some(snapshot.clone()), [(0, Entry::Close)]),
        Err(ReplayError::SeqExhausted(u64::MAX))
    );
    let mut ledger = Ledger::from_snapshot(snapshot);
    assert_eq!(
        ledger.apply_line(b"CLOSE/1"),
        Err(ReplayError::SeqExhausted(u64::MAX))
    );
    assert_eq!(ledger.seq(), u64::MAX);
}

#[test]
fn the_ledger_streams_what_replay_collects() {
    let collected = replay_tail(None, LOG).unwrap();
    let mut ledger = Ledger::new();
    assert_eq!((ledger.seq(), ledger.state()), (0, None));
    let streamed: Vec<(u64, Outcome)> = LOG
        .iter()
        .map(|line| {
            (
                ledger.seq() + 1,
                ledger.apply_line(line.as_bytes()).unwrap(),
            )
        })
        .collect();
    assert_eq!(streamed, collected.outcomes);
    assert_eq!(ledger.snapshot(), collected.snapshot());
    // A failed step leaves the ledger where it was.
    let before = ledger.clone();
    assert!(ledger.apply_line(b"CLOSE/7").is_err());
    assert_eq!(
        ledger.apply(9, &Entry::Close),
        Err(ReplayError::Gap {
            expected: 5,
            found: 9
        })
    );
    assert_eq!(ledger, before);
    assert_eq!(
        ledger.apply(5, &Entry::Close),
        Ok(Outcome::Ignored {
            reason: tombola_core::pool::IgnoreReason::AlreadyClosed
        })
    );
    let (seq, state) = ledger.into_parts();
    assert_eq!((seq, state), (5, collected.state));
}

#[test]
fn outcomes_are_found_by_sequence_number() {
    let tail = replay_tail(Some(snapshot_after(&LOG[..1])), &LOG[1..]).unwrap();
    assert_eq!(tail.outcome(1), None);
    assert_eq!(
        tail.outcome(2).map(|outcome| outcome.drawn().len()),
        Some(2)
    );
    assert_eq!(tail.outcome(4), Some(&Outcome::Close));
    assert_eq!(tail.outcome(5), None);
    assert_eq!(replay(None, []).unwrap().outcome(1), None);
}

#[test]
fn rpush_lengths_become_sequence_numbers() {
    assert_eq!(seq_of_push(0, 1), Some(1));
    assert_eq!(seq_of_push(1_000, 5), Some(1_005));
    assert_eq!(seq_of_push(u64::MAX, 1), None);
}
