//! The lottery cloud (`/v1/lottery`) through the compiled component, over
//! a real Redis: games and their retirement, stores and their keys, bins,
//! pull pages by cookie, pushes after Replicache's rules (duplicates,
//! gaps, rejections that still advance), the cloud winning a bin, the
//! lottery's settlement never overwritten by a push, and Redis down.

use serde_json::{Value, json};
use tombola_core::lottery::key_hash;
use tombola_tests::app::{ADMIN_TOKEN, TestApp, TestResponse, options_for};
use tombola_tests::redis_server::{Persistence, RedisServer};
use tombola_tests::store::TempDir;

const BASE: &str = "/v1/lottery";

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> TestResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    app.request(method, &format!("{BASE}{path}"), &headers, bytes)
        .await
        .unwrap()
}

/// An operator's call, expecting `status`.
async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
    let response = call(app, method, path, Some(ADMIN_TOKEN), body.as_ref()).await;
    response.assert_status(status);
    response.json()
}

fn game(name: &str) -> Value {
    json!({"name": name, "price": 500, "pack_value": 15000, "tickets_per_pack": 30,
           "numbering": "ascending"})
}

/// Registers `store` and answers its API key.
async fn register(app: &TestApp, store: &str) -> String {
    let body = admin(
        app,
        "POST",
        "/stores",
        Some(json!({"store": store, "name": format!("Store {store}")})),
        201,
    )
    .await;
    body["api_key"].as_str().unwrap().to_owned()
}

async fn push(app: &TestApp, store: &str, key: &str, mutations: Value) -> TestResponse {
    let body = json!({"client_id": "till-1", "mutations": mutations});
    call(
        app,
        "POST",
        &format!("/stores/{store}/push"),
        Some(key),
        Some(&body),
    )
    .await
}

async fn pushed(app: &TestApp, store: &str, key: &str, mutations: Value) -> Value {
    let response = push(app, store, key, mutations).await;
    response.assert_status(200);
    response.json()
}

async fn pull(app: &TestApp, store: &str, key: &str, query: &str) -> Value {
    let response = call(
        app,
        "GET",
        &format!("/stores/{store}/pull?{query}"),
        Some(key),
        None,
    )
    .await;
    response.assert_status(200);
    response.json()
}

