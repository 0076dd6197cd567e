//! Rollbacks decided by the log: a RETURN gives back exactly what the
//! operation's chunks drew before it, a chunk after it fails and changes
//! nothing, holdings end with their window, and snapshots keep all of it.

use tombola_core::pool::{
    Entry, FailReason, IgnoreReason, OperationId, Outcome, PoolState, Snapshot, Stock, apply,
    chunk_entry, replay, rollback_entry,
};

const HOUR: u64 = 3_600_000;

fn op(id: &str) -> OperationId {
    OperationId::new(id).unwrap()
}

fn pool(line: &str) -> PoolState {
    let mut state = None;
    apply(&mut state, &Entry::decode(line).unwrap());
    state.unwrap()
}

fn stock(state: &PoolState, item: &str) -> u64 {
    match state.stock(item) {
        Some(Stock::Limited(units)) => units,
        other => panic!("{item}: {other:?}"),
    }
}

fn chunk(operation: &str, index: u32, count: u32, at: u64) -> Entry {
    chunk_entry(
        &op(operation),
        index,
        count,
        7 + u64::from(index),
        at,
        at + HOUR,
    )
    .unwrap()
}

#[test]
fn a_rollback_gives_back_exactly_what_its_chunks_drew() {
    let mut state = pool("CREATE/1 p 1 stock 32 P a:1:5000");
    let mut drawn = 0;
    for index in 0..8 {
        drawn += state.apply(&chunk("op", index, 10, 1_000)).drawn().len();
    }
    assert_eq!(drawn, 80);
    assert_eq!(state.holding("op").map(|h| h.total()), Some(80));
    let back = state.apply(&rollback_entry(&op("op"), 2_000, 2_000 + HOUR));
    assert_eq!(
        back,
        Outcome::Return {
            returned: 80,
            ignored: vec![]
        }
    );
    assert_eq!(stock(&state, "a"), 5000);
    // Every chunk after the RETURN fails, whatever its index.
    for index in 8..20 {
        let late = state.apply(&chunk("op", index, 10, 3_000));
        assert_eq!(
            late,
            Outcome::Draw {
                drawn: vec![],
                failed: 10,
                reason: Some(FailReason::RolledBack)
            }
        );
    }
    assert_eq!(stock(&state, "a"), 5000);
    assert_eq!(
        state.apply(&rollback_entry(&op("op"), 4_000, 4_000 + HOUR)),
        Outcome::Ignored {
            reason: IgnoreReason::AlreadyRolledBack
        }
    );
}

#[test]
fn a_rollback_before_any_chunk_still_stops_the_operation() {
    let mut state = pool("CREATE/1 p 1 stock 32 P a:1:10");
    assert_eq!(
        state.apply(&rollback_entry(&op("op"), 1_000, 1_000 + HOUR)),
        Outcome::Return {
            returned: 0,
            ignored: vec![]
        }
    );
    let late = state.apply(&chunk("op", 0, 5, 1_500));
    assert_eq!(late.drawn(), &[] as &[_]);
    assert_eq!(stock(&state, "a"), 10);
    // Another operation is not affected.
    assert_eq!(state.apply(&chunk("other", 0, 5, 1_500)).drawn().len(), 5);
}

#[test]
fn holdings_end_with_their_window() {
    let mut state = pool("CREATE/1 p 1 stock 32 P a:1:10");
    state.apply(&chunk("old", 0, 3, 1_000));
    // A timed entry past the window forgets the holding: those draws stay.
    state.apply(&chunk("new", 0, 1, 1_000 + HOUR + 1));
    assert!(state.holding("old").is_none());
    let back = state.apply(&rollback_entry(&op("old"), 1_000 + HOUR + 2, 3 * HOUR));
    assert_eq!(
        back,
        Outcome::Return {
            returned: 0,
            ignored: vec![]
        }
    );
    assert_eq!(stock(&state, "a"), 6);
    assert_eq!(state.holding("new").map(|h| h.total()), Some(1));
}

#[test]
fn a_closed_pool_fails_chunks_and_still_takes_units_back() {
    let mut state = pool("CREATE/1 p 1 stock 32 P a:1:10");
    state.apply(&chunk("op", 0, 4, 1_000));
    state.apply(&Entry::Close);
    assert_eq!(
        state.apply(&chunk("op", 1, 4, 1_100)),
        Outcome::Draw {
            drawn: vec![],
            failed: 4,
            reason: Some(FailReason::Closed)
        }
    );
    let back = state.apply(&rollback_entry(&op("op"), 1_200, 1_200 + HOUR));
    assert_eq!(
        back,
        Outcome::Return {
            returned: 4,
            ignored: vec![]
        }
    );
    assert_eq!(stock(&state, "a"), 10);
}

