//! What the log decides, seen from outside: a rollback racing resumes of
//! its operation, client ids that cannot occupy an operation's chunks, a
//! closed pool stopping any operation, a pool of 100 000 items, and the
//! audit naming where conservation breaks.

use std::collections::BTreeMap;

use serde_json::json;
use tombola_core::pool::snapshot::FORMAT_VERSION_COLUMNS;
use tombola_core::pool::{PoolId, keys};
use tombola_tests::app::TestApp;

const UNITS: u64 = 5000;

async fn app_with_stock() -> TestApp {
    let app = TestApp::start_with_variables(&[("chunks_per_call", "8")])
        .await
        .unwrap();
    app.create_pool(&json!({
        "id": "p", "name": "p", "mode": "stock", "snapshot_every": 16,
        "items": [{"id": "a", "stock": UNITS}]
    }))
    .await;
    app
}

fn units(remaining: &BTreeMap<String, Option<u64>>) -> u64 {
    remaining["a"].expect("a is limited")
}

/// Units held by client draws, from the log's outcomes.
async fn drawn_by_clients(app: &TestApp) -> u64 {
    let mut after = 0;
    let mut drawn = 0;
    loop {
        let page = app
            .get(&format!("/v1/pools/p/log?after={after}&limit=1000"))
            .await
            .unwrap()
            .json();
        for entry in page["entries"].as_array().unwrap() {
            if entry["line"].as_str().unwrap().starts_with("DRAW/1 ") {
                drawn += entry["outcome"]["drawn"].as_array().unwrap().len() as u64;
            }
        }
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => return drawn,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollback_racing_resumes_gives_back_exactly_what_was_drawn() {
    let app = app_with_stock().await;
    for round in 0..20 {
        let op = format!("op-{round}");
        let ask = json!({"operation_id": op, "count": 2000, "chunk_size": 10});
        let first = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
        first.assert_status(202);
        assert_eq!(first.json()["completed"], 80);

        // Four clients resend the same body four times each while one
        // client rolls the operation back.
        let resumes = (0..4).map(|_| {
            let (app, ask) = (&app, ask.clone());
            async move {
                let mut statuses = Vec::new();
                for _ in 0..4 {
                    let answer = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
                    if answer.status == 409 {
                        assert_eq!(
                            answer.json()["type"],
                            "https://tombola.dev/problems/operation-rolled-back",
                            "{}",
                            answer.json()
                        );
                    }
                    statuses.push(answer.status);
                }
                statuses
            }
        });
        let rollback = async {
            app.post_json(&format!("/v1/pools/p/operations/{op}/rollback"), &json!({}))
                .await
                .unwrap()
        };
        let (statuses, rolled) = tokio::join!(futures::future::join_all(resumes), rollback);
        rolled.assert_status(200);
        let rolled = rolled.json();
        for status in statuses.into_iter().flatten() {
            assert!(matches!(status, 202 | 409), "round {round}: {status}");
        }
        // After the rollback every resume is refused.
        let late = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
        late.assert_status(409);

        // Exact conservation: every unit the operation drew is back.
        let remaining = units(&app.remaining("p").await);
        let clients = drawn_by_clients(&app).await;
        assert_eq!(remaining + clients, UNITS, "round {round}: {rolled}");

        // A second rollback answers the first one's outcome.
        let twice = app
            .post_json(&format!("/v1/pools/p/operations/{op}/rollback"), &json!({}))
            .await
            .unwrap()
            .json();
        assert_eq!(twice["replay"], true);
        assert_eq!(twice["seq"], rolled["seq"]);
        let state = app
            .get(&format!("/v1/pools/p/operations/{op}"))
            .await
            .unwrap();
        state.assert_status(200);
        assert_eq!(state.json()["status"], "rolled_back");
        assert_eq!(state.json()["rollback_seq"], rolled["seq"]);

        // A client draw between rounds, so clients hold units too.
        app.post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": format!("r-{round}"), "count": 3}),
        )
        .await
        .unwrap()
        .assert_status(200);
    }
    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
    assert_eq!(audit["conserved"], true, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_request_ids_cannot_occupy_an_operations_chunks() {
    let app = app_with_stock().await;
    for id in ["cop#2", "cop#rollback", "#1"] {
        let refused = app
            .post_json("/v1/pools/p/draws", &json!({"request_id": id, "count": 10}))
            .await
            .unwrap();
        refused.assert_status(400);
        assert_eq!(refused.json()["field"], "request_id");
    }
    let ask = json!({"operation_id": "cop", "count": 30, "chunk_size": 10});
    let done = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
    done.assert_status(200);
    assert_eq!(done.json()["completed"], 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pool_stops_a_one_chunk_operation_too() {
    let app = app_with_stock().await;
    app.admin_post("/v1/pools/p/close", &json!({}))
        .await
        .unwrap()
        .assert_status(200);
    for _ in 0..2 {
        let stopped = app
            .post_json(
                "/v1/pools/p/operations",
                &json!({"operation_id": "x", "count": 5}),
            )
            .await
            .unwrap();
        stopped.assert_status(409);
        assert_eq!(
            stopped.json()["type"],
            "https://tombola.dev/problems/pool-closed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_100_000_items_is_created_and_drawn_from() {
    let app = TestApp::start().await.unwrap();
    let items: Vec<_> = (0..100_000)
        .map(|n| json!({"id": format!("item-{n}"), "weight": 1 + n % 7, "stock": 3}))
        .collect();
    let created = app
        .admin_post(
            "/v1/pools",
            &json!({"id": "big", "name": "Big", "mode": "weight", "items": items}),
        )
        .await
        .unwrap();
    created.assert_status(201);
    assert_eq!(created.json()["items"].as_array().unwrap().len(), 100_000);
    let drawn = app
        .post_json(
            "/v1/pools/big/draws",
            &json!({"request_id": "r-1", "count": 50}),
        )
        .await
        .unwrap();
    drawn.assert_status(200);
    assert_eq!(drawn.json()["drawn"].as_array().unwrap().len(), 50);
}

/// A pool of 1 000 items is snapshotted in columns (format version 4): its
/// draws, resumed from those snapshots request after request, leave the
/// stocks the log's outcomes say, and the audit, which replays the log from
/// its start and checks every snapshot, finds it clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_pool_resumes_from_snapshots_in_columns() {
    let app = TestApp::start().await.unwrap();
    let stock = |n: u64| (n % 2 == 1).then_some(4 + n % 5);
    let items: Vec<_> = (0..1_000u64)
        .map(|n| json!({"id": format!("item-{n}"), "weight": 1 + n % 7, "stock": stock(n)}))
        .collect();
    app.create_pool(&json!({
        "id": "wide", "name": "Wide", "mode": "stock", "snapshot_every": 4, "items": items
    }))
    .await;
    let mut drawn: BTreeMap<String, u64> = BTreeMap::new();
    for request in 0..20 {
        let answer = app
            .post_json(
                "/v1/pools/wide/draws",
                &json!({"request_id": format!("r-{request}"), "count": 9}),
            )
            .await
            .unwrap();
        answer.assert_status(200);
        for item in answer.json()["drawn"].as_array().unwrap() {
            *drawn.entry(item.as_str().unwrap().to_owned()).or_default() += 1;
        }
        if request == 10 {
            app.admin_post(
                "/v1/pools/wide/restock",
                &json!({"item": "item-1", "quantity": 3, "request_id": "restock-1"}),
            )
            .await
            .unwrap()
            .assert_status(200);
        }
    }
    let pool = PoolId::new("wide").unwrap();
    let mut redis = app.redis_connection(0).await.unwrap();
    let snapshot: Vec<u8> = redis::cmd("GET")
        .arg(keys::snap(&pool))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(snapshot[4], FORMAT_VERSION_COLUMNS);

    let state = app.get("/v1/pools/wide").await.unwrap();
    state.assert_status(200);
    for (n, item) in state.json()["items"].as_array().unwrap().iter().enumerate() {
        let id = item["id"].as_str().unwrap();
        let expected = stock(n as u64).map(|units| {
            let restocked = if id == "item-1" { 3 } else { 0 };
            units + restocked - drawn.get(id).copied().unwrap_or(0)
        });
        assert_eq!(item["remaining"], json!(expected), "item {id}");
    }
    let audit = app.admin_get("/v1/pools/wide/audit").await.unwrap();
    audit.assert_status(200);
    let audit = audit.json();
    assert_eq!(audit["conserved"], true, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_names_a_deleted_rollback() {
    let app = app_with_stock().await;
    let ask = json!({"operation_id": "op", "count": 200, "chunk_size": 10});
    app.post_json("/v1/pools/p/operations", &ask)
        .await
        .unwrap()
        .assert_status(202);
    let rolled = app
        .post_json("/v1/pools/p/operations/op/rollback", &json!({}))
        .await
        .unwrap()
        .json();
    let seq = rolled["seq"].as_u64().unwrap();
    app.post_json(
        "/v1/pools/p/draws",
        &json!({"request_id": "after", "count": 2}),
    )
    .await
    .unwrap()
    .assert_status(200);
    let clean = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(clean["conserved"], true, "{clean}");

    // Delete the RETURN line from the log, as damage would.
    let pool = PoolId::new("p").unwrap();
    let mut redis = app.redis_connection(0).await.unwrap();
    let line: String = redis::cmd("LINDEX")
        .arg(keys::log(&pool))
        .arg(seq - 1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(line.starts_with("RETURN/2 op "), "{line}");
    let removed: u64 = redis::cmd("LREM")
        .arg(keys::log(&pool))
        .arg(1)
        .arg(&line)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let _: () = redis::cmd("DEL")
        .arg(keys::snap(&pool))
        .query_async(&mut redis)
        .await
        .unwrap();

    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(audit["conserved"], false, "{audit}");
    assert_eq!(audit["conservation_break"]["seq"], seq, "{audit}");
}
