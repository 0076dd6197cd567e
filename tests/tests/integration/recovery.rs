//! Restock, recover (compaction into the archive), audit, the log route,
//! and reads that survive a lost or damaged snapshot.

use serde_json::json;
use tombola_tests::app::TestApp;
use tombola_tests::keys;

async fn busy_pool(app: &TestApp, draws: usize) {
    app.create_pool(&json!({
        "id": "p", "name": "p", "mode": "stock", "snapshot_every": 4,
        "items": [{"id": "a", "stock": 50}, {"id": "b", "stock": 50}]
    }))
    .await;
    for n in 0..draws {
        let response = app
            .post_json(
                "/v1/pools/p/draws",
                &json!({"request_id": format!("r{n}"), "count": 2}),
            )
            .await
            .unwrap();
        response.assert_status(200);
    }
}

fn total(remaining: &std::collections::BTreeMap<String, Option<u64>>) -> u64 {
    remaining.values().map(|v| v.unwrap()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restock_and_recover_compact_the_log_and_audit_stays_clean() {
    let app = TestApp::start().await.unwrap();
    busy_pool(&app, 10).await;
    assert_eq!(total(&app.remaining("p").await), 80);

    let restock = app
        .admin_post(
            "/v1/pools/p/restock",
            &json!({"item": "a", "quantity": 5, "request_id": "s1"}),
        )
        .await
        .unwrap();
    restock.assert_status(200);
    assert_eq!(restock.json()["outcome"]["kind"], "restock");
    assert_eq!(total(&app.remaining("p").await), 85);
    let bad = app
        .admin_post(
            "/v1/pools/p/restock",
            &json!({"item": "zzz", "quantity": 5}),
        )
        .await
        .unwrap();
    bad.assert_status(409);
    assert_eq!(
        bad.json()["type"],
        "https://tombola.dev/problems/no-such-item"
    );
    let overflow = app
        .admin_post(
            "/v1/pools/p/restock",
            &json!({"item": "a", "quantity": u64::MAX - 10}),
        )
        .await
        .unwrap();
    overflow.assert_status(409);
    assert_eq!(
        overflow.json()["type"],
        "https://tombola.dev/problems/stock-overflow"
    );
    assert_eq!(
        total(&app.remaining("p").await),
        85,
        "refusals change nothing"
    );

    let recovered = app
        .admin_post("/v1/pools/p/recover", &json!({}))
        .await
        .unwrap();
    recovered.assert_status(200);
    let report = recovered.json();
    assert_eq!(report["seq"], 12);
    assert_eq!(report["archived_entries"], 12);
    assert_eq!(report["archive_segment"], 1);

    let mut redis = app.redis_connection(0).await.unwrap();
    let log_len: usize = redis::cmd("LLEN")
        .arg(keys::log("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(log_len, 0);
    let archived: usize = redis::cmd("LLEN")
        .arg(keys::archive("p", 1))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(archived, 12);

    // Draws go on after compaction, numbered on from the base.
    let next = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "after", "count": 1}),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(next["seq"], 13);
    assert_eq!(total(&app.remaining("p").await), 84);

    // The log route reads through the archive.
    let page = app
        .get("/v1/pools/p/log?after=0&limit=5")
        .await
        .unwrap()
        .json();
    assert_eq!(page["retained_from"], 1);
    assert_eq!(page["entries"].as_array().unwrap().len(), 5);
    assert_eq!(page["entries"][0]["seq"], 1);
    assert_eq!(page["entries"][0]["outcome"]["kind"], "create");
    assert_eq!(page["next_after"], 5);
    let tail = app.get("/v1/pools/p/log?after=11").await.unwrap().json();
    let seqs: Vec<u64> = tail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![12, 13]);
    assert_eq!(tail["retained_from"], 1, "the archive still holds entry 1");
    assert_eq!(
        app.get("/v1/pools/p/log?limit=0").await.unwrap().status,
        400
    );

    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
    assert_eq!(audit["entries_replayed"], 13);
    // Eleven draws carry request ids; CREATE and RESTOCK do not.
    assert_eq!(audit["outcomes_checked"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_damaged_snapshot_never_gives_a_wrong_stock() {
    let app = TestApp::start().await.unwrap();
    busy_pool(&app, 9).await;
    let expected = app.remaining("p").await;
    let mut redis = app.redis_connection(0).await.unwrap();
    let snap: Vec<u8> = redis::cmd("GET")
        .arg(keys::snap("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!snap.is_empty(), "draws wrote a snapshot every 4 entries");

    // Deleted: the whole log replays.
    let _: () = redis::cmd("DEL")
        .arg(keys::snap("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(app.remaining("p").await, expected);

    // Damaged: the read falls back to the log and the archive.
    let mut damaged = snap.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    let _: () = redis::cmd("SET")
        .arg(keys::snap("p"))
        .arg(&damaged)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(app.remaining("p").await, expected);
    let draw = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "x1", "count": 2}),
        )
        .await
        .unwrap();
    draw.assert_status(200);

    // After a compaction the log alone cannot rebuild the state: the
    // archive's snapshot and segment do.
    assert_eq!(
        app.admin_post("/v1/pools/p/recover", &json!({}))
            .await
            .unwrap()
            .status,
        200
    );
    let expected = app.remaining("p").await;
    let _: () = redis::cmd("SET")
        .arg(keys::snap("p"))
        .arg(&damaged)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(app.remaining("p").await, expected);
    let audit = app.admin_get("/v1/pools/p/audit").await.unwrap().json();
    let mismatches = audit["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{audit}");
    assert_eq!(mismatches[0]["what"], keys::snap("p"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_log_line_is_refused_with_its_position() {
    let app = TestApp::start().await.unwrap();
    busy_pool(&app, 3).await;
    let mut redis = app.redis_connection(0).await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(keys::snap("p"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: () = redis::cmd("LSET")
        .arg(keys::log("p"))
        .arg(2)
        .arg("DRAW/1 garbage")
        .query_async(&mut redis)
        .await
        .unwrap();
    for response in [
        app.get("/v1/pools/p").await.unwrap(),
        app.admin_get("/v1/pools/p/audit").await.unwrap(),
        app.admin_post("/v1/pools/p/recover", &json!({}))
            .await
            .unwrap(),
    ] {
        response.assert_status(422);
        assert_eq!(response.json()["position"], "log entry 3");
    }
}
