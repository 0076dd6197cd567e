//! The operators' console as an operator uses it: the admin token, a
//! pool's stock, odds, draws and the chart of drawn against published odds,
//! the audit, restock, recover and close, the state browser and its change
//! feed, and the lottery cloud's panel.

use serde_json::{Value, json};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};

use crate::chrome::Browser;

async fn put_state(app: &TestApp, key: &str, body: Value) {
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
        .await
        .unwrap();
    assert!(
        response.status == 200 || response.status == 201,
        "{response:?}"
    );
}

/// A pool with a few draws, and a key in the state API.
async fn seeded() -> TestApp {
    let app = TestApp::start().await.unwrap();
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
        .await
        .unwrap()
        .assert_status(200);
    }
    put_state(
        &app,
        "app/config",
        json!({"value": {"mode": "on"}, "metadata": {"owner": "ops"}}),
    )
    .await;
    app
}

async fn confirm(browser: &Browser, expected: &str) {
    browser.confirm(expected).await.unwrap();
}

#[tokio::test]
async fn an_operator_looks_after_a_pool_and_the_state() {
    let app = seeded().await;
    let browser = Browser::start().await.unwrap();
    // A wrong token says so; the right one is kept for the session.
    browser
        .sign_in(
            &format!("http://{}/console/", app.addr),
            "That admin token is wrong.",
            ADMIN_TOKEN,
        )
        .await
        .unwrap();
    browser
        .wait_text("#pool-list", "summer Summer draw (weight, 3 items)")
        .await
        .unwrap();
    browser.client.refresh().await.unwrap();
    browser.wait_text("#pool-list", "summer").await.unwrap();
    assert!(!browser.shown("#login").await.unwrap());

    // The pool: stock, odds, the draws of its log, and the chart.
    browser.click("#pool-list button").await.unwrap();
    browser
        .wait_text("#pool-title", "Pool summer: Summer draw")
        .await
        .unwrap();
    let log = app
        .get("/v1/pools/summer/log?after=0&limit=100")
        .await
        .unwrap()
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
    let pool = app.get("/v1/pools/summer").await.unwrap().json();
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
            .await
            .unwrap();
        let share = drawn.iter().filter(|d| *d == id).count() as f64 / 40.0;
        let chart = browser
            .text(&format!("#chart [data-item='{id}']"))
            .await
            .unwrap();
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
        .await
        .unwrap();
    browser.wait_text("#feed", "#5: ").await.unwrap();

    browser.click("#run-audit").await.unwrap();
    browser
        .wait_text(
            "#audit-verdict",
            "Audit passed: 5 entries replayed, 4 outcomes checked, stock conserved.",
        )
        .await
        .unwrap();
    browser.screenshot("console-pool", "#pool").await.unwrap();

    browser.choose("#restock-item", "gold").await.unwrap();
    browser.type_into("#restock-quantity", "5").await.unwrap();
    browser.click("#restock button").await.unwrap();
    confirm(&browser, "Add 5 of gold to pool summer.").await;
    let gold = app.remaining("summer").await["gold"].unwrap();
    browser
        .wait_text("#notice", &format!("Restocked: gold now has {gold}."))
        .await
        .unwrap();
    browser
        .wait_text("#stock tr[data-item='gold']", &format!("gold {gold}"))
        .await
        .unwrap();

    browser.click("#recover").await.unwrap();
    confirm(&browser, "replay, write a snapshot").await;
    browser
        .wait_text("#notice", "Pool summer recovered")
        .await
        .unwrap();

    // Going back on the close leaves the pool open; confirming closes it.
    browser.click("#close-pool").await.unwrap();
    browser
        .wait_text("#confirm-text", "Close pool summer?")
        .await
        .unwrap();
    browser.click("#confirm-cancel").await.unwrap();
    browser.wait_hidden("#confirm").await.unwrap();
    assert_eq!(
        app.get("/v1/pools/summer").await.unwrap().json()["closed"],
        false
    );
    browser.click("#close-pool").await.unwrap();
    confirm(&browser, "Close pool summer?").await;
    browser.wait_text("#pool-summary", "Closed;").await.unwrap();
    assert_eq!(
        app.get("/v1/pools/summer").await.unwrap().json()["closed"],
        true
    );

    // The state API: keys by prefix, a value with its metadata, the feed.
    browser.type_into("#prefix", "app/").await.unwrap();
    browser.click("#browse button").await.unwrap();
    browser
        .wait_text("#keys-summary", "1 key at revision 1.")
        .await
        .unwrap();
    browser.click("#keys button").await.unwrap();
    browser.wait_text("#entry-key", "app/config").await.unwrap();
    assert_eq!(
        browser.text("#entry-value").await.unwrap(),
        "{\n  \"mode\": \"on\"\n}"
    );
    assert_eq!(
        browser.text("#entry-metadata").await.unwrap(),
        "{\n  \"owner\": \"ops\"\n}"
    );
    browser.click("#follow").await.unwrap();
    browser
        .wait_text("#follow", "Stop following")
        .await
        .unwrap();
    put_state(&app, "app/mode", json!({"value": "maintenance"})).await;
    browser
        .wait_text("#events", "r2 put app/mode by admin")
        .await
        .unwrap();
    browser.click("#follow").await.unwrap();

    // The lottery cloud's panel is there when the app has it, and says
    // so plainly when it does not.
    let missing = browser.shown("#lottery-missing").await.unwrap();
    let body = browser.shown("#lottery-body").await.unwrap();
    assert!(missing != body, "the lottery panel shows both or neither");
    browser.screenshot("console-state", "#state").await.unwrap();

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
        .await
        .unwrap();
    browser.assert_fits_a_phone().await.unwrap();
    browser.screenshot("console-phone", "body").await.unwrap();
    browser.close().await.unwrap();
}
