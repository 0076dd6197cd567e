//! Faults under load: the serving host killed with SIGKILL, Redis killed
//! with SIGKILL on an fsync-always append-only file, Redis refusing
//! connections or frozen. Each test is bounded in time and checks the
//! invariants that must survive: every acknowledged draw is in the log
//! once, at the seq it was answered with, the stock is the initial stock
//! minus everything the log drew, and the audit finds nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use tombola_tests::app::{ADMIN_TOKEN, TestApp, TestResponse, options_for, send};
use tombola_tests::keys;
use tombola_tests::process::HostProcess;
use tombola_tests::redis_server::{Persistence, RedisServer};

const POOL: &str = "fault";
const STOCK: [(&str, u64); 3] = [("a", 400), ("b", 400), ("c", 400)];
const CLIENTS: usize = 8;
const PER_CLIENT: usize = 30;
/// The whole load, outage included, must finish within this.
const LOAD_LIMIT: Duration = Duration::from_secs(40);
/// How long a route may take to answer 503 while Redis refuses
/// connections, or to answer again once it is back: Spin's outbound Redis
/// connects per request, so neither waits on a reconnect schedule.
const PROMPT: Duration = Duration::from_millis(500);
/// A client's own timeout in the frozen-Redis test: Spin sets none, so
/// this is what ends the wait.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A data directory for a persistent Redis, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tombola-faults-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A draw a client saw answered with 200.
#[derive(Debug, Clone)]
struct Ack {
    request_id: String,
    count: u64,
    body: Value,
}

/// What the clients count while they run.
#[derive(Default)]
struct Counters {
    acknowledged: AtomicU64,
    /// 503s and connection errors: proof the fault hit the load.
    troubles: AtomicU64,
}

fn bearer() -> String {
    format!("Bearer {ADMIN_TOKEN}")
}

async fn post(
    addr: SocketAddr,
    path: &str,
    body: &Value,
    admin: bool,
) -> anyhow::Result<TestResponse> {
    let auth = bearer();
    let mut headers = vec![("content-type", "application/json")];
    if admin {
        headers.push(("authorization", &auth));
    }
    send(
        addr,
        "POST",
        path,
        &headers,
        Bytes::from(serde_json::to_vec(body)?),
    )
    .await
}

