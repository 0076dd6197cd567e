//! The state API's upkeep: timed snapshots taken by the first write after
//! their interval, and the metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tombola_tests::app::TestApp;

use super::state::{BASE, READER_TOKEN, admin, keyed, put, read, start};

async fn snapshot_revisions(app: &TestApp) -> Vec<u64> {
    read(app, "/snapshots").await.expect(200)["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["revision"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_write_after_the_interval_takes_a_snapshot_keeping_at_most_max() {
    let app = start(&[("snapshot_interval_secs", "1"), ("max_snapshots", "2")]).await;
    put(&app, "a", json!({"value": 1})).await;
    put(&app, "b", json!({"value": 2})).await;
    assert_eq!(snapshot_revisions(&app).await, Vec::<u64>::new());
    // Reads take none, however late.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    read(&app, "/a").await.expect(200);
    assert_eq!(snapshot_revisions(&app).await, Vec::<u64>::new());
    // The first write after the interval takes one, holding its own change.
    put(&app, "c", json!({"value": 3})).await;
    put(&app, "d", json!({"value": 4})).await;
    let listed = read(&app, "/snapshots").await;
    let listed = listed.expect(200)["snapshots"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (listed[0]["revision"].as_u64(), listed[0]["keys"].as_u64()),
        (Some(3), Some(3))
    );

    // A snapshot taken by hand starts the interval again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    admin(&app, "POST", "/snapshot", None).await.expect(201);
    tokio::time::sleep(Duration::from_millis(600)).await;
    admin(&app, "DELETE", "/a", None).await.expect(200);
    assert_eq!(snapshot_revisions(&app).await, [3, 4]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let txn = json!({"success": [{"op": "put", "key": "e", "value": 5}]});
    admin(&app, "POST", "/txn", Some(&txn)).await.expect(200);
    assert_eq!(snapshot_revisions(&app).await, [4, 6], "the oldest dropped");
    let restored = admin(&app, "POST", "/snapshots/6/restore", None).await;
    assert_eq!(restored.expect(200)["changed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_of_zero_takes_no_timed_snapshots() {
    let app = start(&[("snapshot_interval_secs", "0")]).await;
    put(&app, "a", json!({"value": Value::from(1)})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put(&app, "a", json!({"value": 2})).await;
    assert_eq!(snapshot_revisions(&app).await, Vec::<u64>::new());
}

/// The metrics page, as the reader token reads it: its samples by series.
async fn metrics(app: &TestApp) -> BTreeMap<String, f64> {
    let auth = format!("Bearer {READER_TOKEN}");
    let response = app
        .request(
            "GET",
            &format!("{BASE}/metrics"),
            &[("authorization", &auth)],
            "",
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = std::str::from_utf8(&response.body).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_state_and_the_scripts_counts() {
    let app = start(&[("event_retention", "3"), ("snapshot_interval_secs", "0")]).await;
    let empty = metrics(&app).await;
    assert_eq!(empty["tombola_state_keys"], 0.0);
    assert_eq!(empty.get("tombola_state_snapshot_age_seconds"), None);
    assert_eq!(empty.get("tombola_state_feed_oldest_revision"), None);

    put(&app, "a", json!({"value": "abc", "metadata": {"m": 1}})).await;
    put(&app, "b", json!({"value": 12})).await;
    admin(&app, "DELETE", "/b", None).await.expect(200);
    let txn = json!({
        "compare": [{"key": "a", "exists": false}],
        "failure": [{"op": "put", "key": "c", "value": [1]}, {"op": "put", "key": "d", "value": 2}],
    });
    admin(&app, "POST", "/txn", Some(&txn)).await.expect(200);
    keyed(&app, "PUT", "/e", "k-1", Some(&json!({"value": true})))
        .await
        .expect(201);
    keyed(&app, "PUT", "/e", "k-1", Some(&json!({"value": true})))
        .await
        .expect(201);
    admin(&app, "POST", "/snapshot", None).await.expect(201);

    let m = metrics(&app).await;
    let expected = [
        ("tombola_state_keys", 4.0),
        ("tombola_state_bytes", 5.0 + 3.0 + 1.0 + 4.0),
        ("tombola_state_metadata_keys", 1.0),
        ("tombola_state_revision", 5.0),
        ("tombola_state_feed_revisions", 3.0),
        ("tombola_state_feed_compacted_revision", 2.0),
        ("tombola_state_feed_oldest_revision", 3.0),
        ("tombola_state_snapshots", 1.0),
        ("tombola_state_changes_total{type=\"put\"}", 5.0),
        ("tombola_state_changes_total{type=\"delete\"}", 1.0),
        ("tombola_state_changes_total{type=\"expire\"}", 0.0),
        ("tombola_state_transactions_total{branch=\"success\"}", 0.0),
        ("tombola_state_transactions_total{branch=\"failure\"}", 1.0),
        (
            "tombola_state_snapshots_taken_total{trigger=\"request\"}",
            1.0,
        ),
        (
            "tombola_state_snapshots_taken_total{trigger=\"timed\"}",
            0.0,
        ),
        ("tombola_state_idempotent_replays_total", 1.0),
    ];
    for (series, value) in expected {
        assert_eq!(m.get(series), Some(&value), "{series}: {m:?}");
    }
    let age = m["tombola_state_snapshot_age_seconds"];
    assert!((0.0..5.0).contains(&age), "{age}");

    // The reader or the admin token, and no other.
    let anonymous = app
        .request("GET", &format!("{BASE}/metrics"), &[], "")
        .await;
    assert_eq!(anonymous.unwrap().status, 401);
}
