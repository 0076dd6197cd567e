//! The HTTP benchmark `cargo xtask bench` runs: the cloud app served by
//! its own process (the release `tombola-host`, and `spin up` too when a
//! `spin` binary is on PATH) over a fresh `redis-server`, loaded by `wrk`
//! from a third process for a bounded time per step, next to the ceilings
//! a draw is bounded by: the runtime's own (`GET /v1/ping`, no I/O), the
//! runtime's per-request Redis cost (`GET /v1/health`, which opens a
//! connection and sends one `PING`), and Redis's (the draw's Lua scripts
//! called directly).
//!
//! Prints a Markdown report on stdout; `cargo xtask bench` writes it into
//! `BENCHMARKS.md`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use http_body_util::Full;
use redis::Value;
use redis::aio::MultiplexedConnection;
use serde::Deserialize;
use serde_json::json;
use tombola_core::pool::{Fingerprint, Outcome, Record, RequestId, Snapshot, draw_entry};
use tombola_tests::app::{ADMIN_TOKEN, TestResponse, send, workspace_root};
use tombola_tests::keys;
use tombola_tests::load;
use tombola_tests::process::HostProcess;
use tombola_tests::redis_server::{RedisServer, free_port};

const STEP: Duration = Duration::from_secs(5);
const CONCURRENCY: &[usize] = &[1, 2, 8, 32];
/// Connections the paced step spreads its schedule over.
const PACED_CLIENTS: usize = 32;
/// Connections for the pool-size and snapshot-interval steps.
const SCALE_CLIENTS: usize = 8;
const POOL_SIZES: &[usize] = &[10, 1_000, 10_000, 100_000];
const INTERVALS: &[u32] = &[16, 256, 4_096];
/// Draws written into one pool before its Redis memory is measured.
const MEMORY_DRAWS: u64 = 100_000;
/// The interval pools are created with unless a step varies it (the default).
const DEFAULT_EVERY: u32 = 32;
/// A draw's record TTL, as the component's default `request_ttl_secs`.
const RECORD_TTL: &str = "86400";
/// The most wrk threads a step uses (one per core of this machine's two).
const WRK_THREADS: usize = 2;
/// How long `spin up` may take to answer its health route.
const SPIN_START: Duration = Duration::from_secs(120);

const PRELUDE: &str = include_str!("../../../functions/draw/src/scripts/prelude.lua");
const APPEND: &str = include_str!("../../../functions/draw/src/scripts/append.lua");
const RECORD: &str = include_str!("../../../functions/draw/src/scripts/record.lua");
/// wrk's request and report script.
const WRK_SCRIPT: &str = include_str!("../../bench/wrk.lua");

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
    /// CPU time the serving process spent per successful request, µs
    /// (HTTP steps only).
    cpu_us: Option<f64>,
    /// CPU time Redis spent per successful request, µs (HTTP steps only).
    redis_us: Option<f64>,
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
            cpu_us: None,
            redis_us: None,
        }
    }

    fn cells(&self, per_op: f64) -> String {
        let draws = if per_op == 0.0 {
            "–".to_owned()
        } else {
            format!("{:.0}", self.rate * per_op)
        };
        format!(
            "{:.0} | {draws} | {:.2} | {:.2} | {:.2} | {} | {} | {}",
            self.rate,
            self.p50,
            self.p99,
            self.p999,
            self.errors,
            cpu(self.cpu_us),
            cpu(self.redis_us)
        )
    }
}

fn cpu(us: Option<f64>) -> String {
    us.map_or("–".to_owned(), |us| format!("{us:.0}"))
}

/// What wrk's `done` hook prints (see `tests/bench/wrk.lua`).
#[derive(Debug, Deserialize, PartialEq)]
struct WrkReport {
    requests: u64,
    duration_us: u64,
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
}

impl WrkReport {
    /// The JSON line among what wrk printed.
    fn parse(stdout: &str) -> Result<Self> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .with_context(|| format!("wrk printed no report:\n{stdout}"))?;
        serde_json::from_str(line).with_context(|| format!("wrk's report {line:?}"))
    }

    fn row(&self) -> Row {
        // wrk counts an answer with a status of 400 or more as a status
        // error; the other errors are requests that got no answer.
        let ok = self.requests.saturating_sub(self.status);
        Row {
            rate: ok as f64 / (self.duration_us as f64 / 1e6),
            p50: self.p50_us / 1000.0,
            p99: self.p99_us / 1000.0,
            p999: self.p999_us / 1000.0,
            ok,
            errors: self.status + self.connect + self.read + self.write + self.timeout,
            cpu_us: None,
            redis_us: None,
        }
    }
}

