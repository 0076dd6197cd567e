//! Rules 2 in the log: commitments, rotations and the draws made under
//! them, and what `apply` checks of each.
//!
//! A rules-2 pool's log holds, after its CREATE:
//!
//! - one `COMMIT/1 <commitment> <rotate-every>`: the first server seed's
//!   SHA-256, published before any draw uses it;
//! - `DRAW/2 <request> <count> <client-seed> <nonce> <fill>` entries: the
//!   nonce is 0 after a commitment and grows by one per draw;
//! - `CHUNK/2 <operation> <index> <count> <client-seed> <nonce> <at>
//!   <until>` entries: the chunks of multi-draw operations, whose nonces
//!   are taken in the same order as the draws' (one per chunk), and whose
//!   draws are held for their operation as a CHUNK/1's are (a RETURN/2
//!   gives them back);
//! - `ROTATE/1 <revealed-seed> <next-commitment>` entries: the server seed
//!   in force, revealed, and the commitment to the next (nonces restart
//!   at 0).
//!
//! The server seed in force is never in the log: it lives in Redis under
//! [`keys::fair`](super::keys::fair) until a ROTATE reveals
//! it. A replay that must compute the draws made under it is given it in a
//! [`Keyring`]; without it, those draws apply as
//! [`FailReason::SeedWithheld`], which is
//! how a player's verifier sees draws whose seed is not yet revealed.
//!
//! `apply` settles what the order of the log says: a DRAW/2 or CHUNK/2 whose nonce is
//! not the next one fails as
//! [`NonceOutOfOrder`](super::FailReason::NonceOutOfOrder) and changes
//! nothing; past the pool's rotation interval a draw fails as
//! [`RotationDue`](super::FailReason::RotationDue); a ROTATE whose reveal is
//! not the committed seed is ignored as
//! [`RevealMismatch`](super::IgnoreReason::RevealMismatch), and the
//! commitment in force stays.
//!
//! ```
//! use tombola_core::pool::provable::Keyring;
//! use tombola_core::pool::{Entry, Ledger, Outcome, ServerSeed};
//!
//! let seed = ServerSeed::from_bytes([7; 32]);
//! let log = [
//!     "CREATE/1 p 2 stock 32 P a:1:5 b:3:*".to_string(),
//!     format!("COMMIT/1 {} 0", seed.commitment()),
//!     "DRAW/2 r-1 2 lucky-7 0 partial".to_string(),
//! ];
//! let mut ledger = Ledger::with_keys(Keyring::of([seed]));
//! for (seq, line) in (1..).zip(&log) {
//!     ledger.apply(seq, &Entry::decode(line)?)?;
//! }
//! let state = ledger.state().expect("created");
//! assert_eq!(state.fairness().map(|f| f.nonce()), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::pool::entry::{Commit, DrawCount, Entry, FairChunk, FairDraw, Rotate};
use crate::pool::fair::{Commitment, FairInput, ServerSeed};
use crate::pool::history::Computed;
use crate::pool::id::{ClientSeed, OperationId, RequestId};
use crate::pool::machine::DecideError;
use crate::pool::outcome::{FailReason, IgnoreReason, Outcome};
use crate::pool::state::{PoolState, failed_draw, ignored};

/// What a rules-2 pool's state knows of its randomness: the commitment in
/// force, the next nonce under it and the rotation interval. It never holds
/// a server seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fairness {
    pub(crate) commitment: Commitment,
    pub(crate) nonce: u64,
    pub(crate) rotate_every: u32,
}

impl Fairness {
    /// The commitment to the server seed in force.
    pub fn commitment(&self) -> Commitment {
        self.commitment
    }

    /// The nonce the next draw must carry.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// Draws per server seed before a rotation is due; 0 when only the
    /// operator rotates.
    pub fn rotate_every(&self) -> u32 {
        self.rotate_every
    }

    /// Whether the server seed must be rotated before the next draw.
    pub fn rotation_due(&self) -> bool {
        self.rotate_every > 0 && self.nonce >= u64::from(self.rotate_every)
    }
}

