//! What a player checks, and the verdict: the proof of one rules-2 draw
//! (a DRAW/2, or a CHUNK/2 of a multi-draw),
//! an exported log, and recomputing them with nothing but the core.
//!
//! # Formats
//!
//! A **proof** ([`Proof`]) is JSON:
//!
//! ```text
//! {"pool":"summer","seq":3,
//!  "line":"DRAW/2 r-1 2 lucky-7 0 partial",
//!  "outcome":{"kind":"draw","drawn":["none","gold"],"failed":0},
//!  "before":"544d4253...",            the snapshot at seq - 1, in hex
//!  "commitment":"66687aad...",        the commitment in force
//!  "server_seed":"00000000..." }      once revealed; null before
//! ```
//!
//! `before` is the state the draw drew from, in the snapshot format
//! ([`snapshot`](super::snapshot), version 3), which holds the stock, the
//! commitment and the next nonce, and never a server seed.
//!
//! An **exported log** ([`LogExport`]) is JSON: the pool and every entry
//! from the first, each with its outcome when there is one (the draw
//! component's `GET /v1/pools/{pool}/log?limit=1000` answers this shape,
//! with the outcomes the server computed):
//!
//! ```text
//! {"pool":"summer","entries":[
//!   {"seq":1,"line":"CREATE/1 summer 2 stock 32 Summer gold:1:5 none:3:*"},
//!   {"seq":2,"line":"COMMIT/1 66687aad... 0"},
//!   {"seq":3,"line":"DRAW/2 r-1 2 lucky-7 0 partial",
//!    "outcome":{"kind":"draw","drawn":["none","gold"],"failed":0}}]}
//! ```
//!
//! # Verdict
//!
//! [`verify_log`] and [`verify_proof`] replay with the server seeds that are
//! revealed (in ROTATE entries, or the proof's `server_seed`) and name each
//! entry that does not match: a line that does not decode, a reveal that is
//! not the committed seed, a nonce out of order, or an outcome other than
//! the recorded one. Draws whose server seed is not yet revealed are counted
//! as pending, not as failures.

use serde::{Deserialize, Serialize};

use crate::pool::entry::Entry;
use crate::pool::fair::{Commitment, ServerSeed};
use crate::pool::history::{self, History, Unrecoverable};
use crate::pool::id::PoolId;
use crate::pool::machine::apply_with;
use crate::pool::outcome::{FailReason, IgnoreReason, Outcome};
use crate::pool::provable::Keyring;
use crate::pool::replay::Ledger;
use crate::pool::snapshot::Snapshot;
use crate::pool::state::PoolState;

/// One entry of an exported log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEntry {
    /// The entry's sequence number.
    pub seq: u64,
    /// Its line in the log.
    pub line: String,
    /// The outcome recorded for its request, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A pool's log from its first entry, with the recorded outcomes. Other
/// fields are ignored, so a page of `GET /v1/pools/{pool}/log` that starts
/// at entry 1 and holds the whole log is an export as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExport {
    /// The pool.
    pub pool: PoolId,
    /// Every entry, in order, from sequence number 1.
    pub entries: Vec<ExportedEntry>,
}

/// What a player needs to recompute one rules-2 draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// The pool.
    pub pool: PoolId,
    /// The draw's sequence number.
    pub seq: u64,
    /// The draw's line in the log.
    pub line: String,
    /// The outcome the player was told.
    pub outcome: Outcome,
    /// The snapshot at `seq - 1`, in hex: the state the draw drew from.
    pub before: String,
    /// The commitment in force, 64 hex digits.
    pub commitment: String,
    /// The server seed, 64 hex digits, once a rotation revealed it.
    #[serde(default)]
    pub server_seed: Option<String>,
}

impl Proof {
    /// The proof of the draw at `seq`, from the state before it.
    ///
    /// `None` unless `before` is a rules-2 pool with a commitment. The
    /// server seed is included only when `revealed` is given.
    pub fn new(
        before: Snapshot,
        seq: u64,
        entry: &Entry,
        outcome: Outcome,
        revealed: Option<&ServerSeed>,
    ) -> Option<Proof> {
        let commitment = before.state.fairness()?.commitment();
        Some(Proof {
            pool: before.state.id().clone(),
            seq,
            line: entry.encode(),
            outcome,
            before: crate::pool::fair::hex(&before.encode()),
            commitment: commitment.to_string(),
            server_seed: revealed.map(ServerSeed::reveal),
        })
    }
}

/// Why there is no proof of an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    /// What Redis holds cannot be replayed.
    #[error(transparent)]
    Unrecoverable(#[from] Unrecoverable),
    /// The entry is no longer retained, or not in the log.
    #[error("log entry {0} is not retained")]
    NotRetained(u64),
    /// The entry is not a rules-2 draw of a pool with a commitment.
    #[error("log entry {0} is not a rules-2 draw")]
    NotFairDraw(u64),
}

