//! Invariants over random pools and random command sequences: stock is
//! conserved and never negative, replay is deterministic, a snapshot at any
//! point plus the tail equals the whole log, the codec round-trips, and no
//! input makes a decoder panic.
//!
//! A failure proptest finds is shrunk, recorded in
//! `properties.proptest-regressions` and replayed first on every later run;
//! keep the file, and turn the shrunk case into a named test here.
//!
//! proptest is a host-only dev-dependency: on wasm32 only the golden
//! vectors run.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use proptest::prelude::*;
use tombola_core::pool::snapshot::COLUMNS_FROM;
use tombola_core::pool::{
    Command, Entry, FailReason, ItemConfig, ItemId, Mode, OperationId, Outcome, PoolConfig,
    PoolState, RequestId, Snapshot, Stock, chunk_entry, decide, replay, replay_tail,
    rollback_entry,
};

#[derive(Debug, Clone)]
enum Step {
    Draw {
        count: u32,
        all_or_nothing: bool,
        seed: u64,
    },
    // A chunk of one of a few operations.
    Chunk {
        operation: usize,
        count: u32,
        seed: u64,
    },
    // Rolls one of them back.
    Rollback {
        operation: usize,
    },
    Restock {
        item: usize,
        quantity: u64,
    },
    Close,
}

// Small pools, and pools large enough for their snapshots to be written in
// columns (format version 4), with stocks that need wider columns.
fn config_strategy() -> impl Strategy<Value = PoolConfig> {
    let item = (
        1u64..6,
        prop_oneof![
            6 => (0u64..12).prop_map(Stock::Limited),
            1 => (60_000u64..70_000).prop_map(Stock::Limited),
            2 => Just(Stock::Unlimited),
        ],
    );
    let items = prop_oneof![
        3 => prop::collection::vec(item.clone(), 1..7),
        1 => prop::collection::vec(item, COLUMNS_FROM..COLUMNS_FROM + 40),
    ];
    (prop_oneof![Just(Mode::Stock), Just(Mode::Weight)], items).prop_map(|(mode, items)| {
        PoolConfig {
            id: "prop".to_owned(),
            name: "Property pool".to_owned(),
            mode,
            rules: 1,
            snapshot_every: 8,
            rotate_every: 0,
            items: items
                .into_iter()
                .enumerate()
                .map(|(index, (weight, stock))| ItemConfig {
                    id: format!("item-{index}"),
                    weight,
                    stock,
                })
                .collect(),
        }
    })
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (1u32..15, any::<bool>(), any::<u64>()).prop_map(|(count, all_or_nothing, seed)| Step::Draw { count, all_or_nothing, seed }),
        3 => (0usize..3, 1u32..15, any::<u64>()).prop_map(|(operation, count, seed)| Step::Chunk { operation, count, seed }),
        1 => (0usize..3).prop_map(|operation| Step::Rollback { operation }),
        2 => (0usize..8, 1u64..6).prop_map(|(item, quantity)| Step::Restock { item, quantity }),
        1 => Just(Step::Close),
    ]
}

// The log a caller builds: each step decided against the current state
// and, if accepted, appended and applied.
struct Run {
    config: PoolConfig,
    log: Vec<Entry>,
    outcomes: Vec<Outcome>,
    state: PoolState,
}

fn run(config: PoolConfig, steps: &[Step]) -> Run {
    let mut state = None;
    let mut log = Vec::new();
    let mut outcomes = Vec::new();
    let mut chunks = [0u32; 3];
    let items = config.items.len();
    let create =
        decide(None, Command::Create(config.clone())).expect("generated configs are valid");
    outcomes.push(tombola_core::pool::apply(&mut state, &create));
    log.push(create);
    for (index, step) in steps.iter().enumerate() {
        let operation = |n: usize| OperationId::new(&format!("op-{n}")).expect("valid id");
        // Operations never expire here: the window outlasts the run.
        let at = index as u64;
        let command = match step {
            &Step::Chunk {
                operation: n,
                count,
                seed,
            } => {
                chunks[n] += 1;
                let entry = chunk_entry(&operation(n), chunks[n] - 1, count, seed, at, u64::MAX)
                    .expect("valid count");
                outcomes.push(tombola_core::pool::apply(&mut state, &entry));
                log.push(entry);
                continue;
            }
            &Step::Rollback { operation: n } => {
                let entry = rollback_entry(&operation(n), at, u64::MAX);
                outcomes.push(tombola_core::pool::apply(&mut state, &entry));
                log.push(entry);
                continue;
            }
            &Step::Draw {
                count,
                all_or_nothing,
                seed,
            } => Command::Draw {
                request_id: RequestId::new(&format!("r-{index}")).expect("valid id"),
                count,
                all_or_nothing,
                seed,
            },
            Step::Restock { item, quantity } => Command::Restock {
                item: ItemId::new(&format!("item-{}", item % items)).expect("valid id"),
                quantity: *quantity,
            },
            Step::Close => Command::Close,
        };
        let Ok(entry) = decide(state.as_ref(), command) else {
            continue;
        };
        let outcome = tombola_core::pool::apply(&mut state, &entry);
        log.push(entry);
        outcomes.push(outcome);
    }
    Run {
        config,
        log,
        outcomes,
        state: state.expect("created"),
    }
}