fn statuses(reply: &Value) -> Vec<&str> {
    reply["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["status"].as_str().unwrap())
        .collect()
}

fn pack(number: u32) -> Value {
    json!({"game": "050", "number": number})
}

#[tokio::test]
async fn games_are_created_edited_and_retired() {
    let app = TestApp::start().await.unwrap();
    let created = admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    assert_eq!(created["revision"], 1);
    assert_eq!(created["record"]["status"], "ACTIVE");
    let edited = admin(&app, "PUT", "/games/050", Some(game("Cash Blast II")), 200).await;
    assert_eq!(edited["revision"], 2);
    assert_eq!(edited["record"]["name"], "Cash Blast II");
    let retired = admin(&app, "POST", "/games/050/retire", None, 200).await;
    assert_eq!(retired["revision"], 3);
    assert_eq!(retired["record"]["status"], "INACTIVE");
    // Retiring again writes nothing.
    let again = admin(&app, "POST", "/games/050/retire", None, 200).await;
    assert_eq!(again["revision"], 3);
    let list = admin(&app, "GET", "/games", None, 200).await;
    assert_eq!(list["revision"], 3);
    assert_eq!(list["games"][0]["record"]["name"], "Cash Blast II");
    assert_eq!(list["games"][0]["record"]["status"], "INACTIVE");

    let missing = admin(&app, "POST", "/games/051/retire", None, 404).await;
    assert_eq!(missing["type"], "https://tombola.dev/problems/no-such-game");
    let mut bad = game("Bad");
    bad["pack_value"] = json!(14000);
    let refused = admin(&app, "PUT", "/games/052", Some(bad), 400).await;
    assert_eq!(refused["field"], "pack_value");
    let mut coded = game("Coded");
    coded["code"] = json!("052");
    assert_eq!(
        admin(&app, "PUT", "/games/052", Some(coded), 400).await["field"],
        "code"
    );
    let anonymous = call(&app, "PUT", "/games/052", None, Some(&game("x"))).await;
    anonymous.assert_status(401);
    // Nothing of the refusals was written.
    assert_eq!(admin(&app, "GET", "/games", None, 200).await["revision"], 3);
}

#[tokio::test]
async fn a_store_key_is_shown_once_kept_hashed_and_rotated() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "corner-7").await;
    assert!(key.starts_with("tsk_") && key.len() == 68, "{key}");
    let taken = admin(
        &app,
        "POST",
        "/stores",
        Some(json!({"store": "corner-7", "name": "Again"})),
        409,
    )
    .await;
    assert_eq!(taken["type"], "https://tombola.dev/problems/store-exists");

    let mut redis = app.redis_connection(0).await.unwrap();
    let stored: String = redis::cmd("HGET")
        .arg("tombola:lottery:{store:corner-7}:info")
        .arg("key")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(stored, key_hash(&key));
    let dump: Vec<String> = redis::cmd("HVALS")
        .arg("tombola:lottery:{store:corner-7}:info")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!dump.contains(&key), "the key itself is never stored");

    pull(&app, "corner-7", &key, "entity=games").await;
    let wrong = call(
        &app,
        "GET",
        "/stores/corner-7/pull?entity=games",
        Some("tsk_nope"),
        None,
    )
    .await;
    wrong.assert_status(403);
    let none = call(
        &app,
        "GET",
        "/stores/corner-7/pull?entity=games",
        None,
        None,
    )
    .await;
    none.assert_status(401);
    // The admin token is not a store's key.
    let admin_key = call(
        &app,
        "GET",
        "/stores/corner-7/pull?entity=games",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    admin_key.assert_status(403);

    let rotated = admin(&app, "POST", "/stores/corner-7/key", None, 200).await;
    let new_key = rotated["api_key"].as_str().unwrap();
    assert_ne!(new_key, key);
    let old = call(
        &app,
        "GET",
        "/stores/corner-7/pull?entity=games",
        Some(&key),
        None,
    )
    .await;
    old.assert_status(403);
    pull(&app, "corner-7", new_key, "entity=games").await;
    admin(&app, "POST", "/stores/nobody/key", None, 404).await;
    let bad_name = admin(
        &app,
        "POST",
        "/stores",
        Some(json!({"store": "s2", "name": " "})),
        400,
    )
    .await;
    assert_eq!(bad_name["field"], "name");
}

#[tokio::test]
async fn pulls_page_by_the_clouds_revision() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    for code in ["050", "051", "052", "053", "054"] {
        admin(
            &app,
            "PUT",
            &format!("/games/{code}"),
            Some(game(code)),
            201,
        )
        .await;
    }
    let first = pull(&app, "s1", &key, "entity=games&limit=2").await;
    assert_eq!(first["entity"], "games");
    assert_eq!(first["changes"].as_array().unwrap().len(), 2);
    assert_eq!(
        (first["cookie"].clone(), first["more"].clone()),
        (json!(2), json!(true))
    );
    let second = pull(&app, "s1", &key, "entity=games&limit=2&cookie=2").await;
    assert_eq!(second["changes"][0]["record"]["code"], "052");
    let third = pull(&app, "s1", &key, "entity=games&limit=2&cookie=4").await;
    assert_eq!(
        (third["cookie"].clone(), third["more"].clone()),
        (json!(5), json!(false))
    );
    assert_eq!(third["changes"].as_array().unwrap().len(), 1);

    admin(&app, "POST", "/games/051/retire", None, 200).await;
    let since = pull(&app, "s1", &key, "entity=games&cookie=5").await;
    assert_eq!(since["changes"].as_array().unwrap().len(), 1);
    assert_eq!(since["changes"][0]["record"]["status"], "INACTIVE");
    assert_eq!(since["cookie"], 6);
    let idle = pull(&app, "s1", &key, "entity=games&cookie=6").await;
    assert_eq!(idle["changes"], json!([]));
    let ahead = pull(&app, "s1", &key, "entity=games&cookie=99").await;
    assert_eq!(ahead["reset"], true);
    assert_eq!(ahead["changes"].as_array().unwrap().len(), 5);

    for number in [1, 2, 3] {
        admin(&app, "PUT", &format!("/stores/s1/bins/{number}"), None, 201).await;
    }
    admin(&app, "PUT", "/stores/s1/bins/3", None, 200).await;
    let removed = admin(&app, "DELETE", "/stores/s1/bins/2", None, 200).await;
    assert_eq!(removed["record"], json!({"number": 2, "removed": true}));
    admin(&app, "DELETE", "/stores/s1/bins/9", None, 404).await;
    let bins = pull(&app, "s1", &key, "entity=bins&cookie=3").await;
    assert_eq!(
        bins["changes"],
        json!([{"revision": 4, "record": {"number": 2, "removed": true}}])
    );
    assert_eq!(bins["cookie"], 4);

    for (query, field) in [
        ("entity=pools", "entity"),
        ("", "entity"),
        ("entity=bins&cookie=007", "cookie"),
        ("entity=bins&limit=0", "limit"),
    ] {
        let response = call(
            &app,
            "GET",
            &format!("/stores/s1/pull?{query}"),
            Some(&key),
            None,
        )
        .await;
        response.assert_status(400);
        assert_eq!(response.json()["field"], field, "{query}");
    }
    let unknown = call(
        &app,
        "GET",
        "/stores/nobody/pull?entity=bins",
        Some(&key),
        None,
    )
    .await;
    unknown.assert_status(404);
}