/// The proof of the rules-2 draw at `seq`, from everything retained of
/// `pool`: the state before it, its line and outcome, the commitment in
/// force, and the server seed only when a ROTATE of the log revealed it.
/// The seed in force ([`Tail::secret`](super::history::Tail::secret)) is
/// used to replay, never put in the proof.
///
/// # Errors
///
/// A [`ProveError`] when the history does not replay, no longer holds
/// `seq`, or `seq` is not a rules-2 draw.
pub fn prove(pool: &PoolId, history: &History, seq: u64) -> Result<Proof, ProveError> {
    let history::Retained { start, entries, .. } = history::oldest_entries(pool, history)?;
    let mut revealed = Keyring::new();
    revealed.learn(entries.iter().map(|(_, entry)| entry));
    let mut keys = revealed.clone();
    if let Some(secret) = &history.live.secret {
        keys.insert(secret.clone());
    }
    let mut ledger = start
        .map_or_else(Ledger::new, Ledger::from_snapshot)
        .holding(keys);
    if ledger.seq() >= seq {
        return Err(ProveError::NotRetained(seq));
    }
    for (at, entry) in &entries {
        if *at == seq {
            let before = ledger.snapshot().ok_or(ProveError::NotFairDraw(seq))?;
            let commitment = before
                .state
                .fairness()
                .map(|fair| fair.commitment())
                .ok_or(ProveError::NotFairDraw(seq))?;
            if entry.nonce().is_none() {
                return Err(ProveError::NotFairDraw(seq));
            }
            let outcome = ledger.apply(*at, entry).map_err(|e| Unrecoverable {
                position: format!("log entry {at}"),
                reason: e.to_string(),
            })?;
            return Proof::new(before, seq, entry, outcome, revealed.get(&commitment))
                .ok_or(ProveError::NotFairDraw(seq));
        }
        ledger.apply(*at, entry).map_err(|e| Unrecoverable {
            position: format!("log entry {at}"),
            reason: e.to_string(),
        })?;
    }
    Err(ProveError::NotRetained(seq))
}

/// One server seed of a pool, as the fairness listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedRecord {
    /// Its commitment, 64 hex digits.
    pub commitment: String,
    /// The sequence number of the COMMIT or ROTATE that published it.
    pub committed_at: u64,
    /// The sequence number of the ROTATE that revealed it, once revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revealed_at: Option<u64>,
    /// The server seed, 64 hex digits, once revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_seed: Option<String>,
}

/// Every commitment and reveal in `entries`, oldest first, with their log
/// positions. Only seeds the log reveals are shown.
pub fn seeds<'a>(entries: impl IntoIterator<Item = &'a (u64, Entry)>) -> Vec<SeedRecord> {
    let mut out: Vec<SeedRecord> = Vec::new();
    let committed = |commitment: Commitment, seq: u64| SeedRecord {
        commitment: commitment.to_string(),
        committed_at: seq,
        revealed_at: None,
        server_seed: None,
    };
    for (seq, entry) in entries {
        match entry {
            Entry::Commit(commit) if out.is_empty() => {
                out.push(committed(commit.commitment, *seq));
            }
            Entry::Rotate(rotate) => {
                let revealed = rotate.revealed.commitment().to_string();
                let Some(current) = out.last_mut().filter(|c| c.commitment == revealed) else {
                    continue;
                };
                current.revealed_at = Some(*seq);
                current.server_seed = Some(rotate.revealed.reveal());
                out.push(committed(rotate.next, *seq));
            }
            _ => {}
        }
    }
    out
}

/// One entry that does not match, by its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The entry's sequence number.
    pub seq: u64,
    /// What is wrong, in words.
    pub problem: String,
}

/// The result of recomputing a proof or a log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Rules-2 draws recomputed from a revealed seed.
    pub verified: u64,
    /// Rules-2 draws whose server seed is not revealed yet.
    pub pending: u64,
    /// Every entry that does not match.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether nothing failed to match.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    fn find(&mut self, seq: u64, problem: impl Into<String>) {
        self.findings.push(Finding {
            seq,
            problem: problem.into(),
        });
    }
}

