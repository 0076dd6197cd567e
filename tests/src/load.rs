//! A paced (open-loop) HTTP load generator for loopback benchmarks: what
//! `wrk`, which only sends back to back, cannot do.
//!
//! Each client keeps one HTTP/1.1 connection open, and the clients
//! together send at a fixed rate, each request at its scheduled time.
//! Latencies are kept whole, so percentiles are exact.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;

/// What one request looks like; built afresh for each send.
pub type MakeRequest = std::sync::Arc<dyn Fn(u64) -> hyper::Request<Full<Bytes>> + Send + Sync>;

/// The result of one load run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Concurrent clients.
    pub clients: usize,
    /// Requests answered with a 2xx status.
    pub ok: u64,
    /// Requests answered otherwise, or failed.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Sorted latencies of the answered requests.
    latencies: Vec<Duration>,
}

impl LoadReport {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0 to 1), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }
}

/// When one client sends: client `index` of `clients` sends request `k`
/// at `start + (k * clients + index) * interval`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    start: Instant,
    interval: Duration,
    index: u32,
    clients: u32,
}

/// Runs `clients` connections against `addr` for `duration` that together
/// send `rate` requests per second, evenly spaced (an open loop: a slow
/// answer does not slow the schedule down).
///
/// A request sent late because its connection was still busy with the
/// one before is timed from when it was due, so queueing shows in the
/// latencies instead of hiding in a lower rate (no coordinated omission).
/// `clients` must be enough for `rate` at the latencies expected.
pub async fn run_paced(
    addr: SocketAddr,
    clients: usize,
    rate: f64,
    duration: Duration,
    make: MakeRequest,
) -> Result<LoadReport> {
    anyhow::ensure!(
        rate > 0.0 && clients > 0,
        "a paced run needs a rate and clients"
    );
    let start = Instant::now() + Duration::from_millis(10);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let paces = (0..clients).map(|index| Pace {
        start,
        interval,
        index: index as u32,
        clients: clients as u32,
    });
    gather(addr, paces.collect(), start + duration, make).await
}

async fn gather(
    addr: SocketAddr,
    paces: Vec<Pace>,
    deadline: Instant,
    make: MakeRequest,
) -> Result<LoadReport> {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let clients = paces.len();
    let mut tasks = Vec::new();
    for pace in paces {
        let make = make.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            client(addr, pace, deadline, make, counter).await
        }));
    }
    let mut report = LoadReport {
        clients,
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    let mut connected = false;
    for task in tasks {
        match task.await? {
            Ok((ok, errors, latencies)) => {
                connected = true;
                report.ok += ok;
                report.errors += errors;
                report.latencies.extend(latencies);
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "load client failed"),
        }
    }
    report.elapsed = started.elapsed();
    report.latencies.sort_unstable();
    anyhow::ensure!(connected, "no load client could connect to {addr}");
    Ok(report)
}

async fn client(
    addr: SocketAddr,
    pace: Pace,
    deadline: Instant,
    make: MakeRequest,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<(u64, u64, Vec<Duration>)> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    for k in 0u32.. {
        let due = pace.start + pace.interval * (k * pace.clients + pace.index);
        if due >= deadline {
            break;
        }
        let timed_from = if Instant::now() < due {
            // On time: timed from the send, so the timer's own lateness
            // does not count.
            tokio::time::sleep_until(due.into()).await;
            Instant::now()
        } else {
            due
        };
        if Instant::now() >= deadline {
            break;
        }
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = sender.send_request(make(n)).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status.is_success() {
            ok += 1;
            latencies.push(timed_from.elapsed());
        } else {
            errors += 1;
        }
    }
    Ok((ok, errors, latencies))
}
