//! Rules 2 in the log: the grammar of COMMIT/1, ROTATE/1, DRAW/2 and
//! CHUNK/2, what
//! `apply` settles by the order of the log, and the format 3 snapshot.

use tombola_core::pool::snapshot::FORMAT_VERSION_FAIR;
use tombola_core::pool::{
    CodecError, CodecReason, Entry, FailReason, Field, FieldProblem, IgnoreReason, Keyring, Ledger,
    Outcome, ServerSeed, Snapshot, provable,
};

fn seed(byte: u8) -> ServerSeed {
    ServerSeed::from_bytes([byte; 32])
}

fn decode_error(line: &str) -> CodecError {
    Entry::decode(line).expect_err(line)
}

#[test]
fn every_rules_2_line_round_trips() {
    let lines = [
        provable::commit_entry(&seed(1), 0).encode(),
        provable::commit_entry(&seed(1), u32::MAX).encode(),
        provable::rotate_entry(&seed(1), &seed(2)).encode(),
        "DRAW/2 r-1 1 lucky-7 0 partial".to_string(),
        "DRAW/2 op-1#3 1000 A.b_c-9 18446744073709551615 all".to_string(),
        "CHUNK/2 op-1 0 1 c 0 0 0".to_string(),
        "CHUNK/2 op-1 4294967295 1000 A.b_c-9 18446744073709551615 1000 3601000".to_string(),
    ];
    for line in lines {
        let entry = Entry::decode(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(entry.encode(), line);
    }
    assert_eq!(
        provable::rotate_entry(&seed(0x11), &seed(2)).encode(),
        format!("ROTATE/1 {} {}", "11".repeat(32), seed(2).commitment())
    );
}

#[test]
fn invalid_rules_2_lines_name_the_field_and_offset() {
    let digest = seed(1).commitment().to_string();
    let invalid = |offset, field, problem| CodecError {
        offset,
        reason: CodecReason::Invalid { field, problem },
    };
    // Hex has one spelling in the log: lowercase.
    assert_eq!(
        decode_error(&format!("COMMIT/1 {} 0", digest.to_uppercase())),
        invalid(9, Field::Commitment, FieldProblem::NotDigest)
    );
    assert_eq!(
        decode_error(&format!("COMMIT/1 {} 0", &digest[..63])),
        invalid(9, Field::Commitment, FieldProblem::NotDigest)
    );
    assert_eq!(
        decode_error(&format!("COMMIT/1 {digest} 01")),
        invalid(74, Field::RotateEvery, FieldProblem::LeadingZero)
    );
    assert_eq!(
        decode_error(&format!("COMMIT/1 {digest}")),
        CodecError {
            offset: 73,
            reason: CodecReason::Missing(Field::RotateEvery)
        }
    );
    assert_eq!(
        decode_error(&format!("ROTATE/1 {digest} g{}", &digest[1..])),
        invalid(74, Field::Commitment, FieldProblem::NotDigest)
    );
    let error = decode_error("DRAW/2 r-1 1 lucky:7 0 partial");
    assert_eq!(error.offset, 13);
    let CodecReason::Invalid {
        field: Field::ClientSeed,
        problem: FieldProblem::Id(_),
    } = error.reason
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        decode_error("DRAW/2 r-1 1 lucky-7 -1 partial"),
        invalid(21, Field::Nonce, FieldProblem::NotDecimal)
    );
    assert_eq!(
        decode_error("DRAW/2 r-1 1 lucky-7 0 partial x"),
        CodecError {
            offset: 31,
            reason: CodecReason::Trailing
        }
    );
    assert_eq!(
        decode_error("ROTATE/2 x").reason,
        CodecReason::UnsupportedVersion(2)
    );
    let error = decode_error("CHUNK/2 op-1 0 1 lucky:7 0 0 0");
    assert_eq!(error.offset, 17);
    assert!(
        matches!(
            error.reason,
            CodecReason::Invalid {
                field: Field::ClientSeed,
                problem: FieldProblem::Id(_)
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        decode_error("CHUNK/2 op-1 0 1 c 00 0 0"),
        invalid(19, Field::Nonce, FieldProblem::LeadingZero)
    );
    assert_eq!(
        decode_error("CHUNK/2 op-1 0 1001 c 0 0 0"),
        invalid(
            15,
            Field::Count,
            FieldProblem::OutOfRange { min: 1, max: 1000 }
        )
    );
    assert_eq!(
        decode_error("CHUNK/2 op-1 0 1 c 0 0"),
        CodecError {
            offset: 22,
            reason: CodecReason::Missing(Field::Until)
        }
    );
    assert_eq!(
        decode_error("CHUNK/3 x").reason,
        CodecReason::UnsupportedVersion(3)
    );
}

#[test]
fn chunks_share_the_draws_nonces_and_roll_back_what_they_drew() {
    let chunk = |index, nonce| format!("CHUNK/2 op-1 {index} 2 c {nonce} 10 1000");
    let lines = [
        CREATE.to_string(),
        provable::commit_entry(&seed(1), 4).encode(),
        "DRAW/2 r-1 1 c 0 partial".into(),
        chunk(0, 1),
        chunk(1, 1),
        chunk(1, 3),
        chunk(1, 2),
        "RETURN/2 op-1 20 1000".into(),
        chunk(2, 3),
        chunk(3, 4),
    ];
    let (ledger, outcomes) = ledger(&lines, Keyring::of([seed(1)]));
    let reasons: Vec<Option<FailReason>> = outcomes[3..7].iter().map(failed).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(FailReason::NonceOutOfOrder),
            Some(FailReason::NonceOutOfOrder),
            None
        ]
    );
    let drawn = |outcome: &Outcome| match outcome {
        Outcome::Draw { drawn, .. } => drawn.len() as u64,
        other => panic!("not a draw: {other:?}"),
    };
    assert_eq!(
        outcomes[7],
        Outcome::Return {
            returned: drawn(&outcomes[3]) + drawn(&outcomes[6]),
            ignored: Vec::new()
        }
    );
    // A chunk after the rollback draws nothing but spends its nonce, as
    // the script that appended it did; the next is past the rotation.
    assert_eq!(failed(&outcomes[8]), Some(FailReason::RolledBack));
    assert_eq!(failed(&outcomes[9]), Some(FailReason::RotationDue));
    let state = ledger.state().expect("the pool exists");
    assert_eq!(state.fairness().map(|f| f.nonce()), Some(4));
    let Outcome::Draw { drawn: first, .. } = &outcomes[2] else {
        panic!("a draw");
    };
    let kept = first.iter().filter(|item| item.as_str() == "a").count() as u64;
    let a = state.stocks().find(|(item, _)| item.as_str() == "a");
    assert_eq!(
        a.map(|(_, stock)| stock),
        Some(tombola_core::pool::Stock::Limited(5 - kept)),
        "only the draw's units stay drawn"
    );
}