#[tokio::test]
async fn pushes_follow_replicaches_rules() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    admin(&app, "PUT", "/stores/s1/bins/1", None, 201).await;
    let lifecycle = json!([
        {"id": 1, "name": "receivePack", "args": {"pack": pack(7)}},
        {"id": 2, "name": "activatePack",
         "args": {"pack": pack(7), "bin": 1, "opening": 0, "displaced": null}},
        {"id": 3, "name": "settlePack", "args": {"pack": pack(7)}},
    ]);
    let reply = pushed(&app, "s1", &key, lifecycle.clone()).await;
    assert_eq!(statuses(&reply), ["applied"; 3]);
    assert_eq!(reply["last_mutation_id"], 3);
    let packs = admin(&app, "GET", "/stores/s1/packs", None, 200).await;
    assert_eq!(packs["packs"][0]["pack"]["status"], "SETTLED");

    // The same push again: duplicates, nothing changes.
    let again = pushed(&app, "s1", &key, lifecycle).await;
    assert_eq!(statuses(&again), ["duplicate"; 3]);
    assert_eq!(again["last_mutation_id"], 3);
    assert_eq!(
        admin(&app, "GET", "/stores/s1/packs", None, 200).await,
        packs
    );

    // A gap is refused with no effect (an id may be spelt as JSON Schema
    // counts integers).
    let gap = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 5.0, "name": "receivePack", "args": {"pack": pack(8)}}]),
    )
    .await;
    assert_eq!(
        gap["mutations"][0],
        json!({"id": 5, "status": "refused", "expected": 4})
    );
    assert_eq!(gap["last_mutation_id"], 3);

    // A mutation the cloud cannot take is rejected for good; the id
    // advances and the next mutation applies.
    let mixed = pushed(
        &app,
        "s1",
        &key,
        json!([
            {"id": 4, "name": "receivePack", "args": {"pack": {"game": "099", "number": 1}}},
            {"id": 5, "name": "receivePack", "args": {"pack": pack(8)}},
        ]),
    )
    .await;
    assert_eq!(statuses(&mixed), ["rejected", "applied"]);
    assert_eq!(
        mixed["mutations"][0]["reason"],
        "game 099 is unknown to the cloud"
    );
    assert_eq!(mixed["last_mutation_id"], 5);
    let shown = admin(&app, "GET", "/stores/s1", None, 200).await;
    assert_eq!(shown["clients"], json!({"till-1": 5}));
    assert_eq!(shown["packs"], 2);

    // A malformed push is refused whole, naming the field.
    let malformed = push(
        &app,
        "s1",
        &key,
        json!([{"id": 0, "name": "x", "args": {}}]),
    )
    .await;
    malformed.assert_status(400);
    assert_eq!(malformed.json()["field"], "mutations[0].id");
    let wrong = call(
        &app,
        "POST",
        "/stores/s1/push",
        Some("tsk_nope"),
        Some(&json!({"client_id": "till-1", "mutations": []})),
    )
    .await;
    wrong.assert_status(403);
    assert_eq!(
        admin(&app, "GET", "/stores/s1", None, 200).await["clients"],
        json!({"till-1": 5})
    );
}

