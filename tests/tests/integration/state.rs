//! The state API (`/api/v1/state`): every route over HTTP against the
//! compiled component, CAS under contention, list-then-follow, snapshots,
//! ttl and compaction, the OpenAPI document and 405s with `Allow`,
//! `Idempotency-Key` retries, a frozen Redis, and events of earlier builds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tombola_core::state::EXPIRED_VALUE_GRACE_SECS;
use tombola_tests::app::{ADMIN_TOKEN, TestApp};
use tombola_tests::redis_server::RedisServer;

pub(super) const READER_TOKEN: &str = "test-reader-token";
pub(super) const BASE: &str = "/api/v1/state";

pub(super) async fn start(variables: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("reader_token", READER_TOKEN)];
    all.extend_from_slice(variables);
    TestApp::start_with_variables(&all).await.unwrap()
}

/// One answer: status, the envelope's `data` or `error`, and headers.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    retry_after: Option<String>,
    allow: Option<String>,
    pub(super) replayed: Option<String>,
}

impl Answer {
    #[track_caller]
    pub(super) fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        if status < 400 {
            assert_eq!(self.body["success"], true, "{}", self.body);
            &self.body["data"]
        } else {
            assert_eq!(self.body["success"], false, "{}", self.body);
            assert_eq!(self.body["error"]["status"], status, "{}", self.body);
            &self.body["error"]
        }
    }
}

pub(super) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(auth) = &auth {
        all.push(("authorization", auth));
    }
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let response = app
        .request(method, &format!("{BASE}{path}"), &all, bytes)
        .await
        .unwrap();
    assert_eq!(response.header("content-type"), Some("application/json"));
    Answer {
        status: response.status,
        body: response.json(),
        retry_after: response.header("retry-after").map(str::to_owned),
        allow: response.header("allow").map(str::to_owned),
        replayed: response.header("idempotent-replayed").map(str::to_owned),
    }
}

