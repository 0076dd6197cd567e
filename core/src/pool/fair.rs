//! Rules 2, "provably fair": randomness a player can recompute and check.
//!
//! Under rules 1 the operator picks each draw's seed, and a player has to
//! trust that it was not picked for its outcome. Rules 2 takes the choice
//! away: the operator commits to a secret server seed before any draw uses
//! it, by publishing its SHA-256 ([`Commitment`]); each draw mixes in a
//! client seed the player chose (or was told) and a nonce that grows by one
//! per draw under that server seed; once the server seed is revealed, the
//! player checks it against the commitment and recomputes every draw.
//!
//! This module is the randomness of rules 2: the commitment, the byte
//! stream and its unbiased integers, which feed the same sampler as rules 1,
//! so stock and weights behave exactly as there. Pools select it with
//! `"rules": 2` ([`Rules::V2`](super::Rules::V2)); the entries that carry
//! commitments, reveals, client seeds and nonces, and what `apply` checks
//! of them, are in [`provable`](super::provable).
//!
//! # Rules 2
//!
//! A player reproduces the integers of one draw as follows. All hex is
//! lowercase, two digits per byte, in byte order.
//!
//! 1. **Commitment.** The server seed is 32 bytes. Its commitment is
//!    `SHA-256(server_seed)` over exactly those 32 bytes (not over their
//!    hex), written as 64 hex digits.
//! 2. **Message of round `r`.** The ASCII bytes of
//!    `<pool>:<client_seed>:<nonce>:<r>`, with no terminator, where `<pool>`
//!    is the pool id and `<client_seed>` the client seed, each 1 to 64
//!    bytes of `A-Z a-z 0-9 _ . -` (so neither holds a `:`), and `<nonce>`
//!    and `<r>` are unsigned 64-bit integers in decimal with no sign and no
//!    leading zeros (`0` is `0`). Pool `summer`, client seed `lucky-7`,
//!    nonce 12, round 0: `summer:lucky-7:12:0`.
//! 3. **Byte stream.** Block `r` is `HMAC-SHA256(key = server_seed,
//!    message = message of round r)` (RFC 2104 with SHA-256; the key is the
//!    32 raw bytes). The stream is block 0, then block 1, block 2, ...,
//!    32 bytes each, read in order; a round is computed only when the
//!    stream reaches it.
//! 4. **64-bit words.** Each word is the next 8 bytes of the stream read as
//!    a big-endian unsigned integer, so block `r` holds words `4r` to
//!    `4r + 3` and no word spans two blocks.
//! 5. **Uniform integers.** A draw below `bound` (at least 1) computes
//!    `limit = 2⁶⁴ − (2⁶⁴ mod bound)`, the largest multiple of `bound` that
//!    fits in 2⁶⁴ words. It takes the next word `x`; while `x ≥ limit` it
//!    rejects `x` and takes the next word; then it answers `x mod bound`.
//!    Every answer in `0..bound` comes from exactly `limit / bound` words,
//!    so there is no modulo bias, and no floating point. When `bound` is a
//!    power of two nothing is rejected; when it is `2⁶³ + 1` almost half the
//!    words are.
//! 6. **One draw.** As step 3 of rules 1 (see [`rules`](super::rules)): each
//!    item drawn by an entry is the one whose cumulative range, in
//!    configuration order, holds the next uniform draw below the total of
//!    effective weights. The draws of one entry share one stream.
//!
//! ```
//! use tombola_core::pool::{ClientSeed, FairInput, PoolId, ServerSeed};
//!
//! let server_seed = ServerSeed::from_bytes([7; 32]);
//! let commitment = server_seed.commitment();
//! let input = FairInput {
//!     server_seed,
//!     pool: PoolId::new("summer")?,
//!     client_seed: ClientSeed::new("lucky-7")?,
//!     nonce: 12,
//! };
//! assert_eq!(input.message(0), b"summer:lucky-7:12:0");
//! let mut rng = input.generator();
//! let first = rng.below(6);
//! assert!(first < 6);
//! // The same inputs always give the same stream, on every platform.
//! assert_eq!(input.generator().below(6), first);
//! // After the reveal, the player checks the seed against the commitment.
//! assert!(commitment.is_commitment_of(&input.server_seed));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::pool::id::{ClientSeed, PoolId};

