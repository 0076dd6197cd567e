//! The verifier against logs and proofs made as the draw component makes
//! them: the server draws with the seed in force, records each outcome, and
//! the player recomputes with the seeds revealed so far. A tampered reveal,
//! a reordered nonce and a changed client seed are each caught, naming the
//! entry.

use tombola_core::pool::proof::{ExportedEntry, LogExport, Proof, Verdict};
use tombola_core::pool::{
    ClientSeed, Entry, Keyring, Ledger, OperationId, Outcome, PoolId, RequestId, ServerSeed,
    provable, rollback_entry,
};
use tombola_verify::{Kind, report, verify};

const CREATE: &str =
    "CREATE/1 summer 2 stock 32 Summer gold:1:50 silver:3:200 bronze:10:* none:20:*";

fn seed(byte: u8) -> ServerSeed {
    ServerSeed::from_bytes([byte; 32])
}

fn draw(request: &str, client_seed: &str, nonce: u64) -> Entry {
    provable::fair_draw_entry(
        RequestId::new(request).expect("valid id"),
        10,
        false,
        ClientSeed::new(client_seed).expect("valid client seed"),
        nonce,
    )
    .expect("valid count")
}

// CREATE, COMMIT(seed 1), two draws, ROTATE(1 -> 2), two draws, ROTATE
// (2 -> 3), one draw under seed 3, which stays secret.
fn entries() -> Vec<Entry> {
    vec![
        Entry::decode(CREATE).expect("valid create"),
        provable::commit_entry(&seed(1), 0),
        draw("r-1", "lucky-7", 0),
        draw("r-2", "player-seed", 1),
        provable::rotate_entry(&seed(1), &seed(2)),
        draw("r-3", "lucky-7", 0),
        draw("r-4", "abc", 1),
        provable::rotate_entry(&seed(2), &seed(3)),
        draw("r-5", "late", 0),
    ]
}

// The log as the server writes it: every seed held, outcomes recorded.
fn served(entries: &[Entry]) -> (LogExport, Vec<Ledger>) {
    let mut ledger = Ledger::with_keys(Keyring::of([seed(1), seed(2), seed(3)]));
    let mut before = Vec::new();
    let mut exported = Vec::new();
    for (seq, entry) in (1..).zip(entries) {
        before.push(ledger.clone());
        let outcome = ledger.apply(seq, entry).expect("in order");
        exported.push(ExportedEntry {
            seq,
            line: entry.encode(),
            outcome: entry.request_id().map(|_| outcome),
        });
    }
    let export = LogExport {
        pool: PoolId::new("summer").expect("valid id"),
        entries: exported,
    };
    (export, before)
}

fn verify_export(export: &LogExport) -> Verdict {
    let json = serde_json::to_string(export).expect("serializes");
    verify(Kind::Log, &json).expect("a log export")
}

fn seqs(verdict: &Verdict) -> Vec<u64> {
    verdict.findings.iter().map(|f| f.seq).collect()
}

#[test]
fn an_honest_log_verifies_and_the_unrevealed_draw_is_pending() {
    let (export, _) = served(&entries());
    let verdict = verify_export(&export);
    assert!(verdict.is_clean(), "{}", report(&verdict));
    assert_eq!((verdict.verified, verdict.pending), (4, 1));
    // Every draw drew something: the recorded outcomes are real draws.
    for entry in &export.entries {
        if let Some(Outcome::Draw { drawn, .. }) = &entry.outcome {
            assert_eq!(drawn.len(), 10, "entry {}", entry.seq);
        }
    }
}

#[test]
fn a_tampered_reveal_is_caught_at_its_rotation() {
    let (mut export, _) = served(&entries());
    export.entries[4].line = provable::rotate_entry(&seed(9), &seed(2)).encode();
    let verdict = verify_export(&export);
    assert_eq!(seqs(&verdict)[0], 5, "{}", report(&verdict));
    assert!(
        verdict.findings[0].problem.contains("revealed server seed"),
        "{}",
        report(&verdict)
    );
}

#[test]
fn a_reordered_nonce_is_caught_naming_the_entry() {
    let (mut export, _) = served(&entries());
    // The two draws under seed 2 swap places: each nonce is out of order.
    let (third, fourth) = (
        export.entries[5].line.clone(),
        export.entries[6].line.clone(),
    );
    export.entries[5].line = fourth;
    export.entries[6].line = third;
    let verdict = verify_export(&export);
    assert!(seqs(&verdict).starts_with(&[6]), "{}", report(&verdict));
    assert!(
        verdict.findings[0].problem.contains("nonce 1"),
        "{}",
        report(&verdict)
    );
}

#[test]
fn a_changed_client_seed_is_caught_naming_the_entry() {
    let (mut export, _) = served(&entries());
    export.entries[3].line = draw("r-2", "other-seed", 1).encode();
    let verdict = verify_export(&export);
    // Entry 4 draws other items, so later draws start from other stock and
    // may differ too: the first finding is the changed entry.
    assert_eq!(seqs(&verdict)[0], 4, "{}", report(&verdict));
    assert!(verdict.findings[0].problem.starts_with("recorded"));
}