fn tickets(mode: Mode, weight: u64, stock: Stock) -> u64 {
    match (mode, stock) {
        (_, Stock::Unlimited) => weight,
        (Mode::Stock, Stock::Limited(units)) => weight * units,
        (Mode::Weight, Stock::Limited(0)) => 0,
        (Mode::Weight, Stock::Limited(_)) => weight,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn stock_is_conserved_and_never_negative(config in config_strategy(), steps in prop::collection::vec(step_strategy(), 0..40)) {
        let run = run(config, &steps);
        // Per item: initial + restocked + returned - drawn = remaining.
        let mut balance: HashMap<String, i128> = run
            .config
            .items
            .iter()
            .map(|item| (item.id.clone(), match item.stock { Stock::Limited(units) => i128::from(units), Stock::Unlimited => 0 }))
            .collect();
        // What each operation's chunks drew, until its rollback.
        let mut held: HashMap<String, Vec<ItemId>> = HashMap::new();
        let mut rolled_back: Vec<String> = Vec::new();
        for (entry, outcome) in run.log.iter().zip(&run.outcomes) {
            match (entry, outcome) {
                (Entry::Chunk(chunk), Outcome::Draw { drawn, failed, reason }) => {
                    let operation = chunk.operation_id.to_string();
                    if rolled_back.contains(&operation) {
                        prop_assert!(drawn.is_empty());
                        prop_assert_eq!(*reason, Some(FailReason::RolledBack));
                        prop_assert_eq!(*failed, chunk.count.get());
                        continue;
                    }
                    for item in drawn {
                        *balance.get_mut(item.as_str()).expect("drawn items exist") -= 1;
                    }
                    held.entry(operation).or_default().extend(drawn.iter().cloned());
                }
                (_, Outcome::Draw { drawn, failed, reason }) => {
                    prop_assert_eq!(reason.is_some(), *failed > 0);
                    for item in drawn {
                        *balance.get_mut(item.as_str()).expect("drawn items exist") -= 1;
                    }
                }
                (Entry::Rollback(rollback), Outcome::Return { returned, ignored }) => {
                    let operation = rollback.operation_id.to_string();
                    rolled_back.push(operation.clone());
                    let back = held.remove(&operation).unwrap_or_default();
                    let refused: u64 = ignored.iter().map(|i| i.quantity.get()).sum();
                    prop_assert_eq!(back.len() as u64, *returned + refused);
                    for item in &back {
                        *balance.get_mut(item.as_str()).expect("returned items exist") += 1;
                    }
                    for count in ignored {
                        *balance.get_mut(count.item.as_str()).expect("refused items exist") -= i128::from(count.quantity.get());
                    }
                }
                (Entry::Rollback(_), Outcome::Ignored { .. }) => {}
                (Entry::Restock(restock), Outcome::Restock { item, remaining }) => {
                    prop_assert_eq!(&restock.item, item);
                    *balance.get_mut(item.as_str()).expect("restocked items exist") += i128::from(restock.quantity.get());
                    prop_assert_eq!(run.state.stock(item.as_str()).is_some(), true);
                    prop_assert!(*remaining >= restock.quantity.get());
                }
                _ => {}
            }
        }
        let mut expected_total = 0u64;
        for (item, stock) in run.state.stocks() {
            let config = run.config.items.iter().find(|config| config.id == item.as_str()).expect("configured");
            match (config.stock, stock) {
                (Stock::Limited(_), Stock::Limited(remaining)) => {
                    prop_assert_eq!(balance[item.as_str()], i128::from(remaining), "item {}", item);
                }
                (Stock::Unlimited, Stock::Unlimited) => {}
                (initial, now) => prop_assert!(false, "{} went from {:?} to {:?}", item, initial, now),
            }
            expected_total += tickets(run.config.mode, config.weight, stock);
        }
        // The sampler holds exactly the weights the stocks imply.
        prop_assert_eq!(run.state.total_weight(), expected_total);
        let odds = run.state.odds();
        prop_assert_eq!(odds.iter().map(|odds| odds.numerator).sum::<u64>(), expected_total);
        prop_assert!(odds.iter().all(|odds| odds.denominator == expected_total));
    }

    #[test]
    fn replay_is_deterministic_and_matches_the_live_run(config in config_strategy(), steps in prop::collection::vec(step_strategy(), 0..40)) {
        let run = run(config, &steps);
        let numbered = || run.log.iter().cloned().zip(1u64..).map(|(entry, seq)| (seq, entry));
        let once = replay(None, numbered()).expect("contiguous");
        let twice = replay(None, numbered()).expect("contiguous");
        prop_assert_eq!(&once, &twice);
        prop_assert_eq!(once.state.as_ref(), Some(&run.state));
        let outcomes: Vec<Outcome> = once.outcomes.iter().map(|(_, outcome)| outcome.clone()).collect();
        prop_assert_eq!(&outcomes, &run.outcomes);
        // Replaying the encoded lines gives the same again.
        let lines: Vec<String> = run.log.iter().map(Entry::encode).collect();
        prop_assert_eq!(replay_tail(None, &lines).expect("lines decode"), once);
    }

    #[test]
    fn a_snapshot_at_any_point_plus_the_tail_equals_the_whole_log(
        config in config_strategy(),
        steps in prop::collection::vec(step_strategy(), 0..30),
        cut in any::<prop::sample::Index>(),
    ) {
        let run = run(config, &steps);
        let lines: Vec<String> = run.log.iter().map(Entry::encode).collect();
        let whole = replay_tail(None, &lines).expect("lines decode");
        // Cut after the CREATE at the earliest, so that there is a pool.
        let k = 1 + cut.index(lines.len());
        let head = replay_tail(None, &lines[..k]).expect("lines decode");
        let bytes = head.snapshot().expect("the pool exists").encode();
        let snapshot = Snapshot::decode(&bytes).expect("a fresh snapshot decodes");
        prop_assert_eq!(snapshot.seq, k as u64);
        prop_assert_eq!(snapshot.encode(), bytes);
        let tail = replay_tail(Some(snapshot), &lines[k..]).expect("lines decode");
        prop_assert_eq!(&tail.state, &whole.state);
        prop_assert_eq!(tail.seq, whole.seq);
        prop_assert_eq!(&tail.outcomes[..], &whole.outcomes[k..]);
    }

    #[test]
    fn every_entry_round_trips_through_its_line(config in config_strategy(), steps in prop::collection::vec(step_strategy(), 0..30)) {
        let run = run(config, &steps);
        for entry in &run.log {
            let line = entry.encode();
            prop_assert!(!line.contains(['\n', '\r', '\t']));
            prop_assert!(!line.contains("  ") && !line.ends_with(' '));
            prop_assert_eq!(&Entry::decode(&line).expect("encoded lines decode"), entry);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(entry) = Entry::decode_bytes(&bytes) {
            // Whatever decodes has exactly one spelling: these bytes.
            prop_assert_eq!(entry.encode().into_bytes(), bytes.clone());
        }
        if let Ok(snapshot) = Snapshot::decode(&bytes) {
            prop_assert_eq!(snapshot.encode(), bytes);
        }
    }

    #[test]
    fn decoding_mangled_lines_never_panics(
        line in prop::sample::select(vec![
            "CREATE/1 p 1 stock 32 P%20Q a:1:5 b:2:*",
            "DRAW/1 op#3 12 00000000deadbeef all",
            "RETURN/1 op a:1 b:2",
            "RESTOCK/1 a 3",
            "CLOSE/1",
            "DRAW r a",
            "DRAW r FAILED",
        ]),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = line.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(entry) = Entry::decode_bytes(&bytes) {
            prop_assert_eq!(entry.encode().into_bytes(), bytes);
        }
    }

    #[test]
    fn mangled_snapshots_are_refused_or_exact(
        config in config_strategy(),
        steps in prop::collection::vec(step_strategy(), 0..10),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let run = run(config, &steps);
        let mut bytes = Snapshot { seq: run.log.len() as u64, state: run.state }.encode();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(snapshot) = Snapshot::decode(&bytes) {
            prop_assert_eq!(snapshot.encode(), bytes);
        }
    }
}