type HmacSha256 = Hmac<Sha256>;

/// A server seed: 32 secret bytes from the host's CSPRNG, the HMAC key of
/// every draw made under it.
///
/// It stays secret until revealed: its `Debug` shows no byte, and only
/// [`ServerSeed::reveal`] writes it out.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSeed([u8; 32]);

impl ServerSeed {
    /// A server seed of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ServerSeed {
        ServerSeed(bytes)
    }

    /// Parses a revealed server seed, 64 hex digits.
    ///
    /// # Errors
    ///
    /// If `text` is not exactly 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<ServerSeed, HexError> {
        parse_hex(text).map(ServerSeed)
    }

    /// The seed as 64 lowercase hex digits, for its reveal.
    pub fn reveal(&self) -> String {
        hex(&self.0)
    }

    /// The commitment published before any draw uses this seed:
    /// `SHA-256(server_seed)`.
    pub fn commitment(&self) -> Commitment {
        Commitment(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for ServerSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSeed(<secret>)")
    }
}

/// The commitment to a server seed: its SHA-256, shown as 64 lowercase hex
/// digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// The commitment of these digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Commitment {
        Commitment(bytes)
    }

    /// Parses a published commitment, 64 hex digits.
    ///
    /// # Errors
    ///
    /// If `text` is not exactly 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Commitment, HexError> {
        parse_hex(text).map(Commitment)
    }

    /// The digest's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `seed` is the server seed this commits to.
    pub fn is_commitment_of(&self, seed: &ServerSeed) -> bool {
        seed.commitment() == *self
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({self})")
    }
}

/// Why a text is not 32 bytes in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// Not 64 characters long.
    #[error("has {found} characters; 64 hex digits are needed")]
    Length {
        /// The number of characters found.
        found: usize,
    },
    /// A character that is not a hex digit.
    #[error("has {found:?} at byte {at}; allowed are 0-9 a-f A-F")]
    InvalidChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        found: char,
    },
}

fn parse_hex(text: &str) -> Result<[u8; 32], HexError> {
    if let Some(at) = text.bytes().position(|byte| !byte.is_ascii_hexdigit()) {
        let found = text[at..].chars().next().unwrap_or('\u{FFFD}');
        return Err(HexError::InvalidChar { at, found });
    }
    if text.len() != 64 {
        return Err(HexError::Length { found: text.len() });
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let digits = std::str::from_utf8(pair).expect("hex digits are ASCII");
        *byte = u8::from_str_radix(digits, 16).expect("two hex digits are a byte");
    }
    Ok(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Everything one draw's randomness depends on under rules 2.
///
/// The parts are typed so that the message is unambiguous: neither the pool
/// id nor the client seed can hold the `:` that separates the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairInput {
    /// The server seed in force, the HMAC key.
    pub server_seed: ServerSeed,
    /// The pool drawn from.
    pub pool: PoolId,
    /// The player's client seed, or the one the server picked and returned.
    pub client_seed: ClientSeed,
    /// The draw's number under this server seed, one more than the last.
    pub nonce: u64,
}

impl FairInput {
    /// The HMAC message of a round: `<pool>:<client_seed>:<nonce>:<round>`
    /// (see the [module docs](self)).
    pub fn message(&self, round: u64) -> Vec<u8> {
        let mut message = self.prefix();
        message.extend_from_slice(round.to_string().as_bytes());
        message
    }

    /// The 32 bytes of a round: `HMAC-SHA256(server_seed, message(round))`.
    pub fn block(&self, round: u64) -> [u8; 32] {
        block(&keyed(&self.server_seed.0), &self.prefix(), round)
    }

    /// The draw's random stream, from round 0.
    pub fn generator(&self) -> FairGenerator {
        FairGenerator {
            mac: keyed(&self.server_seed.0),
            prefix: self.prefix(),
            round: 0,
            block: [0; 32],
            used: 32,
        }
    }

    // The message without its round, shared by every round.
    fn prefix(&self) -> Vec<u8> {
        format!("{}:{}:{}:", self.pool, self.client_seed, self.nonce).into_bytes()
    }
}

// HMAC-SHA256 keyed once; each round clones it rather than keying again.
fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length")
}

