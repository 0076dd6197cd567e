//! The lottery sync's benchmark: pushes of 1, 100 and 1 000 mutations to
//! the cloud component, against an empty push measured in the same run
//! (the ceiling: authentication, the store's read and the reply, with
//! nothing to apply), and how long a store's backlog of 1 000 mutations
//! (a day offline) takes to drain through its own sync.
//!
//! The cloud app and the store's app run in Tombola's wasmtime host, in
//! this process as in `tombola-bench`, over a fresh `redis-server` and
//! SQLite file, driven over loopback one push at a time (one store's
//! pushes are serial by design).
//! Prints a Markdown report on stdout.
//!
//! `cargo run -p tombola-tests --bin tombola-sync-bench`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};
use tombola_tests::lottery::call;
use tombola_tests::store::{StoreApp, StoreClient, TempDir};

/// How long the empty push is measured.
const EMPTY_FOR: Duration = Duration::from_secs(3);

/// Push sizes, and how many pushes of each are timed (each size in a fresh
/// store, so every run starts from the same state).
const SIZES: &[(usize, usize)] = &[(1, 200), (100, 20), (1_000, 3)];

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

/// Pushes of `size` new packs each, `pushes` times: pushes per second.
async fn pushes(cloud: SocketAddr, store: &str, size: usize, pushes: usize) -> Result<f64> {
    let key = register(cloud, store).await?;
    let path = format!("/v1/lottery/stores/{store}/push");
    let mut id = 0u64;
    let started = Instant::now();
    for _ in 0..pushes {
        let mutations: Vec<Value> = (0..size)
            .map(|_| {
                id += 1;
                json!({"id": id, "name": "receivePack",
                       "args": {"pack": {"game": "050", "number": id}}})
            })
            .collect();
        let reply = call(
            cloud,
            "POST",
            &path,
            &key,
            Some(&json!({"client_id": "bench", "mutations": mutations})),
        )
        .await?;
        ensure!(reply["last_mutation_id"] == id, "push not applied: {reply}");
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
async fn drain(cloud: SocketAddr) -> Result<Duration> {
    let dir = TempDir::new("sync-bench")?;
    let key = register(cloud, "bench-drain").await?;
    {
        let offline = StoreApp::start(dir.path()).await?;
        let response = offline.call("PUT", "/games/050", Some(game())).await?;
        ensure!(response.status == 201, "game: {}", response.status);
        for number in 1..=BACKLOG {
            let body = json!({"game": "050", "number": number});
            let response = offline.call("POST", "/packs", Some(body)).await?;
            ensure!(response.status == 201, "receive: {}", response.status);
        }
    }
    let url = format!("http://{cloud}");
    let store = StoreApp::start_with(
        dir.path(),
        &[
            ("cloud_url", &url),
            ("store_id", "bench-drain"),
            ("cloud_api_key", &key),
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
    let app = TestApp::start().await?;
    call(
        app.addr,
        "PUT",
        "/v1/lottery/games/050",
        ADMIN_TOKEN,
        Some(&game()),
    )
    .await?;
    let empty = empty_pushes(app.addr).await?;
    println!("| push | pushes/s | mutations/s | mutations/s ÷ empty pushes/s |");
    println!("|---|---|---|---|");
    println!("| empty (ceiling) | {empty:.0} | - | - |");
    for (size, count) in SIZES {
        let rate = pushes(app.addr, &format!("bench-{size}"), *size, *count).await?;
        let mutations = rate * *size as f64;
        println!(
            "| {size} mutations | {rate:.1} | {mutations:.0} | {:.2} |",
            mutations / empty
        );
    }
    let drained = drain(app.addr).await?;
    println!();
    println!(
        "A backlog of {BACKLOG} mutations (a day offline) drains in {:.2} s through the store's sync ({:.0} mutations/s).",
        drained.as_secs_f64(),
        f64::from(BACKLOG) / drained.as_secs_f64()
    );
    Ok(())
}
