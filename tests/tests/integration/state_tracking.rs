//! Request tracking and sessions (`track_requests`): both components
//! record each request and its completion, return its `X-Correlation-Id`,
//! refresh the session of the user it names, keep no secret, and let the
//! records expire on time.

use std::time::Duration;

use serde_json::{Value, json};
use tombola_core::state::tracking::{completion_key, request_key, session_key};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};

use super::state::{BASE, start, wait_until};

async fn stored(app: &TestApp, key: &str) -> Option<Value> {
    let mut redis = app.redis_connection(0).await.unwrap();
    let text: Option<String> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut redis)
        .await
        .unwrap();
    text.map(|t| serde_json::from_str(&t).unwrap())
}

async fn ttl(app: &TestApp, key: &str) -> i64 {
    let mut redis = app.redis_connection(0).await.unwrap();
    redis::cmd("TTL")
        .arg(key)
        .query_async(&mut redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_requests_are_recorded_without_secrets_and_expire_on_time() {
    let app = start(&[
        ("track_requests", "true"),
        ("request_state_ttl_secs", "2"),
        ("session_state_ttl_secs", "60"),
    ])
    .await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let put = app
        .request(
            "PUT",
            &format!("{BASE}/tracked"),
            &[
                ("authorization", &auth),
                ("x-correlation-id", "order-42"),
                ("x-user-id", "u-7"),
                ("x-source", "checkout"),
                ("idempotency-key", "idem-1"),
                ("cookie", "session=secret"),
            ],
            serde_json::to_vec(&json!({"value": 1})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(put.status, 201);
    assert_eq!(put.header("x-correlation-id"), Some("order-42"));

    let record = stored(&app, &request_key("order-42")).await.unwrap();
    assert_eq!(record["method"], "PUT");
    assert_eq!(record["path"], "/api/v1/state/tracked");
    assert_eq!(record["headers"]["x-source"], "checkout");
    assert_eq!(record["headers"]["x-user-id"], "u-7");
    let text = serde_json::to_string(&record).unwrap();
    for secret in [ADMIN_TOKEN, "secret", "idem-1"] {
        assert!(!text.contains(secret), "{secret} recorded: {text}");
    }
    let done = stored(&app, &completion_key("order-42")).await.unwrap();
    assert_eq!(done["status"], 201);
    let started = record["start_time"].as_u64().unwrap();
    let ended = done["end_time"].as_u64().unwrap();
    assert_eq!(done["duration_ms"].as_u64(), Some(ended - started));
    let session = stored(&app, &session_key("u-7")).await.unwrap();
    assert_eq!(
        (
            &session["correlation_id"],
            &session["active"],
            &session["last_request"]
        ),
        (&json!("order-42"), &json!(true), &json!(ended))
    );
    assert!((1..=2).contains(&ttl(&app, &request_key("order-42")).await));
    assert!((58..=60).contains(&ttl(&app, &session_key("u-7")).await));

    // The draw component too, with an id generated when none (or a bad
    // one) is sent; a request naming no user touches no session.
    let drawn = app
        .request(
            "GET",
            "/v1/pools",
            &[("x-correlation-id", "not valid!")],
            "",
        )
        .await
        .unwrap();
    assert_eq!(drawn.status, 200);
    let generated = drawn.header("x-correlation-id").unwrap().to_owned();
    assert_eq!(generated.len(), 32, "{generated}");
    let record = stored(&app, &request_key(&generated)).await.unwrap();
    assert_eq!(
        (&record["method"], &record["path"]),
        (&json!("GET"), &json!("/v1/pools"))
    );
    let done = stored(&app, &completion_key(&generated)).await.unwrap();
    assert_eq!(done["status"], 200);

    wait_until(
        Duration::from_secs(5),
        "the request records expire",
        || async {
            stored(&app, &request_key("order-42")).await.is_none()
                && stored(&app, &completion_key("order-42")).await.is_none()
        },
    )
    .await;
    assert!(
        stored(&app, &session_key("u-7")).await.is_some(),
        "the session outlives them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_requests_record_nothing() {
    let app = start(&[]).await;
    let answer = app
        .request("GET", "/v1/pools", &[("x-correlation-id", "c-1")], "")
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-correlation-id"), None);
    assert_eq!(stored(&app, &request_key("c-1")).await, None);
}