fn block(mac: &HmacSha256, prefix: &[u8], round: u64) -> [u8; 32] {
    let mut mac = mac.clone();
    mac.update(prefix);
    mac.update(round.to_string().as_bytes());
    mac.finalize().into_bytes().into()
}

/// The random stream of one rules-2 draw: the HMAC blocks of rounds 0, 1,
/// 2, ... read as big-endian 64-bit words (see the [module docs](self)).
///
/// It keeps the block of the current round and how much of it was read, so
/// each round's HMAC is computed once, when the stream reaches it.
#[derive(Clone)]
pub struct FairGenerator {
    mac: HmacSha256,
    prefix: Vec<u8>,
    // The round of the next block to compute.
    round: u64,
    block: [u8; 32],
    // Bytes of `block` already read; 32 when the next word needs a new block.
    used: usize,
}

impl FairGenerator {
    /// The next 64-bit word of the stream: 8 bytes, big-endian.
    pub fn next_u64(&mut self) -> u64 {
        if self.used == self.block.len() {
            self.block = block(&self.mac, &self.prefix, self.round);
            self.round += 1;
            self.used = 0;
        }
        let word: [u8; 8] = self.block[self.used..self.used + 8]
            .try_into()
            .expect("a block holds four whole words");
        self.used += 8;
        u64::from_be_bytes(word)
    }

    /// An unbiased uniform integer in `0..bound`: the first word below the
    /// largest multiple of `bound` in 2⁶⁴, modulo `bound`.
    ///
    /// # Panics
    ///
    /// If `bound` is zero: there is no integer to draw.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "no integer below zero");
        // 2^64 mod bound: the words from 2^64 minus it up would map onto
        // the low answers once more than onto the others.
        let excess = bound.wrapping_neg() % bound;
        let last = u64::MAX - excess;
        loop {
            let word = self.next_u64();
            if word <= last {
                return word % bound;
            }
        }
    }
}

