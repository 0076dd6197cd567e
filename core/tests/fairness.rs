//! Fairness: a million draws in each mode, compared with the configured
//! odds by a chi-square goodness-of-fit test. Seeds are fixed, so the test
//! is deterministic; the threshold is the 0.1% critical value, so a fair
//! sampler passes and the slightest systematic bias fails at this size.
//! Rules 1 draws with the operator's seeds; rules 2 draws each entry as a
//! DRAW/2 with the next nonce under one committed server seed.

use std::sync::Arc;

use tombola_core::pool::{
    ClientSeed, Draw, DrawCount, Entry, Keyring, Outcome, PoolConfig, PoolState, RequestId,
    ServerSeed, ValidConfig, apply_with, provable,
};

// 1000 entries of 1000 draws each.
const ENTRIES: u64 = 1000;
const DRAWS: u64 = ENTRIES * 1000;

fn pool(json: &str) -> PoolState {
    let config: PoolConfig = serde_json::from_str(json).expect("test config parses");
    PoolState::new(Arc::new(
        ValidConfig::new(config).expect("test config is valid"),
    ))
}

// Counts how often each item is drawn over `ENTRIES` draws of 1000.
fn counts(state: &mut PoolState) -> Vec<u64> {
    let ids: Vec<String> = state.stocks().map(|(id, _)| id.to_string()).collect();
    let mut counts = vec![0u64; ids.len()];
    for seed in 0..ENTRIES {
        let entry = Entry::Draw(Draw {
            request_id: RequestId::new("fair").expect("valid id"),
            count: DrawCount::new(1000).expect("valid count"),
            seed: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            all_or_nothing: false,
        });
        let Outcome::Draw {
            drawn, failed: 0, ..
        } = state.apply(&entry)
        else {
            panic!("draws failed")
        };
        for item in drawn {
            let index = ids
                .iter()
                .position(|id| id == item.as_str())
                .expect("drawn items exist");
            counts[index] += 1;
        }
    }
    counts
}

// Counts how often each item is drawn over `ENTRIES` DRAW/2 entries of
// 1000 under rules 2.
fn rules_2_counts(json: &str) -> Vec<u64> {
    let config: PoolConfig = serde_json::from_str(json).expect("test config parses");
    let config = ValidConfig::new(config).expect("test config is valid");
    let ids: Vec<String> = config.items().map(|item| item.id.to_string()).collect();
    let seed = ServerSeed::from_bytes([0xc5; 32]);
    let keys = Keyring::of([seed.clone()]);
    let mut state = Some(PoolState::new(Arc::new(config)));
    assert_eq!(
        apply_with(&mut state, &provable::commit_entry(&seed, 0), &keys),
        Outcome::Commit
    );
    let request = RequestId::new("fair").expect("valid id");
    let client_seed = ClientSeed::new("chi-square").expect("valid client seed");
    let mut counts = vec![0u64; ids.len()];
    for nonce in 0..ENTRIES {
        let entry =
            provable::fair_draw_entry(request.clone(), 1000, false, client_seed.clone(), nonce)
                .expect("valid count");
        let Outcome::Draw {
            drawn, failed: 0, ..
        } = apply_with(&mut state, &entry, &keys)
        else {
            panic!("draws failed at nonce {nonce}")
        };
        for item in drawn {
            let index = ids
                .iter()
                .position(|id| id == item.as_str())
                .expect("drawn items exist");
            counts[index] += 1;
        }
    }
    counts
}

// The chi-square statistic of observed counts against expected shares.
fn chi_square(observed: &[u64], shares: &[f64]) -> f64 {
    let total: f64 = shares.iter().sum();
    observed
        .iter()
        .zip(shares)
        .map(|(&seen, &share)| {
            let expected = DRAWS as f64 * share / total;
            (seen as f64 - expected).powi(2) / expected
        })
        .sum()
}

// Critical values of the chi-square distribution at p = 0.001.
fn critical(degrees_of_freedom: usize) -> f64 {
    match degrees_of_freedom {
        2 => 13.816,
        4 => 18.467,
        7 => 24.322,
        _ => panic!("no critical value for {degrees_of_freedom} degrees of freedom"),
    }
}

#[test]
fn weight_mode_draws_in_proportion_to_weight() {
    let mut state = pool(
        r#"{"id":"w","name":"W","mode":"weight","items":[
            {"id":"a","weight":1,"stock":null},{"id":"b","weight":2,"stock":null},
            {"id":"c","weight":3,"stock":1000000000},{"id":"d","weight":10,"stock":null},
            {"id":"e","weight":84,"stock":null}]}"#,
    );
    let observed = counts(&mut state);
    let statistic = chi_square(&observed, &[1.0, 2.0, 3.0, 10.0, 84.0]);
    assert!(
        statistic < critical(4),
        "chi-square {statistic} for {observed:?}"
    );
}

