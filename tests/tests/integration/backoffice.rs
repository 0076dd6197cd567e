//! The store's back office through the compiled component, over the host's
//! SQLite: a store's week, a restart between prepare and commit, two clerks
//! racing for one bin, and refusals that leave every table as it was.

use serde_json::{Value, json};
use tombola_tests::app::TestResponse;
use tombola_tests::store::{self, StoreApp, StoreClient, StoreProcess, TempDir};

/// Two games: 050 ascending, 30 tickets at $5; 060 descending, 20 at $10.
async fn setup(app: &impl StoreClient, bins: u32) {
    let games = [
        (
            "050",
            json!({"name": "Cash Blast", "price": 500, "pack_value": 15000,
                       "tickets_per_pack": 30, "numbering": "ascending"}),
        ),
        (
            "060",
            json!({"name": "Lucky 7s", "price": 1000, "pack_value": 20000,
                       "tickets_per_pack": 20, "numbering": "descending"}),
        ),
    ];
    for (code, game) in games {
        let response = app
            .call("PUT", &format!("/games/{code}"), Some(game))
            .await
            .unwrap();
        response.assert_status(201);
    }
    let response = app
        .call("POST", "/bins", Some(json!({"count": bins})))
        .await
        .unwrap();
    response.assert_status(201);
    assert_eq!(
        response.json()["bins"],
        json!((1..=bins).collect::<Vec<_>>())
    );
}

async fn ok(
    app: &impl StoreClient,
    method: &str,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let response = app.call(method, path, body).await.unwrap();
    response.assert_status(status);
    response.json()
}

async fn receive(app: &impl StoreClient, body: Value) -> Value {
    ok(app, "POST", "/packs", Some(body), 201).await
}

async fn activate(app: &impl StoreClient, pack: &str, bin: u32) -> Value {
    ok(
        app,
        "POST",
        &format!("/packs/{pack}/activate"),
        Some(json!({"bin": bin})),
        200,
    )
    .await
}

fn count(game: &str, number: u32, reading: Value) -> Value {
    json!({"pack": {"game": game, "number": number}, "reading": reading})
}

