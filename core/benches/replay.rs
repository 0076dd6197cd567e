//! Replay throughput over a million log lines, snapshot encoding and
//! decoding at 10 000 items, and the per-request path of the draw component
//! (decode a snapshot, decode and replay the tail after it).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use tombola_core::pool::{Entry, Ledger, Snapshot, decode_tail, replay, replay_tail};

// A stock-mode pool of `items` items whose stock never runs out here.
fn create_line(items: usize) -> String {
    let items: Vec<String> = (0..items)
        .map(|i| format!("item-{i}:{}:1000000000", i % 100 + 1))
        .collect();
    format!("CREATE/1 bench 1 stock 32 Bench {}", items.join(" "))
}

// The log: a CREATE, then `entries - 1` entries, by count: 90% single draws,
// 4% ten-draws, 3% restocks, 3% returns.
fn log(entries: usize, items: usize) -> Vec<String> {
    let mut rng = Pcg64Mcg::new(42);
    let mut lines = Vec::with_capacity(entries);
    lines.push(create_line(items));
    for n in 1..entries {
        let item = rng.random_range(0..items);
        let line = match n % 100 {
            0..90 => format!("DRAW/1 req-{n} 1 {:016x} partial", rng.random::<u64>()),
            90..94 => format!("DRAW/1 op-{n}#0 10 {:016x} all", rng.random::<u64>()),
            94..97 => format!("RESTOCK/1 item-{item} 5"),
            _ => format!("RETURN/1 op-{n} item-{item}:1"),
        };
        lines.push(line);
    }
    lines
}

fn replay_log(c: &mut Criterion) {
    const ENTRIES: usize = 1_000_000;
    let lines = log(ENTRIES, 100);
    let mut group = c.benchmark_group("replay");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(ENTRIES as u64));
    // Decode and apply line by line, each outcome looked at and dropped, as
    // an audit streams through a log.
    group.bench_function(BenchmarkId::new("stream_lines", ENTRIES), |b| {
        b.iter(|| {
            let mut ledger = Ledger::new();
            for line in &lines {
                black_box(ledger.apply_line(line.as_bytes()).expect("the log replays"));
            }
            ledger
        })
    });
    // The same, keeping every outcome (`replay_tail`); the million outcomes
    // are dropped outside the measurement.
    group.bench_function(BenchmarkId::new("collect_lines", ENTRIES), |b| {
        b.iter_with_large_drop(|| replay_tail(None, &lines).expect("the log replays"))
    });
    // Entries decoded beforehand: `replay` alone.
    let entries = decode_tail(1, &lines).expect("the log decodes");
    group.bench_function(BenchmarkId::new("collect_decoded", ENTRIES), |b| {
        b.iter_batched(
            || entries.clone(),
            |entries| replay(None, entries).expect("sequence numbers follow"),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn snapshots(c: &mut Criterion) {
    const ITEMS: usize = 10_000;
    let lines = log(1_000, ITEMS);
    let entries = decode_tail(1, &lines).expect("the log decodes");
    let snapshot = replay(None, entries)
        .expect("sequence numbers follow")
        .snapshot()
        .expect("the pool exists");
    let bytes = snapshot.encode();
    let mut group = c.benchmark_group("snapshot");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(BenchmarkId::new("encode", ITEMS), |b| {
        b.iter(|| black_box(snapshot.encode()))
    });
    group.bench_function(BenchmarkId::new("decode", ITEMS), |b| {
        b.iter(|| black_box(Snapshot::decode(&bytes).expect("the snapshot decodes")))
    });
    group.finish();
}

/// Pool sizes of the request-path benchmarks, as the HTTP bench creates.
const REQUEST_SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

// What the draw component does per request, by pool size: decode the
// newest snapshot, decode the 16 lines after it (half a default interval),
// replay them. Beside it, the floor for any path that moves the snapshot:
// a copy of its bytes.
fn request_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    for items in REQUEST_SIZES {
        let lines = log(1_016, items);
        let (head, tail) = lines.split_at(1_000);
        let entries = decode_tail(1, head).expect("the log decodes");
        let bytes = replay(None, entries)
            .expect("sequence numbers follow")
            .snapshot()
            .expect("the pool exists")
            .encode();
        let tail: Vec<&[u8]> = tail.iter().map(|line| line.as_bytes()).collect();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("decode_and_replay_16", items), |b| {
            b.iter(|| {
                let snapshot = Snapshot::decode(&bytes).expect("the snapshot decodes");
                black_box(replay_tail(Some(snapshot), &tail).expect("the tail replays"))
            })
        });
        group.bench_function(BenchmarkId::new("decode", items), |b| {
            b.iter(|| black_box(Snapshot::decode(&bytes).expect("the snapshot decodes")))
        });
        group.bench_function(BenchmarkId::new("copy_bytes", items), |b| {
            b.iter(|| black_box(bytes.clone()))
        });
    }
    group.finish();
}

// Ensures a line of every kind in the benchmark log decodes as the verb it
// was written as, so a typo in a format string cannot turn the benchmark
// into a measurement of decode errors.
fn check_log() {
    let lines = log(200, 10);
    let verbs: Vec<&str> = lines
        .iter()
        .map(|line| line.split(' ').next().unwrap_or(""))
        .collect();
    for (line, verb) in lines.iter().zip(verbs) {
        let entry = Entry::decode(line).expect("benchmark lines decode");
        assert!(entry.encode().starts_with(verb));
    }
}

fn output() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("criterion")
}

// Criterion's mean estimate of a benchmark, in nanoseconds.
fn mean_ns(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(output().join(path).join("new/estimates.json")).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

fn report() {
    println!("\nreplay of 1 000 000 log lines (target: 5 000 000 entries/s)\n");
    println!("| benchmark | entries/s |");
    println!("|---|---:|");
    for name in ["stream_lines", "collect_lines", "collect_decoded"] {
        let rate = mean_ns(&format!("replay/{name}/1000000")).map(|ns| 1e6 / (ns / 1e9));
        let cell = rate.map_or_else(|| "not run".to_owned(), |rate| format!("{rate:.0}"));
        println!("| {name} | {cell} |");
    }
    println!("\n| snapshot, 10 000 items | time |");
    println!("|---|---:|");
    for name in ["encode", "decode"] {
        let cell = mean_ns(&format!("snapshot/{name}/10000"))
            .map_or_else(|| "not run".to_owned(), |ns| format!("{:.0} µs", ns / 1e3));
        println!("| {name} | {cell} |");
    }
    println!("\n| request path, items | decode + replay 16 | decode | copy of the bytes |");
    println!("|---:|---:|---:|---:|");
    for items in REQUEST_SIZES {
        let cell = |name: &str| {
            mean_ns(&format!("request/{name}/{items}"))
                .map_or_else(|| "not run".to_owned(), |ns| format!("{:.2} µs", ns / 1e3))
        };
        println!(
            "| {items} | {} | {} | {} |",
            cell("decode_and_replay_16"),
            cell("decode"),
            cell("copy_bytes")
        );
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .output_directory(&output())
        .configure_from_args();
    check_log();
    replay_log(&mut criterion);
    snapshots(&mut criterion);
    request_path(&mut criterion);
    criterion.final_summary();
    report();
}
