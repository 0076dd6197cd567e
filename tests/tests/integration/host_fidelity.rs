//! The host against Spin 4.0.2 where a user can tell: a Redis connection
//! per outbound `open`, one key-value connection manager per store that
//! pings on every open and holds commands while it reconnects, and how many
//! writes the HTTP server makes for one response.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::{Resource, ResourceTable};

use tombola_tests::app::TestApp;
use tombola_tests::outbound::AllowedHost;
use tombola_tests::redis_server::RedisServer;
use tombola_tests::spin::fermyon::spin::key_value::HostStore;
use tombola_tests::spin::fermyon::spin::redis::HostConnection;
use tombola_tests::spin::{Grants, KeyValueStore, RedisKeyValue, SpinCtx};

const POOL: &str = "fidelity";

/// One field of `INFO <section>`.
async fn info_field(conn: &mut MultiplexedConnection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {info}"))
        .trim()
        .parse()
        .unwrap()
}

/// How many times Redis has run `command` since it started.
async fn calls(conn: &mut MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

async fn accepted(conn: &mut MultiplexedConnection) -> u64 {
    info_field(conn, "stats", "total_connections_received").await
}

async fn clients(conn: &mut MultiplexedConnection) -> u64 {
    info_field(conn, "clients", "connected_clients").await
}

/// Waits until Redis counts `want` clients, and says how many it saw last.
async fn settle_clients(conn: &mut MultiplexedConnection, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = clients(conn).await;
        if now == want || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_pool(app: &TestApp) {
    app.create_pool(&json!({
        "id": POOL, "name": "Fidelity", "mode": "stock",
        "items": [{"id": "gold", "stock": 5}, {"id": "none", "weight": 5, "stock": null}]
    }))
    .await;
}

/// Spin opens a connection on every outbound `open` and closes it with the
/// resource: N requests that each open Redis cost Redis N times the
/// connections of one, and none of them outlives its request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_redis_connects_per_open_and_closes_with_the_resource() {
    let app = TestApp::start().await.unwrap();
    create_pool(&app).await;
    let mut observer = app.redis_connection(0).await.unwrap();
    let show = format!("/v1/pools/{POOL}");
    app.get(&show).await.unwrap().assert_status(200);
    // The pool's creation and the first show have closed their connections
    // by now; what stays is the key-value store's and the observer's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = clients(&mut observer).await;

    let before = accepted(&mut observer).await;
    app.get(&show).await.unwrap().assert_status(200);
    let per_request = accepted(&mut observer).await - before;
    assert!(
        per_request >= 1,
        "a request that opens Redis made no connection: the host shares them"
    );

    const N: u64 = 20;
    let before = accepted(&mut observer).await;
    for _ in 0..N {
        app.get(&show).await.unwrap().assert_status(200);
    }
    let made = accepted(&mut observer).await - before;
    assert_eq!(made, N * per_request, "connections for {N} requests");
    assert_eq!(
        settle_clients(&mut observer, idle).await,
        idle,
        "every request's connection is closed with its resource"
    );
}

/// Two requests' worth of Spin interfaces over one shared store, as two
/// instances of a component see them.
fn kv_grants(redis: &RedisServer) -> Grants {
    Grants {
        variables: BTreeMap::new(),
        allowed_hosts: vec![AllowedHost::parse(&redis.address()).unwrap()],
        key_value_stores: BTreeMap::from([(
            "default".to_owned(),
            Arc::new(RedisKeyValue::new(redis.url(1))),
        )]),
    }
}

fn store(res: &Resource<KeyValueStore>) -> Resource<KeyValueStore> {
    Resource::new_borrow(res.rep())
}

/// Spin's Redis key-value store keeps one connection manager per store for
/// the whole application and sends PING on every open: opens from many
/// requests add pings, never connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_shares_one_connection_and_pings_on_every_open() {
    let redis = RedisServer::start().unwrap();
    let grants = kv_grants(&redis);
    let client = redis::Client::open(redis.url(0)).unwrap();
    let mut observer = client.get_multiplexed_async_connection().await.unwrap();

    let before = accepted(&mut observer).await;
    let pings = calls(&mut observer, "ping").await;
    const N: u64 = 10;
    for i in 0..N {
        let mut table = ResourceTable::new();
        let mut ctx = SpinCtx {
            table: &mut table,
            grants: &grants,
        };
        let res = HostStore::open(&mut ctx, "default".into()).await.unwrap();
        let key = format!("k{i}");
        HostStore::set(&mut ctx, store(&res), key.clone(), b"v".to_vec())
            .await
            .unwrap();
        assert_eq!(
            HostStore::get(&mut ctx, store(&res), key)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"v"[..])
        );
        HostStore::drop(&mut ctx, res).await.unwrap();
    }
    assert_eq!(
        accepted(&mut observer).await - before,
        1,
        "one connection for every open of the store"
    );
    assert_eq!(
        calls(&mut observer, "ping").await - pings,
        N,
        "a PING per open"
    );

    let mut table = ResourceTable::new();
    let mut ctx = SpinCtx {
        table: &mut table,
        grants: &grants,
    };
    assert!(matches!(
        HostStore::open(&mut ctx, "other".into()).await,
        Err(tombola_tests::spin::fermyon::spin::key_value::Error::AccessDenied)
    ));
}

