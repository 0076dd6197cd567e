//! The draw component's metrics (`GET /v1/metrics`), read with the state
//! API's reader token: per pool, the log, the entries since the snapshot,
//! the stock left and the request records.

use std::collections::BTreeMap;

use serde_json::json;
use tombola_tests::app::{ADMIN_TOKEN, TestApp};

use super::state::{READER_TOKEN, start};

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, BTreeMap<String, f64>) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let response = app
        .request("GET", "/v1/metrics", &headers, "")
        .await
        .unwrap();
    if response.status != 200 {
        return (response.status, BTreeMap::new());
    }
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = std::str::from_utf8(&response.body).unwrap();
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect();
    (200, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_each_pools_log_stock_and_request_records() {
    let app = start(&[]).await;
    assert_eq!(
        scrape(&app, Some(READER_TOKEN)).await.1["tombola_pools"],
        0.0
    );
    for (id, items) in [
        (
            "p",
            json!([{"id": "a", "stock": 3}, {"id": "b", "stock": 2}]),
        ),
        ("q", json!([{"id": "x", "stock": 4}])),
    ] {
        app.create_pool(&json!({"id": id, "name": id, "mode": "stock", "items": items}))
            .await;
    }
    for (request, count) in [("r1", 2), ("r2", 1)] {
        let body = json!({"request_id": request, "count": count});
        let drawn = app.post_json("/v1/pools/p/draws", &body).await.unwrap();
        drawn.assert_status(200);
    }

    let (status, m) = scrape(&app, Some(READER_TOKEN)).await;
    assert_eq!(status, 200);
    let expected = [
        ("tombola_pools", 2.0),
        ("tombola_pool_log_entries{pool=\"p\"}", 3.0),
        ("tombola_pool_seq{pool=\"p\"}", 3.0),
        ("tombola_pool_entries_since_snapshot{pool=\"p\"}", 3.0),
        ("tombola_pool_remaining_stock{pool=\"p\"}", 2.0),
        ("tombola_pool_request_records{pool=\"p\"}", 2.0),
        ("tombola_pool_log_entries{pool=\"q\"}", 1.0),
        ("tombola_pool_remaining_stock{pool=\"q\"}", 4.0),
        ("tombola_pool_request_records{pool=\"q\"}", 0.0),
    ];
    for (series, value) in expected {
        assert_eq!(m.get(series), Some(&value), "{series}: {m:?}");
    }

    assert_eq!(scrape(&app, Some(ADMIN_TOKEN)).await.0, 200);
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("not-a-token")).await.0, 403);
}
