//! The state API's transactions (`POST /api/v1/state/txn`): one branch,
//! one revision, its changes in the feed in order; a refusal naming the
//! operation at fault; `Idempotency-Key` retries; and all-or-nothing under
//! concurrent writers.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};

use super::state::{READER_TOKEN, admin, call, keyed, put, read, start, stats};

async fn txn(app: &TestApp, body: Value) -> Value {
    admin(app, "POST", "/txn", Some(&body))
        .await
        .expect(200)
        .clone()
}

async fn events_after(app: &TestApp, after: u64) -> Vec<Value> {
    let feed = read(app, &format!("/events?after={after}")).await;
    feed.expect(200)["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_txn_runs_one_branch_under_one_revision_with_its_events_in_order() {
    let app = start(&[]).await;
    put(&app, "stock", json!({"value": {"left": 3}})).await;
    let body = json!({
        "compare": [
            {"key": "stock", "value": {"left": 3.0}},
            {"key": "lock", "exists": false},
            {"key": "stock", "version": 0, "result": "greater"},
        ],
        "success": [
            {"op": "put", "key": "stock", "value": {"left": 2}},
            {"op": "put", "key": "orders/1", "value": "a", "metadata": {"by": "x"}},
            {"op": "delete", "key": "absent"},
            {"op": "get", "key": "stock"},
        ],
        "failure": [{"op": "get", "key": "stock"}, {"op": "get", "key": "nothing"}],
    });
    let ran = txn(&app, body.clone()).await;
    assert_eq!(
        ran,
        json!({
            "succeeded": true,
            "revision": 2,
            "results": [
                {"op": "put", "key": "stock", "version": 2, "create_revision": 1, "created": false},
                {"op": "put", "key": "orders/1", "version": 2, "create_revision": 2, "created": true},
                {"op": "delete", "key": "absent", "deleted": false},
                {"op": "get", "key": "stock", "value": {"left": 2}, "version": 2, "create_revision": 1},
            ],
        })
    );
    let events = events_after(&app, 1).await;
    let seen: Vec<(u64, &str, &str)> = events
        .iter()
        .map(|e| {
            let (rev, key, kind) = (&e["revision"], &e["key"], &e["type"]);
            (
                rev.as_u64().unwrap(),
                key.as_str().unwrap(),
                kind.as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(2, "stock", "put"), (2, "orders/1", "put")]);
    assert_eq!(events[0]["old_value"], json!({"left": 3}));
    assert_eq!(events[0]["new_value"], json!({"left": 2}));
    let orders = read(&app, "/orders/1?include_metadata=true").await;
    assert_eq!(orders.expect(200)["metadata"], json!({"by": "x"}));

    // The same transaction again: the value moved, so the failure branch
    // runs, and reading changes nothing.
    let again = txn(&app, body).await;
    assert_eq!(
        again,
        json!({
            "succeeded": false,
            "revision": 2,
            "results": [
                {"op": "get", "key": "stock", "value": {"left": 2}, "version": 2, "create_revision": 1},
                {"op": "get", "key": "nothing"},
            ],
        })
    );
    assert_eq!(stats(&app).await["version"], 2);

    // A branch that deletes and rewrites a key has both changes, in order.
    let rewrite = txn(
        &app,
        json!({"success": [
            {"op": "delete", "key": "stock"},
            {"op": "put", "key": "stock", "value": 0},
            {"op": "delete", "key": "orders/1"},
        ]}),
    )
    .await;
    assert_eq!(rewrite["revision"], 3);
    let events = events_after(&app, 2).await;
    let kinds: Vec<(&Value, &Value)> = events.iter().map(|e| (&e["key"], &e["type"])).collect();
    assert_eq!(
        kinds,
        [
            (&json!("stock"), &json!("delete")),
            (&json!("stock"), &json!("put")),
            (&json!("orders/1"), &json!("delete")),
        ]
    );
    assert!(events.iter().all(|e| e["revision"] == 3));
    // Followed from the revision after, the feed goes on as before.
    put(&app, "after", json!({"value": 1})).await;
    assert_eq!(events_after(&app, 3).await[0]["revision"], 4);
    let keys = read(&app, "/keys").await;
    assert_eq!(keys.expect(200)["keys"], json!(["after", "stock"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_txn_names_the_operation_at_fault_and_writes_nothing() {
    let app = start(&[("max_value_bytes", "64")]).await;
    put(&app, "k", json!({"value": 1})).await;
    let ok_put = json!({"op": "put", "key": "k", "value": 2});
    let cases = [
        (
            json!({"success": [ok_put, {"op": "put", "key": "k"}]}),
            "success[1].value",
        ),
        (
            json!({"success": [ok_put, {"op": "put", "key": "j", "value": "x".repeat(80)}]}),
            "success[1].value",
        ),
        (
            json!({"failure": [{"op": "get", "key": "stats"}]}),
            "failure[0].key",
        ),
        (
            json!({"compare": [{"key": "k", "version": "one"}], "success": [ok_put]}),
            "compare[0].version",
        ),
        (
            json!({"compare": [{"key": "k", "value": 1, "result": "less"}]}),
            "compare[0].result",
        ),
        (
            json!({"success": [{"op": "rename", "key": "k"}]}),
            "success[0].op",
        ),
        (
            json!({"success": [{"op": "put", "key": "k", "value": 1, "metadata": {"ttl": -1}}]}),
            "success[0].metadata.ttl",
        ),
        (
            json!({"success": vec![json!({"op": "get", "key": "k"}); 129]}),
            "body",
        ),
        (json!({"succes": []}), "body.succes"),
    ];
    for (body, field) in cases {
        let error = admin(&app, "POST", "/txn", Some(&body)).await;
        let error = error.expect(400);
        assert_eq!(error["field"], field, "{error}");
        assert!(
            error["message"].as_str().unwrap().starts_with(field),
            "{error}"
        );
    }
    assert_eq!(stats(&app).await["version"], 1);
    assert_eq!(read(&app, "/k").await.expect(200)["value"], 1);
    // Writes take the admin token.
    let empty = json!({});
    let reader = call(&app, "POST", "/txn", Some(READER_TOKEN), &[], Some(&empty)).await;
    assert_eq!(reader.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_txn_retried_under_its_idempotency_key_runs_once() {
    let app = start(&[]).await;
    let body = json!({
        "compare": [{"key": "n", "exists": false}],
        "success": [{"op": "put", "key": "n", "value": 1}],
        "failure": [{"op": "get", "key": "n"}],
    });
    let first = keyed(&app, "POST", "/txn", "txn-1", Some(&body)).await;
    let first = first.expect(200).clone();
    assert_eq!(first["succeeded"], true);
    let retry = keyed(&app, "POST", "/txn", "txn-1", Some(&body)).await;
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    assert_eq!(retry.expect(200), &first, "told exactly what it did");
    assert_eq!(stats(&app).await["version"], 1);
    // Without the key the compare now fails, as it should.
    let plain = txn(&app, body.clone()).await;
    assert_eq!(plain["succeeded"], false);
    let other = json!({"success": [{"op": "delete", "key": "n"}]});
    let reused = keyed(&app, "POST", "/txn", "txn-1", Some(&other)).await;
    assert_eq!(reused.expect(409)["code"], "idempotency-key-reused");
    assert_eq!(read(&app, "/n").await.expect(200)["value"], 1);
}

/// Increments `n` by transaction until it lands: compare the value read,
/// then write it and the `seen/<value>` marker together.
async fn increment_by_txn(app: &TestApp, client: usize) {
    loop {
        let current = read(app, "/n").await.expect(200)["value"].as_u64().unwrap();
        let next = current + 1;
        let ran = txn(
            app,
            json!({
                "compare": [{"key": "n", "value": current}],
                "success": [
                    {"op": "put", "key": "n", "value": next},
                    {"op": "put", "key": format!("seen/{next:03}"), "value": client},
                ],
                "failure": [{"op": "get", "key": "n"}],
            }),
        )
        .await;
        if ran["succeeded"] == true {
            return;
        }
    }
}

/// Increments `n` by compare-and-swap until it lands, writing nothing else.
async fn increment_by_cas(app: &TestApp) {
    loop {
        let current = read(app, "/n").await.expect(200)["value"].as_u64().unwrap();
        let body = json!({"key": "n", "expected": current, "new_value": current + 1});
        let answer = call(app, "POST", "/cas", Some(ADMIN_TOKEN), &[], Some(&body)).await;
        match answer.status {
            200 => return,
            409 => continue,
            other => panic!("cas answered {other}: {}", answer.body),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_txn_raced_by_concurrent_writers_is_all_or_nothing() {
    let app = Arc::new(start(&[]).await);
    put(&app, "n", json!({"value": 0})).await;
    const ROUNDS: usize = 6;
    let mut tasks = Vec::new();
    for client in 0..4 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                increment_by_txn(&app, client).await;
            }
        }));
    }
    for _ in 0..3 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                increment_by_cas(&app).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = 7 * ROUNDS as u64;
    assert_eq!(read(&app, "/n").await.expect(200)["value"], total);
    let seen = read(&app, "/keys?prefix=seen/").await;
    assert_eq!(seen.expect(200)["total"], 4 * ROUNDS as u64);

    // Every transaction's revision holds both of its writes, and the
    // marker names the value it wrote; no revision holds half of one.
    let mut by_revision: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for event in events_after(&app, 1).await {
        by_revision
            .entry(event["revision"].as_u64().unwrap())
            .or_default()
            .push(event);
    }
    assert_eq!(
        by_revision.len() as u64,
        total,
        "one revision per increment"
    );
    let mut txns = 0;
    for (revision, events) in &by_revision {
        let n = &events[0];
        assert_eq!(n["key"], "n", "{revision}: {events:?}");
        match &events[..] {
            [_] => {}
            [_, marker] => {
                let wrote = n["new_value"].as_u64().unwrap();
                assert_eq!(marker["key"], format!("seen/{wrote:03}"), "{revision}");
                txns += 1;
            }
            _ => panic!("revision {revision} holds {events:?}"),
        }
        assert_eq!(
            n["new_value"].as_u64(),
            n["old_value"].as_u64().map(|v| v + 1),
            "{revision}: every increment saw the one before"
        );
    }
    assert_eq!(txns, 4 * ROUNDS);
}