const CREATE: &str = "CREATE/1 p 2 stock 32 P a:1:5 b:3:*";

fn ledger(lines: &[String], keys: Keyring) -> (Ledger, Vec<Outcome>) {
    let mut ledger = Ledger::with_keys(keys);
    let outcomes = (1..)
        .zip(lines)
        .map(|(seq, line)| {
            ledger
                .apply(seq, &Entry::decode(line).expect("valid line"))
                .expect("in order")
        })
        .collect();
    (ledger, outcomes)
}

fn failed(outcome: &Outcome) -> Option<FailReason> {
    match outcome {
        Outcome::Draw { reason, .. } => *reason,
        other => panic!("not a draw: {other:?}"),
    }
}

#[test]
fn the_log_orders_nonces_and_rotations() {
    let lines = [
        CREATE.to_string(),
        provable::commit_entry(&seed(1), 2).encode(),
        "DRAW/2 r-1 1 c 0 partial".into(),
        "DRAW/2 r-2 1 c 0 partial".into(),
        "DRAW/2 r-3 1 c 2 partial".into(),
        "DRAW/2 r-4 1 c 1 partial".into(),
        "DRAW/2 r-5 1 c 2 partial".into(),
        provable::rotate_entry(&seed(1), &seed(2)).encode(),
        "DRAW/2 r-6 1 c 0 partial".into(),
    ];
    let (ledger, outcomes) = ledger(&lines, Keyring::of([seed(1), seed(2)]));
    let reasons: Vec<Option<FailReason>> = outcomes[2..7].iter().map(failed).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(FailReason::NonceOutOfOrder),
            Some(FailReason::NonceOutOfOrder),
            None,
            Some(FailReason::RotationDue),
        ]
    );
    assert_eq!(outcomes[7], Outcome::Rotate);
    assert_eq!(failed(&outcomes[8]), None);
    let fair = ledger.state().and_then(|s| s.fairness()).expect("fair");
    assert_eq!((fair.commitment(), fair.nonce()), (seed(2).commitment(), 1));
}

