//! The state machine, rule by rule: what `decide` refuses, and what `apply`
//! does with every entry in every situation.

use std::num::NonZeroU64;

use tombola_core::pool::{
    Command, ConfigField, ConfigProblem, DecideError, Draw, DrawCount, Entry, FailReason,
    GivenDraw, IgnoreReason, ItemCount, ItemId, Mode, OperationId, Outcome, PoolConfig, PoolState,
    RequestId, Return, Rules, Stock, apply, decide,
};

fn config(json: &str) -> PoolConfig {
    serde_json::from_str(json).expect("test config parses")
}

fn pool(json: &str) -> PoolState {
    let mut state = None;
    let entry = decide(None, Command::Create(config(json))).expect("test config is valid");
    assert_eq!(apply(&mut state, &entry), Outcome::Create);
    state.expect("created")
}

// Two limited items and one unlimited, in stock mode.
fn drum() -> PoolState {
    pool(
        r#"{"id":"drum","name":"Drum","mode":"stock","items":[
            {"id":"gold","stock":2},{"id":"silver","weight":2,"stock":3},{"id":"none","weight":5,"stock":null}]}"#,
    )
}

// Two limited items only, in weight mode.
fn limited() -> PoolState {
    pool(
        r#"{"id":"lim","name":"Limited","mode":"weight","items":[{"id":"a","weight":1,"stock":2},{"id":"b","weight":3,"stock":1}]}"#,
    )
}

fn id(text: &str) -> ItemId {
    ItemId::new(text).unwrap()
}

fn draw(count: u32, seed: u64, all_or_nothing: bool) -> Entry {
    Entry::Draw(Draw {
        request_id: RequestId::new("r").unwrap(),
        count: DrawCount::new(count).unwrap(),
        seed,
        all_or_nothing,
    })
}

fn draw_command(count: u32) -> Command {
    Command::Draw {
        request_id: RequestId::new("r").unwrap(),
        count,
        all_or_nothing: false,
        seed: 1,
    }
}

fn count(item: &str, quantity: u64) -> ItemCount {
    ItemCount {
        item: id(item),
        quantity: NonZeroU64::new(quantity).unwrap(),
    }
}

fn remaining(state: &PoolState) -> Vec<Stock> {
    state.stocks().map(|(_, stock)| stock).collect()
}

fn closed(mut state: PoolState) -> PoolState {
    assert_eq!(state.apply(&Entry::Close), Outcome::Close);
    state
}

#[test]
fn decide_refuses_everything_but_create_without_a_pool() {
    let commands = [
        draw_command(1),
        Command::Close,
        Command::Restock {
            item: id("a"),
            quantity: 1,
        },
    ];
    for command in commands {
        assert_eq!(decide(None, command), Err(DecideError::NoPool));
    }
}

