//! Multi-draw progress: the JSON shape, the round trip, every reason a
//! saved state is corrupted, and the key helpers.

use tombola_core::pool::keys::{self, OperationType};
use tombola_core::pool::{
    ChunkResult, DrawState, DrawStateCorrupted, DrawStatus, IdError, ItemId, LockKey, OperationId,
    PoolId,
};

fn item(id: &str) -> ItemId {
    ItemId::new(id).unwrap()
}

// Ten draws, four made in two chunks.
fn state() -> DrawState {
    let mut state = DrawState::new(
        &OperationId::new("op-7").unwrap(),
        &PoolId::new("summer").unwrap(),
        10,
        1_000,
    );
    state.record(12, vec![item("gold"), item("none"), item("none")], 0, 1_200);
    state.record(15, vec![], 1, 1_500);
    state
}

// The error of loading the state's JSON with `from` replaced by `to`.
fn corrupted_json(from: &str, to: &str) -> DrawStateCorrupted {
    let json = state().to_json();
    assert!(json.contains(from), "{from} in {json}");
    DrawState::from_json(&json.replacen(from, to, 1)).unwrap_err()
}

fn corrupted(edit: impl FnOnce(&mut DrawState)) -> DrawStateCorrupted {
    let mut state = state();
    edit(&mut state);
    state.validate().unwrap_err()
}