/// What a wrk step sends.
#[derive(Debug, Clone)]
enum Load {
    /// `GET` a path.
    Get(&'static str),
    /// Draws of `count` from a pool, each with a request id of its own.
    Draws { pool: String, count: u32 },
}

/// `wrk`, with its script written out once.
struct Wrk {
    script: PathBuf,
}

impl Wrk {
    fn new() -> Result<Self> {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let script = std::env::temp_dir().join(format!(
            "tombola-bench-{}-{}.lua",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&script, WRK_SCRIPT)
            .with_context(|| format!("cannot write {}", script.display()))?;
        Ok(Self { script })
    }

    /// Runs wrk against `addr` with `connections` connections for
    /// `duration`.
    fn run(
        &self,
        addr: SocketAddr,
        connections: usize,
        duration: Duration,
        load: &Load,
    ) -> Result<Row> {
        let (path, args) = match load {
            Load::Get(path) => (path.to_string(), vec!["get".to_owned()]),
            Load::Draws { pool, count } => (
                format!("/v1/pools/{pool}/draws"),
                vec![
                    "draw".to_owned(),
                    format!("s{}", STEP_NO.fetch_add(1, Ordering::Relaxed)),
                    count.to_string(),
                ],
            ),
        };
        let output = Command::new("wrk")
            .arg(format!("--threads={}", connections.min(WRK_THREADS)))
            .arg(format!("--connections={connections}"))
            .arg(format!("--duration={}s", duration.as_secs()))
            .arg("--timeout=10s")
            .arg(format!("--script={}", self.script.display()))
            .arg(format!("http://{addr}{path}"))
            .arg("--")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .context("cannot run wrk")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        ensure!(
            output.status.success(),
            "wrk failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(WrkReport::parse(&stdout)?.row())
    }
}

impl Drop for Wrk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.script);
    }
}

/// Where `program` is on `path` (a `PATH` value), if anywhere.
fn find_on_path(program: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|file| file.is_file())
}

/// What the report says when `spin` cannot be found.
const SPIN_SKIPPED: &str = "spin not on PATH: skipped";

/// `spin up` serving the workspace's `spin.toml`.
struct SpinUp {
    child: Child,
    output: PathBuf,
}

impl SpinUp {
    async fn start(spin: &Path, addr: SocketAddr, redis: &RedisServer) -> Result<Self> {
        let output = std::env::temp_dir().join(format!("tombola-bench-spin-{}.log", addr.port()));
        let log = std::fs::File::create(&output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let child = Command::new(spin)
            .current_dir(workspace_root())
            .args(["up", "--from", "spin.toml", "--listen", &addr.to_string()])
            .env("SPIN_VARIABLE_REDIS_ADDRESS", redis.address())
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_READER_TOKEN", "bench-reader-token")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {} up", spin.display()))?;
        let mut spin = Self { child, output };
        let deadline = Instant::now() + SPIN_START;
        loop {
            if let Some(status) = spin.child.try_wait()? {
                bail!("spin up exited at start ({status}):\n{}", spin.log());
            }
            if let Ok(r) = send(addr, "GET", "/v1/health", &[], Bytes::new()).await
                && r.status == 200
            {
                return Ok(spin);
            }
            if Instant::now() > deadline {
                bail!(
                    "spin up was not healthy within {SPIN_START:?}:\n{}",
                    spin.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.output);
    }
}

/// A runtime serving the cloud app in a process of its own, over its own
/// Redis.
struct Served {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
    /// The serving process, stopped when dropped: one of the two.
    _host: Option<HostProcess>,
    _spin: Option<SpinUp>,
    /// Declared last, so it stops after the process that uses it.
    redis: RedisServer,
}

impl Served {
    async fn host() -> Result<Self> {
        let redis = RedisServer::start()?;
        let binary = std::env::current_exe()?.with_file_name("tombola-host");
        ensure!(
            binary.is_file(),
            "{} is missing: build it with `cargo build --release -p tombola-tests --bins`",
            binary.display()
        );
        let host = HostProcess::start(&binary, &redis).await?;
        Ok(Self {
            name: "tombola-host",
            addr: host.addr(),
            pid: host.pid().context("the host process has no id")?,
            redis,
            _host: Some(host),
            _spin: None,
        })
    }

    async fn spin(spin: &Path) -> Result<Self> {
        let redis = RedisServer::start()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let up = SpinUp::start(spin, addr, &redis).await?;
        Ok(Self {
            name: "spin up",
            addr,
            pid: up.child.id(),
            redis,
            _host: None,
            _spin: Some(up),
        })
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        admin: bool,
    ) -> Result<TestResponse> {
        let bearer = format!("Bearer {ADMIN_TOKEN}");
        let mut headers = vec![("content-type", "application/json")];
        if admin {
            headers.push(("authorization", &bearer));
        }
        send(
            self.addr,
            "POST",
            path,
            &headers,
            Bytes::from(serde_json::to_vec(body)?),
        )
        .await
    }

