//! Rules 2's uniform integers: a million draws below each of a few bounds,
//! compared with the uniform distribution by a chi-square goodness-of-fit
//! test, and properties of `below` over arbitrary inputs. Inputs are fixed,
//! so the chi-square tests are deterministic; the threshold is the 0.1%
//! critical value, as in `fairness.rs`.
//!
//! proptest is a host-only dev-dependency: on wasm32 only the golden
//! vectors run.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use tombola_core::pool::{ClientSeed, FairGenerator, FairInput, PoolId, ServerSeed};

// 1000 nonces of 1000 draws each: the stream across rounds and across
// nonces both take part.
const NONCES: u64 = 1000;
const DRAWS: u64 = NONCES * 1000;

fn input(server_seed: [u8; 32], client_seed: &str, nonce: u64) -> FairInput {
    FairInput {
        server_seed: ServerSeed::from_bytes(server_seed),
        pool: PoolId::new("fair").expect("valid pool id"),
        client_seed: ClientSeed::new(client_seed).expect("valid client seed"),
        nonce,
    }
}

// Counts the draws of `draw` in each of `buckets` equal parts of
// `0..bound` (equal within one value when `bound` is not a multiple).
fn counts(bound: u64, buckets: u64, draw: impl Fn(&mut FairGenerator) -> u64) -> Vec<u64> {
    let mut counts = vec![0u64; buckets as usize];
    for nonce in 0..NONCES {
        let mut rng = input([0x5e; 32], "chi-square", nonce).generator();
        for _ in 0..DRAWS / NONCES {
            let value = draw(&mut rng);
            assert!(value < bound, "{value} is not below {bound}");
            let bucket = u128::from(value) * u128::from(buckets) / u128::from(bound);
            counts[bucket as usize] += 1;
        }
    }
    counts
}

// The chi-square statistic of counts against equal shares.
fn chi_square(observed: &[u64]) -> f64 {
    let expected = DRAWS as f64 / observed.len() as f64;
    observed
        .iter()
        .map(|&seen| (seen as f64 - expected).powi(2) / expected)
        .sum()
}

// Critical values of the chi-square distribution at p = 0.001.
fn critical(degrees_of_freedom: usize) -> f64 {
    match degrees_of_freedom {
        2 => 13.816,
        5 => 20.515,
        7 => 24.322,
        9 => 27.877,
        _ => panic!("no critical value for {degrees_of_freedom} degrees of freedom"),
    }
}

fn assert_uniform(bound: u64, buckets: u64) {
    let observed = counts(bound, buckets, |rng| rng.below(bound));
    let statistic = chi_square(&observed);
    assert!(
        statistic < critical(observed.len() - 1),
        "bound {bound}: chi-square {statistic} for {observed:?}"
    );
}

#[test]
fn small_bounds_are_uniform() {
    assert_uniform(6, 6);
    assert_uniform(10, 10);
}

// 3 * 2^62 rejects a quarter of the words; `x % bound` would give the first
// third twice the share of the others.
#[test]
fn three_quarters_of_the_range_is_uniform() {
    assert_uniform(3 << 62, 3);
}

// 2^63 + 1 rejects almost half the words; `x % bound` would give the values
// below 2^63 - 1 twice the share of the others.
#[test]
fn a_bound_just_past_2_63_is_uniform() {
    assert_uniform((1 << 63) + 1, 8);
}

// The test itself must be able to fail: the same stream read with a bare
// modulo, the bias the rejection step removes, is caught.
#[test]
fn the_test_catches_modulo_bias() {
    let bound = 3 << 62;
    let observed = counts(bound, 3, |rng| rng.next_u64() % bound);
    let statistic = chi_square(&observed);
    assert!(
        statistic > critical(2),
        "chi-square {statistic} for {observed:?}"
    );
}

proptest! {
    #[test]
    fn below_is_below_its_bound(
        server_seed in any::<[u8; 32]>(),
        client_seed in "[A-Za-z0-9_.-]{1,64}",
        nonce in any::<u64>(),
        bounds in prop::collection::vec(
            prop_oneof![1..=16u64, any::<u64>().prop_map(|bound| bound.max(1)), (1u64 << 63)..=u64::MAX],
            1..40,
        ),
    ) {
        let input = input(server_seed, &client_seed, nonce);
        let mut rng = input.generator();
        let mut again = input.generator();
        for bound in bounds {
            let value = rng.below(bound);
            prop_assert!(value < bound, "{} is not below {}", value, bound);
            // The stream is a function of the input alone.
            prop_assert_eq!(again.below(bound), value);
        }
    }

    #[test]
    fn a_power_of_two_takes_the_low_bits_of_one_word(
        nonce in any::<u64>(),
        shift in 0u32..64,
    ) {
        let input = input([1; 32], "bits", nonce);
        let bound = 1u64 << shift;
        let mut rng = input.generator();
        let mut words = input.generator();
        for _ in 0..5 {
            prop_assert_eq!(rng.below(bound), words.next_u64() & (bound - 1));
        }
    }
}