/// A write with an `Idempotency-Key`.
pub(super) async fn keyed(
    app: &TestApp,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> Answer {
    let headers = [("idempotency-key", key)];
    call(app, method, path, Some(ADMIN_TOKEN), &headers, body).await
}

/// Waits until `check` holds, asking again every few milliseconds, and
/// fails the test if it does not within `limit`.
pub(super) async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many scripts Redis has run by SHA-1 so far.
async fn scripts_run(app: &TestApp) -> u64 {
    let mut redis = app.redis_connection(0).await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut redis)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Sends `signal` (`-STOP`, `-CONT`) to redis-server.
fn signal(redis: &RedisServer, signal: &str) {
    let pid = redis.pid().expect("redis-server runs");
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

pub(super) async fn admin(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Answer {
    call(app, method, path, Some(ADMIN_TOKEN), &[], body).await
}

pub(super) async fn read(app: &TestApp, path: &str) -> Answer {
    call(app, "GET", path, Some(READER_TOKEN), &[], None).await
}

pub(super) async fn put(app: &TestApp, key: &str, body: Value) -> Value {
    let answer = admin(app, "PUT", &format!("/{key}"), Some(&body)).await;
    assert!(
        answer.status == 200 || answer.status == 201,
        "{}",
        answer.body
    );
    answer.body["data"].clone()
}

pub(super) async fn stats(app: &TestApp) -> Value {
    read(app, "/stats").await.expect(200).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_delete_keep_versions_and_revisions() {
    let app = start(&[]).await;
    let created = admin(
        &app,
        "PUT",
        "/app/config",
        Some(&json!({"value": {"mode": "on"}, "metadata": {"owner": "ops"}})),
    )
    .await;
    let created = created.expect(201).clone();
    assert_eq!(created["version"], 1);
    assert_eq!(created["create_revision"], 1);
    assert_eq!(created["created"], true);

    let got = read(&app, "/app/config").await;
    let got = got.expect(200);
    assert_eq!(got["key"], "app/config");
    assert_eq!(got["value"], json!({"mode": "on"}));
    assert_eq!(got["version"], 1);
    assert!(got.get("metadata").is_none(), "{got}");

    let updated = call(
        &app,
        "PUT",
        "/app/config",
        Some(ADMIN_TOKEN),
        &[("x-source", "deploy-bot")],
        Some(&json!({"value": [1, 2]})),
    )
    .await;
    let updated = updated.expect(200);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["create_revision"], 1);
    assert_eq!(updated["created"], false);

    let full = read(&app, "/app/config?include_metadata=true").await;
    let full = full.expect(200);
    assert_eq!(full["value"], json!([1, 2]));
    assert_eq!(
        full["metadata"],
        Value::Null,
        "a put without metadata clears it"
    );
    assert_eq!(full["create_revision"], 1);
    assert_eq!(full["mod_revision"], 2);
    assert_eq!(full["source"], "deploy-bot");
    assert!(full["updated_at"].as_u64().unwrap() > 1_600_000_000_000);

    put(
        &app,
        "other",
        json!({"value": "x", "metadata": {"team": "a"}}),
    )
    .await;
    let meta = read(&app, "/other?include_metadata=true").await;
    assert_eq!(meta.expect(200)["metadata"], json!({"team": "a"}));
    assert_eq!(meta.expect(200)["source"], "admin");

    let deleted = admin(&app, "DELETE", "/app/config", None).await;
    assert_eq!(deleted.expect(200)["revision"], 4);
    assert_eq!(
        read(&app, "/app/config").await.expect(404)["code"],
        "not-found"
    );
    assert_eq!(
        admin(&app, "DELETE", "/app/config", None).await.expect(404)["code"],
        "not-found"
    );

    // The entry is gone from Redis, not just hidden.
    let mut redis = app.redis_connection(0).await.unwrap();
    let exists: u64 = redis::cmd("EXISTS")
        .arg("tombola:state:{s}:e:app/config")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    let s = stats(&app).await;
    assert_eq!(
        s,
        json!({"total_keys": 1, "total_size": 3, "version": 4, "metadata_keys": 1})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_gate_reads_and_writes() {
    let app = start(&[]).await;
    put(&app, "k", json!({"value": 1})).await;
    let body = json!({"value": 2});
    assert_eq!(
        call(&app, "GET", "/k", None, &[], None).await.expect(401)["code"],
        "unauthorized"
    );
    assert_eq!(
        call(&app, "GET", "/k", Some("nope"), &[], None)
            .await
            .expect(403)["code"],
        "forbidden"
    );
    assert_eq!(
        call(&app, "PUT", "/k", None, &[], Some(&body))
            .await
            .expect(401)["code"],
        "unauthorized"
    );
    assert_eq!(
        call(&app, "PUT", "/k", Some(READER_TOKEN), &[], Some(&body))
            .await
            .expect(403)["code"],
        "forbidden"
    );
    assert_eq!(
        call(&app, "DELETE", "/k", Some(READER_TOKEN), &[], None)
            .await
            .status,
        403
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/cas",
            Some(READER_TOKEN),
            &[],
            Some(&json!({"key": "k", "expected": 1, "new_value": 2}))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        call(&app, "POST", "/snapshot", Some(READER_TOKEN), &[], None)
            .await
            .status,
        403
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/snapshots/1/restore",
            Some(READER_TOKEN),
            &[],
            None
        )
        .await
        .status,
        403
    );
    for path in ["/k", "/keys", "/stats", "/snapshots", "/events"] {
        assert_eq!(read(&app, path).await.status, 200, "{path}");
        assert_eq!(admin(&app, "GET", path, None).await.status, 200, "{path}");
        assert_eq!(
            call(&app, "GET", path, None, &[], None).await.status,
            401,
            "{path}"
        );
    }
    // Nothing the refused writes sent was written.
    assert_eq!(read(&app, "/k").await.expect(200)["value"], 1);
    assert_eq!(stats(&app).await["version"], 1);
}

/// Method, path, body, headers, and the field the 400 must name.
type BadCase<'a> = (
    &'a str,
    String,
    Option<Value>,
    &'a [(&'a str, &'a str)],
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let app = start(&[("max_value_bytes", "64")]).await;
    let long_key = "k".repeat(257);
    let cases: Vec<BadCase> = vec![
        ("PUT", "/a!b".into(), Some(json!({"value": 1})), &[], "key"),
        // Broken percent-encoding, and an encoded character keys do not use.
        (
            "PUT",
            "/a%zzb".into(),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        (
            "PUT",
            "/a%25b".into(),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        // A route's name stays reserved however it is encoded.
        (
            "PUT",
            "/%6Beys".into(),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        (
            "PUT",
            "/openapi%2Ejson".into(),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"key": "openapi.json", "expected": null, "new_value": 1})),
            &[],
            "key",
        ),
        (
            "PUT",
            format!("/{long_key}"),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        ("GET", "/a*b".into(), None, &[], "key"),
        ("DELETE", "/a~b".into(), None, &[], "key"),
        (
            "PUT",
            "/snapshots/x".into(),
            Some(json!({"value": 1})),
            &[],
            "key",
        ),
        ("PUT", "/k".into(), Some(json!({})), &[], "value"),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": null})),
            &[],
            "value",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": "x".repeat(63)})),
            &[],
            "value",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": 1, "metadata": [1]})),
            &[],
            "metadata",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": 1, "metadata": {"ttl": 0}})),
            &[],
            "metadata.ttl",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": 1, "metadata": {"ttl": "5"}})),
            &[],
            "metadata.ttl",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": 1, "extra": 1})),
            &[],
            "extra",
        ),
        (
            "PUT",
            "/k".into(),
            Some(json!({"value": 1})),
            &[("x-source", "")],
            "X-Source",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"key": "k", "new_value": 1})),
            &[],
            "expected",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"key": "bad key", "expected": null, "new_value": 1})),
            &[],
            "key",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"expected": null, "new_value": 1})),
            &[],
            "key",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"key": "k", "expected": null})),
            &[],
            "new_value",
        ),
        (
            "POST",
            "/cas".into(),
            Some(json!({"key": "k", "expected": null, "new_value": null})),
            &[],
            "new_value",
        ),
        ("GET", "/keys?limit=0".into(), None, &[], "limit"),
        ("GET", "/keys?limit=1&limit=2".into(), None, &[], "limit"),
        (
            "GET",
            "/events?after=18446744073709551616".into(),
            None,
            &[],
            "after",
        ),
        ("GET", "/keys?prefix=a%20b".into(), None, &[], "prefix"),
        ("GET", "/keys?prefix=a&cursor=b".into(), None, &[], "cursor"),
        ("GET", "/events?after=x".into(), None, &[], "after"),
        ("GET", "/events?wait=31".into(), None, &[], "wait"),
        (
            "GET",
            "/k?include_metadata=yes".into(),
            None,
            &[],
            "include_metadata",
        ),
        ("POST", "/snapshots/x/restore".into(), None, &[], "revision"),
    ];
    for (method, path, body, headers, field) in cases {
        let answer = call(
            &app,
            method,
            &path,
            Some(ADMIN_TOKEN),
            headers,
            body.as_ref(),
        )
        .await;
        let error = answer.expect(400);
        assert_eq!(error["field"], field, "{method} {path}: {error}");
        assert_eq!(error["code"], "bad-request");
    }
    let not_json = app
        .request(
            "PUT",
            &format!("{BASE}/k"),
            &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
            "{not json",
        )
        .await
        .unwrap();
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["error"]["field"], "body");

    // A value just at the limit is accepted: 62 bytes of text plus quotes.
    assert_eq!(
        admin(
            &app,
            "PUT",
            "/fits",
            Some(&json!({"value": "x".repeat(62)}))
        )
        .await
        .status,
        201
    );
    let s = stats(&app).await;
    assert_eq!(
        s["total_keys"], 1,
        "only the value that fits was written: {s}"
    );
    assert_eq!(s["version"], 1);

    let wrong = admin(&app, "POST", "/keys", None).await;
    assert_eq!(wrong.expect(405)["code"], "method-not-allowed");
    assert_eq!(wrong.allow.as_deref(), Some("GET"));
    let wrong = admin(&app, "POST", "/some-key", None).await;
    wrong.expect(405);
    assert_eq!(wrong.allow.as_deref(), Some("GET, PUT, DELETE"));
    assert_eq!(
        admin(&app, "GET", "/", None).await.expect(404)["code"],
        "not-found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_list_by_prefix_in_pages_from_the_index() {
    let app = start(&[]).await;
    for key in ["app/b", "app/a", "app/c", "apple", "zeta", "app/d/e"] {
        put(&app, key, json!({"value": key})).await;
    }
    let all = read(&app, "/keys").await;
    let all = all.expect(200);
    assert_eq!(
        all["keys"],
        json!(["app/a", "app/b", "app/c", "app/d/e", "apple", "zeta"])
    );
    assert_eq!(all["total"], 6);
    assert_eq!(all["revision"], 6);
    assert_eq!(all["next_cursor"], Value::Null);

    let first = read(&app, "/keys?prefix=app%2F&limit=2").await;
    let first = first.expect(200).clone();
    assert_eq!(first["keys"], json!(["app/a", "app/b"]));
    assert_eq!(first["total"], 4);
    assert_eq!(first["next_cursor"], "app/b");
    let second = read(&app, "/keys?prefix=app/&limit=2&cursor=app/b").await;
    let second = second.expect(200);
    assert_eq!(second["keys"], json!(["app/c", "app/d/e"]));
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(
        read(&app, "/keys?prefix=nothing").await.expect(200)["keys"],
        json!([])
    );

    // Listing reads an index, not the keyspace.
    let mut redis = app.redis_connection(0).await.unwrap();
    let kind: String = redis::cmd("TYPE")
        .arg("tombola:state:{s}:index")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(kind, "zset");
    admin(&app, "DELETE", "/app/b", None).await.expect(200);
    let after = read(&app, "/keys?prefix=app/").await;
    assert_eq!(
        after.expect(200)["keys"],
        json!(["app/a", "app/c", "app/d/e"])
    );
    assert_eq!(after.expect(200)["revision"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_keys_bytes_and_metadata() {
    let app = start(&[]).await;
    assert_eq!(
        stats(&app).await,
        json!({"total_keys": 0, "total_size": 0, "version": 0, "metadata_keys": 0})
    );
    put(&app, "a", json!({"value": {"x": 1}})).await; // {"x":1}: 7 bytes
    put(&app, "b", json!({"value": "hi", "metadata": {"m": 1}})).await; // "hi": 4 bytes
    put(&app, "a", json!({"value": 10})).await; // 2 bytes
    assert_eq!(
        stats(&app).await,
        json!({"total_keys": 2, "total_size": 6, "version": 3, "metadata_keys": 1})
    );
    admin(&app, "DELETE", "/b", None).await.expect(200);
    assert_eq!(
        stats(&app).await,
        json!({"total_keys": 1, "total_size": 2, "version": 4, "metadata_keys": 0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_compares_json_values_and_answers_409_with_the_current_value() {
    let app = start(&[]).await;
    let cas = |key: &str, expected: Value, new_value: Value| json!({"key": key, "expected": expected, "new_value": new_value});

    let created = admin(
        &app,
        "POST",
        "/cas",
        Some(&cas("c", Value::Null, json!({"a": 1, "b": 2}))),
    )
    .await;
    assert_eq!(created.expect(201)["version"], 1);
    let again = admin(&app, "POST", "/cas", Some(&cas("c", Value::Null, json!(0)))).await;
    let error = again.expect(409);
    assert_eq!(error["code"], "cas-mismatch");
    assert_eq!(error["current_value"], json!({"a": 1, "b": 2}));
    assert_eq!(error["current_version"], 1);

    // Same value, other member order and number spelling: a match.
    let swapped = admin(
        &app,
        "POST",
        "/cas",
        Some(&cas("c", json!({"b": 2.0, "a": 1}), json!("next"))),
    )
    .await;
    let swapped = swapped.expect(200);
    assert_eq!(swapped["version"], 2);
    assert_eq!(swapped["create_revision"], 1);

    let wrong = admin(
        &app,
        "POST",
        "/cas",
        Some(&cas("c", json!("other"), json!("x"))),
    )
    .await;
    assert_eq!(wrong.expect(409)["current_value"], "next");
    assert_eq!(wrong.expect(409)["current_version"], 2);
    let absent = admin(
        &app,
        "POST",
        "/cas",
        Some(&cas("missing", json!(1), json!(2))),
    )
    .await;
    assert_eq!(absent.expect(409)["current_value"], Value::Null);
    assert_eq!(absent.expect(409)["current_version"], 0);

    assert_eq!(read(&app, "/c").await.expect(200)["value"], "next");
    assert_eq!(
        stats(&app).await["version"],
        2,
        "refused swaps write nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_incrementing_by_cas_lose_no_increment() {
    const CLIENTS: u64 = 16;
    const EACH: u64 = 8;
    let app = Arc::new(start(&[]).await);
    put(&app, "counter", json!({"value": 0})).await;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            for _ in 0..EACH {
                let mut current = read(&app, "/counter").await.expect(200)["value"]
                    .as_u64()
                    .unwrap();
                loop {
                    let body =
                        json!({"key": "counter", "expected": current, "new_value": current + 1});
                    let answer = admin(&app, "POST", "/cas", Some(&body)).await;
                    match answer.status {
                        200 => break,
                        409 => {
                            conflicts += 1;
                            current = answer.body["error"]["current_value"].as_u64().unwrap();
                        }
                        other => panic!("cas answered {other}: {}", answer.body),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let end = read(&app, "/counter").await;
    assert_eq!(
        end.expect(200)["value"],
        CLIENTS * EACH,
        "{conflicts} conflicts along the way"
    );
    // Exactly one revision per increment, plus the initial put.
    assert_eq!(stats(&app).await["version"], CLIENTS * EACH + 1);
}

/// Reads the feed after `after` until `until`, long-polling.
async fn follow(app: &TestApp, mut after: u64, until: u64) -> Vec<Value> {
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while after < until {
        assert!(Instant::now() < deadline, "the feed stalled at {after}");
        let page = read(app, &format!("/events?after={after}&wait=2&limit=7")).await;
        let page = page.expect(200);
        let batch = page["events"].as_array().unwrap();
        events.extend(batch.iter().cloned());
        after = page["next_after"].as_u64().unwrap();
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_lists_then_follows_sees_every_change_once_in_order() {
    let app = Arc::new(start(&[]).await);
    for i in 0..5 {
        put(&app, &format!("k{i}"), json!({"value": -1})).await;
    }
    const WRITES: u64 = 60;
    // The writer tells when it is a third of the way, and does not start
    // its last third before the listing is taken: the list is read while
    // writes land, and writes land after it, on every run.
    let (third_done, third_reached) = tokio::sync::oneshot::channel();
    let (listed, listing_taken) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            let (mut third_done, mut listing_taken) = (Some(third_done), Some(listing_taken));
            for i in 0..WRITES {
                if i == WRITES / 3 {
                    third_done.take().unwrap().send(()).unwrap();
                }
                if i == 2 * WRITES / 3 {
                    listing_taken.take().unwrap().await.unwrap();
                }
                let key = format!("k{}", i % 7);
                if i % 5 == 4 {
                    admin(&app, "DELETE", &format!("/{key}"), None).await;
                } else {
                    put(&app, &key, json!({"value": i})).await;
                }
            }
        })
    };
    tokio::time::timeout(Duration::from_secs(30), third_reached)
        .await
        .expect("the writer stalled")
        .unwrap();
    let listing = read(&app, "/keys").await;
    listed.send(()).unwrap();
    let listing = listing.expect(200).clone();
    let listed_at = listing["revision"].as_u64().unwrap();
    assert!(
        listed_at >= 5 + WRITES / 3,
        "the writer was running when the list was taken"
    );
    writer.await.unwrap();
    let last = stats(&app).await["version"].as_u64().unwrap();

    let events = follow(&app, listed_at, last).await;
    let revisions: Vec<u64> = events
        .iter()
        .map(|e| e["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(
        revisions,
        (listed_at + 1..=last).collect::<Vec<_>>(),
        "each change once, in order"
    );

    // Applying the changes to the listing gives the keys there are now.
    let mut keys: std::collections::BTreeSet<String> = listing["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for event in &events {
        let key = event["key"].as_str().unwrap().to_owned();
        match event["type"].as_str().unwrap() {
            "put" => {
                keys.insert(key);
            }
            "delete" => {
                assert!(
                    keys.remove(&key),
                    "deleted {key}, which the follower did not have"
                );
            }
            other => panic!("unexpected event type {other}"),
        }
        assert_eq!(event["source"], "admin");
    }
    let now = read(&app, "/keys").await;
    let now: std::collections::BTreeSet<String> = now.expect(200)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_long_polls_and_carries_old_and_new_values() {
    let app = Arc::new(start(&[]).await);
    put(&app, "k", json!({"value": 1})).await;

    let polled_before = scripts_run(&app).await;
    let waiter = {
        let app = app.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = read(&app, "/events?after=1&wait=10").await;
            (started.elapsed(), answer.expect(200).clone())
        })
    };
    // The waiter reads the feed once, finds nothing and polls again: it is
    // long-polling, and has not answered.
    wait_until(
        Duration::from_secs(5),
        "the waiter polls the feed",
        || async { scripts_run(&app).await >= polled_before + 3 },
    )
    .await;
    assert!(!waiter.is_finished(), "answered before any change");
    let changed_at = Instant::now();
    call(
        &app,
        "PUT",
        "/k",
        Some(ADMIN_TOKEN),
        &[("x-source", "ops-console")],
        Some(&json!({"value": {"n": 2}})),
    )
    .await
    .expect(200);
    let (took, page) = waiter.await.unwrap();
    let after_change = changed_at.elapsed();
    assert!(
        after_change < Duration::from_secs(5) && took < Duration::from_secs(5),
        "the long poll missed the change: answered {after_change:?} after it, {took:?} in all"
    );
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    let event = &events[0];
    assert_eq!(event["revision"], 2);
    assert_eq!(event["key"], "k");
    assert_eq!(event["type"], "put");
    assert_eq!(event["old_value"], 1);
    assert_eq!(event["new_value"], json!({"n": 2}));
    assert_eq!(event["source"], "ops-console");
    assert!(event["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(page["next_after"], 2);

    // Nothing new: the wait runs out and the answer is empty.
    let started = Instant::now();
    let empty = read(&app, "/events?after=2&wait=1").await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    let empty = empty.expect(200);
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["next_after"], 2);
    assert_eq!(empty["revision"], 2);

    admin(&app, "DELETE", "/k", None).await.expect(200);
    let deleted = read(&app, "/events?after=2").await;
    let deleted = &deleted.expect(200)["events"][0];
    assert_eq!(deleted["type"], "delete");
    assert_eq!(deleted["old_value"], json!({"n": 2}));
    assert_eq!(deleted["new_value"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_revision_answers_410() {
    let app = start(&[("event_retention", "5")]).await;
    for i in 0..10 {
        put(&app, "k", json!({"value": i})).await;
    }
    let gone = read(&app, "/events?after=0").await;
    let error = gone.expect(410);
    assert_eq!(error["code"], "compacted");
    assert_eq!(error["compacted"], 5);
    assert_eq!(error["revision"], 10);
    assert_eq!(read(&app, "/events?after=4").await.status, 410);
    let kept = read(&app, "/events?after=5").await;
    let revisions: Vec<u64> = kept.expect(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, vec![6, 7, 8, 9, 10]);
    assert_eq!(kept.expect(200)["events"][0]["new_value"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_restore_returns_every_key_value_and_metadata() {
    let app = start(&[("max_snapshots", "2")]).await;
    put(
        &app,
        "a",
        json!({"value": {"deep": [1, {"x": "y"}]}, "metadata": {"owner": "ops"}}),
    )
    .await;
    put(&app, "b", json!({"value": "bee"})).await;
    put(
        &app,
        "dir/c",
        json!({"value": 3.5, "metadata": {"tags": ["t"]}}),
    )
    .await;
    let taken = admin(&app, "POST", "/snapshot", None).await;
    let taken = taken.expect(201).clone();
    assert_eq!(taken["revision"], 3);
    assert_eq!(taken["keys"], 3);
    assert_eq!(taken["dropped"], json!([]));
    let captured_stats = stats(&app).await;

    put(&app, "a", json!({"value": "changed"})).await;
    admin(&app, "DELETE", "/b", None).await.expect(200);
    put(
        &app,
        "dir/c",
        json!({"value": 3.5, "metadata": {"tags": ["other"]}}),
    )
    .await;
    put(&app, "new", json!({"value": true})).await;

    let listed = read(&app, "/snapshots").await;
    let listed = listed.expect(200);
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 1);
    assert_eq!(listed["snapshots"][0]["revision"], 3);
    assert_eq!(listed["snapshots"][0]["keys"], 3);
    assert_eq!(listed["snapshots"][0]["created_at"], taken["created_at"]);

    let restored = call(
        &app,
        "POST",
        "/snapshots/3/restore",
        Some(ADMIN_TOKEN),
        &[("x-source", "restore-job")],
        None,
    )
    .await;
    let restored = restored.expect(200).clone();
    assert_eq!(restored["restored"], 3);
    assert_eq!(restored["changed"], 4, "a, b, dir/c back; new deleted");
    assert_eq!(restored["revision"], 11);

    let keys = read(&app, "/keys").await;
    assert_eq!(keys.expect(200)["keys"], json!(["a", "b", "dir/c"]));
    let expect = [
        (
            "a",
            json!({"deep": [1, {"x": "y"}]}),
            json!({"owner": "ops"}),
        ),
        ("b", json!("bee"), Value::Null),
        ("dir/c", json!(3.5), json!({"tags": ["t"]})),
    ];
    for (key, value, metadata) in expect {
        let got = read(&app, &format!("/{key}?include_metadata=true")).await;
        let got = got.expect(200);
        assert_eq!(got["value"], value, "{key}");
        assert_eq!(got["metadata"], metadata, "{key}");
    }
    let after = stats(&app).await;
    assert_eq!(after["total_keys"], captured_stats["total_keys"]);
    assert_eq!(after["total_size"], captured_stats["total_size"]);
    assert_eq!(after["metadata_keys"], captured_stats["metadata_keys"]);

    // The restore is in the feed, one event per change, attributed.
    let feed = read(&app, "/events?after=7").await;
    let feed = feed.expect(200)["events"].as_array().unwrap().clone();
    assert_eq!(feed.len(), 4);
    assert!(feed.iter().all(|e| e["source"] == "restore-job"));
    assert_eq!(feed[0]["type"], "delete");
    assert_eq!(feed[0]["key"], "new");

    assert_eq!(
        admin(&app, "POST", "/snapshots/99/restore", None)
            .await
            .expect(404)["code"],
        "not-found"
    );

    // At most max_snapshots are kept; the oldest goes first.
    let second = admin(&app, "POST", "/snapshot", None).await;
    assert_eq!(second.expect(201)["revision"], 11);
    put(&app, "z", json!({"value": 0})).await;
    let third = admin(&app, "POST", "/snapshot", None).await;
    assert_eq!(third.expect(201)["dropped"], json!([3]));
    let revisions: Vec<u64> = read(&app, "/snapshots").await.expect(200)["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, vec![11, 12]);
    assert_eq!(
        admin(&app, "POST", "/snapshots/3/restore", None)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ttl_expires_on_time_and_its_event_carries_the_value_that_expired() {
    let app = start(&[]).await;
    put(
        &app,
        "short",
        json!({"value": "soon gone", "metadata": {"ttl": 1}}),
    )
    .await;
    put(&app, "long", json!({"value": "stays"})).await;
    let mut redis = app.redis_connection(0).await.unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("tombola:state:{s}:e:short")
        .query_async(&mut redis)
        .await
        .unwrap();
    // Redis drops the entry itself only after a grace, so that the next
    // script still finds the value to put in the expire event.
    let grace = EXPIRED_VALUE_GRACE_SECS as i64 * 1000;
    assert!(pttl > grace && pttl <= grace + 1000, "{pttl}");
    assert_eq!(read(&app, "/short").await.expect(200)["value"], "soon gone");
    assert_eq!(stats(&app).await["total_keys"], 2);

    wait_until(Duration::from_secs(5), "short expires", || async {
        read(&app, "/short").await.status == 404
    })
    .await;
    assert_eq!(
        read(&app, "/keys").await.expect(200)["keys"],
        json!(["long"])
    );
    let s = stats(&app).await;
    assert_eq!(
        (s["total_keys"].as_u64(), s["total_size"].as_u64()),
        (Some(1), Some(7))
    );
    let expired = read(&app, "/events?after=2").await;
    let expired = &expired.expect(200)["events"][0];
    assert_eq!(expired["type"], "expire");
    assert_eq!(expired["key"], "short");
    assert_eq!(expired["source"], "ttl");
    assert_eq!(expired["old_value"], "soon gone");
    assert_eq!(expired["new_value"], Value::Null);
    let gone: i64 = redis::cmd("EXISTS")
        .arg("tombola:state:{s}:e:short")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(gone, 0, "the script that expired it removed it");

    // A put without a ttl removes the expiry.
    put(&app, "kept", json!({"value": 1, "metadata": {"ttl": 1}})).await;
    put(&app, "kept", json!({"value": 2})).await;
    let pttl: i64 = redis::cmd("PTTL")
        .arg("tombola:state:{s}:e:kept")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(pttl, -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_with_retry_after() {
    let mut app = start(&[]).await;
    put(&app, "k", json!({"value": 1})).await;
    app.redis.stop();
    for answer in [
        read(&app, "/k").await,
        admin(&app, "PUT", "/k", Some(&json!({"value": 2}))).await,
    ] {
        assert_eq!(answer.expect(503)["code"], "redis-unavailable");
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
    }
    // Bad input is still told apart from an outage.
    assert_eq!(
        admin(&app, "PUT", "/bad~key", Some(&json!({"value": 2})))
            .await
            .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_public_and_405s_name_what_a_path_takes() {
    let app = start(&[]).await;
    let document = app
        .request("GET", &format!("{BASE}/openapi.json"), &[], "")
        .await
        .unwrap();
    document.assert_status(200);
    assert_eq!(document.header("content-type"), Some("application/json"));
    let document = document.json();
    assert_eq!(document["openapi"], "3.1.0");
    let key = &document["paths"]["/api/v1/state/{key}"];
    for method in ["get", "put", "delete"] {
        assert!(key[method].is_object(), "{method}");
    }

    // `openapi.json` is a route, not a key: writing it is a 405, never a
    // key that GET could not return.
    for method in ["PUT", "DELETE"] {
        let wrong = admin(&app, method, "/openapi.json", Some(&json!({"value": 1}))).await;
        wrong.expect(405);
        assert_eq!(wrong.allow.as_deref(), Some("GET"), "{method}");
    }
    for (method, path, allow) in [
        ("GET", "/cas", "POST"),
        ("PUT", "/snapshot", "POST"),
        ("DELETE", "/snapshots", "GET"),
        ("GET", "/snapshots/1/restore", "POST"),
        ("OPTIONS", "/a/b", "GET, PUT, DELETE"),
        ("PATCH", "/a", "GET, PUT, DELETE"),
    ] {
        let wrong = call(&app, method, path, None, &[], None).await;
        assert_eq!(wrong.expect(405)["code"], "method-not-allowed");
        assert_eq!(wrong.allow.as_deref(), Some(allow), "{method} {path}");
    }
    let fine = read(&app, "/keys").await;
    assert_eq!(fine.allow, None, "only a 405 carries Allow");
    assert_eq!(stats(&app).await["version"], 0, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_the_path_may_come_percent_encoded() {
    let app = start(&[]).await;
    let written = admin(&app, "PUT", "/app%2Fx%3Ay", Some(&json!({"value": 1}))).await;
    assert_eq!(written.expect(201)["key"], "app/x:y");
    assert_eq!(read(&app, "/app/x:y").await.expect(200)["value"], 1);
    assert_eq!(
        read(&app, "/app%2fx%3ay").await.expect(200)["key"],
        "app/x:y"
    );
    // `.` cannot travel literally (clients drop dot-segments), so it is
    // sent as `%2E`.
    let dot = admin(&app, "PUT", "/%2E", Some(&json!({"value": "dot"}))).await;
    assert_eq!(dot.expect(201)["key"], ".");
    assert_eq!(read(&app, "/%2E").await.expect(200)["value"], "dot");
    // In a path `+` is itself, which keys do not use.
    let plus = admin(&app, "PUT", "/a+b", Some(&json!({"value": 1}))).await;
    assert!(
        plus.expect(400)["message"]
            .as_str()
            .unwrap()
            .contains("'+'"),
        "{}",
        plus.body
    );
    assert_eq!(
        read(&app, "/keys").await.expect(200)["keys"],
        json!([".", "app/x:y"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_float_ttl_and_an_after_past_redis_integers_are_answered() {
    let app = start(&[]).await;
    // JSON counts 60.0 as the integer 60.
    let body = json!({"value": 1, "metadata": {"ttl": 60.0}});
    assert_eq!(
        serde_json::to_string(&body["metadata"]).unwrap(),
        r#"{"ttl":60.0}"#
    );
    put(&app, "session", body).await;
    let got = read(&app, "/session?include_metadata=true").await;
    assert_eq!(got.expect(200)["metadata"], json!({"ttl": 60}));
    let mut redis = app.redis_connection(0).await.unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("tombola:state:{s}:e:session")
        .query_async(&mut redis)
        .await
        .unwrap();
    let pttl = pttl - EXPIRED_VALUE_GRACE_SECS as i64 * 1000;
    assert!(pttl > 59_000 && pttl <= 60_000, "{pttl}");

    // Revisions are Redis integers, `after` any u64: past the current
    // revision there is nothing, however far.
    for after in [u64::MAX, 1 << 60, 2] {
        let answer = read(&app, &format!("/events?after={after}")).await;
        let feed = answer.expect(200);
        assert_eq!(feed["events"], json!([]), "{after}");
        assert_eq!(feed["next_after"], after);
        assert_eq!(feed["revision"], 1);
    }

    // X-Source attributes writes; a read does not look at it.
    let read_with_source = call(
        &app,
        "GET",
        "/session",
        Some(READER_TOKEN),
        &[("x-source", "")],
        None,
    )
    .await;
    assert_eq!(read_with_source.expect(200)["value"], 1);
}

/// Redis freezes (SIGSTOP) with a write sent to it: as under Spin, the
/// request waits, so the client's own timeout ends it, outcome unknown.
/// Redis runs the script once it wakes, and the client's retry under the
/// same `Idempotency-Key` gets the answer the write had, without writing
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_client_gave_up_on_lands_once_and_its_retry_is_answered() {
    let app = start(&[]).await;
    put(&app, "before", json!({"value": 0})).await;
    let body = json!({"value": {"n": 1}});

    // Spin sets no timeout on Redis: a write to a frozen Redis waits, and
    // the client's own timeout is what ends it, with the outcome unknown.
    signal(&app.redis, "-STOP");
    let frozen = tokio::time::timeout(
        Duration::from_secs(2),
        keyed(&app, "PUT", "/landed", "put-landed-1", Some(&body)),
    )
    .await;
    signal(&app.redis, "-CONT");
    assert!(frozen.is_err(), "a write to a frozen Redis waits for it");

    // Redis ran the script when it woke: the value is there.
    wait_until(
        Duration::from_secs(10),
        "the frozen write lands",
        || async { read(&app, "/landed").await.status == 200 },
    )
    .await;
    assert_eq!(stats(&app).await["version"], 2);

    // The retry is told what the write did, and writes nothing.
    let retry = keyed(&app, "PUT", "/landed", "put-landed-1", Some(&body)).await;
    assert_eq!(
        retry.expect(201),
        &json!({"key": "landed", "version": 2, "create_revision": 2, "created": true})
    );
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    assert_eq!(stats(&app).await["version"], 2, "one revision only");
    let feed = read(&app, "/events?after=1").await;
    let events = feed.expect(200)["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["key"], &events[0]["new_value"]),
        (&json!("landed"), &json!({"n": 1}))
    );
}

/// Redis down before anything is sent: the write says nothing was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_never_reached_redis_says_nothing_was_written() {
    let mut app = start(&[]).await;
    app.redis.stop();
    // The first request on a fresh host opens its connection in `open`.
    let refused = keyed(&app, "PUT", "/k", "first", Some(&json!({"value": 1}))).await;
    let error = refused.expect(503);
    assert_eq!(error["code"], "redis-unavailable");
    assert_eq!(error["outcome"], "not-written", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{error}"
    );
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    // A read has no outcome to tell.
    let read_error = read(&app, "/k").await;
    assert!(read_error.expect(503).get("outcome").is_none());
}

/// Every write takes an `Idempotency-Key`: a retry is told the recorded
/// answer and writes nothing, another request under the same key is a 409,
/// a malformed key a 400; the record is kept for `idempotency_ttl_secs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_retried_under_its_idempotency_key_writes_once() {
    let app = start(&[]).await;
    let version = || async { stats(&app).await["version"].as_u64().unwrap() };

    // Each write twice under its key: the same answer, one revision.
    let cas = json!({"key": "counter", "expected": null, "new_value": 1});
    let writes: [(&str, &str, Option<Value>, u16); 6] = [
        ("PUT", "/a", Some(json!({"value": "x"})), 201),
        ("PUT", "/a", Some(json!({"value": "y"})), 200),
        ("POST", "/cas", Some(cas.clone()), 201),
        ("POST", "/snapshot", None, 201),
        ("DELETE", "/a", None, 200),
        ("POST", "/snapshots/3/restore", None, 200),
    ];
    for (n, (method, path, body, status)) in writes.iter().enumerate() {
        let key = format!("write-{n}");
        let first = keyed(&app, method, path, &key, body.as_ref()).await;
        let first_data = first.expect(*status).clone();
        assert_eq!(first.replayed, None, "{method} {path}");
        let revision = version().await;
        let retry = keyed(&app, method, path, &key, body.as_ref()).await;
        assert_eq!(retry.expect(*status), &first_data, "{method} {path}");
        assert_eq!(retry.replayed.as_deref(), Some("true"), "{method} {path}");
        assert_eq!(version().await, revision, "{method} {path} wrote again");
    }
    // The compare-and-swap no longer matches (counter is 1), yet its retry
    // is told what it did rather than a mismatch.
    let again = keyed(&app, "POST", "/cas", "write-2", Some(&cas)).await;
    assert_eq!(again.expect(201)["version"], 3);
    // Without a key, the same compare-and-swap is compared afresh.
    assert_eq!(
        admin(&app, "POST", "/cas", Some(&cas)).await.expect(409)["code"],
        "cas-mismatch"
    );

    // The same key with another request: 409, nothing written.
    let before = version().await;
    for (method, path, body) in [
        ("PUT", "/a", Some(json!({"value": "z"}))),
        ("PUT", "/b", Some(json!({"value": "x"}))),
        ("DELETE", "/a", None),
    ] {
        let reused = keyed(&app, method, path, "write-0", body.as_ref()).await;
        let error = reused.expect(409);
        assert_eq!(error["code"], "idempotency-key-reused", "{method} {path}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Idempotency-Key \"write-0\" was used for a different put request"),
            "{error}"
        );
    }
    let other_source = call(
        &app,
        "PUT",
        "/a",
        Some(ADMIN_TOKEN),
        &[("idempotency-key", "write-0"), ("x-source", "bot")],
        Some(&json!({"value": "x"})),
    )
    .await;
    assert_eq!(other_source.expect(409)["code"], "idempotency-key-reused");
    assert_eq!(version().await, before);

    // A quoted key is the same key.
    let quoted = keyed(
        &app,
        "PUT",
        "/a",
        "\"write-0\"",
        Some(&json!({"value": "x"})),
    )
    .await;
    assert_eq!(quoted.expect(201)["version"], 1, "the first write's answer");
    assert_eq!(quoted.replayed.as_deref(), Some("true"));

    // A malformed key: 400 naming the header, even with Redis at hand,
    // and nothing written.
    for bad in ["", "has space", "\"open", &"k".repeat(129)] {
        let refused = keyed(&app, "PUT", "/c", bad, Some(&json!({"value": 1}))).await;
        let error = refused.expect(400);
        assert_eq!(error["field"], "Idempotency-Key", "{bad:?}");
    }
    assert_eq!(read(&app, "/c").await.status, 404);
    assert_eq!(version().await, before);

    // A refused write records nothing: its key stays free.
    let missing = keyed(&app, "DELETE", "/never", "free-key", None).await;
    missing.expect(404);
    let free = keyed(
        &app,
        "PUT",
        "/never",
        "free-key",
        Some(&json!({"value": 1})),
    )
    .await;
    assert_eq!(free.expect(201)["key"], "never");
    assert_eq!(free.replayed, None);

    // Reads ignore the header.
    let read_with_key = call(
        &app,
        "GET",
        "/never",
        Some(READER_TOKEN),
        &[("idempotency-key", "has space")],
        None,
    )
    .await;
    assert_eq!(read_with_key.expect(200)["value"], 1);

    // The record lives a day (the default), in Redis, then expires.
    let mut redis = app.redis_connection(0).await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("tombola:state:{s}:idem:write-0")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 86_000 && ttl <= 86_400, "{ttl}");
}

/// Feed events written by earlier builds were JSON objects; the feed still
/// serves them, unchanged, beside the events stored now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_by_earlier_builds_are_still_served() {
    let app = start(&[]).await;
    put(&app, "new", json!({"value": [1, "two"]})).await;
    // Revision 2, as an earlier build's script stored it.
    let legacy = r#"{"revision":2,"key":"old\/key","type":"put","old_value":null,"new_value":{"b":2,"a":1},"timestamp":1700000000000,"source":"deploy-bot"}"#;
    let mut redis = app.redis_connection(0).await.unwrap();
    let _: () = redis::pipe()
        .cmd("RPUSH")
        .arg("tombola:state:{s}:events")
        .arg(legacy)
        .cmd("INCR")
        .arg("tombola:state:{s}:rev")
        .query_async(&mut redis)
        .await
        .unwrap();
    admin(&app, "DELETE", "/new", None).await.expect(200);

    let stored: Vec<String> = redis::cmd("LRANGE")
        .arg("tombola:state:{s}:events")
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        stored[0].starts_with("e1\n1\nput\n") && stored[2].starts_with("e1\n3\ndelete\n"),
        "events are stored in parts now: {stored:?}"
    );

    let feed = read(&app, "/events?after=0").await;
    let events = feed.expect(200)["events"].as_array().unwrap().clone();
    let timestamp = |n: usize| events[n]["timestamp"].clone();
    assert_eq!(
        events,
        [
            json!({"revision": 1, "key": "new", "type": "put", "old_value": null,
                "new_value": [1, "two"], "timestamp": timestamp(0), "source": "admin"}),
            json!({"revision": 2, "key": "old/key", "type": "put", "old_value": null,
                "new_value": {"a": 1, "b": 2}, "timestamp": 1_700_000_000_000_u64,
                "source": "deploy-bot"}),
            json!({"revision": 3, "key": "new", "type": "delete", "old_value": [1, "two"],
                "new_value": null, "timestamp": timestamp(2), "source": "admin"}),
        ]
    );
    assert!(timestamp(0).as_u64().unwrap() > 1_700_000_000_000);
}