#[test]
fn a_bad_reveal_changes_nothing_and_unknown_seeds_are_withheld() {
    let lines = [
        CREATE.to_string(),
        provable::commit_entry(&seed(1), 0).encode(),
        "DRAW/2 r-1 1 c 0 partial".into(),
        provable::rotate_entry(&seed(9), &seed(2)).encode(),
        "DRAW/2 r-2 1 c 1 partial".into(),
    ];
    let (ledger, outcomes) = ledger(&lines, Keyring::new());
    assert_eq!(
        outcomes[3],
        Outcome::Ignored {
            reason: IgnoreReason::RevealMismatch
        }
    );
    assert_eq!(failed(&outcomes[2]), Some(FailReason::SeedWithheld));
    assert_eq!(failed(&outcomes[4]), Some(FailReason::SeedWithheld));
    let fair = ledger.state().and_then(|s| s.fairness()).expect("fair");
    assert_eq!((fair.commitment(), fair.nonce()), (seed(1).commitment(), 2));
}

#[test]
fn rules_1_pools_refuse_rules_2_entries_and_back() {
    let lines = [
        "CREATE/1 p 1 stock 32 P a:1:5".to_string(),
        provable::commit_entry(&seed(1), 0).encode(),
        provable::rotate_entry(&seed(1), &seed(2)).encode(),
        "DRAW/2 r-1 1 c 0 partial".into(),
        "CHUNK/2 op-1 0 1 c 0 0 0".into(),
    ];
    let (_, outcomes) = ledger(&lines, Keyring::of([seed(1)]));
    let not_fair = Outcome::Ignored {
        reason: IgnoreReason::NotFair,
    };
    assert_eq!(outcomes[1..3], [not_fair.clone(), not_fair]);
    assert_eq!(failed(&outcomes[3]), Some(FailReason::RulesMismatch));
    assert_eq!(failed(&outcomes[4]), Some(FailReason::RulesMismatch));
}

#[test]
fn format_3_snapshots_round_trip_and_hold_no_seed() {
    let lines = [
        CREATE.to_string(),
        provable::commit_entry(&seed(0x5a), 7).encode(),
        "DRAW/2 r-1 3 c 0 partial".into(),
    ];
    let (ledger, _) = ledger(&lines, Keyring::of([seed(0x5a)]));
    let snapshot = ledger.snapshot().expect("the pool exists");
    let bytes = snapshot.encode();
    assert_eq!(bytes[4], FORMAT_VERSION_FAIR);
    assert!(
        !bytes.windows(32).any(|w| w == [0x5a; 32]),
        "the server seed is not in the snapshot"
    );
    let decoded = Snapshot::decode(&bytes).expect("decodes");
    assert_eq!(decoded, snapshot);
    let fair = decoded.state.fairness().expect("fair");
    assert_eq!((fair.nonce(), fair.rotate_every()), (1, 7));
    // Before its COMMIT a rules-2 pool is spelt as format 1.
    let (created, _) = ledger_of_create();
    assert_eq!(created.snapshot().expect("exists").encode()[4], 1);
}

