//! Rules versions: how a draw entry's seed becomes outcomes.
//!
//! A pool names the rules version its entries are drawn under, and every
//! released version stays selectable here, so a change of algorithm can
//! never rewrite the outcome of an entry already in a log.
//!
//! # Rules 1
//!
//! An auditor reproduces a draw entry's outcome from its seed as follows.
//!
//! 1. **Generator.** Expand the entry's 64-bit seed `s` with SplitMix64:
//!    `hi = mix(s + γ)`, `lo = mix(s + 2γ)` (wrapping additions), where
//!    `γ = 0x9E37_79B9_7F4A_7C15` and `mix(z)` is
//!    `z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;`
//!    `z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;`
//!    `z ^ (z >> 31)` (wrapping multiplications). The generator is PCG's
//!    `Mcg128Xsl64` (`Pcg64Mcg`: 128-bit multiplicative congruential state,
//!    XSL RR output) with initial state `(hi << 64 | lo) | 1`.
//! 2. **Uniform integers.** A draw below `bound` takes `x = next_u64()` and
//!    the 128-bit product `m = x * bound`; while the low 64 bits of `m` are
//!    below `2⁶⁴ mod bound` it takes a fresh `x` (Lemire's method), then
//!    answers the high 64 bits of `m`. No modulo bias, no floating point.
//! 3. **One draw.** With `total` the sum of the effective weights of the
//!    pool's items (see [`crate::pool::Mode`]) in configuration order, the drawn
//!    item is the one whose cumulative range contains the uniform draw below
//!    `total`; its stock (if limited) goes down by one before the next draw
//!    of the same entry. When `total` is zero the remaining draws fail.
//!
//! ```
//! use tombola_core::pool::Rules;
//!
//! let mut rng = Rules::V1.generator(42).expect("rules 1 draws are seeded");
//! // The same seed always gives the same stream, on every platform.
//! assert_eq!(Some(rng.below(6)), Rules::V1.generator(42).map(|mut rng| rng.below(6)));
//! // Rules 2 draws carry no seed.
//! assert!(Rules::V2.generator(42).is_none());
//! ```

use rand_core::RngCore;
use rand_pcg::Pcg64Mcg;

/// A released rules version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rules {
    /// SplitMix64-seeded `Pcg64Mcg`, Lemire uniform draws, cumulative order
    /// of the configuration. See the module docs.
    V1,
    /// "Provably fair": each draw's stream is the HMAC-SHA256 of a committed
    /// server seed over pool, client seed and nonce, with unbiased integers
    /// by rejection, feeding the same sampler. See [`fair`](super::fair).
    V2,
}

impl Rules {
    /// The version new pools get when they name none.
    pub const LATEST: Rules = Rules::V1;

    /// The rules of a version number, `None` if no such version was released.
    pub fn from_version(version: u32) -> Option<Rules> {
        match version {
            1 => Some(Rules::V1),
            2 => Some(Rules::V2),
            _ => None,
        }
    }

    /// The version number written in configurations and snapshots.
    pub fn version(self) -> u32 {
        match self {
            Rules::V1 => 1,
            Rules::V2 => 2,
        }
    }

    /// The random stream of a draw entry with this seed; `None` under
    /// rules 2, whose draws carry no seed: their stream is
    /// [`FairInput::generator`](super::FairInput::generator).
    pub fn generator(self, seed: u64) -> Option<Generator> {
        match self {
            Rules::V1 => {
                let hi = splitmix64(seed.wrapping_add(GOLDEN_GAMMA));
                let lo = splitmix64(seed.wrapping_add(GOLDEN_GAMMA.wrapping_mul(2)));
                Some(Generator(Pcg64Mcg::new(
                    u128::from(hi) << 64 | u128::from(lo),
                )))
            }
            Rules::V2 => None,
        }
    }