/// The server seeds a replay holds, found by their commitments: the one in
/// force (from Redis) and those revealed in the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring(Vec<(Commitment, ServerSeed)>);

impl Keyring {
    /// No seed: rules-2 draws apply as withheld.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// A keyring of these seeds.
    pub fn of(seeds: impl IntoIterator<Item = ServerSeed>) -> Keyring {
        let mut keys = Keyring::new();
        for seed in seeds {
            keys.insert(seed);
        }
        keys
    }

    /// Adds a seed (once).
    pub fn insert(&mut self, seed: ServerSeed) {
        let commitment = seed.commitment();
        if self.get(&commitment).is_none() {
            self.0.push((commitment, seed));
        }
    }

    /// Adds every seed that a ROTATE of `entries` reveals.
    pub fn learn<'a>(&mut self, entries: impl IntoIterator<Item = &'a Entry>) {
        for entry in entries {
            if let Entry::Rotate(rotate) = entry {
                self.insert(rotate.revealed.clone());
            }
        }
    }

    /// The seed committed to by `commitment`, if held.
    pub fn get(&self, commitment: &Commitment) -> Option<&ServerSeed> {
        self.0
            .iter()
            .find(|(held, _)| held == commitment)
            .map(|(_, seed)| seed)
    }

    /// Whether no seed is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The COMMIT entry that starts a rules-2 pool's randomness: appended with
/// its CREATE, before any draw.
///
/// ```
/// use tombola_core::pool::{provable, ServerSeed};
///
/// let seed = ServerSeed::from_bytes([0; 32]);
/// let entry = provable::commit_entry(&seed, 100);
/// assert_eq!(
///     entry.encode(),
///     "COMMIT/1 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925 100"
/// );
/// ```
pub fn commit_entry(seed: &ServerSeed, rotate_every: u32) -> Entry {
    Entry::Commit(Commit {
        commitment: seed.commitment(),
        rotate_every,
    })
}

/// The COMMIT entry a new pool starts its randomness with, appended with
/// its CREATE: `Some` exactly for a rules-2 pool.
pub fn first_commit(
    config: &crate::pool::ValidConfig,
    seed: &ServerSeed,
    rotate_every: u32,
) -> Option<Entry> {
    config
        .rules()
        .is_fair()
        .then(|| commit_entry(seed, rotate_every))
}

/// The DRAW/2 entry of a request on a rules-2 pool, with the nonce the
/// state says is next ([`Fairness::nonce`]). Whether that nonce is still
/// the next one where the entry lands is settled by `apply`.
///
/// # Errors
///
/// [`DecideError::BadCount`] unless `count` is 1 to
/// [`MAX_DRAW_COUNT`](super::MAX_DRAW_COUNT).
///
/// ```
/// use tombola_core::pool::{provable, ClientSeed, RequestId};
///
/// let entry = provable::fair_draw_entry(RequestId::new("r-1")?, 2, false, ClientSeed::new("lucky-7")?, 4)?;
/// assert_eq!(entry.encode(), "DRAW/2 r-1 2 lucky-7 4 partial");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fair_draw_entry(
    request_id: RequestId,
    count: u32,
    all_or_nothing: bool,
    client_seed: ClientSeed,
    nonce: u64,
) -> Result<Entry, DecideError> {
    let count = DrawCount::new(count).ok_or(DecideError::BadCount(count))?;
    Ok(Entry::FairDraw(FairDraw {
        request_id,
        count,
        client_seed,
        nonce,
        all_or_nothing,
    }))
}