#[tokio::test]
async fn the_cloud_wins_a_bin_and_says_so() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    admin(&app, "PUT", "/stores/s1/bins/1", None, 201).await;
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 1, "name": "createBins", "args": {"bins": [1, 2]}}]),
    )
    .await;
    assert_eq!(statuses(&reply), ["applied"]);
    assert_eq!(
        reply["conflicts"],
        json!([{"id": 1, "detail": "bins 1 already exist in the cloud; the cloud's stand"}])
    );
    let bins = admin(&app, "GET", "/stores/s1/bins", None, 200).await;
    assert_eq!(
        bins["bins"],
        json!([
            {"revision": 1, "record": {"number": 1, "removed": false}},
            {"revision": 2, "record": {"number": 2, "removed": false}},
        ])
    );
    let page = pull(&app, "s1", &key, "entity=bins&cookie=1").await;
    assert_eq!(page["changes"][0]["record"]["number"], 2);
}

#[tokio::test]
async fn the_lotterys_settlement_and_the_stores_lifecycle_never_overwrite_each_other() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 1, "name": "receivePack", "args": {"pack": pack(3)}}]),
    )
    .await;
    let settlement = json!({"date": "2025-06-09", "amount": 15000});
    let settled = admin(
        &app,
        "PUT",
        "/stores/s1/packs/050/3/settlement",
        Some(settlement.clone()),
        200,
    )
    .await;
    assert_eq!(settled["settlement"], settlement);
    assert_eq!(settled["pack"]["status"], "RECEIVED");
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 2, "name": "returnPack", "args": {"pack": pack(3), "reading": null}}]),
    )
    .await;
    assert_eq!(statuses(&reply), ["applied"]);
    let packs = admin(&app, "GET", "/stores/s1/packs", None, 200).await;
    assert_eq!(packs["packs"][0]["pack"]["status"], "RETURNED");
    assert_eq!(packs["packs"][0]["settlement"], settlement);
    admin(
        &app,
        "PUT",
        "/stores/s1/packs/050/4/settlement",
        Some(settlement),
        404,
    )
    .await;

    let close = json!({"date": "2025-06-02", "lines": [], "bins": [], "tickets": 0,
                       "amount": 0, "variances": []});
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 3, "name": "closeDay", "args": {"close": close}}]),
    )
    .await;
    assert_eq!(statuses(&reply), ["applied"]);
    let closes = admin(&app, "GET", "/stores/s1/closes", None, 200).await;
    assert_eq!(closes["closes"], json!([close]));
}

#[tokio::test]
async fn redis_down_is_a_fast_503_and_the_push_lands_once_it_is_back() {
    let dir = TempDir::new("lottery-redis").unwrap();
    let redis = RedisServer::start_with(
        Persistence::AppendOnlyFsyncAlways(dir.path().to_owned()),
        None,
    )
    .unwrap();
    let options = options_for(&redis);
    let mut app = TestApp::start_with(redis, options).await.unwrap();
    let key = register(&app, "s1").await;
    admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    let mutations = json!([{"id": 1, "name": "receivePack", "args": {"pack": pack(1)}}]);
    app.redis.stop();
    let started = std::time::Instant::now();
    let down = push(&app, "s1", &key, mutations.clone()).await;
    down.assert_status(503);
    assert!(down.header("retry-after").is_some());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    app.redis.start_again().unwrap();
    let reply = pushed(&app, "s1", &key, mutations).await;
    assert_eq!(statuses(&reply), ["applied"]);
}

