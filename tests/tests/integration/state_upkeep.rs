//! The state API's upkeep: timed snapshots taken by the first write after
//! their interval, and the metrics.

use std::time::Duration;

use serde_json::{Value, json};
use tombola_tests::app::TestApp;

use super::state::{admin, put, read, start};

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