#[test]
fn decide_refuses_a_second_create_and_an_invalid_config() {
    let state = drum();
    let again =
        config(r#"{"id":"drum","name":"Drum","mode":"stock","items":[{"id":"a","stock":1}]}"#);
    assert_eq!(
        decide(Some(&state), Command::Create(again)),
        Err(DecideError::AlreadyExists)
    );
    let invalid =
        config(r#"{"id":"p","name":"P","mode":"stock","items":[{"id":"a","weight":0,"stock":1}]}"#);
    let error = decide(None, Command::Create(invalid)).unwrap_err();
    let DecideError::Config(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (error.field, error.problem),
        (ConfigField::ItemWeight(0), ConfigProblem::ZeroWeight)
    );
}

#[test]
fn decide_checks_draw_counts() {
    let state = drum();
    assert_eq!(
        decide(Some(&state), draw_command(0)),
        Err(DecideError::BadCount(0))
    );
    assert_eq!(
        decide(Some(&state), draw_command(1001)),
        Err(DecideError::BadCount(1001))
    );
    let Entry::Draw(entry) = decide(Some(&state), draw_command(1000)).unwrap() else {
        panic!("not a draw")
    };
    assert_eq!(entry.count.get(), 1000);
    // A draw is not refused for lack of stock: the outcome records it.
    let mut empty = limited();
    empty.apply(&draw(3, 9, false));
    assert_eq!(empty.total_weight(), 0);
    assert!(decide(Some(&empty), draw_command(1)).is_ok());
}

#[test]
fn decide_refuses_draws_and_restocks_on_a_closed_pool() {
    let state = closed(drum());
    assert_eq!(
        decide(Some(&state), draw_command(1)),
        Err(DecideError::Closed)
    );
    assert_eq!(
        decide(
            Some(&state),
            Command::Restock {
                item: id("gold"),
                quantity: 1
            }
        ),
        Err(DecideError::Closed)
    );
    assert_eq!(
        decide(Some(&state), Command::Close),
        Err(DecideError::AlreadyClosed)
    );
}

#[test]
fn decide_checks_restocks() {
    let state = drum();
    let restock = |item: &str, quantity| {
        decide(
            Some(&state),
            Command::Restock {
                item: id(item),
                quantity,
            },
        )
    };
    assert_eq!(
        restock("ghost", 1),
        Err(DecideError::UnknownItem(id("ghost")))
    );
    assert_eq!(
        restock("none", 1),
        Err(DecideError::UnlimitedItem(id("none")))
    );
    assert_eq!(restock("gold", 0), Err(DecideError::ZeroQuantity));
    // The total is 2 + 6 + 5 = 13 tickets; gold holds 1 per unit, so the
    // total after restocking q units is 13 + q.
    assert_eq!(
        restock("gold", u64::MAX - 2),
        Err(DecideError::Overflow(id("gold")))
    );
    assert_eq!(
        restock("gold", u64::MAX - 12),
        Err(DecideError::Overflow(id("gold")))
    );
    assert_eq!(
        restock("gold", u64::MAX - 13),
        Ok(Entry::Restock(tombola_core::pool::Restock {
            item: id("gold"),
            quantity: NonZeroU64::new(u64::MAX - 13).unwrap()
        }))
    );
}

#[test]
fn a_partial_draw_fills_what_it_can() {
    let mut state = limited();
    let outcome = state.apply(&draw(5, 3, false));
    let Outcome::Draw {
        drawn,
        failed,
        reason,
    } = outcome
    else {
        panic!("not a draw")
    };
    assert_eq!(
        (drawn.len(), failed, reason),
        (3, 2, Some(FailReason::OutOfStock))
    );
    let mut sorted: Vec<&str> = drawn.iter().map(ItemId::as_str).collect();
    sorted.sort_unstable();
    assert_eq!(sorted, ["a", "a", "b"]);
    assert_eq!(remaining(&state), [Stock::Limited(0), Stock::Limited(0)]);
    // Nothing left: every draw fails.
    assert_eq!(
        state.apply(&draw(2, 4, false)),
        Outcome::Draw {
            drawn: vec![],
            failed: 2,
            reason: Some(FailReason::OutOfStock)
        }
    );
}

#[test]
fn an_all_or_nothing_draw_draws_nothing_when_short() {
    let mut state = limited();
    let before = state.clone();
    assert_eq!(
        state.apply(&draw(4, 3, true)),
        Outcome::Draw {
            drawn: vec![],
            failed: 4,
            reason: Some(FailReason::OutOfStock)
        }
    );
    assert_eq!(
        state, before,
        "a refused all-or-nothing draw changes nothing"
    );
    // Exactly enough stock: all of it is drawn.
    let Outcome::Draw {
        drawn,
        failed: 0,
        reason: None,
    } = state.apply(&draw(3, 3, true))
    else {
        panic!("short")
    };
    assert_eq!(drawn.len(), 3);
    assert_eq!(state.total_weight(), 0);
}

#[test]
fn an_all_or_nothing_draw_is_never_short_with_an_unlimited_item() {
    let mut state = drum();
    let Outcome::Draw {
        drawn, failed: 0, ..
    } = state.apply(&draw(1000, 11, true))
    else {
        panic!("short")
    };
    assert_eq!(drawn.len(), 1000);
    // Only the unlimited item is left.
    assert_eq!(
        remaining(&state),
        [Stock::Limited(0), Stock::Limited(0), Stock::Unlimited]
    );
    assert_eq!(
        drawn.iter().filter(|item| item.as_str() == "gold").count(),
        2
    );
}

#[test]
fn a_closed_pool_fails_every_draw() {
    let mut state = closed(drum());
    let before = state.clone();
    assert_eq!(
        state.apply(&draw(3, 1, false)),
        Outcome::Draw {
            drawn: vec![],
            failed: 3,
            reason: Some(FailReason::Closed)
        }
    );
    assert_eq!(
        state.apply(&draw(3, 1, true)),
        Outcome::Draw {
            drawn: vec![],
            failed: 3,
            reason: Some(FailReason::Closed)
        }
    );
    assert_eq!(state, before);
}

#[test]
fn weight_mode_ignores_stock_size_until_it_runs_out() {
    let state = pool(
        r#"{"id":"w","name":"W","mode":"weight","items":[{"id":"a","weight":2,"stock":1000},{"id":"b","weight":3,"stock":1},{"id":"c","weight":5,"stock":0}]}"#,
    );
    let odds: Vec<(u64, u64)> = state
        .odds()
        .iter()
        .map(|odds| (odds.numerator, odds.denominator))
        .collect();
    assert_eq!(odds, [(2, 5), (3, 5), (0, 5)]);
    assert_eq!(state.config().mode(), Mode::Weight);
}

#[test]
fn stock_mode_counts_weight_times_stock() {
    let mut state = drum();
    let odds: Vec<(u64, u64)> = state
        .odds()
        .iter()
        .map(|odds| (odds.numerator, odds.denominator))
        .collect();
    assert_eq!(odds, [(2, 13), (6, 13), (5, 13)]);
    assert_eq!(state.odds()[0].approximate(), 2.0 / 13.0);
    state.apply(&Entry::GivenDraw(GivenDraw {
        request_id: RequestId::new("s").unwrap(),
        item: Some(id("silver")),
    }));
    assert_eq!(state.odds()[1].numerator, 4);
    assert_eq!(state.total_weight(), 11);
}

#[test]
fn odds_of_an_empty_pool_are_zero_over_zero() {
    let mut state = limited();
    state.apply(&draw(3, 5, false));
    assert!(
        state
            .odds()
            .iter()
            .all(|odds| odds.numerator == 0 && odds.denominator == 0 && odds.approximate() == 0.0)
    );
}

// Re-computes draws with nothing but the documented rules 1 algorithm, the
// way an auditor would, and compares with `apply`.
#[test]
fn draws_follow_the_documented_rules() {
    let weights = [1u64, 2, 5];
    for seed in 0..200u64 {
        let mut state = drum();
        let Outcome::Draw { drawn, .. } = state.apply(&draw(6, seed, false)) else {
            panic!("not a draw")
        };

        let mut stock = [2u64, 3, u64::MAX];
        let mut rng = Rules::V1.generator(seed).expect("rules 1 is seeded");
        let mut expected = Vec::new();
        for _ in 0..6 {
            let tickets: Vec<u64> = (0..3)
                .map(|i| {
                    if stock[i] == u64::MAX {
                        weights[i]
                    } else {
                        weights[i] * stock[i]
                    }
                })
                .collect();
            let mut point = rng.below(tickets.iter().sum());
            let index = (0..3)
                .find(|&i| {
                    let inside = point < tickets[i];
                    point = point.saturating_sub(tickets[i]);
                    inside
                })
                .unwrap();
            if stock[index] != u64::MAX {
                stock[index] -= 1;
            }
            expected.push(["gold", "silver", "none"][index]);
        }
        let drawn: Vec<&str> = drawn.iter().map(ItemId::as_str).collect();
        assert_eq!(drawn, expected, "seed {seed}");
    }
}

#[test]
fn the_same_entry_on_the_same_state_gives_the_same_outcome() {
    let (mut one, mut two) = (drum(), drum());
    for seed in [0, 1, u64::MAX] {
        assert_eq!(
            one.apply(&draw(4, seed, false)),
            two.apply(&draw(4, seed, false))
        );
    }
    assert_eq!(one, two);
    let outcomes: Vec<Outcome> = (0..20)
        .map(|seed| drum().apply(&draw(3, seed, false)))
        .collect();
    assert!(
        outcomes.windows(2).any(|pair| pair[0] != pair[1]),
        "different seeds draw differently"
    );
}

#[test]
fn seed_draws_are_honoured_as_far_as_the_stock_allows() {
    let mut state = closed(limited());
    let seed = |item: Option<&str>| {
        Entry::GivenDraw(GivenDraw {
            request_id: RequestId::new("s").unwrap(),
            item: item.map(id),
        })
    };
    assert_eq!(
        state.apply(&seed(Some("b"))),
        Outcome::Draw {
            drawn: vec![id("b")],
            failed: 0,
            reason: None
        }
    );
    assert_eq!(
        state.apply(&seed(Some("b"))),
        Outcome::Draw {
            drawn: vec![],
            failed: 1,
            reason: Some(FailReason::OutOfStock)
        }
    );
    assert_eq!(
        state.apply(&seed(Some("zz"))),
        Outcome::Draw {
            drawn: vec![],
            failed: 1,
            reason: Some(FailReason::UnknownItem)
        }
    );
    let before = state.clone();
    assert_eq!(
        state.apply(&seed(None)),
        Outcome::Draw {
            drawn: vec![],
            failed: 1,
            reason: Some(FailReason::Recorded)
        }
    );
    assert_eq!(state, before);
    assert_eq!(remaining(&state), [Stock::Limited(2), Stock::Limited(0)]);

    let mut unlimited = drum();
    assert_eq!(
        unlimited.apply(&seed(Some("none"))),
        Outcome::Draw {
            drawn: vec![id("none")],
            failed: 0,
            reason: None
        }
    );
    assert_eq!(remaining(&unlimited), remaining(&drum()));
}

#[test]
fn returns_give_units_back_and_report_what_they_could_not() {
    let mut state = closed(limited());
    state.apply(&Entry::GivenDraw(GivenDraw {
        request_id: RequestId::new("s").unwrap(),
        item: Some(id("b")),
    }));
    assert_eq!(
        state.total_weight(),
        1,
        "b is gone; a closed pool keeps a's weight"
    );
    let back = Entry::Return(Return {
        operation_id: OperationId::new("o").unwrap(),
        items: vec![count("b", 1), count("ghost", 2), count("a", 3)],
    });
    assert_eq!(
        state.apply(&back),
        Outcome::Return {
            returned: 4,
            ignored: vec![count("ghost", 2)]
        }
    );
    assert_eq!(remaining(&state), [Stock::Limited(5), Stock::Limited(1)]);
    assert_eq!(state.total_weight(), 4);

    let mut drum = drum();
    let unlimited = Entry::Return(Return {
        operation_id: OperationId::new("o").unwrap(),
        items: vec![count("none", 7)],
    });
    assert_eq!(
        drum.apply(&unlimited),
        Outcome::Return {
            returned: 7,
            ignored: vec![]
        }
    );
    assert_eq!(remaining(&drum), remaining(&self::drum()));
}

#[test]
fn a_return_that_would_overflow_is_ignored() {
    let mut state = drum();
    // gold: 1 ticket per unit; the total is 13.
    let back = Entry::Return(Return {
        operation_id: OperationId::new("o").unwrap(),
        items: vec![count("gold", u64::MAX - 12), count("silver", 1)],
    });
    assert_eq!(
        state.apply(&back),
        Outcome::Return {
            returned: 1,
            ignored: vec![count("gold", u64::MAX - 12)]
        }
    );
    assert_eq!(state.stock("gold"), Some(Stock::Limited(2)));
    assert_eq!(state.stock("silver"), Some(Stock::Limited(4)));
}

#[test]
fn restocks_add_units_or_say_why_not() {
    let mut state = drum();
    let restock = |item: &str, quantity: u64| {
        Entry::Restock(tombola_core::pool::Restock {
            item: id(item),
            quantity: NonZeroU64::new(quantity).unwrap(),
        })
    };
    assert_eq!(
        state.apply(&restock("gold", 3)),
        Outcome::Restock {
            item: id("gold"),
            remaining: 5
        }
    );
    assert_eq!(state.total_weight(), 16);
    let before = state.clone();
    assert_eq!(
        state.apply(&restock("ghost", 1)),
        Outcome::Ignored {
            reason: IgnoreReason::UnknownItem
        }
    );
    assert_eq!(
        state.apply(&restock("none", 1)),
        Outcome::Ignored {
            reason: IgnoreReason::UnlimitedItem
        }
    );
    assert_eq!(
        state.apply(&restock("gold", u64::MAX - 4)),
        Outcome::Ignored {
            reason: IgnoreReason::Overflow
        }
    );
    assert_eq!(
        state.apply(&restock("silver", u64::MAX / 2)),
        Outcome::Ignored {
            reason: IgnoreReason::Overflow
        }
    );
    assert_eq!(state, before);
    let mut shut = closed(state);
    assert_eq!(
        shut.apply(&restock("gold", 1)),
        Outcome::Ignored {
            reason: IgnoreReason::Closed
        }
    );
}

#[test]
fn weight_mode_restocks_bring_an_item_back() {
    let mut state = limited();
    state.apply(&draw(3, 1, false));
    assert_eq!(state.total_weight(), 0);
    let restock = Entry::Restock(tombola_core::pool::Restock {
        item: id("b"),
        quantity: NonZeroU64::new(10).unwrap(),
    });
    assert_eq!(
        state.apply(&restock),
        Outcome::Restock {
            item: id("b"),
            remaining: 10
        }
    );
    assert_eq!(state.total_weight(), 3);
}

#[test]
fn lifecycle_entries_out_of_place_are_ignored() {
    let mut state = None;
    for entry in [
        draw(1, 1, false),
        Entry::Close,
        Entry::decode("RESTOCK/1 a 1").unwrap(),
        Entry::decode("DRAW r a").unwrap(),
    ] {
        assert_eq!(
            apply(&mut state, &entry),
            Outcome::Ignored {
                reason: IgnoreReason::NoPool
            }
        );
        assert_eq!(state, None);
    }
    let create = Entry::decode("CREATE/1 p 1 weight 32 P a:1:1").unwrap();
    assert_eq!(apply(&mut state, &create), Outcome::Create);
    let other = Entry::decode("CREATE/1 q 1 weight 32 Q b:1:1").unwrap();
    assert_eq!(
        apply(&mut state, &other),
        Outcome::Ignored {
            reason: IgnoreReason::AlreadyCreated
        }
    );
    assert_eq!(state.as_ref().map(|state| state.id().as_str()), Some("p"));
    assert_eq!(apply(&mut state, &Entry::Close), Outcome::Close);
    assert_eq!(
        apply(&mut state, &Entry::Close),
        Outcome::Ignored {
            reason: IgnoreReason::AlreadyClosed
        }
    );
    assert!(state.is_some_and(|state| state.is_closed()));
}

#[test]
fn state_accessors_describe_the_pool() {
    let state = drum();
    assert_eq!(state.id().as_str(), "drum");
    assert_eq!(state.rules(), Rules::V1);
    assert!(!state.is_closed());
    assert_eq!(state.stock("silver"), Some(Stock::Limited(3)));
    assert_eq!(state.stock("ghost"), None);
    let names: Vec<String> = state.stocks().map(|(item, _)| item.to_string()).collect();
    assert_eq!(names, ["gold", "silver", "none"]);
}
