//! The HTTP benchmark `cargo xtask bench` runs: the built components in
//! Tombola's wasmtime host over a fresh `redis-server`, driven by
//! concurrent loopback clients for a bounded time per step, next to the
//! two ceilings a draw is bounded by: the runtime's own (`GET /v1/ping`,
//! no I/O) and Redis's (the draw's Lua scripts called directly).
//!
//! Prints a Markdown report on stdout; `cargo xtask bench` writes it into
//! `BENCHMARKS.md`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use http_body_util::Full;
use redis::Value;
use redis::aio::MultiplexedConnection;
use serde_json::json;
use tombola_core::pool::{Fingerprint, Outcome, Record, RequestId, Snapshot, draw_entry};
use tombola_tests::app::TestApp;
use tombola_tests::host::InstantiationStats;
use tombola_tests::keys;
use tombola_tests::load;

const STEP: Duration = Duration::from_secs(5);
const CONCURRENCY: &[usize] = &[1, 2, 8, 32];
/// Connections the paced step spreads its schedule over.
const PACED_CLIENTS: usize = 32;
/// Clients for the pool-size and snapshot-interval steps.
const SCALE_CLIENTS: usize = 8;
const POOL_SIZES: &[usize] = &[10, 1_000, 10_000];
const INTERVALS: &[u32] = &[16, 256, 4_096];
/// Draws written into one pool before its Redis memory is measured.
const MEMORY_DRAWS: u64 = 100_000;
/// The interval pools are created with unless a step varies it (the default).
const DEFAULT_EVERY: u32 = 32;
/// A draw's record TTL, as the component's default `request_ttl_secs`.
const RECORD_TTL: &str = "86400";

const PRELUDE: &str = include_str!("../../../functions/draw/src/scripts/prelude.lua");
const APPEND: &str = include_str!("../../../functions/draw/src/scripts/append.lua");
const RECORD: &str = include_str!("../../../functions/draw/src/scripts/record.lua");

/// Numbers each load step so request ids never repeat across steps.
static STEP_NO: AtomicU64 = AtomicU64::new(0);

/// One measured step.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Successful operations per second.
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    ok: u64,
    errors: u64,
    /// Mean instantiation time in the step, µs (HTTP steps only).
    instantiate_us: Option<f64>,
}

impl Row {
    fn from_load(report: &load::LoadReport) -> Self {
        Self {
            rate: report.rate(),
            p50: report.percentile_ms(0.50),
            p99: report.percentile_ms(0.99),
            p999: report.percentile_ms(0.999),
            ok: report.ok,
            errors: report.errors,
            instantiate_us: None,
        }
    }

    fn cells(&self, per_op: f64) -> String {
        format!(
            "{:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {}",
            self.rate,
            self.rate * per_op,
            self.p50,
            self.p99,
            self.p999,
            self.errors
        )
    }
}

/// Total instantiation time so far, ns, and the count.
fn instantiations(stats: &InstantiationStats) -> (f64, u64) {
    let count = stats.count();
    (stats.mean_micros() * count as f64, count)
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: String,
) -> hyper::Request<Full<Bytes>> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("request parts are valid")
}

fn ping(addr: SocketAddr) -> load::MakeRequest {
    Arc::new(move |_| request(addr, "GET", "/v1/ping", String::new()))
}

fn health(addr: SocketAddr) -> load::MakeRequest {
    Arc::new(move |_| request(addr, "GET", "/v1/health", String::new()))
}

