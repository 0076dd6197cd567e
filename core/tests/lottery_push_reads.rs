//! What a push reads: over random histories and random pushes, the copy
//! cut to the packs and closes the push names and the packs on the
//! counter decides the push exactly as the whole copy does, and the
//! counter after it is what the index of it would hold.
//!
//! proptest is a host-only dev-dependency.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use tombola_core::lottery::{
    BinNumber, Cents, Game, GameCode, GameSpec, GameStatus, Numbering, PackStatus, Push, StoreCopy,
    decide_push, on_counter, push_reads,
};

fn game(code: u32, status: GameStatus) -> Game {
    Game::new(GameSpec {
        code: GameCode::new(code).unwrap(),
        name: format!("Game {code}"),
        price: Cents::new(100),
        pack_value: Cents::new(1000),
        tickets_per_pack: 10,
        numbering: Numbering::Ascending,
        status,
    })
    .unwrap()
}

/// The cloud's copy before any push: two games (one retired) and three
/// bins.
fn empty_copy() -> StoreCopy {
    let mut copy = StoreCopy::default();
    for g in [game(50, GameStatus::Active), game(60, GameStatus::Inactive)] {
        copy.games.insert(g.code(), g);
    }
    for number in 1..=3 {
        copy.bins.insert(BinNumber::new(number).unwrap());
    }
    copy
}

fn pack(game: u32, number: u32) -> Value {
    json!({"game": format!("{game:03}"), "number": number})
}

/// One mutation a store might push, over a few packs, bins and dates, so
/// that histories collide: packs received twice, bins taken, displaced
/// packs that are not the occupant, closes sent again.
fn mutation() -> impl Strategy<Value = (&'static str, Value)> {
    let key = (prop::sample::select(vec![50u32, 50, 50, 60, 70]), 1u32..5);
    let reading = prop::option::of(0u32..10);
    prop_oneof![
        3 => key.prop_map(|(g, n)| ("receivePack", json!({"pack": pack(g, n)}))),
        3 => (
            1u32..5,
            1u32..5,
            0u32..3,
            prop::option::of((1u32..5, prop::bool::ANY, 0u32..10)),
        )
            .prop_map(|(n, bin, opening, displaced)| {
                let displaced = displaced.map(|(d, settle, next)| {
                    if settle {
                        json!({"pack": pack(50, d), "action": "settle"})
                    } else {
                        json!({"pack": pack(50, d), "action": "return", "reading": {"next": next}})
                    }
                });
                (
                    "activatePack",
                    json!({"pack": pack(50, n), "bin": bin, "opening": opening, "displaced": displaced}),
                )
            }),
        1 => (1u32..5).prop_map(|n| ("settlePack", json!({"pack": pack(50, n)}))),
        1 => (1u32..5, reading).prop_map(|(n, reading)| {
            let reading = reading.map(|next| json!({"next": next}));
            ("returnPack", json!({"pack": pack(50, n), "reading": reading}))
        }),
        1 => (2u32..5, 0u64..3).prop_map(|(day, tickets)| {
            let close = json!({
                "date": format!("2025-06-0{day}"), "lines": [], "bins": [],
                "tickets": tickets, "amount": tickets * 100, "variances": []
            });
            ("closeDay", json!({"close": close}))
        }),
        1 => prop::collection::vec(1u32..6, 1..3)
            .prop_map(|bins| ("createBins", json!({"bins": bins}))),
    ]
}

fn push(first_id: u64, mutations: &[(&str, Value)]) -> Push {
    let mutations: Vec<Value> = mutations
        .iter()
        .zip(first_id..)
        .map(|((name, args), id)| json!({"id": id, "name": name, "args": args}))
        .collect();
    Push::from_json(&json!({"client_id": "till-1", "mutations": mutations})).unwrap()
}

/// The copy a history of pushes leaves, and the last mutation id.
fn after(history: &[Vec<(&str, Value)>]) -> (StoreCopy, u64) {
    let mut copy = empty_copy();
    let mut last = 0;
    for mutations in history {
        let decision = decide_push(&push(last + 1, mutations), last, copy.clone());
        copy.packs.extend(decision.writes.packs);
        copy.closes.extend(decision.writes.closes);
        copy.bins.extend(decision.writes.bins);
        last = decision.plan.reply.last_mutation_id;
    }
    (copy, last)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_cut_copy_decides_a_push_as_the_whole_copy_does(
        history in prop::collection::vec(prop::collection::vec(mutation(), 0..8), 0..6),
        next in prop::collection::vec(mutation(), 1..8),
    ) {
        let (copy, last) = after(&history);
        let next = push(last + 1, &next);
        let cut = copy.clone().cut_to(&push_reads(&next));
        prop_assert!(cut.packs.len() <= copy.packs.len());
        let whole = decide_push(&next, last, copy.clone());
        prop_assert_eq!(&decide_push(&next, last, cut), &whole);

        // The counter the index keeps after the push is the one the whole
        // copy has after it.
        let mut landed = copy.clone();
        landed.packs.extend(whole.writes.packs.clone());
        let expected: BTreeSet<_> = landed
            .packs
            .iter()
            .filter(|(_, pack)| pack.status() == PackStatus::Active)
            .map(|(key, _)| *key)
            .collect();
        let indexed: BTreeSet<_> = on_counter(&copy.packs, &whole.writes).collect();
        prop_assert_eq!(indexed, expected);
    }
}