async fn listed(app: &TestApp, query: &str) -> Value {
    admin(app, "GET", &format!("/stores{query}"), None, 200).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["store"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn stores_are_listed_in_pages_from_their_registration() {
    let app = TestApp::start().await.unwrap();
    assert_eq!(listed(&app, "").await, json!({"stores": [], "next": null}));
    for store in ["s3", "s1", "s2"] {
        register(&app, store).await;
    }
    let first = listed(&app, "?limit=2").await;
    assert_eq!(ids(&first), ["s1", "s2"]);
    assert_eq!(first["next"], "s2");
    assert_eq!(first["stores"][0]["name"], "Store s1");
    assert_eq!(first["stores"][0]["last_push_at"], Value::Null);
    let second = listed(&app, "?after=s2&limit=2").await;
    assert_eq!(ids(&second), ["s3"]);
    assert_eq!(second["next"], Value::Null);

    for (query, parameter) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=x", "limit"),
        ("?after=a:b", "after"),
        ("?after=s1&after=s2", "after"),
    ] {
        let problem = admin(&app, "GET", &format!("/stores{query}"), None, 400).await;
        assert_eq!(problem["field"], parameter, "{query}: {problem}");
    }
    assert_eq!(ids(&listed(&app, "").await), ["s1", "s2", "s3"]);
    let anonymous = call(&app, "GET", "/stores", None, None).await;
    anonymous.assert_status(401);
}

/// A directory an earlier build kept as a plain set lists all the same,
/// and the first call turns it into the sorted set pages are read from.
#[tokio::test]
async fn a_directory_kept_as_a_set_is_listed_and_kept_sorted_from_then_on() {
    let app = TestApp::start().await.unwrap();
    for store in ["s3", "s1", "s2"] {
        register(&app, store).await;
    }
    let mut redis = app.redis_connection(0).await.unwrap();
    let key = "tombola:lottery:{stores}:ids";
    let _: () = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg(key)
        .arg(&["s2", "s3", "s1"][..])
        .query_async(&mut redis)
        .await
        .unwrap();
    let first = listed(&app, "?limit=2").await;
    assert_eq!(
        (ids(&first), &first["next"]),
        (vec!["s1", "s2"], &json!("s2"))
    );
    let kind: String = redis::cmd("TYPE")
        .arg(key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(kind, "zset");
    register(&app, "s0").await;
    assert_eq!(ids(&listed(&app, "").await), ["s0", "s1", "s2", "s3"]);
    assert_eq!(ids(&listed(&app, "?after=s2").await), ["s3"]);
}

#[tokio::test]
async fn a_store_shows_when_it_last_pushed_and_pulled() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    register(&app, "s2").await;
    admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    let before = admin(&app, "GET", "/stores/s1", None, 200).await;
    assert_eq!(before["last_push_at"], Value::Null);
    assert_eq!(before["last_pull_at"], Value::Null);

    // A refused gap and a pull with a wrong key record nothing.
    let gap = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 2, "name": "receivePack", "args": {"pack": pack(7)}}]),
    )
    .await;
    assert_eq!(statuses(&gap), ["refused"]);
    let wrong = call(
        &app,
        "GET",
        "/stores/s1/pull?entity=games",
        Some("tsk_wrong"),
        None,
    )
    .await;
    wrong.assert_status(403);
    assert_eq!(admin(&app, "GET", "/stores/s1", None, 200).await, before);

    let applied = json!([{"id": 1, "name": "receivePack", "args": {"pack": pack(7)}}]);
    assert_eq!(
        statuses(&pushed(&app, "s1", &key, applied.clone()).await),
        ["applied"]
    );
    let after_push = admin(&app, "GET", "/stores/s1", None, 200).await;
    let pushed_at = after_push["last_push_at"].as_u64().unwrap();
    assert!(pushed_at >= before["created_at"].as_u64().unwrap());
    assert_eq!(after_push["last_pull_at"], Value::Null);

    // Only duplicates: acknowledged, and not a push that changed anything.
    assert_eq!(
        statuses(&pushed(&app, "s1", &key, applied).await),
        ["duplicate"]
    );
    assert_eq!(
        admin(&app, "GET", "/stores/s1", None, 200).await["last_push_at"],
        pushed_at
    );

    pull(&app, "s1", &key, "entity=bins").await;
    let listing = listed(&app, "").await;
    assert_eq!(ids(&listing), ["s1", "s2"]);
    let row = &listing["stores"][0];
    assert!(row["last_pull_at"].as_u64().unwrap() >= pushed_at);
    assert_eq!(row["last_push_at"], pushed_at);
    assert_eq!(row["clients"], json!({"till-1": 1}));
    assert_eq!(row["packs"], 1);
    let other = &listing["stores"][1];
    assert_eq!(
        (&other["last_push_at"], &other["last_pull_at"]),
        (&Value::Null, &Value::Null)
    );
}