#[track_caller]
fn assert_refused(response: &TestResponse, status: u16, field: &str) {
    assert_eq!(
        response.status,
        status,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        response.json()["field"],
        field,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
}

#[tokio::test]
async fn a_stores_week() {
    let dir = TempDir::new("week").unwrap();
    let app = StoreApp::start(dir.path()).await.unwrap();
    setup(&app, 3).await;

    // Monday: packs arrive, two go on the counter.
    ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-02"})),
        201,
    )
    .await;
    let pack = receive(&app, json!({"barcode": "050-000100-000"})).await;
    assert_eq!(
        (
            pack["game"].clone(),
            pack["number"].clone(),
            pack["status"].clone()
        ),
        (json!("050"), json!(100), json!("RECEIVED"))
    );
    receive(&app, json!({"game": "050", "number": 101})).await;
    let scanned = receive(&app, json!({"barcode": "060 000200 019"})).await;
    assert_eq!(
        scanned["number"], 200,
        "the ticket field is not part of the pack"
    );
    let duplicate = app
        .call(
            "POST",
            "/packs",
            Some(json!({"game": "0050", "number": 100})),
        )
        .await
        .unwrap();
    assert_refused(&duplicate, 409, "number");
    activate(&app, "050/100", 1).await;
    activate(&app, "060/200", 2).await;
    let bins = ok(&app, "GET", "/bins", None, 200).await;
    assert_eq!(bins["bins"][0]["pack"]["number"], 100);
    assert_eq!(bins["bins"][1]["day_opening"], json!({"next": 19}));
    assert_eq!(bins["bins"][2]["pack"], Value::Null);
    let counts = json!({"counts": [count("050", 100, json!({"next": 10})), count("060", 200, json!({"next": 14}))]});
    let monday = ok(&app, "POST", "/days/2025-06-02/prepare", Some(counts), 200).await;
    assert_eq!(monday["status"], "PENDING_CLOSE");
    assert_eq!(
        (
            monday["close"]["tickets"].clone(),
            monday["close"]["amount"].clone()
        ),
        (json!(15), json!(10_000))
    );
    assert_eq!(
        monday["close"]["bins"],
        json!([
        {"bin": 1, "tickets": 10, "amount": 5000}, {"bin": 2, "tickets": 5, "amount": 5000}])
    );
    ok(&app, "POST", "/days/2025-06-02/commit", None, 200).await;

    // Tuesday: bin 1 sells out and takes the next pack; bin 2 is counted
    // short of Monday's close, a variance to review.
    let tuesday = ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-03"})),
        201,
    )
    .await;
    assert_eq!(tuesday["openings"].as_array().unwrap().len(), 2);
    ok(&app, "POST", "/packs/050/100/settle", None, 200).await;
    activate(&app, "050/101", 1).await;
    let counts = json!({"counts": [count("050", 101, json!({"next": 5})), count("060", 200, json!({"next": 16}))]});
    let tuesday = ok(&app, "POST", "/days/2025-06-03/prepare", Some(counts), 200).await;
    assert_eq!(
        tuesday["close"]["tickets"], 25,
        "20 to sell out 050-100, 5 of 050-101, none of 060-200"
    );
    assert_eq!(
        tuesday["close"]["variances"],
        json!([{
        "pack": {"game": "060", "number": 200}, "bin": 2, "kind": "backwards",
        "known": {"next": 14}, "counted": {"next": 16}, "tickets": -2, "amount": -2000}])
    );
    ok(&app, "POST", "/days/2025-06-03/commit", None, 200).await;

    // Wednesday: bin 2's pack goes back with its reading, and a pack never
    // put out goes back from stock.
    ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-04"})),
        201,
    )
    .await;
    ok(
        &app,
        "POST",
        "/packs/060/200/return",
        Some(json!({"reading": {"next": 10}})),
        200,
    )
    .await;
    receive(&app, json!({"game": "060", "number": 201})).await;
    let returned = ok(&app, "POST", "/packs/060/201/return", Some(json!({})), 200).await;
    assert_eq!(returned["status"], "RETURNED");
    let counts = json!({"counts": [count("050", 101, json!({"next": 12}))]});
    let wednesday = ok(&app, "POST", "/days/2025-06-04/prepare", Some(counts), 200).await;
    assert_eq!(
        (
            wednesday["close"]["tickets"].clone(),
            wednesday["close"]["amount"].clone()
        ),
        (json!(13), json!(9500)),
        "7 of 050-101 at $5, 6 of 060-200 at $10"
    );
    ok(&app, "POST", "/days/2025-06-04/commit", None, 200).await;

    let days = ok(&app, "GET", "/days", None, 200).await;
    let summary: Vec<(Value, Value, Value)> = days["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].clone(),
                d["amount"].clone(),
                d["variances"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!("2025-06-04"), json!(9500), json!(0)),
            (json!("2025-06-03"), json!(12_500), json!(1)),
            (json!("2025-06-02"), json!(10_000), json!(0))
        ]
    );
    let active = ok(&app, "GET", "/packs?status=ACTIVE", None, 200).await;
    assert_eq!(active["packs"].as_array().unwrap().len(), 1);
    assert_eq!(
        ok(&app, "GET", "/packs?game=060", None, 200).await["packs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Every change wrote its outbox row, with ids rising by one.
    let tables = app.dump();
    let outbox: Vec<(String, String)> = tables["sync_queue"]
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let names = [
        "createBins",
        "receivePack",
        "receivePack",
        "receivePack",
        "activatePack",
        "activatePack",
        "closeDay",
        "settlePack",
        "activatePack",
        "closeDay",
        "returnPack",
        "receivePack",
        "returnPack",
        "closeDay",
    ];
    assert_eq!(
        outbox,
        names
            .iter()
            .enumerate()
            .map(|(i, name)| (format!("int {}", i + 1), format!("text {name}")))
            .collect::<Vec<_>>()
    );
    assert_eq!(tables["variances"].len(), 1);
    assert_eq!(tables["variances"][0][4], "text backwards");
    assert_eq!(tables["schema_version"].len(), 3);
    // With the sync off, no mutation was given an id.
    assert_eq!(tables["sync_ids"].len(), 0);
}

#[tokio::test]
async fn a_prepared_close_survives_a_killed_host_and_commits() {
    let dir = TempDir::new("restart").unwrap();
    let migration =
        tombola_tests::app::workspace_root().join("functions/backoffice/migrations/0001_init.sql");
    let mut app = StoreProcess::start(
        env!("CARGO_BIN_EXE_tombola-host").as_ref(),
        dir.path(),
        Some(migration),
    )
    .await
    .unwrap();
    setup(&app, 2).await;
    ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-02"})),
        201,
    )
    .await;
    receive(&app, json!({"game": "060", "number": 7})).await;
    activate(&app, "060/7", 2).await;
    let counts = json!({"counts": [count("060", 7, json!({"next": 3}))]});
    let prepared = ok(&app, "POST", "/days/2025-06-02/prepare", Some(counts), 200).await;

    app.kill();
    // The migration file runs again on start, as `spin up --sqlite` would:
    // it changes nothing.
    app.start_again().await.unwrap();

    let pending = ok(&app, "GET", "/days/current", None, 200).await;
    assert_eq!(pending["close"], prepared["close"]);
    assert_eq!(pending["status"], "PENDING_CLOSE");
    let closed = ok(&app, "POST", "/days/2025-06-02/commit", None, 200).await;
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["close"]["tickets"], 16);
    let tables = store::dump(&dir.path().join(tombola_tests::sqlite::DEFAULT_FILE));
    assert_eq!(
        tables["games"].len(),
        2,
        "the migration did not touch the data"
    );
    assert_eq!(tables["sync_queue"].last().unwrap()[1], "text closeDay");
}

