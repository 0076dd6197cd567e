//! Creating, listing and showing pools; operator authentication.

use serde_json::json;
use tombola_tests::app::TestApp;
use tombola_tests::keys;

fn summer() -> serde_json::Value {
    json!({
        "id": "summer", "name": "Summer draw", "mode": "stock",
        "items": [
            {"id": "gold", "stock": 2},
            {"id": "silver", "stock": 6},
            {"id": "none", "weight": 8, "stock": null}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_and_show() {
    let app = TestApp::start().await.unwrap();
    let created = app.create_pool(&summer()).await;
    assert_eq!(created["id"], "summer");
    assert_eq!(created["seq"], 1);
    assert_eq!(created["closed"], false);

    let list = app.get("/v1/pools").await.unwrap();
    assert_eq!(list.status, 200);
    let pools = list.json()["pools"].clone();
    assert_eq!(pools.as_array().unwrap().len(), 1);
    assert_eq!(pools[0]["id"], "summer");
    assert_eq!(pools[0]["name"], "Summer draw");
    assert_eq!(pools[0]["items"], 3);

    let shown = app.get("/v1/pools/summer").await.unwrap();
    assert_eq!(shown.status, 200);
    let pool = shown.json();
    assert_eq!(pool["mode"], "stock");
    assert_eq!(pool["seq"], 1);
    let items = pool["items"].as_array().unwrap();
    assert_eq!(items[0]["remaining"], 2);
    assert_eq!(items[2]["remaining"], serde_json::Value::Null);
    // Stock mode: gold holds 2 tickets, silver 6, the unlimited item 8.
    assert_eq!(items[0]["odds"]["numerator"], 2);
    assert_eq!(items[0]["odds"]["denominator"], 16);
    assert_eq!(items[2]["odds"]["numerator"], 8);

    // The catalog lives in the key-value store's database, not the logs'.
    let mut kv = app.redis_connection(1).await.unwrap();
    let index: String = redis::cmd("GET")
        .arg("tombola:catalog")
        .query_async(&mut kv)
        .await
        .unwrap();
    assert_eq!(index, r#"["summer"]"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_invalid_pools_are_refused_and_write_nothing() {
    let app = TestApp::start().await.unwrap();
    app.create_pool(&summer()).await;
    let again = app.admin_post("/v1/pools", &summer()).await.unwrap();
    assert_eq!(again.status, 409);
    assert_eq!(
        again.header("content-type"),
        Some("application/problem+json")
    );

    let cases = [
        (
            json!({"id": "bad id", "name": "x", "mode": "stock", "items": [{"id": "a", "stock": 1}]}),
            "id",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": []}),
            "items",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": [{"id": "a", "stock": 1}, {"id": "a", "stock": 1}]}),
            "items[1].id",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": [{"id": "a", "weight": 0, "stock": 1}]}),
            "items[0].weight",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": [{"id": "a"}]}),
            "items[0].stock",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": [{"id": "a", "stock": 1}], "color": "red"}),
            "body",
        ),
        (
            json!({"id": "p", "name": "x", "mode": "stock", "items": [{"id": "a", "stock": -1}]}),
            "items[0].stock",
        ),
    ];
    for (config, field) in cases {
        let response = app.admin_post("/v1/pools", &config).await.unwrap();
        assert_eq!(
            response.status,
            400,
            "{config}: {}",
            String::from_utf8_lossy(&response.body)
        );
        let problem = response.json();
        let got = problem["field"].as_str().unwrap_or_default().to_owned();
        assert!(
            got == field || (field == "body" && !got.is_empty()),
            "{config}: field {got:?}, expected {field:?}: {problem}"
        );
    }
    let mut redis = app.redis_connection(0).await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(keys::all("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        keys.is_empty(),
        "nothing written for refused pools: {keys:?}"
    );
    assert_eq!(
        app.get("/v1/pools").await.unwrap().json()["pools"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_routes_need_the_admin_token() {
    let app = TestApp::start().await.unwrap();
    let body = serde_json::to_vec(&summer()).unwrap();
    let none = app
        .request("POST", "/v1/pools", &[], body.clone())
        .await
        .unwrap();
    assert_eq!(none.status, 401);
    let wrong = app
        .request(
            "POST",
            "/v1/pools",
            &[("authorization", "Bearer nope")],
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 403);
    assert_eq!(app.get("/v1/pools/summer").await.unwrap().status, 404);
    app.create_pool(&summer()).await;
    for path in ["/v1/pools/summer/close", "/v1/pools/summer/recover"] {
        assert_eq!(
            app.post_json(path, &json!({})).await.unwrap().status,
            401,
            "{path}"
        );
    }
    assert_eq!(app.get("/v1/pools/summer/audit").await.unwrap().status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_pools() {
    let app = TestApp::start().await.unwrap();
    let missing = app.get("/v1/pools/nope").await.unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["type"],
        "https://tombola.dev/problems/no-such-pool"
    );
    let bad = app.get("/v1/pools/a%7Bb").await.unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["field"], "pool");
    let draw = app
        .post_json("/v1/pools/nope/draws", &json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert_eq!(draw.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_served() {
    let app = TestApp::start().await.unwrap();
    let response = app.get("/v1/openapi.json").await.unwrap();
    assert_eq!(response.status, 200);
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/pools/{pool}/draws"]["post"].is_object());
    let ping = app.get("/v1/ping").await.unwrap();
    ping.assert_status(200);
    assert_eq!(ping.json(), serde_json::json!({"pong": true}));
}
