//! Rules 2 draws through the sampler: a million draws in each weighting
//! mode, each entry a DRAW/2 with the next nonce under one committed server
//! seed, compared with the configured odds by a chi-square goodness-of-fit
//! test at the 0.1% critical value. Seeds are fixed, so the test is
//! deterministic.

use std::sync::Arc;

use tombola_core::pool::{
    ClientSeed, Keyring, Outcome, PoolConfig, PoolState, RequestId, ServerSeed, ValidConfig,
    apply_with, provable,
};

// 1000 entries of 1000 draws each.
const ENTRIES: u64 = 1000;
const DRAWS: u64 = ENTRIES * 1000;

fn counts(json: &str) -> Vec<u64> {
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

// The chi-square distribution's critical values at p = 0.001.
const CRITICAL_4: f64 = 18.467;
const CRITICAL_7: f64 = 24.322;

#[test]
fn weight_mode_draws_in_proportion_to_weight() {
    let observed = counts(
        r#"{"id":"w","name":"W","mode":"weight","rules":2,"items":[
            {"id":"a","weight":1,"stock":null},{"id":"b","weight":2,"stock":null},
            {"id":"c","weight":3,"stock":1000000000},{"id":"d","weight":10,"stock":null},
            {"id":"e","weight":84,"stock":null}]}"#,
    );
    let statistic = chi_square(&observed, &[1.0, 2.0, 3.0, 10.0, 84.0]);
    assert!(
        statistic < CRITICAL_4,
        "chi-square {statistic} for {observed:?}"
    );
    // The test can fail: the same counts against odds 2% off are refused.
    let biased = chi_square(&observed, &[1.0, 2.0, 3.0, 10.0, 86.0]);
    assert!(biased > CRITICAL_4, "chi-square {biased} for {observed:?}");
}

// With stocks this large, a million draws change the shares by less than
// one part in a million, far below what the test can see.
#[test]
fn stock_mode_draws_in_proportion_to_weight_times_stock() {
    let observed = counts(
        r#"{"id":"s","name":"S","mode":"stock","rules":2,"items":[
            {"id":"a","weight":1,"stock":1000000000000},{"id":"b","weight":1,"stock":3000000000000},
            {"id":"c","weight":2,"stock":2500000000000},{"id":"d","weight":5,"stock":400000000000},
            {"id":"e","weight":1,"stock":100000000000},{"id":"f","weight":3,"stock":1000000000000},
            {"id":"g","weight":1,"stock":50000000000},{"id":"h","weight":7,"stock":null}]}"#,
    );
    let shares = [1e12, 3e12, 5e12, 2e12, 1e11, 3e12, 5e10, 7.0];
    let statistic = chi_square(&observed, &shares);
    assert!(
        statistic < CRITICAL_7,
        "chi-square {statistic} for {observed:?}"
    );
    assert!(observed[7] <= 1, "{observed:?}");
}