/// The CHUNK/2 entry of chunk `index` of an operation on a rules-2 pool,
/// with the nonce the state says is next; `at` and `until` as a CHUNK/1's
/// ([`chunk_entry`](super::chunk_entry)).
///
/// # Errors
///
/// [`DecideError::BadCount`] unless `count` is 1 to
/// [`MAX_DRAW_COUNT`](super::MAX_DRAW_COUNT).
///
/// ```
/// use tombola_core::pool::{provable, ClientSeed, OperationId};
///
/// let (op, seed) = (OperationId::new("op-7")?, ClientSeed::new("lucky-7")?);
/// let entry = provable::fair_chunk_entry(&op, 2, 10, seed, 4, 1_000, 3_601_000)?;
/// assert_eq!(entry.encode(), "CHUNK/2 op-7 2 10 lucky-7 4 1000 3601000");
/// assert_eq!(entry.request_id().map(|r| r.to_string()), Some("op-7#2".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fair_chunk_entry(
    operation: &OperationId,
    index: u32,
    count: u32,
    client_seed: ClientSeed,
    nonce: u64,
    at: u64,
    until: u64,
) -> Result<Entry, DecideError> {
    let count = DrawCount::new(count).ok_or(DecideError::BadCount(count))?;
    Ok(Entry::FairChunk(FairChunk {
        operation_id: operation.clone(),
        index,
        count,
        client_seed,
        nonce,
        at,
        until,
    }))
}

/// A DRAW/2 or CHUNK/2 line without its nonce, for the script that appends it: the
/// line is `head`, the nonce in decimal, then `tail`. The script takes the
/// nonce from [`keys::fair`](super::keys::fair) in the same atomic step as
/// the append, so concurrent draws get consecutive nonces in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairDrawLine {
    /// Everything before the nonce, ending in a space.
    pub head: String,
    /// Everything after the nonce, starting with a space.
    pub tail: String,
}

impl FairDrawLine {
    /// The line for a request; see [`fair_draw_entry`] for its fields.
    ///
    /// # Errors
    ///
    /// [`DecideError::BadCount`] unless `count` is 1 to
    /// [`MAX_DRAW_COUNT`](super::MAX_DRAW_COUNT).
    ///
    /// ```
    /// use tombola_core::pool::provable::{fair_draw_entry, FairDrawLine};
    /// use tombola_core::pool::{ClientSeed, RequestId};
    ///
    /// let (request, seed) = (RequestId::new("r-1")?, ClientSeed::new("lucky-7")?);
    /// let line = FairDrawLine::new(request.clone(), 2, true, seed.clone())?;
    /// assert_eq!(line.with_nonce(4), fair_draw_entry(request, 2, true, seed, 4)?.encode());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        request_id: RequestId,
        count: u32,
        all_or_nothing: bool,
        client_seed: ClientSeed,
    ) -> Result<FairDrawLine, DecideError> {
        let line = fair_draw_entry(request_id, count, all_or_nothing, client_seed, 0)?.encode();
        // The nonce 0 is the fifth field; the fields before it hold no
        // space and no digit-only word can be mistaken for it.
        let fields: Vec<&str> = line.splitn(6, ' ').collect();
        let head = format!("{} {} {} {} ", fields[0], fields[1], fields[2], fields[3]);
        let tail = format!(" {}", fields[5]);
        Ok(FairDrawLine { head, tail })
    }

    /// The CHUNK/2 line of an operation's chunk; see [`fair_chunk_entry`]
    /// for its fields.
    ///
    /// # Errors
    ///
    /// [`DecideError::BadCount`] unless `count` is 1 to
    /// [`MAX_DRAW_COUNT`](super::MAX_DRAW_COUNT).
    ///
    /// ```
    /// use tombola_core::pool::provable::{fair_chunk_entry, FairDrawLine};
    /// use tombola_core::pool::{ClientSeed, OperationId};
    ///
    /// let (op, seed) = (OperationId::new("op-7")?, ClientSeed::new("lucky-7")?);
    /// let line = FairDrawLine::chunk(&op, 2, 10, seed.clone(), 1_000, 3_601_000)?;
    /// assert_eq!(line.with_nonce(4), fair_chunk_entry(&op, 2, 10, seed, 4, 1_000, 3_601_000)?.encode());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunk(
        operation: &OperationId,
        index: u32,
        count: u32,
        client_seed: ClientSeed,
        at: u64,
        until: u64,
    ) -> Result<FairDrawLine, DecideError> {
        let line = fair_chunk_entry(operation, index, count, client_seed, 0, at, until)?.encode();
        // The nonce 0 is the sixth field, after five that hold no space.
        let fields: Vec<&str> = line.splitn(7, ' ').collect();
        let head = format!("{} ", fields[..5].join(" "));
        let tail = format!(" {}", fields[6]);
        Ok(FairDrawLine { head, tail })
    }

    /// The line with this nonce.
    pub fn with_nonce(&self, nonce: u64) -> String {
        format!("{}{nonce}{}", self.head, self.tail)
    }
}