#[tokio::test]
async fn two_clerks_activating_into_one_bin_one_wins() {
    let dir = TempDir::new("race").unwrap();
    let app = StoreApp::start(dir.path()).await.unwrap();
    setup(&app, 3).await;
    ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-02"})),
        201,
    )
    .await;
    for bin in 1..=3u32 {
        let (a, b) = (bin * 10, bin * 10 + 1);
        receive(&app, json!({"game": "050", "number": a})).await;
        receive(&app, json!({"game": "050", "number": b})).await;
        let (path_a, path_b) = (
            format!("/packs/050/{a}/activate"),
            format!("/packs/050/{b}/activate"),
        );
        let (first, second) = tokio::join!(
            app.call("POST", &path_a, Some(json!({"bin": bin}))),
            app.call("POST", &path_b, Some(json!({"bin": bin}))),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409],
            "bin {bin}: {:?} {:?}",
            first.body,
            second.body
        );
        let loser = if first.status == 409 { &first } else { &second };
        assert_refused(loser, 409, "bin");
        let winner = if first.status == 200 { a } else { b };
        let bins = ok(&app, "GET", "/bins", None, 200).await;
        assert_eq!(bins["bins"][bin as usize - 1]["pack"]["number"], winner);
    }
    let tables = app.dump();
    assert_eq!(tables["day_serials"].len(), 3, "one opening per bin");
    let activations = tables["sync_queue"]
        .iter()
        .filter(|row| row[1] == "text activatePack")
        .count();
    assert_eq!(activations, 3);
}

