//! Draws: outcomes, exactly-once retries, bad input, concurrency.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use tombola_tests::app::TestApp;
use tombola_tests::keys;

async fn pool(app: &TestApp, id: &str, items: serde_json::Value) {
    app.create_pool(&json!({"id": id, "name": id, "mode": "stock", "items": items}))
        .await;
}

async fn log_len(app: &TestApp, pool: &str) -> usize {
    let mut redis = app.redis_connection(0).await.unwrap();
    redis::cmd("LLEN")
        .arg(keys::log(pool))
        .query_async(&mut redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draws_are_logged_and_retries_answer_identically() {
    let app = TestApp::start().await.unwrap();
    pool(
        &app,
        "p",
        json!([{"id": "a", "stock": 3}, {"id": "b", "stock": 2}]),
    )
    .await;

    let first = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r1", "count": 2}),
        )
        .await
        .unwrap();
    first.assert_status(200);
    let first = first.json();
    assert_eq!(first["seq"], 2);
    assert_eq!(first["drawn"].as_array().unwrap().len(), 2);
    assert_eq!(first["failed"], 0);
    assert_eq!(first["replay"], false);

    // The entry is in the log, as the line the core encodes.
    let mut redis = app.redis_connection(0).await.unwrap();
    let line: String = redis::cmd("LINDEX")
        .arg(keys::log("p"))
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(line.starts_with("DRAW/1 r1 2 "), "{line}");

    let retry = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r1", "count": 2}),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(retry["replay"], true);
    assert_eq!(retry["drawn"], first["drawn"]);
    assert_eq!(retry["seq"], first["seq"]);
    assert_eq!(log_len(&app, "p").await, 2, "a retry appends nothing");

    let reused = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r1", "count": 3}),
        )
        .await
        .unwrap();
    assert_eq!(reused.status, 409);
    assert_eq!(reused.json()["seq"], 2);

    // Five units in all: a draw of 5 more fills 3 and fails 2.
    let rest = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r2", "count": 5}),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(rest["drawn"].as_array().unwrap().len(), 3);
    assert_eq!(rest["failed"], 2);
    assert_eq!(rest["reason"], "out_of_stock");
    let remaining = app.remaining("p").await;
    assert_eq!(remaining["a"], Some(0));
    assert_eq!(remaining["b"], Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_or_nothing_draws_nothing_when_short() {
    let app = TestApp::start().await.unwrap();
    pool(&app, "p", json!([{"id": "a", "stock": 3}])).await;
    let short = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r1", "count": 4, "all_or_nothing": true}),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(short["drawn"], json!([]));
    assert_eq!(short["failed"], 4);
    assert_eq!(app.remaining("p").await["a"], Some(3));
    let enough = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r2", "count": 3, "all_or_nothing": true}),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(enough["drawn"], json!(["a", "a", "a"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_400_with_the_field_and_writes_nothing() {
    let app = TestApp::start().await.unwrap();
    pool(&app, "p", json!([{"id": "a", "stock": 3}])).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (br#"{"request_id": "r1", "count": 0}"#.to_vec(), "count"),
        (br#"{"request_id": "r1", "count": 1001}"#.to_vec(), "count"),
        (br#"{"request_id": "r1", "count": -5}"#.to_vec(), "count"),
        (br#"{"request_id": "r1", "count": 1.5}"#.to_vec(), "count"),
        (br#"{"request_id": "r1", "count": 1e10}"#.to_vec(), "count"),
        (br#"{"request_id": "r1", "count": "1"}"#.to_vec(), "count"),
        (br#"{"request_id": "r 1"}"#.to_vec(), "request_id"),
        (br#"{"request_id": "r*"}"#.to_vec(), "request_id"),
        (
            format!(r#"{{"request_id": "{}"}}"#, "x".repeat(65)).into_bytes(),
            "request_id",
        ),
        (br#"{"count": 1}"#.to_vec(), "request_id"),
        (br#"{"request_id": "r1", "colour": 1}"#.to_vec(), "body"),
        (b"{not json".to_vec(), "body"),
    ];
    for (body, field) in cases {
        let response = app
            .request(
                "POST",
                "/v1/pools/p/draws",
                &[("content-type", "application/json")],
                body.clone(),
            )
            .await
            .unwrap();
        assert_eq!(
            response.status,
            400,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        let problem = response.json();
        let got = problem["field"].as_str().unwrap_or_default();
        assert!(
            got == field || (field == "body" && !got.is_empty()),
            "field {got:?}, expected {field:?}: {problem}"
        );
    }
    assert_eq!(log_len(&app, "p").await, 1, "only the CREATE entry");

    // JSON Schema, and JavaScript, count 2.0 as the integer 2.
    let whole = app
        .request(
            "POST",
            "/v1/pools/p/draws",
            &[("content-type", "application/json")],
            br#"{"request_id": "r1", "count": 2.0}"#.to_vec(),
        )
        .await
        .unwrap();
    whole.assert_status(200);
    assert_eq!(whole.json()["drawn"], json!(["a", "a"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_pools_refuse_draws() {
    let app = TestApp::start().await.unwrap();
    pool(&app, "p", json!([{"id": "a", "stock": 3}])).await;
    let closed = app
        .admin_post("/v1/pools/p/close", &json!({}))
        .await
        .unwrap();
    closed.assert_status(200);
    assert_eq!(closed.json()["outcome"]["kind"], "close");
    let again = app
        .admin_post("/v1/pools/p/close", &json!({}))
        .await
        .unwrap();
    assert_eq!(again.status, 409);
    let draw = app
        .post_json("/v1/pools/p/draws", &json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert_eq!(draw.status, 409);
    assert_eq!(
        draw.json()["type"],
        "https://tombola.dev/problems/pool-closed"
    );
    assert_eq!(app.remaining("p").await["a"], Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_and_service_resumes() {
    let mut app = TestApp::start().await.unwrap();
    pool(&app, "p", json!([{"id": "a", "stock": 10}])).await;
    app.redis.stop();
    for id in ["r1", "r2"] {
        let down = app
            .post_json("/v1/pools/p/draws", &json!({"request_id": id}))
            .await
            .unwrap();
        down.assert_status(503);
        assert_eq!(down.header("retry-after"), Some("1"));
        assert_eq!(
            down.json()["type"],
            "https://tombola.dev/problems/redis-unavailable"
        );
    }
    app.redis.start_again().unwrap();
    // The Redis here does not persist: the pool is gone, and that is what
    // a fresh Redis says. Nothing hangs and the service answers again.
    let back = app
        .post_json("/v1/pools/p/draws", &json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert_eq!(back.status, 404);
    pool(&app, "p", json!([{"id": "a", "stock": 10}])).await;
    let ok = app
        .post_json("/v1/pools/p/draws", &json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
}

/// 32 clients draw from 1 000 units until none are left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_draws_never_oversell() {
    let app = Arc::new(TestApp::start().await.unwrap());
    let stock = [("a", 100u64), ("b", 300), ("c", 600)];
    let items: Vec<_> = stock
        .iter()
        .map(|(id, n)| json!({"id": id, "stock": n}))
        .collect();
    app.create_pool(&json!({"id": "rush", "name": "Rush", "mode": "stock", "snapshot_every": 16, "items": items}))
        .await;

    let mut clients = Vec::new();
    for client in 0..32 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0.. {
                let request_id = format!("c{client}-{n}");
                let count = 1 + (client + n) % 7;
                let response = app
                    .post_json(
                        "/v1/pools/rush/draws",
                        &json!({"request_id": request_id, "count": count}),
                    )
                    .await
                    .unwrap();
                response.assert_status(200);
                let body = response.json();
                let drawn = body["drawn"].as_array().unwrap().len();
                answers.push((request_id, count, body));
                if drawn == 0 {
                    break;
                }
            }
            answers
        }));
    }
    let mut handed_out: BTreeMap<String, u64> = BTreeMap::new();
    let mut seqs = std::collections::BTreeSet::new();
    let mut all = Vec::new();
    for client in clients {
        for (request_id, count, body) in client.await.unwrap() {
            assert!(
                seqs.insert(body["seq"].as_u64().unwrap()),
                "every request has its own entry"
            );
            for item in body["drawn"].as_array().unwrap() {
                *handed_out
                    .entry(item.as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            all.push((request_id, count, body));
        }
    }
    let total: u64 = handed_out.values().sum();
    assert_eq!(total, 1000, "{handed_out:?}");
    for (id, n) in stock {
        assert_eq!(handed_out[id], n, "{id} handed out exactly its stock");
    }

    // Every retry gets the identical answer.
    for (request_id, count, body) in all.iter().step_by(7) {
        let retry = app
            .post_json(
                "/v1/pools/rush/draws",
                &json!({"request_id": request_id, "count": count}),
            )
            .await
            .unwrap()
            .json();
        assert_eq!(retry["replay"], true);
        assert_eq!(retry["drawn"], body["drawn"]);
        assert_eq!(retry["seq"], body["seq"]);
    }

    let audit = app.admin_get("/v1/pools/rush/audit").await.unwrap();
    audit.assert_status(200);
    let audit = audit.json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
    assert_eq!(
        audit["outcomes_checked"].as_u64().unwrap(),
        all.len() as u64
    );
}