    /// Creates a pool of `items` items, half unlimited and half with a
    /// billion units, so no step runs out of stock.
    async fn create_pool(&self, id: &str, items: usize, every: u32) -> Result<()> {
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
        let config =
            json!({"id": id, "name": id, "mode": "stock", "snapshot_every": every, "items": items});
        let response = self.post("/v1/pools", &config, true).await?;
        ensure!(
            response.status == 201,
            "creating pool {id}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        Ok(())
    }

    /// Checks a draw of `count` from `pool` answers 200 with `count` items.
    async fn check_draw(&self, pool: &str, count: u32, id: &str) -> Result<()> {
        let response = self
            .post(
                &format!("/v1/pools/{pool}/draws"),
                &json!({"request_id": id, "count": count}),
                false,
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

    async fn redis_connection(&self) -> Result<MultiplexedConnection> {
        let client = redis::Client::open(self.redis.url(0))?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    /// Runs one wrk step, and notes the CPU time the serving process and
    /// Redis spent on it.
    fn step(&self, wrk: &Wrk, connections: usize, duration: Duration, load: &Load) -> Result<Row> {
        let redis = self.redis.pid().context("Redis is not running")?;
        let before = (cpu_seconds(self.pid), cpu_seconds(redis));
        let mut row = wrk.run(self.addr, connections, duration, load)?;
        let after = (cpu_seconds(self.pid), cpu_seconds(redis));
        let per_request = |before: Option<f64>, after: Option<f64>| {
            Some((after? - before?) * 1e6 / row.ok as f64).filter(|_| row.ok > 0)
        };
        row.cpu_us = per_request(before.0, after.0);
        row.redis_us = per_request(before.1, after.1);
        Ok(row)
    }
}

/// Process `pid` and every process below it: `spin up` runs its trigger
/// in a child process.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut at = 0;
    while let Some(&parent) = tree.get(at) {
        at += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            tree.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    tree
}

/// The CPU time (user and system) process `pid` and its children have
/// used so far, seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let mut ticks = 0;
    for pid in process_tree(pid) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th of the whole line.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        ticks += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(ticks as f64 / clock_ticks() as f64)
}

/// The peak resident memory of process `pid` and its children, KiB.
fn peak_memory_kib(pid: u32) -> u64 {
    process_tree(pid)
        .iter()
        .filter_map(|pid| proc_kib(&format!("/proc/{pid}/status"), "VmHWM:"))
        .sum()
}

/// Clock ticks per second, as `/proc` counts CPU time.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
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
    async fn new(served: &Served, pool: &str) -> Result<Self> {
        // Enough draws through the API for the pool to hold a snapshot.
        for i in 0..=DEFAULT_EVERY {
            served.check_draw(pool, 1, &format!("ceiling-{i}")).await?;
        }
        let mut conn = served.redis_connection().await?;
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
        cpu_us: None,
        redis_us: None,
    })
}

/// A `/proc/<pid>/status` or `/proc/meminfo` field, in KiB.
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
        // What follows the pattern's `tombola:{pool}`, past its `:`.
        let rest = key[pattern.len() - 1..].trim_start_matches(':');
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
        cpu_us: None,
        redis_us: None,
    }
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

/// The four HTTP workloads at one concurrency.
#[derive(Debug, Clone, Copy)]
struct Level {
    ping: Row,
    health: Row,
    single: Row,
    ten: Row,
}

/// Everything measured of one runtime.
struct Measured {
    name: &'static str,
    levels: Vec<(usize, Level)>,
    /// Items, single draws, snapshot bytes, and (on the first runtime) the
    /// two scripts called directly on that pool.
    sizes: Vec<(usize, Row, usize, Option<Row>)>,
    intervals: Vec<(u32, Row)>,
    paced: Row,
    paced_ping: Row,
    half_rate: f64,
    /// Peak resident memory of the serving process and its children, KiB.
    hwm_kib: u64,
}

impl Measured {
    fn peak(&self, pick: fn(&Level) -> Row) -> (usize, Row) {
        self.levels
            .iter()
            .map(|(c, level)| (*c, pick(level)))
            .max_by(|a, b| a.1.rate.total_cmp(&b.1.rate))
            .expect("at least one concurrency")
    }