fn proof_of(index: usize, revealed: Option<&ServerSeed>) -> Proof {
    let entries = entries();
    let (export, before) = served(&entries);
    let outcome = export.entries[index].outcome.clone().expect("a draw");
    let snapshot = before[index].snapshot().expect("the pool exists");
    Proof::new(
        snapshot,
        index as u64 + 1,
        &entries[index],
        outcome,
        revealed,
    )
    .expect("a rules-2 pool with a commitment")
}

fn verify_proof(proof: &Proof) -> Verdict {
    let json = serde_json::to_string(proof).expect("serializes");
    verify(Kind::Draw, &json).expect("a proof")
}

#[test]
fn a_proof_verifies_once_revealed_and_is_pending_before() {
    let verdict = verify_proof(&proof_of(2, Some(&seed(1))));
    assert!(verdict.is_clean(), "{}", report(&verdict));
    assert_eq!(verdict.verified, 1);
    let pending = verify_proof(&proof_of(8, None));
    assert!(pending.is_clean() && pending.pending == 1 && pending.verified == 0);
}

#[test]
fn a_proof_with_a_wrong_seed_or_client_seed_is_refused() {
    let wrong = verify_proof(&proof_of(2, Some(&seed(2))));
    assert_eq!(seqs(&wrong), vec![3], "{}", report(&wrong));
    let mut changed = proof_of(2, Some(&seed(1)));
    changed.line = draw("r-1", "lucky-8", 0).encode();
    let verdict = verify_proof(&changed);
    assert_eq!(seqs(&verdict), vec![3], "{}", report(&verdict));
}

#[test]
fn a_proof_never_carries_a_seed_not_revealed() {
    let proof = proof_of(8, None);
    let json = serde_json::to_string(&proof).expect("serializes");
    assert!(!json.contains(&seed(3).reveal()), "{json}");
    assert_eq!(proof.commitment, seed(3).commitment().to_string());
}

#[test]
fn the_command_names_the_entry_and_fails() {
    let (mut export, _) = served(&entries());
    export.entries[3].line = draw("r-2", "other-seed", 1).encode();
    let dir = std::env::temp_dir().join(format!("tombola-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("log.json");
    std::fs::write(&path, serde_json::to_string(&export).expect("serializes")).expect("written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tombola-verify"))
        .arg("log")
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("entry 4: recorded"), "{stdout}");
    let usage = std::process::Command::new(env!("CARGO_BIN_EXE_tombola-verify"))
        .arg("nothing")
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

fn chunk(operation: &str, index: u32, client_seed: &str, nonce: u64) -> Entry {
    provable::fair_chunk_entry(
        &OperationId::new(operation).expect("valid id"),
        index,
        10,
        ClientSeed::new(client_seed).expect("valid client seed"),
        nonce,
        1_000,
        3_601_000,
    )
    .expect("valid count")
}

// A multi-draw between draws: its chunks take the next nonces, its
// rollback gives back what they drew, and a chunk under the next seed.
fn with_chunks() -> Vec<Entry> {
    vec![
        Entry::decode(CREATE).expect("valid create"),
        provable::commit_entry(&seed(1), 0),
        draw("r-1", "lucky-7", 0),
        chunk("op-1", 0, "lucky-7", 1),
        chunk("op-1", 1, "server-picked", 2),
        rollback_entry(
            &OperationId::new("op-1").expect("valid id"),
            2_000,
            3_602_000,
        ),
        draw("r-2", "lucky-7", 3),
        provable::rotate_entry(&seed(1), &seed(2)),
        chunk("op-2", 0, "lucky-7", 0),
    ]
}

#[test]
fn chunks_verify_and_a_changed_chunk_is_named() {
    let entries = with_chunks();
    let (export, before) = served(&entries);
    let verdict = verify_export(&export);
    assert!(verdict.is_clean(), "{}", report(&verdict));
    assert_eq!((verdict.verified, verdict.pending), (4, 1));
    assert!(matches!(
        export.entries[5].outcome,
        Some(Outcome::Return { returned: 20, .. })
    ));

    let mut changed = export.clone();
    changed.entries[4].line = chunk("op-1", 1, "other-seed", 2).encode();
    let verdict = verify_export(&changed);
    assert_eq!(seqs(&verdict)[0], 5, "{}", report(&verdict));

    let mut reordered = export.clone();
    reordered.entries[3].line = chunk("op-1", 0, "lucky-7", 2).encode();
    let verdict = verify_export(&reordered);
    assert_eq!(seqs(&verdict)[0], 4, "{}", report(&verdict));
    assert!(verdict.findings[0].problem.contains("nonce 2"));

    // The proof of one chunk, from the state it drew from.
    let outcome = export.entries[4].outcome.clone().expect("a chunk");
    let snapshot = before[4].snapshot().expect("the pool exists");
    let proof = Proof::new(snapshot, 5, &entries[4], outcome, Some(&seed(1))).expect("rules 2");
    let verdict = verify_proof(&proof);
    assert!(
        verdict.is_clean() && verdict.verified == 1,
        "{}",
        report(&verdict)
    );
    let mut tampered = proof.clone();
    tampered.line = chunk("op-1", 1, "server-picked", 3).encode();
    assert_eq!(seqs(&verify_proof(&tampered)), vec![5]);
}