/// What an entry's computed outcome says is wrong with rules 2's
/// bookkeeping, if anything: a reveal that is not the committed seed, a
/// nonce out of order, a draw past its rotation, a COMMIT, DRAW/2 or CHUNK/2 that
/// does not belong.
pub fn fairness_problem(entry: &Entry, outcome: &Outcome) -> Option<String> {
    let problem = match (entry, outcome) {
        (
            Entry::Rotate(rotate),
            Outcome::Ignored {
                reason: IgnoreReason::RevealMismatch,
            },
        ) => format!(
            "revealed server seed hashes to {}, not to the commitment in force",
            rotate.revealed.commitment()
        ),
        (
            Entry::Commit(_) | Entry::Rotate(_),
            Outcome::Ignored {
                reason: IgnoreReason::NotFair | IgnoreReason::AlreadyCommitted,
            },
        ) => "commitment on a pool that cannot take it".into(),
        (
            Entry::FairDraw(_) | Entry::FairChunk(_),
            Outcome::Draw {
                reason: Some(reason),
                ..
            },
        ) => {
            let nonce = entry.nonce().unwrap_or_default();
            match reason {
                FailReason::NonceOutOfOrder => {
                    format!("nonce {nonce} is not the next one under its server seed")
                }
                FailReason::RotationDue => format!("nonce {nonce} is past the rotation"),
                FailReason::RulesMismatch | FailReason::NoCommitment => {
                    "rules-2 draw on a pool without a commitment".into()
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(problem)
}

// Applies one entry, posting to the verdict what does not match.
fn check(
    verdict: &mut Verdict,
    state: &mut Option<PoolState>,
    keys: &Keyring,
    seq: u64,
    entry: &Entry,
    recorded: Option<&Outcome>,
) {
    let computed = apply_with(state, entry, keys);
    if let Some(problem) = fairness_problem(entry, &computed) {
        verdict.find(seq, problem);
        return;
    }
    if let Outcome::Draw {
        reason: Some(FailReason::SeedWithheld),
        ..
    } = computed
    {
        verdict.pending += 1;
        return;
    }
    if let Some(recorded) = recorded
        && recorded != &computed
    {
        let told = serde_json::to_string(recorded).unwrap_or_default();
        let now = serde_json::to_string(&computed).unwrap_or_default();
        verdict.find(seq, format!("recorded {told}, recomputed {now}"));
        return;
    }
    if entry.nonce().is_some() {
        verdict.verified += 1;
    }
}

/// Recomputes an exported log from its first entry, with the server seeds
/// its ROTATE entries reveal, and names each entry that does not match.
pub fn verify_log(export: &LogExport) -> Verdict {
    let mut verdict = Verdict::default();
    let mut decoded = Vec::with_capacity(export.entries.len());
    for (expected, exported) in (1u64..).zip(&export.entries) {
        if exported.seq != expected {
            verdict.find(exported.seq, format!("expected entry {expected} here"));
            return verdict;
        }
        match Entry::decode(&exported.line) {
            Ok(entry) => decoded.push((exported, entry)),
            Err(error) => {
                verdict.find(exported.seq, format!("does not decode: {error}"));
                return verdict;
            }
        }
    }
    let mut keys = Keyring::new();
    keys.learn(decoded.iter().map(|(_, entry)| entry));
    let mut state = None;
    for (exported, entry) in &decoded {
        check(
            &mut verdict,
            &mut state,
            &keys,
            exported.seq,
            entry,
            exported.outcome.as_ref(),
        );
    }
    if let Some(state) = &state
        && state.id() != &export.pool
    {
        verdict.find(1, format!("the log is of pool {}", state.id()));
    }
    verdict
}

/// Recomputes the draw of a proof from the state it drew from and the
/// revealed server seed, and says whether it matches.
pub fn verify_proof(proof: &Proof) -> Verdict {
    let mut verdict = Verdict::default();
    let seq = proof.seq;
    let entry = match Entry::decode(&proof.line) {
        Ok(entry @ (Entry::FairDraw(_) | Entry::FairChunk(_))) => entry,
        Ok(_) => {
            verdict.find(seq, "is not a rules-2 draw (DRAW/2 or CHUNK/2)");
            return verdict;
        }
        Err(error) => {
            verdict.find(seq, format!("does not decode: {error}"));
            return verdict;
        }
    };
    let snapshot = match unhex(&proof.before).map(|bytes| Snapshot::decode(&bytes)) {
        Some(Ok(snapshot)) => snapshot,
        Some(Err(error)) => {
            verdict.find(seq, format!("the state before it: {error}"));
            return verdict;
        }
        None => {
            verdict.find(seq, "the state before it is not hex");
            return verdict;
        }
    };
    if snapshot.seq.checked_add(1) != Some(seq) || snapshot.state.id() != &proof.pool {
        verdict.find(seq, "the state before it is not of this pool and entry");
        return verdict;
    }
    let committed = snapshot.state.fairness().map(|fair| fair.commitment());
    let claimed = Commitment::from_hex(&proof.commitment).ok();
    if committed.is_none() || committed != claimed {
        verdict.find(
            seq,
            "the commitment is not the one in force before the draw",
        );
        return verdict;
    }
    let mut keys = Keyring::new();
    if let Some(text) = &proof.server_seed {
        match ServerSeed::from_hex(text) {
            Ok(seed) if committed.is_some_and(|c| c.is_commitment_of(&seed)) => keys.insert(seed),
            Ok(seed) => {
                verdict.find(
                    seq,
                    format!(
                        "revealed server seed hashes to {}, not to the commitment",
                        seed.commitment()
                    ),
                );
                return verdict;
            }
            Err(error) => {
                verdict.find(seq, format!("server seed {error}"));
                return verdict;
            }
        }
    }
    let mut state = Some(snapshot.state);
    check(
        &mut verdict,
        &mut state,
        &keys,
        seq,
        &entry,
        Some(&proof.outcome),
    );
    verdict
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}