/// The ROTATE entry that reveals `current` and commits `next`.
pub fn rotate_entry(current: &ServerSeed, next: &ServerSeed) -> Entry {
    Entry::Rotate(Rotate {
        revealed: current.clone(),
        next: next.commitment(),
    })
}

/// What a player is told of a rules-2 draw: the client seed and nonce its
/// stream was made of, and the commitment to the server seed in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The client seed.
    pub client_seed: ClientSeed,
    /// The nonce.
    pub nonce: u64,
    /// The commitment in force at the draw.
    pub commitment: Commitment,
}

/// The receipt of the rules-2 draw or chunk at `seq`, if `computed` replayed it:
/// the commitment in force there is the one a later ROTATE of the replay
/// reveals, or else the one in force at its end.
pub fn receipt(computed: &Computed, seq: u64) -> Option<Receipt> {
    let mut after = computed.entries.iter().skip_while(|(at, _)| *at < seq);
    let (client_seed, nonce) = match after.next()? {
        (_, Entry::FairDraw(draw)) => (draw.client_seed.clone(), draw.nonce),
        (_, Entry::FairChunk(chunk)) => (chunk.client_seed.clone(), chunk.nonce),
        _ => return None,
    };
    let commitment = after
        .find_map(|(_, entry)| match entry {
            Entry::Rotate(rotate) => Some(rotate.revealed.commitment()),
            _ => None,
        })
        .or_else(|| {
            let state = computed.replayed.state.as_ref()?;
            state.fairness().map(Fairness::commitment)
        })?;
    Some(Receipt {
        client_seed,
        nonce,
        commitment,
    })
}

impl PoolState {
    /// What the state knows of its rules-2 randomness; `None` for a pool of
    /// other rules, or before its first COMMIT.
    pub fn fairness(&self) -> Option<&Fairness> {
        self.fair.as_ref()
    }

    pub(crate) fn commit(&mut self, commitment: Commitment, rotate_every: u32) -> Outcome {
        if !self.rules().is_fair() {
            return ignored(IgnoreReason::NotFair);
        }
        if self.fair.is_some() {
            return ignored(IgnoreReason::AlreadyCommitted);
        }
        self.fair = Some(Fairness {
            commitment,
            nonce: 0,
            rotate_every,
        });
        Outcome::Commit
    }

    pub(crate) fn rotate(&mut self, revealed: &ServerSeed, next: Commitment) -> Outcome {
        if !self.rules().is_fair() {
            return ignored(IgnoreReason::NotFair);
        }
        match self.fair.as_mut() {
            Some(fair) if fair.commitment.is_commitment_of(revealed) => {
                fair.commitment = next;
                fair.nonce = 0;
                Outcome::Rotate
            }
            _ => ignored(IgnoreReason::RevealMismatch),
        }
    }

    pub(crate) fn fair_draw(
        &mut self,
        count: u32,
        client_seed: &str,
        nonce: u64,
        all_or_nothing: bool,
        keys: &Keyring,
    ) -> Outcome {
        let commitment = match self.spend_nonce(count, nonce) {
            Ok(commitment) => commitment,
            Err(outcome) => return outcome,
        };
        if self.closed {
            return failed_draw(Vec::new(), count, FailReason::Closed);
        }
        let Some(mut rng) = self.fair_generator(keys, &commitment, client_seed, nonce) else {
            return failed_draw(Vec::new(), count, FailReason::SeedWithheld);
        };
        self.draw_from(count, all_or_nothing, None, |bound| rng.below(bound))
    }