#[test]
fn unlimited_units_count_as_returned_and_change_no_stock() {
    let mut state = pool("CREATE/1 p 1 weight 32 P a:1:* b:1:3");
    let drawn = state.apply(&chunk("op", 0, 20, 1_000));
    let held = state.holding("op").unwrap().total();
    assert_eq!(held, 20);
    let from_b = drawn.drawn().iter().filter(|i| i.as_str() == "b").count() as u64;
    assert_eq!(stock(&state, "b"), 3 - from_b);
    let back = state.apply(&rollback_entry(&op("op"), 1_100, 1_100 + HOUR));
    assert_eq!(
        back,
        Outcome::Return {
            returned: 20,
            ignored: vec![]
        }
    );
    assert_eq!(stock(&state, "b"), 3);
}

#[test]
fn a_rollback_past_the_stock_limit_is_refused_item_by_item() {
    let mut state = pool("CREATE/1 p 1 weight 32 P a:1:2");
    state.apply(&chunk("op", 0, 2, 1_000));
    let restock = Entry::decode(&format!("RESTOCK/1 a {}", u64::MAX)).unwrap();
    state.apply(&restock);
    let Outcome::Return { returned, ignored } =
        state.apply(&rollback_entry(&op("op"), 1_100, 1_100 + HOUR))
    else {
        panic!("a rollback returns");
    };
    assert_eq!(returned, 0);
    assert_eq!(
        ignored
            .iter()
            .map(|c| (c.item.as_str(), c.quantity.get()))
            .collect::<Vec<_>>(),
        [("a", 2)]
    );
    assert_eq!(stock(&state, "a"), u64::MAX);
}

#[test]
fn snapshots_keep_holdings_and_one_spelling() {
    let mut state = pool("CREATE/1 p 1 stock 32 P a:1:50 b:2:50");
    let plain = Snapshot {
        seq: 1,
        state: state.clone(),
    }
    .encode();
    assert_eq!(plain[4], 1, "no operation held: the first format");
    state.apply(&chunk("op-b", 0, 6, 1_000));
    state.apply(&chunk("op-a", 0, 3, 1_000));
    state.apply(&rollback_entry(&op("op-c"), 1_000, 1_000 + HOUR));
    let snapshot = Snapshot { seq: 4, state };
    let bytes = snapshot.encode();
    assert_eq!(bytes[4], 2, "operations held: the second format");
    let decoded = Snapshot::decode(&bytes).unwrap();
    assert_eq!(decoded, snapshot);
    assert_eq!(decoded.state.holding("op-a").map(|h| h.total()), Some(3));
    assert!(decoded.state.holding("op-c").unwrap().is_rolled_back());
    assert_eq!(decoded.encode(), bytes);
}

#[test]
fn replay_from_a_snapshot_mid_operation_agrees_with_the_whole_log() {
    let create = Entry::decode("CREATE/1 p 1 stock 32 P a:1:30 b:3:30").unwrap();
    let mut log = vec![create];
    for index in 0..6 {
        log.push(chunk("op", index, 4, 1_000 + u64::from(index)));
    }
    log.push(rollback_entry(&op("op"), 2_000, 2_000 + HOUR));
    log.push(chunk("op", 6, 4, 2_001));
    let numbered = || (1u64..).zip(log.iter().cloned());
    let whole = replay(None, numbered()).unwrap();
    for cut in 1..log.len() {
        let head = replay(None, numbered().take(cut)).unwrap();
        let bytes = head.snapshot().unwrap().encode();
        let restored = Snapshot::decode(&bytes).unwrap();
        let rest = replay(Some(restored), numbered().skip(cut)).unwrap();
        assert_eq!(rest.state, whole.state, "cut after entry {cut}");
        assert_eq!(
            rest.outcomes,
            whole.outcomes[cut..].to_vec(),
            "cut after entry {cut}"
        );
    }
    let state = whole.state.unwrap();
    assert_eq!((stock(&state, "a"), stock(&state, "b")), (30, 30));
}