fn draws(addr: SocketAddr, pool: &str, count: u32) -> load::MakeRequest {
    let step = STEP_NO.fetch_add(1, Ordering::Relaxed);
    let path = format!("/v1/pools/{pool}/draws");
    Arc::new(move |n| {
        let body = format!(r#"{{"request_id":"s{step}-{n}","count":{count}}}"#);
        request(addr, "POST", &path, body)
    })
}

/// Runs one HTTP step and notes the instantiation time it cost.
async fn http_step(
    app: &TestApp,
    clients: usize,
    duration: Duration,
    make: load::MakeRequest,
) -> Result<Row> {
    let stats = app.host_stats();
    let before = instantiations(&stats);
    let report = load::run(app.addr, clients, duration, make).await?;
    let after = instantiations(&stats);
    let mut row = Row::from_load(&report);
    let count = after.1 - before.1;
    if count > 0 {
        row.instantiate_us = Some((after.0 - before.0) / count as f64);
    }
    Ok(row)
}

/// A pool of `items` items, half unlimited and half with a billion units,
/// so no step runs out of stock.
fn pool_config(id: &str, items: usize, every: u32) -> serde_json::Value {
    let items: Vec<_> = (0..items)
        .map(|i| {
            let stock = if i % 2 == 0 {
                serde_json::Value::Null
            } else {
                json!(1_000_000_000u64)
            };
            json!({"id": format!("i{i}"), "weight": 1 + i % 7, "stock": stock})
        })
        .collect();
    json!({"id": id, "name": id, "mode": "stock", "snapshot_every": every, "items": items})
}

/// Creates a pool of `items` items. A create body is capped at 64 KiB
/// (about 2 000 items), so a larger pool is created with one item through
/// the API and its CREATE line then rewritten in Redis with all of them, in
/// the format `tombola-core` encodes (`item-id:weight:stock`).
async fn create_pool(app: &TestApp, id: &str, items: usize, every: u32) -> Result<()> {
    const API_ITEMS: usize = 1_000;
    if items <= API_ITEMS {
        app.create_pool(&pool_config(id, items, every)).await;
        return Ok(());
    }
    app.create_pool(&pool_config(id, 1, every)).await;
    let mut conn = app.redis_connection(0).await?;
    let log = keys::log(id);
    let line: String = redis::cmd("LINDEX")
        .arg(&log)
        .arg(0)
        .query_async(&mut conn)
        .await?;
    // CREATE/1 pool rules mode every name item...
    let head: Vec<&str> = line.splitn(7, ' ').take(6).collect();
    ensure!(head[0] == "CREATE/1", "unexpected first log line {line:?}");
    let mut line = head.join(" ");
    for i in 0..items {
        let stock = if i % 2 == 0 {
            "*".to_owned()
        } else {
            "1000000000".to_owned()
        };
        line.push_str(&format!(" i{i}:{}:{stock}", 1 + i % 7));
    }
    redis::cmd("LSET")
        .arg(&log)
        .arg(0)
        .arg(line)
        .query_async::<()>(&mut conn)
        .await?;
    Ok(())
}

/// Checks a draw of `count` from `pool` answers 200 with `count` items.
async fn check_draw(app: &TestApp, pool: &str, count: u32, id: &str) -> Result<()> {
    let response = app
        .post_json(
            &format!("/v1/pools/{pool}/draws"),
            &json!({"request_id": id, "count": count}),
        )
        .await?;
    ensure!(
        response.status == 200,
        "draw from {pool}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    let drawn = response.json()["drawn"].as_array().map_or(0, Vec::len);
    ensure!(
        drawn == count as usize,
        "draw from {pool} drew {drawn} items"
    );
    Ok(())
}

/// The draw's scripts called straight from here, with the keys and
/// arguments the component sends.
#[derive(Clone)]
struct Ceiling {
    conn: MultiplexedConnection,
    append: redis::Script,
    record: redis::Script,
    pool: String,
    /// A real snapshot of the pool, re-numbered for each one written.
    snapshot: Snapshot,
    /// A real draw's outcome, as its record keeps it.
    outcome: Outcome,
    step: u64,
}

#[derive(Debug, Clone, Copy)]
enum Call {
    /// `append.lua` alone.
    Append,
    /// `append.lua` then `record.lua`, as one single draw does.
    Pair,
}

/// What a single draw's record keeps of its request.
const FINGERPRINT: Fingerprint = Fingerprint::Draw {
    count: 1,
    all_or_nothing: false,
};

impl Ceiling {
    async fn new(app: &TestApp, pool: &str) -> Result<Self> {
        // Enough draws through the API for the pool to hold a snapshot.
        for i in 0..=DEFAULT_EVERY {
            check_draw(app, pool, 1, &format!("ceiling-{i}")).await?;
        }
        let mut conn = app.redis_connection(0).await?;
        let snapshot: Vec<u8> = redis::cmd("GET")
            .arg(keys::snap(pool))
            .query_async(&mut conn)
            .await?;
        let snapshot = Snapshot::decode(&snapshot).context("the pool's snapshot")?;
        let record: String = redis::cmd("GET")
            .arg(keys::request(pool, "ceiling-0"))
            .query_async(&mut conn)
            .await?;
        let outcome = Record::decode(&record)?
            .outcome
            .context("the first draw's record has no outcome")?;
        Ok(Self {
            conn,
            append: redis::Script::new(&format!("{PRELUDE}\n{APPEND}")),
            record: redis::Script::new(&format!("{PRELUDE}\n{RECORD}")),
            pool: pool.to_owned(),
            snapshot,
            outcome,
            step: 0,
        })
    }

    /// The stored snapshot's state, encoded as a snapshot at `seq`.
    fn snapshot_at(&self, seq: u64) -> Vec<u8> {
        Snapshot {
            seq,
            state: self.snapshot.state.clone(),
        }
        .encode()
    }

    async fn call(&self, call: Call, n: u64) -> Result<()> {
        let pool = &self.pool;
        let request = format!("r{}-{n}", self.step);
        let request_key = keys::request(pool, &request);
        let snap_key = keys::snap(pool);
        let line = draw_entry(
            RequestId::new(&request)?,
            1,
            false,
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )?
        .encode();
        let mut conn = self.conn.clone();
        let reply: Vec<Value> = self
            .append
            .key(keys::base(pool))
            .key(keys::log(pool))
            .key(&snap_key)
            .key(&request_key)
            .arg(line)
            .arg(FINGERPRINT.to_string())
            .arg(RECORD_TTL)
            .invoke_async(&mut conn)
            .await?;
        let seq = match (reply.first(), reply.get(1)) {
            (Some(Value::BulkString(ok)), Some(Value::Int(seq))) if ok == b"OK" => *seq as u64,
            _ => bail!("append.lua replied {:?}", reply.first()),
        };
        let due = seq % u64::from(DEFAULT_EVERY) == 0;
        if let (Call::Append, true) = (call, due) {
            // Keep the tail as short as draws keep it: store the snapshot
            // record.lua would have written.
            redis::cmd("SET")
                .arg(&snap_key)
                .arg(self.snapshot_at(seq))
                .query_async::<()>(&mut conn)
                .await?;
        }
        if let Call::Pair = call {
            // A snapshot every DEFAULT_EVERY entries, as the component writes.
            let (snapshot, snapshot_seq) = if due {
                (self.snapshot_at(seq), seq.to_string())
            } else {
                (Vec::new(), String::new())
            };
            let record = Record {
                seq,
                fingerprint: FINGERPRINT,
                outcome: Some(self.outcome.clone()),
            };
            let reply: Vec<Value> = self
                .record
                .key(&request_key)
                .key(&snap_key)
                .arg(record.pending())
                .arg(record.encode())
                .arg(snapshot)
                .arg(snapshot_seq)
                .arg("")
                .arg("")
                .invoke_async(&mut conn)
                .await?;
            ensure!(
                matches!(reply.get(1), Some(Value::Int(1))),
                "record.lua did not record: {reply:?}"
            );
        }
        Ok(())
    }
}

/// Calls the scripts from `clients` concurrent tasks for `duration`.
async fn redis_step(ceiling: &Ceiling, clients: usize, call: Call) -> Result<Row> {
    let ceiling = Arc::new(Ceiling {
        step: STEP_NO.fetch_add(1, Ordering::Relaxed),
        ..ceiling.clone()
    });
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + STEP;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (ceiling, counter) = (ceiling.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                match ceiling.call(call, n).await {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("script call failed: {e:#}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Row {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        ok: latencies.len() as u64,
        errors,
        instantiate_us: None,
    })
}

/// A `/proc/self/status` or `/proc/meminfo` field, in KiB.
fn proc_kib(file: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

async fn info_field(
    conn: &mut MultiplexedConnection,
    section: &str,
    field: &str,
) -> Result<String> {
    let info: String = redis::cmd("INFO").arg(section).query_async(conn).await?;
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_owned())
        .with_context(|| format!("INFO {section} has no {field}"))
}

/// Bytes per kind of key of `pool`, and key counts.
async fn pool_memory(
    conn: &mut MultiplexedConnection,
    pool: &str,
) -> Result<BTreeMap<&'static str, (u64, u64)>> {
    let pattern = keys::all(pool);
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(10_000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut kinds = BTreeMap::new();
    for key in keys {
        let rest = &key[pattern.len() - 1..];
        let kind = match rest.split(':').next() {
            Some("log") => "log",
            Some("base") => "base",
            Some("snap") => "snapshot",
            Some("req") => "request records",
            Some("archive") => "archive",
            _ => "other",
        };
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(conn)
            .await?;
        let entry = kinds.entry(kind).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += bytes.unwrap_or(0);
    }
    Ok(kinds)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// How long each sleep of the wake-up baseline lasts.
const WAKE_SLEEP: Duration = Duration::from_millis(5);

/// Percentiles, in milliseconds, of how late a task wakes from a
/// [`WAKE_SLEEP`] sleep on an otherwise idle runtime, for `duration`.
async fn wake_up_lateness(duration: Duration) -> Row {
    let until = Instant::now() + duration;
    let mut late = Vec::new();
    while Instant::now() < until {
        let due = Instant::now() + WAKE_SLEEP;
        tokio::time::sleep_until(due.into()).await;
        late.push(due.elapsed().as_secs_f64() * 1000.0);
    }
    late.sort_by(f64::total_cmp);
    let at = |q: f64| late[((late.len() - 1) as f64 * q).round() as usize];
    Row {
        rate: late.len() as f64 / duration.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        ok: late.len() as u64,
        errors: 0,
        instantiate_us: None,
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let load_before = loadavg();
    let started = Instant::now();
    // `info`, the component's default level: one log line per draw.
    let app = TestApp::start_with_variables(&[("log_level", "info")]).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_gib = proc_kib("/proc/meminfo", "MemTotal:").unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let mut conn = app.redis_connection(0).await?;
    let redis_version = info_field(&mut conn, "server", "redis_version").await?;

    create_pool(&app, "bench", 10, DEFAULT_EVERY).await?;
    create_pool(&app, "ceiling", 10, DEFAULT_EVERY).await?;
    check_draw(&app, "bench", 1, "check-1").await?;
    check_draw(&app, "bench", 10, "check-10").await?;
    let ceiling = Ceiling::new(&app, "ceiling").await?;

    // Warm up: compile caches, connections, the pooling allocator's slots.
    let warm = Duration::from_secs(1);
    load::run(app.addr, 8, warm, ping(app.addr)).await?;
    load::run(app.addr, 8, warm, draws(app.addr, "bench", 1)).await?;
    redis_step(&ceiling, 8, Call::Pair).await?;

    // The five workloads, interleaved per concurrency so a change in the
    // machine's other load touches them alike.
    let mut rows: Vec<(usize, [Row; 5])> = Vec::new();
    let mut health_rows = Vec::new();
    for &clients in CONCURRENCY {
        let ping_row = http_step(&app, clients, STEP, ping(app.addr)).await?;
        let single = http_step(&app, clients, STEP, draws(app.addr, "bench", 1)).await?;
        let ten = http_step(&app, clients, STEP, draws(app.addr, "bench", 10)).await?;
        let append = redis_step(&ceiling, clients, Call::Append).await?;
        let pair = redis_step(&ceiling, clients, Call::Pair).await?;
        eprintln!(
            "{clients} clients: ping {:.0}/s, single {:.0}/s, ten {:.0}/s, append {:.0}/s, pair {:.0}/s",
            ping_row.rate, single.rate, ten.rate, append.rate, pair.rate
        );
        rows.push((clients, [ping_row, single, ten, append, pair]));
        health_rows.push((
            clients,
            http_step(&app, clients, STEP, health(app.addr)).await?,
        ));
    }

    // Half of the peak single-draw rate, paced (open loop).
    let single_peak_rate = rows.iter().map(|(_, r)| r[1].rate).fold(0.0, f64::max);
    let half_rate = single_peak_rate / 2.0;
    // The machine's own wake-up latency, idle: what any paced request can
    // be late by before the app does anything.
    let wake = wake_up_lateness(STEP).await;
    let paced_ping = Row::from_load(
        &load::run_paced(app.addr, PACED_CLIENTS, half_rate, STEP, ping(app.addr)).await?,
    );
    let paced = Row::from_load(
        &load::run_paced(
            app.addr,
            PACED_CLIENTS,
            half_rate,
            STEP,
            draws(app.addr, "bench", 1),
        )
        .await?,
    );
    eprintln!(
        "paced at {half_rate:.0}/s: draws p99 {:.2} ms, ping p99 {:.2} ms, idle wake-up p99 {:.2} ms",
        paced.p99, paced_ping.p99, wake.p99
    );

    let mut sizes = Vec::new();
    for &items in POOL_SIZES {
        let pool = format!("size{items}");
        create_pool(&app, &pool, items, DEFAULT_EVERY).await?;
        check_draw(&app, &pool, 1, "check").await?;
        let row = http_step(&app, SCALE_CLIENTS, STEP, draws(app.addr, &pool, 1)).await?;
        let snap: Option<Vec<u8>> = redis::cmd("GET")
            .arg(keys::snap(&pool))
            .query_async(&mut conn)
            .await?;
        eprintln!("{items} items: {:.0}/s", row.rate);
        sizes.push((items, row, snap.map_or(0, |s| s.len())));
    }
    let mut intervals = Vec::new();
    for &every in INTERVALS {
        let pool = format!("every{every}");
        create_pool(&app, &pool, 10, every).await?;
        let row = http_step(&app, SCALE_CLIENTS, STEP, draws(app.addr, &pool, 1)).await?;
        eprintln!("interval {every}: {:.0}/s", row.rate);
        intervals.push((every, row));
    }
    let hwm = proc_kib("/proc/self/status", "VmHWM:").unwrap_or(0);

    // Redis memory for one pool after MEMORY_DRAWS draws, in 10-draws.
    create_pool(&app, "memory", 10, DEFAULT_EVERY).await?;
    let used_before: u64 = info_field(&mut conn, "memory", "used_memory")
        .await?
        .parse()?;
    let mut drawn = 0;
    let fill_started = Instant::now();
    while drawn < MEMORY_DRAWS {
        let fill = draws(app.addr, "memory", 10);
        let report = load::run(app.addr, SCALE_CLIENTS, STEP, fill).await?;
        ensure!(
            report.errors == 0,
            "{} draws failed while filling",
            report.errors
        );
        drawn += report.ok * 10;
    }
    let fill_secs = fill_started.elapsed().as_secs_f64();
    let used_after: u64 = info_field(&mut conn, "memory", "used_memory")
        .await?
        .parse()?;
    let log_len: u64 = redis::cmd("LLEN")
        .arg(keys::log("memory"))
        .query_async(&mut conn)
        .await?;
    let live = pool_memory(&mut conn, "memory").await?;
    let recover = app
        .admin_post("/v1/pools/memory/recover", &json!({}))
        .await?;
    ensure!(
        recover.status == 200,
        "recover: {} {}",
        recover.status,
        String::from_utf8_lossy(&recover.body)
    );
    let recovered = pool_memory(&mut conn, "memory").await?;
    let load_after = loadavg();

    // The report.
    let ceiling_label = "`append.lua` direct";
    let pair_label = "`append.lua` + `record.lua` direct";
    println!("## Load and speed: the HTTP app against its ceilings\n");
    println!(
        "Machine: {cores} cores ({}), {mem_gib:.0} GiB memory, Redis {redis_version} on loopback, started fresh by the run. \
         Load average (1, 5, 15 min) {load_before} when the run started and {load_after} when it ended: \
         the machine was shared, so absolute rates are lower bounds and the ratios below, taken in the same run \
         with the workloads interleaved, are the figures to read. Whole HTTP part: {:.0} s.\n",
        cpu_model(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "Command: `cargo xtask bench` (the core's criterion benches, then `cargo run --release -p tombola-tests --bin tombola-bench`, \
         whose output is this section). The release host runs the components built by `cargo xtask build` in-process, \
         each request in a fresh instance (pre-instantiated, pooling allocator), guests logging at `info`. \
         Each loopback client keeps one HTTP/1.1 connection and sends back to back for {} s per step; \
         latencies are exact percentiles over every answered request. Pools hold 10 items, half unlimited and \
         half with 10⁹ units, snapshot every {DEFAULT_EVERY} entries.\n",
        STEP.as_secs()
    );
    println!(
        "- **ping**: `GET /v1/ping`, a route of the draw component with no I/O: instantiate, route, answer. The runtime's ceiling."
    );
    println!(
        "- **single**: `POST /v1/pools/bench/draws` with `count` 1 (two Redis script calls: `append.lua`, then `record.lua`)."
    );
    println!(
        "- **ten**: the same with `count` 10: one log entry, ten items; draws/s counts items."
    );
    println!(
        "- **{ceiling_label}**: the draw's append script (prelude included, the same keys and arguments, `EVALSHA`) called with the `redis` crate over one multiplexed connection by as many tasks as clients, plus a plain `SET` of the snapshot every 32 entries (what `record.lua` would write) so the tail it returns stays as short as under draws. Redis's ceiling for one round trip of a draw."
    );
    println!(
        "- **{pair_label}**: both scripts in turn, the two round trips one single draw makes, with a snapshot written every {DEFAULT_EVERY} entries as the component does.\n"
    );
    println!(
        "| clients | workload | ops/s | draws/s | p50 ms | p99 ms | p999 ms | errors | instantiate µs |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let labels = ["ping", "single", "ten", ceiling_label, pair_label];
    let per_op = [0.0, 1.0, 10.0, 0.0, 1.0];
    for (clients, row) in &rows {
        for (i, r) in row.iter().enumerate() {
            let cells = r.cells(per_op[i]);
            let cells = if per_op[i] == 0.0 {
                cells.replacen(" | 0 | ", " | – | ", 1)
            } else {
                cells
            };
            let inst = r
                .instantiate_us
                .map_or("–".to_owned(), |us| format!("{us:.1}"));
            println!("| {clients} | {} | {cells} | {inst} |", labels[i]);
        }
    }

    println!("\n### Host overhead: `GET /v1/health`\n");
    println!(
        "A request that does the host's I/O but no draw: the health route opens a Redis connection and sends it a `PING`.\n"
    );
    println!("| clients | requests/s | p50 ms | p99 ms | p999 ms | errors | instantiate µs |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (clients, r) in &health_rows {
        let inst = r
            .instantiate_us
            .map_or("–".to_owned(), |us| format!("{us:.1}"));
        println!(
            "| {clients} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {inst} |",
            r.rate, r.p50, r.p99, r.p999, r.errors
        );
    }

    println!("\n### Draws as a fraction of each ceiling\n");
    println!("Requests/s of a workload over the ceiling's calls/s at the same concurrency.\n");
    println!(
        "| clients | single ÷ ping | single ÷ append | single ÷ append+record | ten ÷ ping (requests) | ten: draws/s ÷ single draws/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (clients, [ping_row, single, ten, append, pair]) in &rows {
        println!(
            "| {clients} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            single.rate / ping_row.rate,
            single.rate / append.rate,
            single.rate / pair.rate,
            ten.rate / ping_row.rate,
            ten.rate * 10.0 / single.rate
        );
    }

    // Targets.
    let peak = |i: usize| {
        rows.iter()
            .map(|(c, r)| (*c, r[i]))
            .max_by(|a, b| a.1.rate.total_cmp(&b.1.rate))
            .expect("at least one concurrency")
    };
    let (ping_c, ping_peak) = peak(0);
    let (single_c, single_peak) = peak(1);
    let ratio = single_peak.rate / ping_peak.rate;
    println!("\n### Targets\n");
    println!(
        "- Single draws at least half of the no-I/O route's rate: peak single draws {:.0}/s ({single_c} clients) over peak ping {:.0}/s ({ping_c} clients) = **{ratio:.2}**: {}.",
        single_peak.rate,
        ping_peak.rate,
        if ratio >= 0.5 {
            "met".to_owned()
        } else {
            format!("missed by {:.0}%", (0.5 - ratio) / 0.5 * 100.0)
        }
    );
    println!(
        "- p99 under 10 ms at half of peak load: single draws paced at {half_rate:.0}/s (half of the {:.0}/s peak) over {PACED_CLIENTS} connections for {} s, each request sent when due and timed from then if its connection was still busy: {:.0} draws/s answered, p50 {:.2} ms, p99 **{:.2} ms**, p999 {:.2} ms, {} errors: {}.",
        single_peak.rate,
        STEP.as_secs(),
        paced.rate,
        paced.p50,
        paced.p99,
        paced.p999,
        paced.errors,
        if paced.p99 < 10.0 && paced.errors == 0 {
            "met".to_owned()
        } else if paced.errors > 0 {
            format!("missed: {} requests failed", paced.errors)
        } else {
            format!("missed by {:.2} ms", paced.p99 - 10.0)
        }
    );
    println!(
        "  Baselines from the same run: `GET /v1/ping` paced the same way: p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms; and this machine's own lateness waking a task from a {} ms sleep, idle, over {} s: p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms. Draws' p99 is {:.1}x the no-I/O route's at the same pacing.",
        paced_ping.p50,
        paced_ping.p99,
        paced_ping.p999,
        WAKE_SLEEP.as_millis(),
        STEP.as_secs(),
        wake.p50,
        wake.p99,
        wake.p999,
        paced.p99 / paced_ping.p99
    );
    let cpu_us = cores as f64 * 1e6 / single_peak.rate;
    let inst_us = single_peak.instantiate_us.unwrap_or(0.0);
    let ping_cpu_us = cores as f64 * 1e6 / ping_peak.rate;
    println!(
        "- Where a draw's time goes, at the peak: {cores} cores over {:.0} draws/s is {cpu_us:.0} µs of machine time per draw (host, guest, Redis and the load generator together, all on this machine); \
         instantiating the component is {inst_us:.1} µs of it ({:.1}%), and the whole no-I/O request is {ping_cpu_us:.0} µs. \
         The remaining {:.0} µs is what a draw adds: two script calls through the host to Redis (the pair alone peaks at {:.0}/s), and the guest's replay of the snapshot and tail; the profile after this generated part (\"Where a draw's time goes\") says which of it costs.",
        single_peak.rate,
        inst_us / cpu_us * 100.0,
        cpu_us - ping_cpu_us,
        peak(4).1.rate
    );

    println!("\n### Pool size\n");
    println!(
        "Single draws, {SCALE_CLIENTS} clients, {} s, snapshot every {DEFAULT_EVERY}. Items as above (half unlimited); the 10 000-item pool is created with one item and its CREATE line rewritten in Redis, as a create body is capped at 64 KiB.\n",
        STEP.as_secs()
    );
    println!("| items | draws/s | p50 ms | p99 ms | p999 ms | errors | snapshot bytes |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (items, row, snap) in &sizes {
        println!(
            "| {items} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {snap} |",
            row.rate, row.p50, row.p99, row.p999, row.errors
        );
    }

    println!("\n### Tail since the last snapshot\n");
    println!(
        "Single draws, {SCALE_CLIENTS} clients, {} s, 10 items, each pool fresh. A draw replays the tail since the last snapshot, which grows to the interval before a snapshot is written; where a step made fewer draws than the interval, the tail grew from 0 to that many entries over the step.\n",
        STEP.as_secs()
    );
    println!(
        "| snapshot every | draws/s | p50 ms | p99 ms | p999 ms | errors | draws in step | longest tail |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (every, row) in &intervals {
        println!(
            "| {every} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
            row.rate,
            row.p50,
            row.p99,
            row.p999,
            row.errors,
            row.ok,
            row.ok.min(u64::from(*every))
        );
    }

    println!("\n### Memory\n");
    println!(
        "Host: peak resident memory (`VmHWM`) of the bench process after all the steps above, the heaviest being {} clients: **{:.0} MiB**. \
         That process is the wasmtime host and the load generator together (and the `redis` client of the ceiling steps), so the host alone uses less.\n",
        CONCURRENCY.last().expect("levels"),
        hwm as f64 / 1024.0
    );
    println!(
        "Redis, for one pool (10 items, snapshot every {DEFAULT_EVERY}) after {drawn} draws made as {} requests of `count` 10 ({fill_secs:.0} s at {SCALE_CLIENTS} clients): \
         the log holds {log_len} entries (one per request), and each request id keeps a record for `request_ttl_secs` (one day by default). \
         `used_memory` went from {:.1} MiB to {:.1} MiB (+{:.1} MiB). Per key, from `MEMORY USAGE key SAMPLES 0`, \
         before and after `POST /v1/pools/memory/recover` (which moves the live log into an archive segment):\n",
        drawn / 10,
        mib(used_before),
        mib(used_after),
        mib(used_after.saturating_sub(used_before))
    );
    println!("| keys | before recover: count | bytes | after recover: count | bytes |");
    println!("|---|---:|---:|---:|---:|");
    let kinds: std::collections::BTreeSet<_> = live.keys().chain(recovered.keys()).collect();
    let (mut total_live, mut total_recovered) = (0, 0);
    for kind in kinds {
        let (lc, lb) = live.get(kind).copied().unwrap_or((0, 0));
        let (rc, rb) = recovered.get(kind).copied().unwrap_or((0, 0));
        total_live += lb;
        total_recovered += rb;
        println!("| {kind} | {lc} | {lb} | {rc} | {rb} |");
    }
    println!("| **total** | | {total_live} | | {total_recovered} |");
    let records = live.get("request records").copied().unwrap_or((0, 0));
    if records.0 > 0 {
        println!(
            "\nSizing: about {:.0} bytes per request record (kept for the TTL, whatever the pool) and {:.0} bytes per log entry of a 10-draw (kept until archived, then in at most `archive_segments` segments).",
            records.1 as f64 / records.0 as f64,
            live.get("log").map_or(0, |l| l.1) as f64 / log_len.max(1) as f64
        );
    }
    Ok(())
}