    fn size(&self, items: usize) -> Row {
        self.sizes
            .iter()
            .find(|(n, ..)| *n == items)
            .map(|(_, row, ..)| *row)
            .expect("every pool size is measured")
    }
}

/// Runs every HTTP step against `served`; with `ceiling`, the Redis script
/// calls are interleaved with them.
async fn measure(
    served: &Served,
    wrk: &Wrk,
    ceiling: Option<&Ceiling>,
    ceilings: &mut Vec<(usize, Row, Row)>,
) -> Result<Measured> {
    let name = served.name;
    served.create_pool("bench", 10, DEFAULT_EVERY).await?;
    served.check_draw("bench", 1, "check-1").await?;
    served.check_draw("bench", 10, "check-10").await?;
    let single = Load::Draws {
        pool: "bench".into(),
        count: 1,
    };
    let ten = Load::Draws {
        pool: "bench".into(),
        count: 10,
    };

    // Warm up: compile caches, connections, the pooling allocator's slots.
    let warm = Duration::from_secs(1);
    served.step(wrk, 8, warm, &Load::Get("/v1/ping"))?;
    served.step(wrk, 8, warm, &single)?;

    // The workloads, interleaved per concurrency so a change in the
    // machine's other load touches them alike.
    let mut levels = Vec::new();
    for &clients in CONCURRENCY {
        let level = Level {
            ping: served.step(wrk, clients, STEP, &Load::Get("/v1/ping"))?,
            health: served.step(wrk, clients, STEP, &Load::Get("/v1/health"))?,
            single: served.step(wrk, clients, STEP, &single)?,
            ten: served.step(wrk, clients, STEP, &ten)?,
        };
        eprintln!(
            "{name}, {clients} connections: ping {:.0}/s, health {:.0}/s, single {:.0}/s, ten {:.0}/s",
            level.ping.rate, level.health.rate, level.single.rate, level.ten.rate
        );
        if let Some(ceiling) = ceiling {
            let append = redis_step(ceiling, clients, Call::Append).await?;
            let pair = redis_step(ceiling, clients, Call::Pair).await?;
            eprintln!(
                "scripts, {clients} clients: append {:.0}/s, pair {:.0}/s",
                append.rate, pair.rate
            );
            ceilings.push((clients, append, pair));
        }
        levels.push((clients, level));
    }

    // Half of the peak single-draw rate, paced (open loop): wrk cannot
    // send on a schedule, so this step's generator is this process's own.
    let single_peak = levels
        .iter()
        .map(|(_, l)| l.single.rate)
        .fold(0.0, f64::max);
    let half_rate = single_peak / 2.0;
    let addr = served.addr;
    let ping_request: load::MakeRequest =
        Arc::new(move |_| request(addr, "GET", "/v1/ping", String::new()));
    let paced_step = STEP_NO.fetch_add(1, Ordering::Relaxed);
    let draw_request: load::MakeRequest = Arc::new(move |n| {
        let body = format!(r#"{{"request_id":"p{paced_step}-{n}","count":1}}"#);
        request(addr, "POST", "/v1/pools/bench/draws", body)
    });
    let paced_ping =
        Row::from_load(&load::run_paced(addr, PACED_CLIENTS, half_rate, STEP, ping_request).await?);
    let paced =
        Row::from_load(&load::run_paced(addr, PACED_CLIENTS, half_rate, STEP, draw_request).await?);
    eprintln!(
        "{name}, paced at {half_rate:.0}/s: draws p99 {:.2} ms, ping p99 {:.2} ms",
        paced.p99, paced_ping.p99
    );

    let mut conn = served.redis_connection().await?;
    let mut sizes = Vec::new();
    for &items in POOL_SIZES {
        let pool = format!("size{items}");
        let created = Instant::now();
        served.create_pool(&pool, items, DEFAULT_EVERY).await?;
        let created = created.elapsed();
        served.check_draw(&pool, 1, "check").await?;
        let row = served.step(
            wrk,
            SCALE_CLIENTS,
            STEP,
            &Load::Draws {
                pool: pool.clone(),
                count: 1,
            },
        )?;
        let snap: Option<Vec<u8>> = redis::cmd("GET")
            .arg(keys::snap(&pool))
            .query_async(&mut conn)
            .await?;
        // What Redis alone does for a draw from this pool: both scripts,
        // moving its snapshot as the component's calls do.
        let direct = match ceiling {
            Some(_) => {
                let pool_ceiling = Ceiling::new(served, &pool).await?;
                Some(redis_step(&pool_ceiling, SCALE_CLIENTS, Call::Pair).await?)
            }
            None => None,
        };
        eprintln!(
            "{name}, {items} items (created in {:.2} s): {:.0}/s, scripts direct {}",
            created.as_secs_f64(),
            row.rate,
            direct.map_or("not run".to_owned(), |d| format!("{:.0}/s", d.rate))
        );
        sizes.push((items, row, snap.map_or(0, |s| s.len()), direct));
    }
    let mut intervals = Vec::new();
    for &every in INTERVALS {
        let pool = format!("every{every}");
        served.create_pool(&pool, 10, every).await?;
        let row = served.step(wrk, SCALE_CLIENTS, STEP, &Load::Draws { pool, count: 1 })?;
        eprintln!("{name}, interval {every}: {:.0}/s", row.rate);
        intervals.push((every, row));
    }
    let hwm_kib = peak_memory_kib(served.pid);
    Ok(Measured {
        name,
        levels,
        sizes,
        intervals,
        paced,
        paced_ping,
        half_rate,
        hwm_kib,
    })
}

/// Redis memory for one pool after [`MEMORY_DRAWS`] draws in 10-draws.
struct Memory {
    drawn: u64,
    fill_secs: f64,
    used_before: u64,
    used_after: u64,
    log_len: u64,
    live: BTreeMap<&'static str, (u64, u64)>,
    recovered: BTreeMap<&'static str, (u64, u64)>,
}

async fn memory(served: &Served, wrk: &Wrk) -> Result<Memory> {
    let mut conn = served.redis_connection().await?;
    served.create_pool("memory", 10, DEFAULT_EVERY).await?;
    let used_before: u64 = info_field(&mut conn, "memory", "used_memory")
        .await?
        .parse()?;
    let mut drawn = 0;
    let fill_started = Instant::now();
    let fill = Load::Draws {
        pool: "memory".into(),
        count: 10,
    };
    while drawn < MEMORY_DRAWS {
        let row = wrk.run(served.addr, SCALE_CLIENTS, STEP, &fill)?;
        ensure!(row.errors == 0, "{} draws failed while filling", row.errors);
        drawn += row.ok * 10;
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
    let recover = served
        .post("/v1/pools/memory/recover", &json!({}), true)
        .await?;
    ensure!(
        recover.status == 200,
        "recover: {} {}",
        recover.status,
        String::from_utf8_lossy(&recover.body)
    );
    let recovered = pool_memory(&mut conn, "memory").await?;
    Ok(Memory {
        drawn,
        fill_secs,
        used_before,
        used_after,
        log_len,
        live,
        recovered,
    })
}

fn met(value: f64, target: f64) -> String {
    if value >= target {
        "met".to_owned()
    } else {
        format!("missed by {:.0}%", (target - value) / target * 100.0)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let load_before = loadavg();
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_gib = proc_kib("/proc/meminfo", "MemTotal:").unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let wrk = Wrk::new()?;
    let wrk_version = Command::new("wrk")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "wrk".to_owned());

    let host = Served::host().await?;
    let mut conn = host.redis_connection().await?;
    let redis_version = info_field(&mut conn, "server", "redis_version").await?;
    host.create_pool("ceiling", 10, DEFAULT_EVERY).await?;
    let ceiling = Ceiling::new(&host, "ceiling").await?;
    redis_step(&ceiling, 8, Call::Pair).await?;

    let wake = wake_up_lateness(STEP).await;
    let mut ceilings = Vec::new();
    let measured = measure(&host, &wrk, Some(&ceiling), &mut ceilings).await?;
    let memory = memory(&host, &wrk).await?;
    drop(host);

    let path = std::env::var_os("PATH").unwrap_or_default();
    let spin = match find_on_path("spin", &path) {
        Some(spin) => {
            let served = Served::spin(&spin).await?;
            Some(measure(&served, &wrk, None, &mut Vec::new()).await?)
        }
        None => {
            eprintln!("{SPIN_SKIPPED}");
            None
        }
    };
    let load_after = loadavg();

    print_report(&Report {
        cores,
        mem_gib,
        redis_version,
        wrk_version,
        load_before,
        load_after,
        secs: started.elapsed().as_secs_f64(),
        wake,
        ceilings,
        host: measured,
        spin,
        memory,
    });
    Ok(())
}

struct Report {
    cores: usize,
    mem_gib: f64,
    redis_version: String,
    wrk_version: String,
    load_before: String,
    load_after: String,
    secs: f64,
    wake: Row,
    ceilings: Vec<(usize, Row, Row)>,
    host: Measured,
    spin: Option<Measured>,
    memory: Memory,
}

fn print_report(r: &Report) {
    let m = &r.host;
    let ceiling_label = "`append.lua` direct";
    let pair_label = "`append.lua` + `record.lua` direct";
    println!("## Load and speed: the HTTP app against its ceilings\n");
    println!(
        "Machine: {} cores ({}), {:.0} GiB memory, Redis {} on loopback, started fresh by the run. \
         Load average (1, 5, 15 min) {} when the run started and {} when it ended: \
         the machine was shared, so absolute rates are lower bounds and the ratios below, taken in the same run \
         with the workloads interleaved, are the figures to read. Whole HTTP part: {:.0} s.\n",
        r.cores,
        cpu_model(),
        r.mem_gib,
        r.redis_version,
        r.load_before,
        r.load_after,
        r.secs
    );
    println!(
        "Command: `cargo xtask bench` (the core's criterion benches, then the release `tombola-bench`, \
         whose output is this section). The app is served by the release `tombola-host` as a process of its own \
         (each request in a fresh instance, pre-instantiated, pooling allocator, guests logging at `info`), \
         over a Redis of its own; the load comes from {} (Debian's package) in a third process, \
         with {WRK_THREADS} threads (one for a single connection), each connection keeping one HTTP/1.1 connection \
         and sending back to back for {} s per step; wrk's own `done` hook reports the counts and percentiles \
         (`tests/bench/wrk.lua`, which also gives every draw a request id of its own). \
         \"host CPU µs\" and \"Redis CPU µs\" are the CPU time the serving process and Redis used per answered request, from `/proc`. \
         Pools hold 10 items, half unlimited and half with 10⁹ units, snapshot every {DEFAULT_EVERY} entries.\n",
        r.wrk_version,
        STEP.as_secs()
    );
    println!(
        "- **ping**: `GET /v1/ping`, a route of the draw component with no I/O: instantiate, route, answer. The runtime's ceiling."
    );
    println!(
        "- **health**: `GET /v1/health`, which opens an outbound Redis connection and sends one `PING`, nothing else: the runtime's own per-request Redis cost, and the ceiling for anything that opens Redis."
    );
    println!(
        "- **single**: `POST /v1/pools/bench/draws` with `count` 1 (one Redis connection, two script calls: `append.lua`, then `record.lua`)."
    );
    println!(
        "- **ten**: the same with `count` 10: one log entry, ten items; draws/s counts items."
    );
    println!(
        "- **{ceiling_label}**: the draw's append script (prelude included, the same keys and arguments, `EVALSHA`) called with the `redis` crate over one multiplexed connection by as many tasks as connections, plus a plain `SET` of the snapshot every {DEFAULT_EVERY} entries (what `record.lua` would write) so the tail it returns stays as short as under draws. Redis's ceiling for one round trip of a draw."
    );
    println!(
        "- **{pair_label}**: both scripts in turn, the two round trips one single draw makes, with a snapshot written every {DEFAULT_EVERY} entries as the component does.\n"
    );
    println!(
        "| connections | workload | ops/s | draws/s | p50 ms | p99 ms | p999 ms | errors | host CPU µs | Redis CPU µs |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((clients, level), (_, append, pair)) in m.levels.iter().zip(&r.ceilings) {
        for (label, row, per_op) in [
            ("ping", level.ping, 0.0),
            ("health", level.health, 0.0),
            ("single", level.single, 1.0),
            ("ten", level.ten, 10.0),
            (ceiling_label, *append, 0.0),
            (pair_label, *pair, 1.0),
        ] {
            println!("| {clients} | {label} | {} |", row.cells(per_op));
        }
    }

    println!("\n### Draws as a fraction of each ceiling\n");
    println!("Requests/s of a workload over the ceiling's calls/s at the same concurrency.\n");
    println!(
        "| connections | single ÷ health | single ÷ ping | health ÷ ping | single ÷ append+record | ten ÷ single (requests) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for ((clients, l), (_, _, pair)) in m.levels.iter().zip(&r.ceilings) {
        println!(
            "| {clients} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            l.single.rate / l.health.rate,
            l.single.rate / l.ping.rate,
            l.health.rate / l.ping.rate,
            l.single.rate / pair.rate,
            l.ten.rate / l.single.rate
        );
    }

    println!("\n### Targets\n");
    print_targets(m);
    let (single_c, single_peak) = m.peak(|l| l.single);
    let (_, ping_peak) = m.peak(|l| l.ping);
    let (_, health_peak) = m.peak(|l| l.health);
    let cpu_us = r.cores as f64 * 1e6 / single_peak.rate;
    println!(
        "- Where a draw's time goes, at the peak ({single_c} connections): {} cores over {:.0} draws/s is {cpu_us:.0} µs of machine time per draw \
         (host, guest, Redis and wrk together, all on this machine), of which the serving process used {} µs; \
         it used {} µs per ping and {} µs per health check. The open-and-`PING` route alone is {:.0} µs of machine time \
         ({:.0}/s), so what a draw adds beyond the runtime's Redis cost is {:.0} µs: the two script calls and the guest's \
         replay of the snapshot and tail.",
        r.cores,
        single_peak.rate,
        cpu(single_peak.cpu_us),
        cpu(ping_peak.cpu_us),
        cpu(health_peak.cpu_us),
        r.cores as f64 * 1e6 / health_peak.rate,
        health_peak.rate,
        cpu_us - r.cores as f64 * 1e6 / health_peak.rate
    );
    println!(
        "- p99 under 10 ms at half of peak load: single draws paced at {:.0}/s over {PACED_CLIENTS} connections for {} s \
         (this process's own open-loop generator, as wrk sends only back to back), each request sent when due and timed from then \
         if its connection was still busy: {:.0} draws/s answered, p50 {:.2} ms, p99 **{:.2} ms**, p999 {:.2} ms, {} errors: {}.",
        m.half_rate,
        STEP.as_secs(),
        m.paced.rate,
        m.paced.p50,
        m.paced.p99,
        m.paced.p999,
        m.paced.errors,
        if m.paced.p99 < 10.0 && m.paced.errors == 0 {
            "met".to_owned()
        } else if m.paced.errors > 0 {
            format!("missed: {} requests failed", m.paced.errors)
        } else {
            format!("missed by {:.2} ms", m.paced.p99 - 10.0)
        }
    );
    println!(
        "  Baselines from the same run: `GET /v1/ping` paced the same way: p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms; \
         and this machine's own lateness waking a task from a {} ms sleep, idle, over {} s: p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms.",
        m.paced_ping.p50,
        m.paced_ping.p99,
        m.paced_ping.p999,
        WAKE_SLEEP.as_millis(),
        STEP.as_secs(),
        r.wake.p50,
        r.wake.p99,
        r.wake.p999
    );

    println!("\n### Pool size\n");
    println!(
        "Single draws, {SCALE_CLIENTS} connections, {} s, snapshot every {DEFAULT_EVERY}, each pool created through `POST /v1/pools`. Items as above (half unlimited). \
         \"scripts direct\": `append.lua` then `record.lua` called on that pool from {SCALE_CLIENTS} tasks, as in the first table, so the Redis side of moving its snapshot is measured alone.\n",
        STEP.as_secs()
    );
    println!(
        "| items | draws/s | ÷ 10 items | p50 ms | p99 ms | p999 ms | errors | host CPU µs | Redis CPU µs | snapshot bytes | scripts direct calls/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ten_items = m.size(10).rate;
    for (items, row, snap, direct) in &m.sizes {
        println!(
            "| {items} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {snap} | {} |",
            row.rate,
            row.rate / ten_items,
            row.p50,
            row.p99,
            row.p999,
            row.errors,
            cpu(row.cpu_us),
            cpu(row.redis_us),
            direct.map_or("–".to_owned(), |d| format!("{:.0}", d.rate))
        );
    }

    println!("\n### Tail since the last snapshot\n");
    println!(
        "Single draws, {SCALE_CLIENTS} connections, {} s, 10 items, each pool fresh. A draw replays the tail since the last snapshot, which grows to the interval before a snapshot is written; where a step made fewer draws than the interval, the tail grew from 0 to that many entries over the step.\n",
        STEP.as_secs()
    );
    println!(
        "| snapshot every | draws/s | p50 ms | p99 ms | p999 ms | errors | draws in step | longest tail |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (every, row) in &m.intervals {
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

    println!("\n### Under `spin up`\n");
    match &r.spin {
        Some(spin) => print_side_by_side(m, spin),
        None => println!(
            "{SPIN_SKIPPED}. When a `spin` binary is on PATH, the same HTTP steps run again under `spin up` (the workspace's `spin.toml`, a Redis of its own) and are reported here beside the test host's."
        ),
    }

    print_memory(r);
}

fn print_targets(m: &Measured) {
    let (single_c, single_peak) = m.peak(|l| l.single);
    let (health_c, health_peak) = m.peak(|l| l.health);
    let (ping_c, ping_peak) = m.peak(|l| l.ping);
    let to_health = single_peak.rate / health_peak.rate;
    println!(
        "- {}: single draws at least 0.8 of the open-and-`PING` route: peak single draws {:.0}/s ({single_c} connections) over peak health {:.0}/s ({health_c} connections) = **{to_health:.2}**: {}. Their ratio to ping (peak {:.0}/s, {ping_c} connections): {:.2}; health's own: {:.2}.",
        m.name,
        single_peak.rate,
        health_peak.rate,
        met(to_health, 0.8),
        ping_peak.rate,
        single_peak.rate / ping_peak.rate,
        health_peak.rate / ping_peak.rate
    );
    println!(
        "  Why, at those peaks: a draw used {} µs of the serving process's CPU and {} µs of Redis's, a health check {} µs and {} µs. \
         Both open one Redis connection; what a draw adds is its two script calls (their Redis work, and the host carrying each call and reply) \
         and the guest's decode of the snapshot and replay of the tail.",
        cpu(single_peak.cpu_us),
        cpu(single_peak.redis_us),
        cpu(health_peak.cpu_us),
        cpu(health_peak.redis_us)
    );
    let (small, large, largest) = (m.size(10), m.size(10_000), m.size(100_000));
    let ratio = large.rate / small.rate;
    println!(
        "- {}: a 10 000-item pool at least half the single-draw rate of a 10-item pool: {:.0}/s over {:.0}/s = **{ratio:.2}**: {}. 100 000 items: {:.0}/s ({:.2} of the 10-item pool).",
        m.name,
        large.rate,
        small.rate,
        met(ratio, 0.5),
        largest.rate,
        largest.rate / small.rate
    );
    println!(
        "  Why: per draw the serving process used {} µs of CPU at 10 items, {} µs at 10 000 and {} µs at 100 000, and Redis {} µs, {} µs and {} µs: \
         every draw moves the whole snapshot through Redis and the host, and the guest checks its checksum and makes one pass over its columns \
         (a pool of 256 items or more is read in place, format version 4); \"Draws whose cost does not grow with the pool\", after this generated part.",
        cpu(small.cpu_us),
        cpu(large.cpu_us),
        cpu(largest.cpu_us),
        cpu(small.redis_us),
        cpu(large.redis_us),
        cpu(largest.redis_us)
    );
}

fn print_side_by_side(host: &Measured, spin: &Measured) {
    println!(
        "The same HTTP steps under `spin up` (the workspace's `spin.toml`, a Redis of its own), in the same run, after the test host's.\n"
    );
    println!(
        "| step | tombola-host ops/s | spin up ops/s | spin ÷ host | tombola-host p99 ms | spin up p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let line = |label: String, a: Row, b: Row| {
        println!(
            "| {label} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
            a.rate,
            b.rate,
            b.rate / a.rate,
            a.p99,
            b.p99
        );
    };
    for ((clients, a), (_, b)) in host.levels.iter().zip(&spin.levels) {
        line(format!("ping, {clients} connections"), a.ping, b.ping);
        line(format!("health, {clients} connections"), a.health, b.health);
        line(format!("single, {clients} connections"), a.single, b.single);
        line(format!("ten, {clients} connections"), a.ten, b.ten);
    }
    for ((items, a, ..), (_, b, ..)) in host.sizes.iter().zip(&spin.sizes) {
        line(format!("single, {items} items"), *a, *b);
    }
    for ((every, a), (_, b)) in host.intervals.iter().zip(&spin.intervals) {
        line(format!("single, snapshot every {every}"), *a, *b);
    }
    println!("\nTargets under `spin up`:\n");
    print_targets(spin);
    println!(
        "\nPeak resident memory of the serving process: tombola-host {:.0} MiB, spin up {:.0} MiB.",
        host.hwm_kib as f64 / 1024.0,
        spin.hwm_kib as f64 / 1024.0
    );
}

fn print_memory(r: &Report) {
    let mem = &r.memory;
    println!("\n### Memory\n");
    println!(
        "Host: peak resident memory (`VmHWM`) of the `tombola-host` process after every step above, {} connections and the {}-item pool among them: **{:.0} MiB**.\n",
        CONCURRENCY.last().expect("levels"),
        POOL_SIZES.last().expect("sizes"),
        r.host.hwm_kib as f64 / 1024.0
    );
    println!(
        "Redis, for one pool (10 items, snapshot every {DEFAULT_EVERY}) after {} draws made as {} requests of `count` 10 ({:.0} s at {SCALE_CLIENTS} connections): \
         the log holds {} entries (one per request), and each request id keeps a record for `request_ttl_secs` (one day by default). \
         `used_memory` went from {:.1} MiB to {:.1} MiB (+{:.1} MiB). Per key, from `MEMORY USAGE key SAMPLES 0`, \
         before and after `POST /v1/pools/memory/recover` (which moves the live log into an archive segment):\n",
        mem.drawn,
        mem.drawn / 10,
        mem.fill_secs,
        mem.log_len,
        mib(mem.used_before),
        mib(mem.used_after),
        mib(mem.used_after.saturating_sub(mem.used_before))
    );
    println!("| keys | before recover: count | bytes | after recover: count | bytes |");
    println!("|---|---:|---:|---:|---:|");
    let kinds: std::collections::BTreeSet<_> =
        mem.live.keys().chain(mem.recovered.keys()).collect();
    let (mut total_live, mut total_recovered) = (0, 0);
    for kind in kinds {
        let (lc, lb) = mem.live.get(kind).copied().unwrap_or((0, 0));
        let (rc, rb) = mem.recovered.get(kind).copied().unwrap_or((0, 0));
        total_live += lb;
        total_recovered += rb;
        println!("| {kind} | {lc} | {lb} | {rc} | {rb} |");
    }
    println!("| **total** | | {total_live} | | {total_recovered} |");
    let records = mem.live.get("request records").copied().unwrap_or((0, 0));
    if records.0 > 0 {
        println!(
            "\nSizing: about {:.0} bytes per request record (kept for the TTL, whatever the pool) and {:.0} bytes per log entry of a 10-draw (kept until archived, then in at most `archive_segments` segments).",
            records.1 as f64 / records.0 as f64,
            mem.live.get("log").map_or(0, |l| l.1) as f64 / mem.log_len.max(1) as f64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_report_wrk_prints_after_its_own_summary() {
        let stdout = "Running 1s test @ http://127.0.0.1:1/v1/ping\n  2 threads and 2 connections\n\
                      {\"requests\":1200,\"duration_us\":2000000,\"connect\":0,\"read\":1,\"write\":0,\
                      \"status\":200,\"timeout\":2,\"p50_us\":310.0,\"p99_us\":2500.5,\"p999_us\":4000.0}\n";
        let report = WrkReport::parse(stdout).unwrap();
        let row = report.row();
        assert_eq!(row.ok, 1000);
        assert_eq!(row.errors, 203);
        assert!((row.rate - 500.0).abs() < 1e-9);
        assert!((row.p99 - 2.5005).abs() < 1e-9);
        assert!(WrkReport::parse("no report here\n").is_err());
    }

    #[test]
    fn spin_missing_from_path_is_reported_as_skipped() {
        let dir = std::env::temp_dir().join(format!("tombola-bench-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(find_on_path("spin", dir.as_os_str()), None);
        let spin = dir.join("spin");
        std::fs::write(&spin, "").unwrap();
        assert_eq!(find_on_path("spin", dir.as_os_str()), Some(spin));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(SPIN_SKIPPED, "spin not on PATH: skipped");
    }

    /// A stand-in for `spin`: a script that serves `spin up --from
    /// <manifest> --listen <addr>` with the release `tombola-host` under
    /// the same variables, or exits at once with `exit`.
    fn stand_in_spin(name: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tombola-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spin = dir.join("spin");
        std::fs::write(&spin, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&spin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        spin
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spin_up_is_served_and_measured_as_its_own_process() {
        // target/<profile>/deps/<this test> -> target/<profile>/tombola-host
        let host = std::env::current_exe()
            .unwrap()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("tombola-host");
        assert!(
            host.is_file(),
            "build tombola-host first: {}",
            host.display()
        );
        let spin = stand_in_spin(
            "spin",
            &format!(
                "[ \"$1 $2 $4\" = \"up --from --listen\" ] || exit 2\nexec '{}' --manifest \"$3\" --listen \"$5\"",
                host.display()
            ),
        );
        let served = Served::spin(&spin).await.unwrap();
        assert_eq!(served.name, "spin up");
        served.create_pool("s", 10, DEFAULT_EVERY).await.unwrap();
        served.check_draw("s", 1, "first").await.unwrap();
        let wrk = Wrk::new().unwrap();
        let row = served
            .step(&wrk, 2, Duration::from_secs(1), &Load::Get("/v1/health"))
            .unwrap();
        assert!(row.ok > 10 && row.errors == 0, "{row:?}");
        assert!(row.cpu_us.is_some_and(|us| us > 0.0), "{row:?}");
        assert!(peak_memory_kib(served.pid) > 0);
        std::fs::remove_dir_all(spin.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn a_spin_that_exits_at_start_is_reported_with_what_it_printed() {
        let spin = stand_in_spin("broken-spin", "echo no such manifest\nexit 3");
        let error = match Served::spin(&spin).await {
            Ok(_) => panic!("a spin that exits cannot serve"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains("spin up exited at start"), "{error}");
        assert!(error.contains("no such manifest"), "{error}");
        std::fs::remove_dir_all(spin.parent().unwrap()).unwrap();
    }

    /// wrk with the bench's script against the test host: every draw it
    /// sent has a log entry of its own (no request id repeated), and its
    /// count is the log's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrk_sends_draws_with_ids_of_their_own() {
        let app = tombola_tests::app::TestApp::start().await.unwrap();
        app.create_pool(&json!({"id": "w", "name": "w", "mode": "weight",
            "items": [{"id": "a", "weight": 1, "stock": null}]}))
            .await;
        let wrk = Wrk::new().unwrap();
        let load = Load::Draws {
            pool: "w".into(),
            count: 1,
        };
        let row = wrk.run(app.addr, 4, Duration::from_secs(1), &load).unwrap();
        assert_eq!(row.errors, 0);
        assert!(row.ok > 10, "{} draws in a second", row.ok);
        let mut conn = app.redis_connection(0).await.unwrap();
        let entries: u64 = redis::cmd("LLEN")
            .arg(keys::log("w"))
            .query_async(&mut conn)
            .await
            .unwrap();
        // The CREATE, then one entry per answered draw, and at most one
        // per connection for draws still in flight when wrk stopped.
        assert!(
            (row.ok + 1..=row.ok + 5).contains(&entries),
            "{entries} entries for {} answered draws",
            row.ok
        );
        let get = wrk
            .run(app.addr, 1, Duration::from_secs(1), &Load::Get("/v1/ping"))
            .unwrap();
        assert!(get.ok > 10 && get.errors == 0, "{get:?}");
    }
}