fn ledger_of_create() -> (Ledger, Vec<Outcome>) {
    ledger(&[CREATE.to_string()], Keyring::new())
}

// The append script hands out one nonce per DRAW/2 it appends, whatever
// the pool's state; `apply` spends it the same way, so the next draw's
// nonce is still the one due.
#[test]
fn a_draw_on_a_closed_pool_spends_its_nonce() {
    let lines = [
        CREATE.to_string(),
        provable::commit_entry(&seed(1), 0).encode(),
        "CLOSE/1".into(),
        "DRAW/2 r-1 1 c 0 partial".into(),
        "DRAW/2 r-2 1 c 1 partial".into(),
    ];
    let (ledger, outcomes) = ledger(&lines, Keyring::of([seed(1)]));
    assert_eq!(failed(&outcomes[3]), Some(FailReason::Closed));
    assert_eq!(failed(&outcomes[4]), Some(FailReason::Closed));
    let fair = ledger.state().and_then(|s| s.fairness()).expect("fair");
    assert_eq!(fair.nonce(), 2);
}

mod audit {
    use super::*;
    use tombola_core::pool::history::{History, Tail};
    use tombola_core::pool::{Fingerprint, PoolId, Record, audit};

    // A rules-2 log: two draws under seed 1, a rotation to seed 2 (still
    // in force, so only Redis holds it), a draw under seed 2.
    fn lines() -> Vec<String> {
        vec![
            CREATE.to_string(),
            provable::commit_entry(&seed(1), 0).encode(),
            "DRAW/2 r-1 2 c 0 partial".into(),
            "DRAW/2 r-2 2 c 1 partial".into(),
            provable::rotate_entry(&seed(1), &seed(2)).encode(),
            "DRAW/2 r-3 2 c 0 partial".into(),
        ]
    }

    // The audit of `logged` with `secret` in force, against the records
    // the server wrote for the honest log.
    fn audit_of(logged: Vec<String>, secret: Option<ServerSeed>) -> audit::Report {
        let (_, outcomes) = ledger(&lines(), Keyring::of([seed(1), seed(2)]));
        let history = History {
            segments: Vec::new(),
            live: Tail {
                base: 0,
                start: 0,
                snapshot: None,
                lines: logged,
                secret,
            },
        };
        let pool = PoolId::new("p").expect("valid id");
        let prepared = audit::prepare(&pool, &history).expect("replays");
        let records = prepared
            .requests()
            .iter()
            .map(|request| {
                let seq = match request.as_str() {
                    "r-1" => 3,
                    "r-2" => 4,
                    _ => 6,
                };
                let record = Record {
                    seq,
                    fingerprint: Fingerprint::Draw {
                        count: 2,
                        all_or_nothing: false,
                    },
                    outcome: Some(outcomes[seq as usize - 1].clone()),
                };
                Some(record.encode())
            })
            .collect();
        prepared.finish(records)
    }

    #[test]
    fn the_audit_recomputes_every_draw_with_the_seed_in_force() {
        let report = audit_of(lines(), Some(seed(2)));
        assert_eq!(report.mismatches, [], "{report:?}");
        assert_eq!(report.outcomes_checked, 3);
        // Without the seed in force, its draw cannot be recomputed.
        let report = audit_of(lines(), None);
        let seqs: Vec<u64> = report.mismatches.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [6], "{report:?}");
    }

    #[test]
    fn the_audit_checks_each_reveal_against_its_commitment() {
        let mut tampered = lines();
        tampered[4] = provable::rotate_entry(&seed(7), &seed(2)).encode();
        let report = audit_of(tampered, Some(seed(2)));
        let fairness: Vec<u64> = report
            .mismatches
            .iter()
            .filter(|m| m.what == "fairness")
            .map(|m| m.seq)
            .collect();
        // The bad reveal at 5, and what follows from it: the commitment in
        // force did not move, so the draw after it is out of order.
        assert_eq!(fairness, [5, 6], "{report:?}");
        assert!(
            report
                .mismatches
                .iter()
                .any(|m| m.detail.contains("revealed server seed"))
        );
    }
}
