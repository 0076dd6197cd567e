//! The whole application for a test: a fresh `redis-server`, the host
//! serving the built components on a loopback port, and an HTTP client.
//!
//! When a test panics, dropping [`TestApp`] prints what the guests wrote,
//! request by request, so a failure shows the component's own logs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::net::{TcpListener, TcpStream};

use crate::host::{GuestLogs, Host, HostOptions, InstantiationStats, SocketWrites};
use crate::redis_server::RedisServer;

/// The admin token tests run with.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned()
}

/// Host options for the workspace's `spin.toml` over `redis`. No component
/// uses a key-value store, so the host is given none.
pub fn options_for(redis: &RedisServer) -> HostOptions {
    HostOptions {
        manifest: workspace_root().join("spin.toml"),
        variables: BTreeMap::from([
            ("redis_address".to_owned(), redis.address()),
            ("admin_token".to_owned(), ADMIN_TOKEN.to_owned()),
            ("log_level".to_owned(), "debug".to_owned()),
        ]),
        key_value_stores: BTreeMap::new(),
        sqlite_databases: BTreeMap::new(),
        wall_clock_offset_seconds: 0,
        echo_guest_output: false,
    }
}

/// An HTTP answer, fully read.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON.
    ///
    /// Panics with the body in the message when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A running application.
pub struct TestApp {
    /// The Redis behind it; tests may stop and restart it.
    pub redis: RedisServer,
    /// Where the host listens.
    pub addr: SocketAddr,
    logs: Arc<GuestLogs>,
    stats: Arc<InstantiationStats>,
    writes: Arc<SocketWrites>,
    server: tokio::task::JoinHandle<Result<()>>,
}

impl TestApp {
    /// Starts Redis and the host with the workspace's manifest.
    pub async fn start() -> Result<Self> {
        let redis = RedisServer::start()?;
        let options = options_for(&redis);
        Self::start_with(redis, options).await
    }

    /// Starts Redis and the host with some variables set.
    pub async fn start_with_variables(variables: &[(&str, &str)]) -> Result<Self> {
        let redis = RedisServer::start()?;
        let mut options = options_for(&redis);
        for (name, value) in variables {
            options
                .variables
                .insert((*name).to_owned(), (*value).to_owned());
        }
        Self::start_with(redis, options).await
    }

    /// Starts the host with `options` in front of `redis`.
    pub async fn start_with(redis: RedisServer, options: HostOptions) -> Result<Self> {
        let host = Arc::new(Host::new(&options)?);
        let logs = host.logs();
        let stats = host.stats();
        let writes = host.socket_writes();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(host.serve(listener));
        Ok(Self {
            redis,
            addr,
            logs,
            stats,
            writes,
            server,
        })
    }

    /// Sends one request on a new connection and reads the whole answer.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<TestResponse> {
        send(self.addr, method, path, headers, body.into()).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<TestResponse> {
        self.request("GET", path, &[], Bytes::new()).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<TestResponse> {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body)?,
        )
        .await
    }

    /// `POST path` with a JSON body and the admin token.
    pub async fn admin_post(&self, path: &str, body: &serde_json::Value) -> Result<TestResponse> {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            serde_json::to_vec(body)?,
        )
        .await
    }

    /// `GET path` with the admin token.
    pub async fn admin_get(&self, path: &str) -> Result<TestResponse> {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.request("GET", path, &[("authorization", &auth)], Bytes::new())
            .await
    }

    /// Creates a pool, panicking unless the answer is 201.
    pub async fn create_pool(&self, config: &serde_json::Value) -> serde_json::Value {
        let response = self
            .admin_post("/v1/pools", config)
            .await
            .expect("create pool");
        assert_eq!(
            response.status,
            201,
            "create pool: {}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// A pool's remaining stock per item (`None`: unlimited).
    pub async fn remaining(&self, pool: &str) -> BTreeMap<String, Option<u64>> {
        let response = self
            .get(&format!("/v1/pools/{pool}"))
            .await
            .expect("show pool");
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| {
                (
                    item["id"].as_str().unwrap().to_owned(),
                    item["remaining"].as_u64(),
                )
            })
            .collect()
    }

    /// A connection to the app's Redis, for checks behind the API's back.
    pub async fn redis_connection(&self, db: u8) -> Result<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.redis.url(db))?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    /// The host's instantiation counts and times.
    pub fn host_stats(&self) -> Arc<InstantiationStats> {
        self.stats.clone()
    }

    /// The writes the host made on each open connection.
    pub fn socket_writes(&self) -> Arc<SocketWrites> {
        self.writes.clone()
    }

    /// Everything the guests printed so far, one block per request.
    pub fn guest_output(&self) -> String {
        let mut out = String::new();
        for log in self.logs.snapshot() {
            out.push_str(&format!(
                "--- [{}] {}\n{}",
                log.component, log.request, log.output
            ));
            if !log.output.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if std::thread::panicking() {
            eprintln!("=== guest output ===\n{}", self.guest_output());
        }
    }
}

/// Sends one HTTP/1.1 request to `addr` and reads the whole answer.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<TestResponse> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(TestResponse {
        status,
        headers,
        body,
    })
}