    /// Whether draws under these rules are "provably fair" (rules 2): they
    /// need a committed server seed, a client seed and a nonce.
    pub fn is_fair(self) -> bool {
        self == Rules::V2
    }
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream of one draw entry, as its rules version defines it.
#[derive(Debug, Clone)]
pub struct Generator(Pcg64Mcg);

impl Generator {
    /// An unbiased uniform integer in `0..bound`.
    ///
    /// # Panics
    ///
    /// If `bound` is zero: there is no integer to draw.
    pub fn below(&mut self, bound: u64) -> u64 {
        uniform_below(&mut self.0, bound)
    }
}

impl RngCore for Generator {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

/// An unbiased uniform integer in `0..bound` from `rng`, by Lemire's
/// multiply-and-reject method: one 64×64→128-bit multiplication, and a
/// division only in the rare case that a rejection is possible.
///
/// # Panics
///
/// If `bound` is zero.
#[inline]
pub fn uniform_below<R: RngCore + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    assert!(bound > 0, "no integer below zero");
    let mut product = u128::from(rng.next_u64()) * u128::from(bound);
    if (product as u64) < bound {
        // 2^64 mod bound: the low products below it come from a part of
        // the 64-bit range that maps onto the low values once too often.
        let threshold = bound.wrapping_neg() % bound;
        while (product as u64) < threshold {
            product = u128::from(rng.next_u64()) * u128::from(bound);
        }
    }
    (product >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    // Replays fixed 64-bit outputs, to steer `uniform_below` into its
    // rejection branch.
    struct Scripted(Vec<u64>);

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0.remove(0)
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unreachable!("uniform_below only takes u64s")
        }
    }

    #[test]
    fn uniform_rejects_the_biased_zone() {
        // bound 3: 2^64 mod 3 = 1, so only a product whose low half is 0
        // is rejected: x = 0 gives product 0.
        let mut rng = Scripted(vec![0, u64::MAX]);
        assert_eq!(uniform_below(&mut rng, 3), 2);
        assert!(
            rng.0.is_empty(),
            "the first value was rejected, the second used"
        );
        // x = 0 is accepted when the bound is a power of two (threshold 0).
        let mut rng = Scripted(vec![0]);
        assert_eq!(uniform_below(&mut rng, 4), 0);
    }

    #[test]
    fn uniform_maps_the_extremes() {
        let mut rng = Scripted(vec![u64::MAX, (1 << 63) + 1]);
        assert_eq!(uniform_below(&mut rng, 10), 9);
        assert_eq!(uniform_below(&mut rng, 10), 5);
        // 2^63 * 10 has a low half of 0, below 2^64 mod 10 = 6: rejected.
        let mut rng = Scripted(vec![1 << 63, 0x8000_0000_0000_0001]);
        assert_eq!(uniform_below(&mut rng, 10), 5);
        assert!(rng.0.is_empty());
        let mut rng = Scripted(vec![12345]);
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }

    #[test]
    #[should_panic(expected = "no integer below zero")]
    fn uniform_below_zero_panics() {
        uniform_below(&mut Scripted(vec![1]), 0);
    }

    #[test]
    fn splitmix_matches_the_reference() {
        // The reference SplitMix64 stream seeded with 0: its generator adds
        // gamma before mixing, exactly as rules 1 does.
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(
            splitmix64(GOLDEN_GAMMA.wrapping_mul(2)),
            0x6E78_9E6A_A1B9_65F4
        );
    }

    #[test]
    fn rules_1_stream_is_pinned() {
        let mut rng = Rules::V1.generator(0).expect("rules 1 is seeded");
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        let state =
            (u128::from(0xE220_A839_7B1D_CDAFu64) << 64) | u128::from(0x6E78_9E6A_A1B9_65F4u64);
        let mut reference = Pcg64Mcg::new(state);
        let expected: Vec<u64> = (0..3).map(|_| reference.next_u64()).collect();
        assert_eq!(first, expected);
        assert_eq!(
            first, PINNED_V1_SEED_0,
            "rules 1 must never change its stream"
        );
    }

    // The first outputs of rules 1 for seed 0, computed independently of
    // this crate from the SplitMix64 and PCG XSL RR 128/64 definitions.
    const PINNED_V1_SEED_0: [u64; 3] = [
        0x98B3_8B34_F7B4_617D,
        0x5A6A_DA5D_4326_CF9D,
        0xC8E7_4BCD_A63C_6284,
    ];

    #[test]
    fn versions_round_trip_and_unknown_ones_are_refused() {
        assert_eq!(Rules::from_version(1), Some(Rules::V1));
        assert_eq!(Rules::V1.version(), 1);
        assert_eq!(Rules::from_version(2), Some(Rules::V2));
        assert_eq!(Rules::V2.version(), 2);
        assert_eq!(
            Rules::LATEST,
            Rules::V1,
            "new pools keep rules 1 unless they ask"
        );
        assert!(Rules::V2.is_fair() && !Rules::V1.is_fair());
        assert_eq!(Rules::from_version(0), None);
        assert_eq!(Rules::from_version(3), None);
    }
}
