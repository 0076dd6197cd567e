//! Creating, listing and showing pools; operator authentication.

use serde_json::json;
use tombola_core::pool::keys::{CATALOG_LISTINGS, CATALOG_POOLS};
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

    // The catalog lives in Redis beside the logs, under the core's keys.
    let mut redis = app.redis_connection(0).await.unwrap();
    let order: Vec<String> = redis::cmd("ZRANGE")
        .arg(CATALOG_POOLS)
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(order, ["summer"]);
    let listing: String = redis::cmd("HGET")
        .arg(CATALOG_LISTINGS)
        .arg("summer")
        .query_async(&mut redis)
        .await
        .unwrap();
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing, pools[0]);
}

/// Creations racing each other each list their pool once: the catalog is
/// written by one script, with no read-modify-write to lose an id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creations_are_each_listed_once_in_creation_order() {
    let app = TestApp::start().await.unwrap();
    let creations = (0..24).map(|n| {
        let app = &app;
        async move {
            let config = json!({
                "id": format!("race-{n:02}"), "name": format!("Race {n}"), "mode": "weight",
                "items": [{"id": "a", "weight": 1, "stock": null}]
            });
            app.admin_post("/v1/pools", &config).await.unwrap().status
        }
    });
    let statuses = futures::future::join_all(creations).await;
    assert!(statuses.iter().all(|&s| s == 201), "{statuses:?}");

    let pools = app.get("/v1/pools").await.unwrap().json()["pools"].clone();
    let pools = pools.as_array().unwrap();
    let mut ids: Vec<&str> = pools.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let order: Vec<(u64, &str)> = pools
        .iter()
        .map(|p| (p["created_at"].as_u64().unwrap(), p["id"].as_str().unwrap()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "listed by creation time, then id");
    ids.sort();
    let expected: Vec<String> = (0..24).map(|n| format!("race-{n:02}")).collect();
    assert_eq!(ids, expected);
}

/// A pool whose log was started but whose listing was never written (the
/// create failed between its two steps) is listed by the next create of
/// the same id, from the stored configuration, and that create is a 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_finds_the_log_lists_the_pool_from_its_stored_configuration() {
    let app = TestApp::start().await.unwrap();
    app.create_pool(&summer()).await;
    let mut redis = app.redis_connection(0).await.unwrap();
    let () = redis::pipe()
        .cmd("ZREM")
        .arg(CATALOG_POOLS)
        .arg("summer")
        .ignore()
        .cmd("HDEL")
        .arg(CATALOG_LISTINGS)
        .arg("summer")
        .ignore()
        .query_async(&mut redis)
        .await
        .unwrap();
    let unlisted = app.get("/v1/pools").await.unwrap().json();
    assert_eq!(unlisted["pools"], json!([]));

    let mut retry = summer();
    retry["name"] = json!("Another name");
    let again = app.admin_post("/v1/pools", &retry).await.unwrap();
    assert_eq!(again.status, 409);
    let pools = app.get("/v1/pools").await.unwrap().json()["pools"].clone();
    assert_eq!(pools.as_array().unwrap().len(), 1, "{pools}");
    assert_eq!(pools[0]["id"], "summer");
    assert_eq!(pools[0]["name"], "Summer draw", "the log's configuration");
    assert_eq!(pools[0]["items"], 3);

    // A listing already there is kept as it is.
    let created_at = pools[0]["created_at"].clone();
    assert_eq!(
        app.admin_post("/v1/pools", &retry).await.unwrap().status,
        409
    );
    let pools = app.get("/v1/pools").await.unwrap().json()["pools"].clone();
    assert_eq!(pools[0]["created_at"], created_at);
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
