//! The HTTP benchmark `cargo xtask bench` runs: the built components in
//! Tombola's wasmtime host over a fresh `redis-server`, driven by
//! concurrent loopback clients for a bounded time per step.
//!
//! Prints a Markdown report on stdout.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use tombola_tests::app::TestApp;
use tombola_tests::load;

const STEP: Duration = Duration::from_secs(5);
const CONCURRENCY: &[usize] = &[1, 8, 32];

fn health(addr: std::net::SocketAddr) -> load::MakeRequest {
    Arc::new(move |_| {
        hyper::Request::get("/v1/health")
            .header("host", addr.to_string())
            .body(Full::new(Bytes::new()))
            .expect("static request parts are valid")
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let app = TestApp::start().await?;
    let stats = app.host_stats();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Warm up: compile caches, connections, the pooling allocator's slots.
    load::run(app.addr, 4, Duration::from_secs(1), health(app.addr)).await?;
    let before = (stats.count(), stats.mean_micros());

    println!("## Host overhead: `GET /v1/health`\n");
    println!(
        "Each request instantiates the draw component afresh, writes, reads and deletes a key-value probe key and sends Redis a PING. {cores} cores, {}s per step.\n",
        STEP.as_secs()
    );
    println!("| clients | requests/s | p50 ms | p99 ms | errors |");
    println!("|---:|---:|---:|---:|---:|");
    for &clients in CONCURRENCY {
        let report = load::run(app.addr, clients, STEP, health(app.addr)).await?;
        println!(
            "| {clients} | {:.0} | {:.2} | {:.2} | {} |",
            report.rate(),
            report.percentile_ms(0.50),
            report.percentile_ms(0.99),
            report.errors
        );
    }
    let count = stats.count() - before.0;
    println!(
        "\nInstantiation (pre-instantiated component, pooling allocator): mean {:.1} µs over {count} requests.",
        stats.mean_micros()
    );
    Ok(())
}
