//! The operators' console as an operator uses it: the admin token, a
//! pool's stock, odds, draws and the chart of drawn against published odds,
//! the audit, restock, recover and close, the state browser and its change
//! feed, and the lottery cloud's panel: its stores with their last push
//! and pull, and a chosen store's bins and packs.

use anyhow::Result;
use serde_json::{Value, json};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};
use tombola_tests::lottery;

use crate::chrome::Browser;

async fn put_state(app: &TestApp, key: &str, body: Value) -> Result<()> {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let response = app
        .request(
            "PUT",
            &format!("/api/v1/state/{key}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&body).unwrap(),
        )
        .await?;
    assert!(
        response.status == 200 || response.status == 201,
        "{response:?}"
    );
    Ok(())
}

/// A pool with a few draws, and a key in the state API.
async fn seeded() -> Result<TestApp> {
    let app = TestApp::start().await?;
    app.create_pool(&json!({
        "id": "summer", "name": "Summer draw", "mode": "weight", "snapshot_every": 32,
        "items": [
            {"id": "gold", "weight": 1, "stock": 10},
            {"id": "silver", "weight": 10, "stock": 100},
            {"id": "none", "weight": 89, "stock": null}
        ]
    }))
    .await;
    for n in 0..4 {
        app.post_json(
            "/v1/pools/summer/draws",
            &json!({"request_id": format!("u-{n}"), "count": 10}),
        )
        .await?
        .assert_status(200);
    }
    put_state(
        &app,
        "app/config",
        json!({"value": {"mode": "on"}, "metadata": {"owner": "ops"}}),
    )
    .await?;
    Ok(app)
}

#[tokio::test]
async fn an_operator_looks_after_a_pool_and_the_state() -> Result<()> {
    let app = seeded().await?;
    let browser = Browser::start().await?;
    // A wrong token says so; the right one is kept for the session.
    browser
        .sign_in(
            &format!("http://{}/console/", app.addr),
            "That admin token is wrong.",
            ADMIN_TOKEN,
        )
        .await?;
    browser
        .wait_text("#pool-list", "summer Summer draw (weight, 3 items)")
        .await?;
    browser.client.refresh().await?;
    browser.wait_text("#pool-list", "summer").await?;
    assert!(!browser.shown("#login").await?);

    // The pool: stock, odds, the draws of its log, and the chart.
    browser.click("#pool-list button").await?;
    browser
        .wait_text("#pool-title", "Pool summer: Summer draw")
        .await?;
    let log = app
        .get("/v1/pools/summer/log?after=0&limit=100")
        .await?
        .json();
    let drawn: Vec<String> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"]["kind"] == "draw")
        .flat_map(|e| e["outcome"]["drawn"].as_array().unwrap().clone())
        .map(|item| item.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(drawn.len(), 40);
    let pool = app.get("/v1/pools/summer").await?.json();
    for item in pool["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let remaining = item["remaining"]
            .as_u64()
            .map_or("unlimited".to_owned(), |r| r.to_string());
        let odds = item["odds"]["approximate"].as_f64().unwrap();
        browser
            .wait_text(
                &format!("#stock tr[data-item='{id}']"),
                &format!("{id} {remaining}"),
            )
            .await?;
        let share = drawn.iter().filter(|d| *d == id).count() as f64 / 40.0;
        let chart = browser.text(&format!("#chart [data-item='{id}']")).await?;
        assert_eq!(
            chart,
            format!("{id}\n{:.1}% / {:.1}%", odds * 100.0, share * 100.0),
            "the chart's row of {id}"
        );
    }
    browser
        .wait_text(
            "#chart-note",
            "40 items drawn in the last 5 entries of the log.",
        )
        .await?;
    browser.wait_text("#feed", "#5: ").await?;

    browser.click("#run-audit").await?;
    browser
        .wait_text(
            "#audit-verdict",
            "Audit passed: 5 entries replayed, 4 outcomes checked, stock conserved.",
        )
        .await?;
    browser.screenshot("console-pool", "#pool").await?;

    browser.choose("#restock-item", "gold").await?;
    browser.type_into("#restock-quantity", "5").await?;
    browser.click("#restock button").await?;
    browser.confirm("Add 5 of gold to pool summer.").await?;
    let gold = app.remaining("summer").await["gold"].unwrap();
    browser
        .wait_text("#notice", &format!("Restocked: gold now has {gold}."))
        .await?;
    browser
        .wait_text("#stock tr[data-item='gold']", &format!("gold {gold}"))
        .await?;

    browser.click("#recover").await?;
    browser.confirm("replay, write a snapshot").await?;
    browser
        .wait_text("#notice", "Pool summer recovered")
        .await?;

    // Going back on the close leaves the pool open; confirming closes it.
    browser.click("#close-pool").await?;
    browser
        .wait_text("#confirm-text", "Close pool summer?")
        .await?;
    browser.click("#confirm-cancel").await?;
    browser.wait_hidden("#confirm").await?;
    assert_eq!(app.get("/v1/pools/summer").await?.json()["closed"], false);
    browser.click("#close-pool").await?;
    browser.confirm("Close pool summer?").await?;
    browser.wait_text("#pool-summary", "Closed;").await?;
    assert_eq!(app.get("/v1/pools/summer").await?.json()["closed"], true);

    // The state API: keys by prefix, a value with its metadata, the feed.
    browser.type_into("#prefix", "app/").await?;
    browser.click("#browse button").await?;
    browser
        .wait_text("#keys-summary", "1 key at revision 1.")
        .await?;
    browser.click("#keys button").await?;
    browser.wait_text("#entry-key", "app/config").await?;
    assert_eq!(
        browser.text("#entry-value").await?,
        "{\n  \"mode\": \"on\"\n}"
    );
    assert_eq!(
        browser.text("#entry-metadata").await?,
        "{\n  \"owner\": \"ops\"\n}"
    );
    browser.click("#follow").await?;
    browser.wait_text("#follow", "Stop following").await?;
    put_state(&app, "app/mode", json!({"value": "maintenance"})).await?;
    browser
        .wait_text("#events", "r2 put app/mode by admin")
        .await?;
    browser.click("#follow").await?;

    // The lottery cloud's panel is there when the app has it, and says
    // so plainly when it does not.
    let missing = browser.shown("#lottery-missing").await?;
    let body = browser.shown("#lottery-body").await?;
    assert!(missing != body, "the lottery panel shows both or neither");
    browser.screenshot("console-state", "#state").await?;

    browser
        .assert_reached_by_tab(&[
            "sign-out",
            "run-audit",
            "recover",
            "restock-item",
            "restock-quantity",
            "close-pool",
            "prefix",
            "follow",
        ])
        .await?;
    browser.assert_fits_a_phone().await?;
    browser.screenshot("console-phone", "body").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn an_operator_sees_each_stores_last_push_and_pull() -> Result<()> {
    let app = TestApp::start().await?;
    let key = lottery::register(app.addr, "corner-1").await?;
    lottery::register(app.addr, "corner-2").await?;
    lottery::admin(app.addr, "PUT", "/stores/corner-1/bins/1", None).await?;
    let push = json!({"client_id": "till-1", "mutations": [
        {"id": 1, "name": "receivePack", "args": {"pack": {"game": "050", "number": 7}}}
    ]});
    lottery::call(
        app.addr,
        "POST",
        "/v1/lottery/stores/corner-1/push",
        &key,
        Some(&push),
    )
    .await?;
    lottery::call(
        app.addr,
        "GET",
        "/v1/lottery/stores/corner-1/pull?entity=bins",
        &key,
        None,
    )
    .await?;

    let browser = Browser::start().await?;
    browser
        .sign_in(
            &format!("http://{}/console/#lottery", app.addr),
            "That admin token is wrong.",
            ADMIN_TOKEN,
        )
        .await?;
    browser
        .wait_text("#lottery-games", "050 Cash Blast, 5.00 a ticket, ACTIVE")
        .await?;
    let pushed = browser
        .wait_text("#stores-rows tr:nth-child(1)", "corner-1")
        .await?;
    assert!(pushed.contains("just now"), "{pushed}");
    assert!(pushed.contains("till-1: 1"), "{pushed}");
    let other = browser
        .wait_text("#stores-rows tr:nth-child(2)", "corner-2")
        .await?;
    assert!(other.contains("never"), "{other}");
    assert!(!other.contains("just now"), "{other}");

    browser.click("#stores-rows tr:nth-child(1) button").await?;
    browser.wait_text("#store-bins", "Bin 1").await?;
    browser.wait_text("#store-packs", "050-7 RECEIVED").await?;
    assert_eq!(
        browser.text("#store-title").await?,
        "Corner Shop (corner-1)"
    );
    browser.screenshot("console-lottery", "#lottery").await?;

    browser.click("#stores-rows tr:nth-child(2) button").await?;
    browser.wait_text("#store-title", "corner-2").await?;
    browser.wait_text("#store-packs", "none").await?;
    browser.close().await?;
    Ok(())
}
