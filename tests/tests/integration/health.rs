//! `GET /v1/health` and routing.

use std::time::{Duration, Instant};

use tombola_tests::app::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_redis_ok_after_a_ping() {
    let app = TestApp::start().await.unwrap();
    let redis = app.redis_connection(0).await.unwrap();
    let pings = || async {
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut redis.clone())
            .await
            .unwrap();
        stats
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_ping:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    let before = pings().await;
    let response = app.get("/v1/health").await.unwrap();
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "redis": {"status": "ok"}})
    );
    assert_eq!(pings().await, before + 1, "the probe sent Redis one PING");
}

/// Health opens Redis per request, as every route does, so it is 503 at
/// once while Redis is down, every time, and 200 on the first probe after
/// Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_while_redis_is_down_and_recovers() {
    const PROMPT: Duration = Duration::from_millis(500);
    let mut app = TestApp::start().await.unwrap();
    assert_eq!(app.get("/v1/health").await.unwrap().status, 200);

    app.redis.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let down = app.get("/v1/health").await.unwrap();
        let took = started.elapsed();
        assert!(took < PROMPT, "a 503 took {took:?}");
        down.assert_status(503);
        assert_eq!(
            down.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(down.header("retry-after"), Some("1"));
        let body = down.json();
        assert_eq!(body["status"], 503);
        assert_eq!(body["redis"]["status"], "error");
        let error = body["redis"]["error"].as_str().unwrap();
        assert!(
            error.starts_with("cannot connect to Redis at redis://127.0.0.1:"),
            "{error}"
        );
        assert_eq!(body["detail"], format!("redis: {error}"));
    }

    tokio::task::block_in_place(|| app.redis.start_again()).unwrap();
    let started = Instant::now();
    let up = app.get("/v1/health").await.unwrap();
    let took = started.elapsed();
    up.assert_status(200);
    assert!(
        took < PROMPT,
        "the first probe after the restart took {took:?}"
    );
    assert_eq!(up.json()["redis"]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = TestApp::start().await.unwrap();

    let inside = app.get("/v1/nothing-here").await.unwrap();
    assert_eq!(inside.status, 404);
    assert_eq!(
        inside.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(inside.json()["detail"], "no route for GET /v1/nothing-here");

    let outside = app.get("/elsewhere").await.unwrap();
    assert_eq!(outside.status, 404, "no component serves /elsewhere");

    let wrong_method = app
        .request("DELETE", "/v1/health", &[], Vec::new())
        .await
        .unwrap();
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET"));

    let pools = app
        .request("PUT", "/v1/pools", &[], Vec::new())
        .await
        .unwrap();
    assert_eq!(pools.status, 405);
    assert_eq!(pools.header("allow"), Some("POST, GET"));
    assert_eq!(
        pools.json()["detail"],
        "/v1/pools does not accept PUT, only POST, GET"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paced_load_generator_sends_what_it_is_asked_for() {
    use std::sync::Arc;

    use tombola_tests::load;

    let app = TestApp::start().await.unwrap();
    let addr = app.addr;
    let ping: load::MakeRequest = Arc::new(move |_| {
        hyper::Request::get("/v1/ping")
            .header("host", addr.to_string())
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    });
    // 100 requests per second for 2 s is 200 due times; four connections
    // each send one every 40 ms, far more than a ping takes.
    let paced = load::run_paced(addr, 4, 100.0, Duration::from_secs(2), ping)
        .await
        .unwrap();
    assert_eq!(paced.errors, 0);
    assert!(
        (190..=200).contains(&paced.ok),
        "{} requests answered of the 200 due",
        paced.ok
    );
    assert!(paced.percentile_ms(0.5) > 0.0);
}