#[test]
fn json_has_the_documented_shape_and_round_trips() {
    let state = state();
    let json = state.to_json();
    assert_eq!(
        json,
        r#"{"operation":"op-7","pool":"summer","lock_key":"summer/op-7","total":10,"chunk_size":1000,"completed":4,"results":[{"seq":12,"items":["gold","none","none"],"failed":0},{"seq":15,"items":[],"failed":1}],"status":"in_progress","created_at":1000,"updated_at":1500}"#
    );
    assert_eq!(DrawState::from_json(&json), Ok(state));
    // `failed` may be left out.
    let short = json.replace(r#","failed":0"#, "");
    assert_eq!(
        DrawState::from_json(&short).map(|state| state.completed),
        Ok(4)
    );
}

#[test]
fn progress_is_tracked() {
    let mut state = state();
    assert_eq!(state.remaining(), 6);
    assert_eq!(state.next_chunk_count(), 6);
    assert_eq!(state.chunk_request().as_str(), "op-7#2");
    assert_eq!(state.drawn(), [item("gold"), item("none"), item("none")]);
    state.record(20, vec![item("none"); 6], 0, 2_000);
    assert_eq!(
        (state.completed, state.status, state.updated_at),
        (10, DrawStatus::Completed, 2_000)
    );
    state.validate().unwrap();
    let big = DrawState::new(
        &OperationId::new("o").unwrap(),
        &PoolId::new("p").unwrap(),
        2500,
        0,
    );
    assert_eq!(big.next_chunk_count(), 1000);
}

#[test]
fn a_rollback_is_kept_with_its_position() {
    let mut state = state();
    state.roll_back(31, 3_000);
    assert_eq!(
        (state.status, state.rollback_seq, state.updated_at),
        (DrawStatus::RolledBack, Some(31), 3_000)
    );
    state.validate().unwrap();
    let json = state.to_json();
    assert!(
        json.contains(r#""status":"rolled_back","rollback_seq":31"#),
        "{json}"
    );
    assert_eq!(DrawState::from_json(&json), Ok(state));
}

#[test]
fn a_state_belongs_to_its_key() {
    let json = state().to_json();
    let summer = PoolId::new("summer").unwrap();
    let op = OperationId::new("op-7").unwrap();
    assert_eq!(DrawState::load(json.as_bytes(), &summer, &op), Ok(state()));
    assert_eq!(
        DrawState::load(json.as_bytes(), &PoolId::new("winter").unwrap(), &op),
        Err(DrawStateCorrupted::WrongKey {
            expected: "winter/op-7".into(),
            found: "summer/op-7".into()
        })
    );
    assert_eq!(
        DrawState::load(b"\xff", &summer, &op),
        Err(DrawStateCorrupted::Json("not UTF-8".into()))
    );
}

#[test]
fn every_corruption_is_named() {
    assert_eq!(
        corrupted_json(r#""operation":"op-7""#, r#""operation":"""#),
        DrawStateCorrupted::EmptyId("operation")
    );
    assert_eq!(
        corrupted_json(r#""pool":"summer""#, r#""pool":"""#),
        DrawStateCorrupted::EmptyId("pool")
    );
    assert_eq!(
        corrupted_json(r#""lock_key":"summer/op-7""#, r#""lock_key":"""#),
        DrawStateCorrupted::EmptyId("lock_key")
    );
    assert_eq!(
        corrupted_json(r#""operation":"op-7""#, r#""operation":"op 7""#),
        DrawStateCorrupted::InvalidId {
            field: "operation",
            error: IdError::InvalidChar { at: 2, found: ' ' }
        }
    );
    assert_eq!(
        corrupted_json(r#""lock_key":"summer/op-7""#, r#""lock_key":"summer""#),
        DrawStateCorrupted::InvalidId {
            field: "lock_key",
            error: IdError::Empty { at: 7 }
        }
    );
    assert_eq!(
        corrupted_json(r#""lock_key":"summer/op-7""#, r#""lock_key":"winter/op-7""#),
        DrawStateCorrupted::LockKeyMismatch {
            expected: "summer/op-7".into(),
            found: "winter/op-7".into()
        }
    );
    assert_eq!(
        corrupted(|state| state.rollback_seq = Some(3)),
        DrawStateCorrupted::RollbackSeqWithoutRollback(3)
    );
    assert_eq!(
        corrupted(|state| state.total = 0),
        DrawStateCorrupted::ZeroTotal
    );
    assert_eq!(
        corrupted(|state| state.total = 3),
        DrawStateCorrupted::CompletedExceedsTotal {
            completed: 4,
            total: 3
        }
    );
    assert_eq!(
        corrupted(|state| state.completed = 5),
        DrawStateCorrupted::ResultsMismatch {
            counted: 4,
            completed: 5
        }
    );
    assert_eq!(
        corrupted(|state| state.results[1] = ChunkResult {
            seq: 15,
            items: vec![],
            failed: 0
        }),
        DrawStateCorrupted::BadChunkSize { chunk: 1 }
    );
    assert_eq!(
        corrupted(|state| state.results[1].failed = 1001),
        DrawStateCorrupted::BadChunkSize { chunk: 1 }
    );
    assert_eq!(
        corrupted(|state| state.results[1].seq = 12),
        DrawStateCorrupted::SeqNotIncreasing { chunk: 1, seq: 12 }
    );
    assert_eq!(
        corrupted(|state| state.status = DrawStatus::Completed),
        DrawStateCorrupted::ImpossibleStatus {
            status: DrawStatus::Completed,
            completed: 4,
            total: 10
        }
    );
    assert_eq!(
        corrupted(|state| {
            state.total = 4;
            state.status = DrawStatus::InProgress;
        }),
        DrawStateCorrupted::ImpossibleStatus {
            status: DrawStatus::InProgress,
            completed: 4,
            total: 4
        }
    );
    assert_eq!(
        corrupted(|state| state.updated_at = 999),
        DrawStateCorrupted::UpdatedBeforeCreated {
            created_at: 1_000,
            updated_at: 999
        }
    );
}

#[test]
fn unreadable_json_is_corrupted_too() {
    let error = DrawState::from_json("{\"operation\":").unwrap_err();
    assert!(
        matches!(&error, DrawStateCorrupted::Json(message) if message.contains("EOF")),
        "{error}"
    );
    let unknown = state()
        .to_json()
        .replace("\"total\"", "\"colour\":1,\"total\"");
    assert!(
        matches!(DrawState::from_json(&unknown), Err(DrawStateCorrupted::Json(message)) if message.contains("unknown field `colour`"))
    );
    let bad_item = state().to_json().replace("\"gold\"", "\"go ld\"");
    assert!(
        matches!(DrawState::from_json(&bad_item), Err(DrawStateCorrupted::Json(message)) if message.contains("invalid id"))
    );
    let invalid = state()
        .to_json()
        .replace("\"completed\":4", "\"completed\":40");
    assert_eq!(
        DrawState::from_json(&invalid),
        Err(DrawStateCorrupted::CompletedExceedsTotal {
            completed: 40,
            total: 10
        })
    );
    assert_eq!(
        DrawStateCorrupted::ZeroTotal.to_string(),
        "total is zero",
        "errors read as sentences for the problem response"
    );
}

#[test]
fn state_keys_come_from_the_lock_key() {
    let state = state();
    let lock: LockKey = state.lock_key.clone();
    assert_eq!(
        keys::state(&lock, OperationType::MultiDraw),
        "tombola:{summer}:op:op-7"
    );
    assert_eq!(
        keys::state(&lock, OperationType::MultiDraw),
        keys::operation(&state.pool, &state.operation)
    );
    assert_eq!(
        keys::state(&lock, OperationType::Rollback),
        "tombola:{summer}:req:op-7#rollback"
    );
}