// With stocks this large, a million draws change the shares by less than
// one part in a million, far below what the test can see.
#[test]
fn stock_mode_draws_in_proportion_to_weight_times_stock() {
    let mut state = pool(
        r#"{"id":"s","name":"S","mode":"stock","items":[
            {"id":"a","weight":1,"stock":1000000000000},{"id":"b","weight":1,"stock":3000000000000},
            {"id":"c","weight":2,"stock":2500000000000},{"id":"d","weight":5,"stock":400000000000},
            {"id":"e","weight":1,"stock":100000000000},{"id":"f","weight":3,"stock":1000000000000},
            {"id":"g","weight":1,"stock":50000000000},{"id":"h","weight":7,"stock":null}]}"#,
    );
    let observed = counts(&mut state);
    let shares = [1e12, 3e12, 5e12, 2e12, 1e11, 3e12, 5e10, 7.0];
    let statistic = chi_square(&observed, &shares);
    assert!(
        statistic < critical(7),
        "chi-square {statistic} for {observed:?}"
    );
    // The unlimited item's 7 tickets among ~1.4e13: a million draws should
    // almost never meet it.
    assert!(observed[7] <= 1, "{observed:?}");
}

// Three equal weights summing to 3 * 2^62: a draw by `x % total` would pick
// the first item twice as often as the others, a bias no fair method has.
#[test]
fn huge_totals_carry_no_modulo_bias() {
    let mut state = pool(
        r#"{"id":"m","name":"M","mode":"weight","items":[
            {"id":"a","weight":4611686018427387904,"stock":null},
            {"id":"b","weight":4611686018427387904,"stock":null},
            {"id":"c","weight":4611686018427387904,"stock":null}]}"#,
    );
    let observed = counts(&mut state);
    let statistic = chi_square(&observed, &[1.0, 1.0, 1.0]);
    assert!(
        statistic < critical(2),
        "chi-square {statistic} for {observed:?}"
    );
}

// The test itself must be able to fail: the same counts against shares
// that are off by 2% in one item must be rejected.
#[test]
fn the_fairness_test_rejects_a_small_bias() {
    let mut state = pool(
        r#"{"id":"w","name":"W","mode":"weight","items":[
            {"id":"a","weight":50,"stock":null},{"id":"b","weight":30,"stock":null},{"id":"c","weight":20,"stock":null}]}"#,
    );
    let observed = counts(&mut state);
    assert!(
        chi_square(&observed, &[50.0, 30.0, 20.0]) < critical(2),
        "{observed:?}"
    );
    assert!(
        chi_square(&observed, &[51.0, 30.0, 20.0]) > critical(2),
        "{observed:?}"
    );
}

#[test]
fn rules_2_weight_mode_draws_in_proportion_to_weight() {
    let observed = rules_2_counts(
        r#"{"id":"w","name":"W","mode":"weight","rules":2,"items":[
            {"id":"a","weight":1,"stock":null},{"id":"b","weight":2,"stock":null},
            {"id":"c","weight":3,"stock":1000000000},{"id":"d","weight":10,"stock":null},
            {"id":"e","weight":84,"stock":null}]}"#,
    );
    let statistic = chi_square(&observed, &[1.0, 2.0, 3.0, 10.0, 84.0]);
    assert!(
        statistic < critical(4),
        "chi-square {statistic} for {observed:?}"
    );
    // The test can fail: the same counts against odds 2% off are refused.
    let biased = chi_square(&observed, &[1.0, 2.0, 3.0, 10.0, 86.0]);
    assert!(biased > critical(4), "chi-square {biased} for {observed:?}");
}

// With stocks this large, a million draws change the shares by less than
// one part in a million, far below what the test can see.
#[test]
fn rules_2_stock_mode_draws_in_proportion_to_weight_times_stock() {
    let observed = rules_2_counts(
        r#"{"id":"s","name":"S","mode":"stock","rules":2,"items":[
            {"id":"a","weight":1,"stock":1000000000000},{"id":"b","weight":1,"stock":3000000000000},
            {"id":"c","weight":2,"stock":2500000000000},{"id":"d","weight":5,"stock":400000000000},
            {"id":"e","weight":1,"stock":100000000000},{"id":"f","weight":3,"stock":1000000000000},
            {"id":"g","weight":1,"stock":50000000000},{"id":"h","weight":7,"stock":null}]}"#,
    );
    let shares = [1e12, 3e12, 5e12, 2e12, 1e11, 3e12, 5e10, 7.0];
    let statistic = chi_square(&observed, &shares);
    assert!(
        statistic < critical(7),
        "chi-square {statistic} for {observed:?}"
    );
    assert!(observed[7] <= 1, "{observed:?}");
}