/// The packs on the counter as the store's index holds them, and whether
/// the index is trusted.
async fn counter_index(app: &TestApp, store: &str) -> (Vec<String>, Option<String>) {
    let mut redis = app.redis_connection(0).await.unwrap();
    let mut active: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("tombola:lottery:{{store:{store}}}:active"))
        .query_async(&mut redis)
        .await
        .unwrap();
    active.sort();
    let trusted: Option<String> = redis::cmd("HGET")
        .arg(format!("tombola:lottery:{{store:{store}}}:info"))
        .arg("active_index")
        .query_async(&mut redis)
        .await
        .unwrap();
    (active, trusted)
}

/// A push reads the packs it names and those on the counter, from the
/// index the push script keeps: an activation still meets the pack in
/// its bin, and a pack received twice is still refused. A store
/// registered before the index (none, and no `active_index`) is read
/// whole once, and that push builds it.
#[tokio::test]
async fn a_push_reads_what_it_names_and_the_counter_and_an_older_store_gets_its_index() {
    let app = TestApp::start().await.unwrap();
    let key = register(&app, "s1").await;
    admin(&app, "PUT", "/games/050", Some(game("Cash Blast")), 201).await;
    admin(&app, "PUT", "/stores/s1/bins/1", None, 201).await;
    assert_eq!(counter_index(&app, "s1").await, (vec![], Some("1".into())));
    let activate = |number: u32, displaced: Value| json!({"pack": pack(number), "bin": 1, "opening": 0, "displaced": displaced});
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([
            {"id": 1, "name": "receivePack", "args": {"pack": pack(1)}},
            {"id": 2, "name": "activatePack", "args": activate(1, Value::Null)},
            {"id": 3, "name": "receivePack", "args": {"pack": pack(2)}},
        ]),
    )
    .await;
    assert_eq!(statuses(&reply), ["applied"; 3]);
    assert_eq!(
        counter_index(&app, "s1").await,
        (vec!["050-1".to_owned()], Some("1".into()))
    );

    // As a store registered by an earlier build: no index.
    let mut redis = app.redis_connection(0).await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("tombola:lottery:{store:s1}:active")
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: () = redis::cmd("HDEL")
        .arg("tombola:lottery:{store:s1}:info")
        .arg("active_index")
        .query_async(&mut redis)
        .await
        .unwrap();
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 4, "name": "activatePack", "args": activate(2, Value::Null)}]),
    )
    .await;
    assert_eq!(statuses(&reply), ["rejected"]);
    assert_eq!(
        reply["mutations"][0]["reason"],
        "bin: bin 1 holds pack 050-1; settle or return it to activate another"
    );
    assert_eq!(
        counter_index(&app, "s1").await,
        (vec!["050-1".to_owned()], Some("1".into()))
    );

    // From the index: the occupant is displaced by name, and a pack off
    // the counter is still known.
    let settle = json!({"pack": pack(1), "action": "settle"});
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([
            {"id": 5, "name": "activatePack", "args": activate(2, settle)},
            {"id": 6, "name": "receivePack", "args": {"pack": pack(1)}},
            {"id": 7, "name": "receivePack", "args": {"pack": pack(3)}},
            {"id": 8, "name": "activatePack", "args": activate(3, Value::Null)},
        ]),
    )
    .await;
    assert_eq!(
        statuses(&reply),
        ["applied", "rejected", "applied", "rejected"]
    );
    assert_eq!(
        reply["mutations"][1]["reason"],
        "number: pack 050-1 is already in the store"
    );
    // Pack 2 is named by no mutation after the first: the index brought it.
    let reply = pushed(
        &app,
        "s1",
        &key,
        json!([{"id": 9, "name": "activatePack", "args": activate(3, Value::Null)}]),
    )
    .await;
    assert_eq!(
        reply["mutations"][0]["reason"],
        "bin: bin 1 holds pack 050-2; settle or return it to activate another"
    );
    assert_eq!(
        counter_index(&app, "s1").await,
        (vec!["050-2".to_owned()], Some("1".into()))
    );
    let packs = admin(&app, "GET", "/stores/s1/packs", None, 200).await;
    let lifecycle: Vec<(&Value, &Value)> = packs["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p["pack"]["number"], &p["pack"]["status"]))
        .collect();
    assert_eq!(
        lifecycle,
        [
            (&json!(1), &json!("SETTLED")),
            (&json!(2), &json!("ACTIVE")),
            (&json!(3), &json!("RECEIVED"))
        ]
    );
}