    // A CHUNK/2: the nonce is settled as a draw's, then the chunk draws as
    // a CHUNK/1 does, held for its operation, unless the operation was
    // rolled back before it.
    pub(crate) fn fair_chunk(&mut self, chunk: &ChunkDraw<'_>, keys: &Keyring) -> Outcome {
        let count = chunk.count;
        let commitment = match self.spend_nonce(count, chunk.nonce) {
            Ok(commitment) => commitment,
            Err(outcome) => return outcome,
        };
        if self.is_rolled_back(chunk.operation) {
            return failed_draw(Vec::new(), count, FailReason::RolledBack);
        }
        if self.closed {
            return failed_draw(Vec::new(), count, FailReason::Closed);
        }
        let Some(mut rng) = self.fair_generator(keys, &commitment, chunk.client_seed, chunk.nonce)
        else {
            return failed_draw(Vec::new(), count, FailReason::SeedWithheld);
        };
        self.held_draw(chunk.operation, count, chunk.until, |state, taken| {
            state.draw_from(count, false, Some(taken), |bound| rng.below(bound))
        })
    }

    // Checks a rules-2 draw's or chunk's nonce against the log's order and
    // spends it, returning the commitment in force; the failed outcome
    // otherwise, which changes nothing.
    fn spend_nonce(&mut self, count: u32, nonce: u64) -> Result<Commitment, Outcome> {
        if !self.rules().is_fair() {
            return Err(failed_draw(Vec::new(), count, FailReason::RulesMismatch));
        }
        let Some(fair) = self.fair.as_mut() else {
            return Err(failed_draw(Vec::new(), count, FailReason::NoCommitment));
        };
        if nonce != fair.nonce {
            return Err(failed_draw(Vec::new(), count, FailReason::NonceOutOfOrder));
        }
        if fair.rotation_due() {
            return Err(failed_draw(Vec::new(), count, FailReason::RotationDue));
        }
        // The nonce is spent whatever the stock, a close or a rollback: the
        // log holds the entry, and the script that appended it moved on.
        fair.nonce = nonce.saturating_add(1);
        Ok(fair.commitment)
    }

    fn fair_generator(
        &self,
        keys: &Keyring,
        commitment: &Commitment,
        client_seed: &str,
        nonce: u64,
    ) -> Option<crate::pool::FairGenerator> {
        let server_seed = keys.get(commitment)?;
        let input = FairInput {
            server_seed: server_seed.clone(),
            pool: self.id().clone(),
            client_seed: ClientSeed::checked(client_seed),
            nonce,
        };
        Some(input.generator())
    }
}

/// A CHUNK/2 line's fields that `apply` needs.
pub(crate) struct ChunkDraw<'a> {
    pub(crate) operation: &'a str,
    pub(crate) count: u32,
    pub(crate) client_seed: &'a str,
    pub(crate) nonce: u64,
    pub(crate) until: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::snapshot::{Malformed, Snapshot, SnapshotError};
    use crate::pool::{Ledger, ServerSeed};

    #[test]
    fn a_format_3_snapshot_of_a_pool_of_other_rules_is_refused() {
        let mut ledger = Ledger::new();
        let lines = [
            "CREATE/1 p 2 stock 32 P a:1:5".to_string(),
            commit_entry(&ServerSeed::from_bytes([1; 32]), 0).encode(),
        ];
        for (seq, line) in (1..).zip(&lines) {
            ledger
                .apply(seq, &Entry::decode(line).expect("valid"))
                .expect("in order");
        }
        let mut bytes = ledger.snapshot().expect("exists").encode();
        // The rules varint follows the 9-byte header, seq and closed.
        assert_eq!(bytes[11], 2);
        bytes[11] = 1;
        let body = bytes.len() - 4;
        let crc = crate::crc::crc32c(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Snapshot::decode(&bytes),
            Err(SnapshotError::Malformed {
                offset: 9,
                reason: Malformed::NotFair
            })
        );
    }

    #[test]
    fn a_keyring_finds_seeds_by_commitment_once() {
        let seed = ServerSeed::from_bytes([3; 32]);
        let mut keys = Keyring::of([seed.clone(), seed.clone()]);
        assert_eq!(keys.get(&seed.commitment()), Some(&seed));
        keys.learn([&rotate_entry(&ServerSeed::from_bytes([4; 32]), &seed)]);
        assert_eq!(keys.0.len(), 2);
        assert!(!keys.is_empty() && Keyring::new().is_empty());
    }
}