#[tokio::test]
async fn refusals_name_the_field_and_change_nothing() {
    let dir = TempDir::new("refusals").unwrap();
    let app = StoreApp::start(dir.path()).await.unwrap();
    setup(&app, 2).await;
    ok(
        &app,
        "POST",
        "/days",
        Some(json!({"date": "2025-06-02"})),
        201,
    )
    .await;
    receive(&app, json!({"game": "050", "number": 1})).await;
    receive(&app, json!({"game": "050", "number": 2})).await;
    activate(&app, "050/1", 1).await;
    let before = app.dump();

    let cases: Vec<(&str, &str, Option<Value>, u16, &str)> = vec![
        (
            "POST",
            "/packs",
            Some(json!({"barcode": "050-00X001-000"})),
            400,
            "barcode",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"barcode": "050-0001"})),
            400,
            "barcode",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"barcode": "050-000001-000-12a"})),
            400,
            "barcode",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"barcode": 50})),
            400,
            "barcode",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"game": "050"})),
            400,
            "number",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"game": "50", "number": 3})),
            400,
            "game",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"game": "999", "number": 3})),
            404,
            "game",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"game": "050", "number": 1})),
            409,
            "number",
        ),
        (
            "POST",
            "/packs",
            Some(json!({"game": "050", "number": 3, "extra": 1})),
            400,
            "extra",
        ),
        (
            "POST",
            "/packs/050/1/activate",
            Some(json!({"bin": 2})),
            409,
            "status",
        ),
        (
            "POST",
            "/packs/050/2/activate",
            Some(json!({"bin": 1})),
            409,
            "bin",
        ),
        (
            "POST",
            "/packs/050/2/activate",
            Some(json!({"bin": 2, "opening": 30})),
            400,
            "opening",
        ),
        (
            "POST",
            "/packs/050/2/activate",
            Some(json!({"bin": 9})),
            404,
            "bin",
        ),
        (
            "POST",
            "/packs/050/2/activate",
            Some(json!({"bin": 1000})),
            400,
            "bin",
        ),
        (
            "POST",
            "/packs/050/2/activate",
            Some(json!({"bin": 1, "displace": {
            "pack": {"game": "050", "number": 2}, "action": "settle"}})),
            409,
            "displace.pack",
        ),
        ("POST", "/packs/050/9/settle", None, 404, "number"),
        ("POST", "/packs/050/2/settle", None, 409, "status"),
        (
            "POST",
            "/packs/050/1/return",
            Some(json!({})),
            400,
            "reading",
        ),
        (
            "POST",
            "/packs/050/1/return",
            Some(json!({"reading": {"next": 40}})),
            400,
            "reading",
        ),
        (
            "POST",
            "/packs/050/2/return",
            Some(json!({"reading": "sold_out"})),
            400,
            "reading",
        ),
        (
            "POST",
            "/days",
            Some(json!({"date": "2025-06-03"})),
            409,
            "date",
        ),
        (
            "POST",
            "/days",
            Some(json!({"date": "2025-02-30"})),
            400,
            "date",
        ),
        (
            "POST",
            "/days/2025-06-02/prepare",
            Some(json!({"counts": []})),
            400,
            "counts",
        ),
        (
            "POST",
            "/days/2025-06-02/prepare",
            Some(json!({"counts": [count("050", 1, json!({"next": 31}))]})),
            400,
            "counts[0]",
        ),
        (
            "POST",
            "/days/2025-06-02/prepare",
            Some(
                json!({"counts": [count("050", 1, json!({"next": 3})), count("050", 2, json!({"next": 3}))]}),
            ),
            400,
            "counts[1]",
        ),
        (
            "POST",
            "/days/2025-06-02/prepare",
            Some(
                json!({"counts": [{"pack": {"game": "050", "number": 1}, "reading": {"next": -1}}]}),
            ),
            400,
            "counts[0].reading.next",
        ),
        ("POST", "/days/2025-06-02/commit", None, 409, "status"),
        ("POST", "/days/2025-06-02/cancel", None, 409, "status"),
        ("POST", "/days/2025-06-09/commit", None, 404, "date"),
        (
            "PUT",
            "/games/070",
            Some(json!({"name": "X", "price": 100, "pack_value": 999,
            "tickets_per_pack": 10, "numbering": "ascending"})),
            400,
            "pack_value",
        ),
        (
            "PUT",
            "/games/070",
            Some(json!({"name": " ", "price": 100, "pack_value": 1000,
            "tickets_per_pack": 10, "numbering": "ascending"})),
            400,
            "name",
        ),
        ("POST", "/bins", Some(json!({"count": 0})), 400, "count"),
        ("POST", "/bins", Some(json!({"count": 998})), 400, "count"),
        ("POST", "/bins", Some(json!({"count": "3"})), 400, "count"),
        ("GET", "/packs?status=GONE", None, 400, "status"),
    ];
    for (method, path, body, status, field) in cases {
        let response = app.call(method, path, body.clone()).await.unwrap();
        assert_eq!(
            response.status,
            status,
            "{method} {path} {body:?}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(
            response.json()["field"],
            field,
            "{method} {path} {body:?}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(
            app.dump(),
            before,
            "{method} {path} {body:?} changed the database"
        );
    }

    // Broken JSON, and no token.
    let broken = tombola_tests::app::send(
        app.addr,
        "POST",
        "/api/v1/lottery/packs",
        &[("authorization", &format!("Bearer {}", store::STORE_TOKEN))],
        "{\"game\":".into(),
    )
    .await
    .unwrap();
    assert_refused(&broken, 400, "body");
    let anonymous = tombola_tests::app::send(
        app.addr,
        "POST",
        "/api/v1/lottery/bins",
        &[],
        "{\"count\": 1}".into(),
    )
    .await
    .unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(app.dump(), before);

    // The barcode's error says which part is wrong, and where.
    let response = app
        .call(
            "POST",
            "/barcodes/parse",
            Some(json!({"barcode": "050-00X001-000"})),
        )
        .await
        .unwrap();
    assert_refused(&response, 400, "barcode");
    assert_eq!(
        (
            response.json()["part"].clone(),
            response.json()["position"].clone()
        ),
        (json!("pack"), json!(6))
    );
    let parsed = ok(
        &app,
        "POST",
        "/barcodes/parse",
        Some(json!({"barcode": "050-000001-007"})),
        200,
    )
    .await;
    assert_eq!(
        (parsed["pack"].clone(), parsed["ticket"].clone()),
        (json!(1), json!(7))
    );
    assert_eq!(parsed["known_pack"]["status"], "ACTIVE");
    assert_eq!(app.dump(), before, "parsing stores nothing");
}
