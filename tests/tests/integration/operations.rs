//! Multi-draw operations: chunks, resume, rollback, corrupted state.

use serde_json::json;
use tombola_tests::app::TestApp;
use tombola_tests::keys;

async fn app_with_budget() -> TestApp {
    let app = TestApp::start_with_variables(&[("chunks_per_call", "2")])
        .await
        .unwrap();
    app.create_pool(&json!({
        "id": "p", "name": "p", "mode": "weight", "snapshot_every": 8,
        "items": [
            {"id": "gold", "weight": 1, "stock": 40},
            {"id": "silver", "weight": 5, "stock": 200},
            {"id": "none", "weight": 20, "stock": null}
        ]
    }))
    .await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_operation_completes_across_calls() {
    let app = app_with_budget().await;
    let ask = json!({"operation_id": "op1", "count": 500, "chunk_size": 50});
    let mut calls = 0;
    let state = loop {
        calls += 1;
        let response = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
        let state = response.json();
        match response.status {
            202 => {
                assert_eq!(state["status"], "in_progress");
                assert_eq!(state["completed"], 100 * calls, "two chunks of 50 per call");
                let saved = app.get("/v1/pools/p/operations/op1").await.unwrap();
                assert_eq!(saved.status, 200);
                assert_eq!(saved.json()["completed"], state["completed"]);
            }
            200 => break state,
            other => panic!("{other}: {state}"),
        }
        assert!(calls < 10, "the operation must finish");
    };
    assert_eq!(calls, 5);
    assert_eq!(state["status"], "completed");
    assert_eq!(state["completed"], 500);
    let results = state["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    let drawn: usize = results
        .iter()
        .map(|r| r["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(drawn, 500, "an unlimited item means no draw fails");

    // Calling again answers the completed state and draws nothing more.
    let again = app.post_json("/v1/pools/p/operations", &ask).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["results"], state["results"]);
    let other = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op1", "count": 10, "chunk_size": 50}),
        )
        .await
        .unwrap();
    assert_eq!(other.status, 409);

    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_stock_exactly_and_is_idempotent() {
    let app = app_with_budget().await;
    let before = app.remaining("p").await;
    let partial = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op2", "count": 300, "chunk_size": 40}),
        )
        .await
        .unwrap();
    assert_eq!(partial.status, 202);
    assert_eq!(partial.json()["completed"], 80);
    assert_ne!(
        app.remaining("p").await,
        before,
        "the chunks drew limited items"
    );

    let rolled = app
        .post_json("/v1/pools/p/operations/op2/rollback", &json!({}))
        .await
        .unwrap();
    rolled.assert_status(200);
    let rolled = rolled.json();
    assert_eq!(rolled["status"], "rolled_back");
    assert_eq!(rolled["outcome"]["kind"], "return");
    assert_eq!(app.remaining("p").await, before, "every drawn unit is back");

    let state = app.get("/v1/pools/p/operations/op2").await.unwrap();
    state.assert_status(200);
    let state = state.json();
    assert_eq!(state["status"], "rolled_back", "the state is kept, marked");
    assert_eq!(state["rollback_seq"], rolled["seq"]);
    let log_before = app.get("/v1/pools/p/log").await.unwrap().json()["last_seq"].clone();
    let restarted = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op2", "count": 300, "chunk_size": 40}),
        )
        .await
        .unwrap();
    restarted.assert_status(409);
    assert_eq!(restarted.json()["rollback_seq"], rolled["seq"]);
    assert_eq!(
        app.get("/v1/pools/p/log").await.unwrap().json()["last_seq"],
        log_before,
        "a rolled-back operation draws nothing more"
    );
    assert_eq!(app.remaining("p").await, before);
    let twice = app
        .post_json("/v1/pools/p/operations/op2/rollback", &json!({}))
        .await
        .unwrap();
    assert_eq!(twice.status, 200);
    assert_eq!(twice.json()["replay"], true);
    assert_eq!(twice.json()["seq"], rolled["seq"]);
    assert_eq!(
        app.remaining("p").await,
        before,
        "a second rollback returns nothing more"
    );

    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_expired_and_corrupted_states() {
    let app = app_with_budget().await;
    assert_eq!(
        app.get("/v1/pools/p/operations/none").await.unwrap().status,
        404
    );
    assert_eq!(
        app.post_json("/v1/pools/p/operations/none/rollback", &json!({}))
            .await
            .unwrap()
            .status,
        404
    );
    let started = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op3", "count": 100, "chunk_size": 10}),
        )
        .await
        .unwrap();
    assert_eq!(started.status, 202);
    let mut redis = app.redis_connection(0).await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(keys::operation("p", "op3"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        (3500..=3600).contains(&ttl),
        "saved with the default TTL: {ttl}"
    );

    let saved: String = redis::cmd("GET")
        .arg(keys::operation("p", "op3"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(&saved).unwrap();
    bad["completed"] = json!(99);
    let _: () = redis::cmd("SET")
        .arg(keys::operation("p", "op3"))
        .arg(bad.to_string())
        .query_async(&mut redis)
        .await
        .unwrap();
    for response in [
        app.get("/v1/pools/p/operations/op3").await.unwrap(),
        app.post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op3", "count": 100, "chunk_size": 10}),
        )
        .await
        .unwrap(),
        app.post_json("/v1/pools/p/operations/op3/rollback", &json!({}))
            .await
            .unwrap(),
    ] {
        response.assert_status(422);
        assert_eq!(response.json()["title"], "DrawStateCorrupted");
    }
    let _: () = redis::cmd("SET")
        .arg(keys::operation("p", "op3"))
        .arg("{not json")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        app.get("/v1/pools/p/operations/op3").await.unwrap().status,
        422
    );

    // Expired: resuming starts over, and the chunks already drawn are
    // answered from their records rather than drawn again.
    let _: () = redis::cmd("DEL")
        .arg(keys::operation("p", "op3"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let log_before: usize = redis::cmd("LLEN")
        .arg(keys::log("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let resumed = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op3", "count": 100, "chunk_size": 10}),
        )
        .await
        .unwrap();
    assert_eq!(resumed.status, 202);
    assert_eq!(resumed.json()["completed"], 20);
    let log_after: usize = redis::cmd("LLEN")
        .arg(keys::log("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        log_after, log_before,
        "chunks 0 and 1 were not appended again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_input_is_checked() {
    let app = app_with_budget().await;
    for (body, field) in [
        (json!({"operation_id": "o", "count": 0}), "count"),
        (
            json!({"operation_id": "o", "count": 10, "chunk_size": 0}),
            "chunk_size",
        ),
        (
            json!({"operation_id": "o", "count": 10, "chunk_size": 1001}),
            "chunk_size",
        ),
        (json!({"operation_id": "o#1", "count": 10}), "operation_id"),
    ] {
        let response = app
            .post_json("/v1/pools/p/operations", &body)
            .await
            .unwrap();
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.json()["field"], field, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pool_stops_an_operation_and_an_empty_rollback_is_final() {
    let app = app_with_budget().await;
    app.admin_post("/v1/pools/p/close", &json!({}))
        .await
        .unwrap()
        .assert_status(200);
    let before = last_seq(&app).await;

    let stopped = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "late", "count": 100, "chunk_size": 10}),
        )
        .await
        .unwrap();
    stopped.assert_status(409);
    let stopped = stopped.json();
    assert_eq!(stopped["type"], "https://tombola.dev/problems/pool-closed");
    assert_eq!(stopped["operation"]["completed"], 0, "{stopped}");
    assert_eq!(stopped["operation"]["results"], json!([]));
    assert_eq!(
        last_seq(&app).await,
        before + 1,
        "one failed chunk is logged, not ten"
    );

    let rolled = app
        .post_json("/v1/pools/p/operations/late/rollback", &json!({}))
        .await
        .unwrap();
    rolled.assert_status(200);
    assert_eq!(
        rolled.json()["outcome"],
        json!({"kind": "return", "returned": 0}),
        "nothing to give back"
    );
    let state = app.get("/v1/pools/p/operations/late").await.unwrap();
    state.assert_status(200);
    assert_eq!(state.json()["status"], "rolled_back");
    let again = app
        .post_json("/v1/pools/p/operations/late/rollback", &json!({}))
        .await
        .unwrap();
    again.assert_status(200);
    assert_eq!(again.json()["replay"], true);

    let resumed = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "late", "count": 100, "chunk_size": 10}),
        )
        .await
        .unwrap();
    resumed.assert_status(409);
    assert_eq!(
        resumed.json()["type"],
        "https://tombola.dev/problems/operation-rolled-back"
    );
    assert_eq!(
        last_seq(&app).await,
        before + 2,
        "the failed chunk and the RETURN, nothing after"
    );
}

async fn last_seq(app: &TestApp) -> u64 {
    let log = app.get("/v1/pools/p/log").await.unwrap().json();
    log["last_seq"].as_u64().unwrap()
}