/// With Redis gone, Spin's key-value manager reconnects in the background
/// and every command waits for it: the open still succeeds (its PING's
/// failure is ignored), the next command hangs, and it goes on hanging after
/// Redis is back, until the manager's next retry, a minute or more later.
/// Outbound Redis, connecting afresh on each open, fails at once and
/// recovers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_waits_out_its_reconnect_schedule_while_outbound_redis_does_not() {
    let mut redis = RedisServer::start().unwrap();
    let grants = kv_grants(&redis);
    let address = redis.address();
    let mut table = ResourceTable::new();
    let mut ctx = SpinCtx {
        table: &mut table,
        grants: &grants,
    };
    let res = HostStore::open(&mut ctx, "default".into()).await.unwrap();
    HostStore::set(&mut ctx, store(&res), "k".into(), b"v".to_vec())
        .await
        .unwrap();

    redis.stop();
    let started = Instant::now();
    let res = HostStore::open(&mut ctx, "default".into())
        .await
        .expect("open succeeds: the failed PING only starts a reconnect");
    assert!(started.elapsed() < Duration::from_secs(1), "open waited");
    let refused = HostConnection::open(&mut ctx, address.clone()).await;
    assert!(
        refused.is_err(),
        "outbound Redis fails at once while Redis is down"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "outbound waited"
    );
    let held = tokio::time::timeout(
        Duration::from_secs(2),
        HostStore::get(&mut ctx, store(&res), "k".into()),
    )
    .await;
    assert!(
        held.is_err(),
        "a key-value command answered while Redis was down: {held:?}"
    );

    // Past the first retry (1 to 2 s after the failure), the next is at
    // least 60 s away.
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::task::block_in_place(|| redis.start_again()).unwrap();
    let conn = HostConnection::open(&mut ctx, address)
        .await
        .expect("outbound Redis works as soon as Redis is back");
    HostConnection::drop(&mut ctx, conn).await.unwrap();
    let still = tokio::time::timeout(
        Duration::from_secs(4),
        HostStore::get(&mut ctx, store(&res), "k".into()),
    )
    .await;
    assert!(
        still.is_err(),
        "the key-value store answered before its next reconnect attempt: {still:?}"
    );
}

/// A keep-alive connection whose local address names it in the host's
/// write counts.
struct RawClient {
    stream: TcpStream,
    local: SocketAddr,
}

impl RawClient {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        Self { stream, local }
    }

    /// Sends `GET path` and reads the whole chunked or sized answer.
    async fn get(&mut self, path: &str) -> Vec<u8> {
        let request = format!("GET {path} HTTP/1.1\r\nhost: fidelity\r\n\r\n");
        self.stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while !complete(&answer) {
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("the answer arrives")
                .unwrap();
            assert!(n > 0, "connection closed mid-answer");
            answer.extend_from_slice(&buf[..n]);
        }
        answer
    }
}

/// Whether `answer` holds a whole HTTP/1.1 response.
fn complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let body = &answer[end + 4..];
    if let Some(length) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        return body.len() >= length.trim().parse::<usize>().unwrap();
    }
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    body.ends_with(b"0\r\n\r\n")
}

/// The host's write count for `client` once it has stopped moving: a write
/// is counted just after the bytes reach the socket, so the client can
/// read them first.
async fn settled_writes(app: &TestApp, client: &RawClient) -> u64 {
    let writes = app.socket_writes();
    let mut last = writes.count(client.local).expect("connection is open");
    loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = writes.count(client.local).expect("connection is open");
        if now == last {
            return now;
        }
        last = now;
    }
}

/// How many writes the host made for one `GET path` on a fresh keep-alive
/// connection, after a first request warmed it.
async fn writes_for(app: &TestApp, path: &str) -> u64 {
    let mut client = RawClient::connect(app.addr).await;
    client.get(path).await;
    let before = settled_writes(app, &client).await;
    client.get(path).await;
    settled_writes(app, &client).await - before
}

/// The host counts every write its HTTP server makes, so a response that
/// leaves in more than one piece (which, with Nagle's algorithm on as Spin
/// leaves it, can wait for the client's delayed ACK) shows up as a count
/// above one: the host's own 404, whose length is known up front, and every
/// route the components answer leave in a single write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_leaves_in_one_write() {
    let app = TestApp::start().await.unwrap();
    create_pool(&app).await;
    assert_eq!(writes_for(&app, "/no-such-route").await, 1, "host 404");
    for path in [
        "/v1/ping",
        "/v1/openapi.json",
        "/v1/health",
        &format!("/v1/pools/{POOL}"),
    ] {
        let mut counts = Vec::new();
        for _ in 0..10 {
            counts.push(writes_for(&app, path).await);
        }
        assert!(
            counts.iter().all(|&n| n == 1),
            "{path}: writes per response {counts:?}"
        );
    }
}