impl fmt::Debug for FairGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FairGenerator")
            .field("round", &self.round)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(client_seed: &str, nonce: u64) -> FairInput {
        FairInput {
            server_seed: ServerSeed::from_bytes(std::array::from_fn(|i| i as u8)),
            pool: PoolId::new("summer").expect("valid pool id"),
            client_seed: ClientSeed::new(client_seed).expect("valid client seed"),
            nonce,
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mut mac = keyed(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn commitment_is_sha256_of_the_raw_bytes() {
        // SHA-256 of 32 zero bytes, a published digest.
        let seed = ServerSeed::from_bytes([0; 32]);
        assert_eq!(
            seed.commitment().to_string(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert!(seed.commitment().is_commitment_of(&seed));
        assert!(
            !seed
                .commitment()
                .is_commitment_of(&ServerSeed::from_bytes([1; 32]))
        );
    }

    #[test]
    fn hex_round_trips_and_names_its_errors() {
        let seed = input("c", 0).server_seed;
        let revealed = seed.reveal();
        assert_eq!(&revealed[..8], "00010203");
        assert_eq!(ServerSeed::from_hex(&revealed), Ok(seed.clone()));
        assert_eq!(
            ServerSeed::from_hex(&revealed.to_uppercase()),
            Ok(seed.clone())
        );
        let commitment = seed.commitment();
        assert_eq!(
            Commitment::from_hex(&commitment.to_string()),
            Ok(commitment)
        );
        assert_eq!(
            ServerSeed::from_hex(&revealed[..62]),
            Err(HexError::Length { found: 62 })
        );
        let mut bad = revealed.clone();
        bad.replace_range(10..11, "g");
        assert_eq!(
            ServerSeed::from_hex(&bad),
            Err(HexError::InvalidChar { at: 10, found: 'g' })
        );
        assert_eq!(
            Commitment::from_hex("é"),
            Err(HexError::InvalidChar { at: 0, found: 'é' })
        );
    }

    #[test]
    fn a_server_seed_is_never_shown_by_debug() {
        let input = input("c", 0);
        let shown = format!("{input:?} {:?}", input.generator());
        assert!(shown.contains("ServerSeed(<secret>)"), "{shown}");
        assert!(!shown.contains("000102"), "{shown}");
    }

    #[test]
    fn the_message_is_the_documented_text() {
        assert_eq!(input("lucky-7", 12).message(0), b"summer:lucky-7:12:0");
        assert_eq!(
            input("A.b_c", u64::MAX).message(3),
            b"summer:A.b_c:18446744073709551615:3"
        );
    }

    #[test]
    fn the_stream_reads_blocks_in_order_as_big_endian_words() {
        let input = input("lucky-7", 12);
        let mut expected = Vec::new();
        for round in 0..3 {
            let block = input.block(round);
            let mut mac = keyed(&input.server_seed.0);
            mac.update(&input.message(round));
            assert_eq!(block, <[u8; 32]>::from(mac.finalize().into_bytes()));
            expected.extend(
                block
                    .chunks_exact(8)
                    .map(|word| u64::from_be_bytes(word.try_into().expect("8 bytes"))),
            );
        }
        let mut rng = input.generator();
        let words: Vec<u64> = (0..12).map(|_| rng.next_u64()).collect();
        assert_eq!(words, expected);
    }

    #[test]
    fn every_part_of_the_input_changes_the_stream() {
        let base = input("lucky-7", 12).block(0);
        assert_ne!(input("lucky-8", 12).block(0), base);
        assert_ne!(input("lucky-7", 13).block(0), base);
        let mut other_pool = input("lucky-7", 12);
        other_pool.pool = PoolId::new("winter").expect("valid pool id");
        assert_ne!(other_pool.block(0), base);
        let mut other_seed = input("lucky-7", 12);
        other_seed.server_seed = ServerSeed::from_bytes([9; 32]);
        assert_ne!(other_seed.block(0), base);
    }

    #[test]
    fn below_rejects_the_words_past_the_last_multiple() {
        // Find a stream whose first word is rejected under 2^63 + 1, where
        // words from 2^63 + 1 on are rejected, then check the answer is the
        // next acceptable word's remainder.
        let bound = (1u64 << 63) + 1;
        let (mut rng, words) = (0..)
            .map(|nonce| {
                let input = input("reject", nonce);
                let mut words = input.generator();
                let words: Vec<u64> = (0..8).map(|_| words.next_u64()).collect();
                (input.generator(), words)
            })
            .find(|(_, words)| words[0] >= bound)
            .expect("half of all streams start with a rejected word");
        let accepted = words
            .iter()
            .find(|&&word| word < bound)
            .expect("some of eight words is accepted");
        assert_eq!(rng.below(bound), accepted % bound);
        // A power of two rejects nothing: the answer is the low bits.
        let words: Vec<u64> = {
            let mut rng = input("reject", 0).generator();
            (0..2).map(|_| rng.next_u64()).collect()
        };
        let mut rng = input("reject", 0).generator();
        assert_eq!(rng.below(1 << 20), words[0] & ((1 << 20) - 1));
        // u64::MAX rejects only the word u64::MAX.
        assert_ne!(words[1], u64::MAX);
        assert_eq!(rng.below(u64::MAX), words[1] % u64::MAX);
        // 1 answers 0, whatever the word.
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    #[should_panic(expected = "no integer below zero")]
    fn below_zero_panics() {
        input("c", 0).generator().below(0);
    }
}