async fn get(addr: SocketAddr, path: &str) -> TestResponse {
    let auth = bearer();
    send(addr, "GET", path, &[("authorization", &auth)], Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
}

async fn create_pool(addr: SocketAddr) {
    let items: Vec<_> = STOCK
        .iter()
        .map(|(id, n)| json!({"id": id, "stock": n}))
        .collect();
    let config =
        json!({"id": POOL, "name": POOL, "mode": "stock", "snapshot_every": 8, "items": items});
    post(addr, "/v1/pools", &config, true)
        .await
        .unwrap()
        .assert_status(201);
}

/// Sends one draw until it is answered with 200, always with the same
/// request id. A 503 or a connection error is the fault under test and is
/// retried; any other answer fails the test.
async fn draw_until_acknowledged(
    addr: SocketAddr,
    request_id: &str,
    count: u64,
    counters: &Counters,
) -> Ack {
    let path = format!("/v1/pools/{POOL}/draws");
    let body = json!({"request_id": request_id, "count": count});
    loop {
        match post(addr, &path, &body, false).await {
            Ok(response) if response.status == 200 => {
                counters.acknowledged.fetch_add(1, Ordering::SeqCst);
                return Ack {
                    request_id: request_id.to_owned(),
                    count,
                    body: response.json(),
                };
            }
            Ok(response) if response.status == 503 => {
                assert_eq!(response.header("retry-after"), Some("1"));
                counters.troubles.fetch_add(1, Ordering::SeqCst);
            }
            Ok(response) => panic!(
                "draw {request_id}: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ),
            Err(_) => {
                counters.troubles.fetch_add(1, Ordering::SeqCst);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the clients; each draws `PER_CLIENT` times, 1 to 3 items a time.
fn start_load(
    addr: SocketAddr,
    counters: &Arc<Counters>,
) -> Vec<tokio::task::JoinHandle<Vec<Ack>>> {
    (0..CLIENTS)
        .map(|client| {
            let counters = counters.clone();
            tokio::spawn(async move {
                let mut acks = Vec::new();
                for n in 0..PER_CLIENT {
                    let request_id = format!("c{client}-{n}");
                    let count = 1 + ((client + n) % 3) as u64;
                    acks.push(draw_until_acknowledged(addr, &request_id, count, &counters).await);
                }
                acks
            })
        })
        .collect()
}

/// Waits until `n` draws were acknowledged, and returns how many were.
async fn wait_for_acks(counters: &Counters, n: u64) -> u64 {
    tokio::time::timeout(LOAD_LIMIT, async {
        loop {
            let acked = counters.acknowledged.load(Ordering::SeqCst);
            if acked >= n {
                return acked;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the load never got going")
}

async fn finish_load(clients: Vec<tokio::task::JoinHandle<Vec<Ack>>>) -> Vec<Ack> {
    tokio::time::timeout(LOAD_LIMIT, async {
        let mut acks = Vec::new();
        for client in clients {
            acks.extend(client.await.unwrap());
        }
        acks
    })
    .await
    .expect("the load did not finish after the fault")
}

/// One DRAW entry of the log: its seq and the items its outcome drew.
#[derive(Debug, PartialEq)]
struct Logged {
    seq: u64,
    drawn: Value,
}

/// Every draw in the pool's log, by request id, read through the log
/// route page by page. Fails if a request id is in the log twice.
async fn logged_draws(addr: SocketAddr) -> BTreeMap<String, Logged> {
    let mut draws = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let page = get(
            addr,
            &format!("/v1/pools/{POOL}/log?after={after}&limit=1000"),
        )
        .await;
        page.assert_status(200);
        let page = page.json();
        if after == 0 {
            assert_eq!(page["retained_from"], 1, "nothing was compacted");
        }
        for entry in page["entries"].as_array().unwrap() {
            assert_eq!(entry["seq"], after + 1, "the log has no gaps");
            after += 1;
            if entry["outcome"]["kind"] != "draw" {
                continue;
            }
            let line = entry["line"].as_str().unwrap();
            let request_id = line.split(' ').nth(1).unwrap().to_owned();
            let logged = Logged {
                seq: entry["seq"].as_u64().unwrap(),
                drawn: entry["outcome"]["drawn"].clone(),
            };
            if let Some(earlier) = draws.insert(request_id.clone(), logged) {
                panic!("request id {request_id} is in the log twice (first at {earlier:?})");
            }
        }
        if page["next_after"].is_null() {
            assert_eq!(page["last_seq"], after, "the pages reach the end");
            return draws;
        }
    }
}

/// The invariants a fault must not break.
async fn check_invariants(addr: SocketAddr, acks: &[Ack]) {
    let logged = logged_draws(addr).await;

    // Every acknowledged draw is in the log at its seq with its items.
    for ack in acks {
        let entry = logged
            .get(&ack.request_id)
            .unwrap_or_else(|| panic!("acknowledged draw {} is not in the log", ack.request_id));
        assert_eq!(entry.seq, ack.body["seq"], "{}", ack.request_id);
        assert_eq!(entry.drawn, ack.body["drawn"], "{}", ack.request_id);
    }
    // Every client retried until acknowledged, so the log holds exactly
    // the requests made, each once.
    let asked: BTreeSet<&str> = acks.iter().map(|a| a.request_id.as_str()).collect();
    let in_log: BTreeSet<&str> = logged.keys().map(String::as_str).collect();
    assert_eq!(asked, in_log);

    // Replayed stock is the initial stock minus everything the log drew.
    let mut drawn: BTreeMap<String, u64> = BTreeMap::new();
    for entry in logged.values() {
        for item in entry.drawn.as_array().unwrap() {
            *drawn.entry(item.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    let pool = get(addr, &format!("/v1/pools/{POOL}")).await;
    pool.assert_status(200);
    let pool = pool.json();
    for item in pool["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let initial = STOCK.iter().find(|(i, _)| *i == id).unwrap().1;
        let expected = initial - drawn.get(id).copied().unwrap_or(0);
        assert_eq!(item["remaining"], expected, "item {id}: {pool}");
    }

    let audit = get(addr, &format!("/v1/pools/{POOL}/audit")).await;
    audit.assert_status(200);
    let audit = audit.json();
    assert_eq!(audit["mismatches"], json!([]), "{audit}");

    // Retries of acknowledged ids answer identically and append nothing.
    let last_seq = pool["seq"].as_u64().unwrap();
    for ack in acks.iter().step_by(5) {
        let retry = post(
            addr,
            &format!("/v1/pools/{POOL}/draws"),
            &json!({"request_id": ack.request_id, "count": ack.count}),
            false,
        )
        .await
        .unwrap();
        retry.assert_status(200);
        let retry = retry.json();
        assert_eq!(retry["replay"], true, "{retry}");
        assert_eq!(retry["seq"], ack.body["seq"]);
        assert_eq!(retry["drawn"], ack.body["drawn"]);
    }
    let pool = get(addr, &format!("/v1/pools/{POOL}")).await.json();
    assert_eq!(pool["seq"], last_seq, "retries appended nothing");
}

/// A new draw after the fault is served at the next seq.
async fn keeps_serving(addr: SocketAddr) {
    let before = get(addr, &format!("/v1/pools/{POOL}")).await.json()["seq"]
        .as_u64()
        .unwrap();
    let after = post(
        addr,
        &format!("/v1/pools/{POOL}/draws"),
        &json!({"request_id": "after-the-fault", "count": 2}),
        false,
    )
    .await
    .unwrap();
    after.assert_status(200);
    let after = after.json();
    assert_eq!(after["seq"], before + 1);
    assert_eq!(after["replay"], false);
    assert_eq!(after["drawn"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_killed_mid_load_loses_no_acknowledged_draw() {
    let redis = RedisServer::start().unwrap();
    let mut host = HostProcess::start(env!("CARGO_BIN_EXE_tombola-host").as_ref(), &redis)
        .await
        .unwrap();
    let addr = host.addr();
    create_pool(addr).await;

    let counters = Arc::new(Counters::default());
    let clients = start_load(addr, &counters);
    let acked_at_kill = wait_for_acks(&counters, 40).await;
    host.kill();
    host.start_again().await.unwrap();
    let acks = finish_load(clients).await;

    assert!(
        acked_at_kill < (CLIENTS * PER_CLIENT) as u64,
        "the kill came after the load"
    );
    assert!(
        counters.troubles.load(Ordering::SeqCst) > 0,
        "no client noticed the kill"
    );
    assert_eq!(acks.len(), CLIENTS * PER_CLIENT);
    check_invariants(addr, &acks).await;
    keeps_serving(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_load_with_fsync_always_loses_and_duplicates_nothing() {
    let dir = TempDir::new("fsync-always");
    let redis =
        RedisServer::start_with(Persistence::AppendOnlyFsyncAlways(dir.0.clone()), None).unwrap();
    let options = options_for(&redis);
    let mut app = TestApp::start_with(redis, options).await.unwrap();
    let addr = app.addr;
    create_pool(addr).await;

    let counters = Arc::new(Counters::default());
    let clients = start_load(addr, &counters);
    let acked_at_kill = wait_for_acks(&counters, 40).await;
    app.redis.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| app.redis.start_again()).unwrap();
    let acks = finish_load(clients).await;

    assert!(
        acked_at_kill < (CLIENTS * PER_CLIENT) as u64,
        "the kill came after the load"
    );
    assert!(
        counters.troubles.load(Ordering::SeqCst) > 0,
        "no client noticed the outage"
    );
    assert_eq!(acks.len(), CLIENTS * PER_CLIENT);
    check_invariants(addr, &acks).await;
    keeps_serving(addr).await;
}

/// Sends a request with the admin token and returns its answer and how
/// long it took.
async fn timed(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> (TestResponse, Duration) {
    let started = Instant::now();
    let auth = bearer();
    let response = send(
        addr,
        method,
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        Bytes::from(serde_json::to_vec(body).unwrap()),
    )
    .await
    .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"));
    (response, started.elapsed())
}

/// Sends a request and checks it is refused with a retry-safe 503 of
/// `problem` type within [`PROMPT`]; returns how long it took.
async fn refused_quickly(
    addr: SocketAddr,
    (method, path, body): &(&str, String, Value),
    problem: &str,
) -> Duration {
    let (response, took) = timed(addr, method, path, body).await;
    assert!(
        took < PROMPT,
        "{method} {path} took {took:?}, over {PROMPT:?}"
    );
    response.assert_status(503);
    assert_eq!(response.header("retry-after"), Some("1"), "{method} {path}");
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let answer = response.json();
    assert_eq!(
        answer["type"],
        format!("https://tombola.dev/problems/{problem}"),
        "{method} {path}: {answer}"
    );
    took
}

async fn acknowledged_draws(addr: SocketAddr, ids: &[&str]) -> Vec<Ack> {
    let counters = Counters::default();
    let mut acks = Vec::new();
    for id in ids {
        acks.push(draw_until_acknowledged(addr, id, 2, &counters).await);
    }
    assert_eq!(counters.troubles.load(Ordering::SeqCst), 0);
    acks
}

/// One request of every route family of the draw component that reaches
/// Redis, against the pool [`POOL`], with the status it answers once
/// Redis is up. In this order they succeed one after the other.
fn every_route() -> Vec<((&'static str, String, Value), u16)> {
    let pool = format!("/v1/pools/{POOL}");
    let other = json!({"id": "fault-2", "name": "second", "mode": "stock",
        "items": [{"id": "a", "stock": 3}]});
    vec![
        (("GET", "/v1/pools".into(), json!({})), 200),
        (("POST", "/v1/pools".into(), other), 201),
        (("GET", pool.clone(), json!({})), 200),
        (
            (
                "POST",
                format!("{pool}/draws"),
                json!({"request_id": "route-draw", "count": 1}),
            ),
            200,
        ),
        (
            (
                "POST",
                format!("{pool}/operations"),
                json!({"operation_id": "op1", "count": 4, "chunk_size": 2}),
            ),
            200,
        ),
        (("GET", format!("{pool}/operations/op1"), json!({})), 200),
        (
            ("POST", format!("{pool}/operations/op1/rollback"), json!({})),
            200,
        ),
        (
            (
                "POST",
                format!("{pool}/restock"),
                json!({"item": "a", "quantity": 5, "request_id": "restock-1"}),
            ),
            200,
        ),
        (("POST", format!("{pool}/recover"), json!({})), 200),
        (("GET", format!("{pool}/audit"), json!({})), 200),
        (("GET", format!("{pool}/log"), json!({})), 200),
        (
            (
                "POST",
                format!("{pool}/close"),
                json!({"request_id": "close-1"}),
            ),
            200,
        ),
    ]
}

/// With Redis stopped, every route of the draw component answers a
/// retry-safe 503 at once and writes nothing; once Redis is back the very
/// first request of each succeeds, with no reconnect schedule to wait out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_at_once_and_loses_nothing() {
    let dir = TempDir::new("down");
    let redis =
        RedisServer::start_with(Persistence::AppendOnlyFsyncAlways(dir.0.clone()), None).unwrap();
    let options = options_for(&redis);
    let mut app = TestApp::start_with(redis, options).await.unwrap();
    let addr = app.addr;
    create_pool(addr).await;
    let mut acks = acknowledged_draws(addr, &["r1", "r2", "r3"]).await;

    app.redis.stop();
    let health = ("GET", "/v1/health".to_owned(), json!({}));
    let mut slowest = refused_quickly(addr, &health, "backend-unavailable").await;
    let draw = (
        "POST",
        format!("/v1/pools/{POOL}/draws"),
        json!({"request_id": "r4", "count": 2}),
    );
    for _ in 0..3 {
        slowest = slowest.max(refused_quickly(addr, &draw, "redis-unavailable").await);
    }
    for (request, _) in every_route() {
        slowest = slowest.max(refused_quickly(addr, &request, "redis-unavailable").await);
    }
    eprintln!("slowest 503 with Redis stopped: {slowest:?}");

    tokio::task::block_in_place(|| app.redis.start_again()).unwrap();
    let (up, took) = timed(addr, "GET", "/v1/health", &json!({})).await;
    up.assert_status(200);
    assert!(
        took < PROMPT,
        "the first health check after the restart took {took:?}"
    );
    acks.extend(acknowledged_draws(addr, &["r4", "r5"]).await);
    assert_eq!(
        acks[3].body["replay"], false,
        "the refused r4 wrote nothing"
    );
    assert_eq!(acks[3].body["seq"], 5, "CREATE, r1 to r3, then r4");
    check_invariants(addr, &acks).await;

    let mut slowest = took;
    for ((method, path, body), status) in every_route() {
        let (response, took) = timed(addr, method, &path, &body).await;
        assert_eq!(
            response.status,
            status,
            "{method} {path} after the restart: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert!(
            took < PROMPT,
            "{method} {path} after the restart took {took:?}"
        );
        slowest = slowest.max(took);
    }
    eprintln!("slowest first answer after Redis restarted: {slowest:?}");
    let listed = get(addr, "/v1/pools").await.json();
    let ids: Vec<&str> = listed["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [POOL, "fault-2"],
        "the refused create wrote nothing twice"
    );
}

fn signal(redis: &RedisServer, name: &str) {
    let pid = redis.pid().expect("redis-server runs");
    let status = std::process::Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name} {pid}");
}

/// Whether Redis holds a record for `request_id` in [`POOL`], read by the
/// test's own connection.
async fn has_record(app: &TestApp, request_id: &str) -> bool {
    let key = keys::request(POOL, request_id);
    let mut redis = app.redis_connection(0).await.unwrap();
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<bool>(&mut redis)
        .await
        .unwrap()
}

/// Redis accepts connections but never answers (SIGSTOP). Spin sets no
/// response timeout, so a draw waits for as long as Redis is frozen: what
/// the client sees is its own timeout. The draw's script is already in
/// Redis's socket and runs when Redis wakes, and a retry with the same
/// request id is answered from that record: one entry in the log, no
/// second draw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_holds_a_draw_until_it_wakes_and_a_retry_is_answered_once() {
    let app = TestApp::start().await.unwrap();
    let addr = app.addr;
    create_pool(addr).await;
    let mut acks = acknowledged_draws(addr, &["r1", "r2"]).await;

    signal(&app.redis, "-STOP");
    let started = Instant::now();
    let held = tokio::time::timeout(
        CLIENT_TIMEOUT,
        post(
            addr,
            &format!("/v1/pools/{POOL}/draws"),
            &json!({"request_id": "r3", "count": 2}),
            false,
        ),
    )
    .await;
    let waited = started.elapsed();
    signal(&app.redis, "-CONT");
    assert!(
        held.is_err(),
        "a draw was answered by a frozen Redis after {waited:?}: {held:?}"
    );

    // The held request goes on in the host and its write lands once Redis
    // runs again.
    let woke = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !has_record(&app, "r3").await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the held draw never reached Redis after SIGCONT");
    eprintln!("the held draw landed {:?} after SIGCONT", woke.elapsed());

    let retried = acknowledged_draws(addr, &["r3"]).await;
    assert_eq!(retried[0].body["replay"], true, "{}", retried[0].body);
    acks.extend(retried);
    acks.extend(acknowledged_draws(addr, &["r4"]).await);
    check_invariants(addr, &acks).await;
    keeps_serving(addr).await;
}
