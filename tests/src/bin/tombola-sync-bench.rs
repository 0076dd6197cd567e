//! The lottery sync's benchmark: pushes of 1, 100 and 1 000 mutations to
//! the cloud component, and of 1 into a store with 10 000 packs pushed
//! before (a push reads what it names and the counter, not the store's
//! history), against an empty push measured in the same run (the ceiling:
//! authentication, the store's read and the reply, with nothing to
//! apply), and how long a store's backlog of 1 000 mutations (a day
//! offline) takes to drain through its own sync.
//!
//! The cloud app and the store's app are each served by a `tombola-host`
//! process of its own (the one built beside this binary), over a fresh
//! `redis-server` and SQLite file; this process only drives them over
//! loopback, one push at a time (one store's pushes are serial by design).
//! Prints a Markdown report on stdout; `cargo xtask bench` runs it and
//! writes the report into `BENCHMARKS.md`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use tombola_tests::app::ADMIN_TOKEN;
use tombola_tests::lottery::call;
use tombola_tests::process::HostProcess;
use tombola_tests::redis_server::RedisServer;
use tombola_tests::store::{StoreClient, StoreProcess, TempDir};

/// How long the empty push is measured.
const EMPTY_FOR: Duration = Duration::from_secs(3);

/// Push sizes, and how many pushes of each are timed (each size in a fresh
/// store, so every run starts from the same state).
const SIZES: &[(usize, usize)] = &[(1, 200), (100, 20), (1_000, 3)];

/// The packs a store has pushed before the history step's pushes.
const HISTORY: usize = 10_000;

/// The backlog the drain step builds.
const BACKLOG: u32 = 1_000;

/// Registers `store` and answers its API key.
async fn register(cloud: SocketAddr, store: &str) -> Result<String> {
    let body = json!({"store": store, "name": store});
    let answer = call(
        cloud,
        "POST",
        "/v1/lottery/stores",
        ADMIN_TOKEN,
        Some(&body),
    )
    .await?;
    Ok(answer["api_key"].as_str().unwrap_or_default().to_owned())
}

/// A store's pushes of new packs, mutation ids counted from 1.
struct Pusher {
    cloud: SocketAddr,
    key: String,
    path: String,
    id: u64,
}

impl Pusher {
    async fn new(cloud: SocketAddr, store: &str) -> Result<Self> {
        Ok(Self {
            cloud,
            key: register(cloud, store).await?,
            path: format!("/v1/lottery/stores/{store}/push"),
            id: 0,
        })
    }

    /// One push of `size` packs received.
    async fn push(&mut self, size: usize) -> Result<()> {
        let mutations: Vec<Value> = (0..size)
            .map(|_| {
                self.id += 1;
                json!({"id": self.id, "name": "receivePack",
                       "args": {"pack": {"game": "050", "number": self.id}}})
            })
            .collect();
        let body = json!({"client_id": "bench", "mutations": mutations});
        let reply = call(self.cloud, "POST", &self.path, &self.key, Some(&body)).await?;
        ensure!(
            reply["last_mutation_id"] == self.id,
            "push not applied: {reply}"
        );
        Ok(())
    }
}

/// Pushes of `size` new packs each, `pushes` times, into a store that has
/// `history` packs already: pushes per second.
async fn pushes(
    cloud: SocketAddr,
    store: &str,
    history: usize,
    size: usize,
    pushes: usize,
) -> Result<f64> {
    let mut pusher = Pusher::new(cloud, store).await?;
    for _ in 0..history / 1_000 {
        pusher.push(1_000).await?;
    }
    let started = Instant::now();
    for _ in 0..pushes {
        pusher.push(size).await?;
    }
    Ok(pushes as f64 / started.elapsed().as_secs_f64())
}

/// Empty pushes for [`EMPTY_FOR`]: pushes per second.
async fn empty_pushes(cloud: SocketAddr) -> Result<f64> {
    let key = register(cloud, "bench-empty").await?;
    let body = json!({"client_id": "bench", "mutations": []});
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < EMPTY_FOR {
        call(
            cloud,
            "POST",
            "/v1/lottery/stores/bench-empty/push",
            &key,
            Some(&body),
        )
        .await?;
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Builds a backlog of [`BACKLOG`] mutations in a store whose sync is off,
/// then starts it with its key and times the syncs that drain it.
async fn drain(host: &Path, cloud: SocketAddr) -> Result<Duration> {
    let dir = TempDir::new("sync-bench")?;
    let key = register(cloud, "bench-drain").await?;
    {
        let offline = StoreProcess::start(host, dir.path(), None).await?;
        let response = offline.call("PUT", "/games/050", Some(game())).await?;
        ensure!(response.status == 201, "game: {}", response.status);
        for number in 1..=BACKLOG {
            let body = json!({"game": "050", "number": number});
            let response = offline.call("POST", "/packs", Some(body)).await?;
            ensure!(response.status == 201, "receive: {}", response.status);
        }
    }
    let store = StoreProcess::start_with(
        host,
        dir.path(),
        None,
        &[
            ("SPIN_VARIABLE_CLOUD_URL", format!("http://{cloud}")),
            ("SPIN_VARIABLE_STORE_ID", "bench-drain".to_owned()),
            ("SPIN_VARIABLE_CLOUD_API_KEY", key),
        ],
    )
    .await?;
    let started = Instant::now();
    loop {
        let response = store.call("POST", "/sync", None).await?;
        ensure!(response.status == 200, "sync: {}", response.status);
        if response.json()["status"]["pending"] == 0 {
            return Ok(started.elapsed());
        }
    }
}

/// The game every pushed pack is of.
fn game() -> Value {
    json!({"name": "Bench", "price": 100, "pack_value": 1000,
           "tickets_per_pack": 10, "numbering": "ascending"})
}

#[tokio::main]
async fn main() -> Result<()> {
    let host = std::env::current_exe()?.with_file_name("tombola-host");
    let redis = RedisServer::start()?;
    let app = HostProcess::start(&host, &redis).await?;
    let cloud = app.addr();
    call(
        cloud,
        "PUT",
        "/v1/lottery/games/050",
        ADMIN_TOKEN,
        Some(&game()),
    )
    .await?;
    let empty = empty_pushes(cloud).await?;
    println!("| push | pushes/s | mutations/s | mutations/s ÷ empty pushes/s |");
    println!("|---|---|---|---|");
    println!("| empty (ceiling) | {empty:.0} | - | - |");
    for (size, count) in SIZES {
        let rate = pushes(cloud, &format!("bench-{size}"), 0, *size, *count).await?;
        let mutations = rate * *size as f64;
        println!(
            "| {size} mutations | {rate:.1} | {mutations:.0} | {:.2} |",
            mutations / empty
        );
    }
    let (size, count) = SIZES[0];
    let rate = pushes(cloud, "bench-history", HISTORY, size, count).await?;
    println!(
        "| {size} mutations, {HISTORY} packs pushed before | {rate:.1} | {:.0} | {:.2} |",
        rate * size as f64,
        rate * size as f64 / empty
    );
    let drained = drain(&host, cloud).await?;
    println!();
    println!(
        "A backlog of {BACKLOG} mutations (a day offline) drains in {:.2} s through the store's sync ({:.0} mutations/s).",
        drained.as_secs_f64(),
        f64::from(BACKLOG) / drained.as_secs_f64()
    );
    Ok(())
}
