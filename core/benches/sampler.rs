//! Sample one index, then lower its weight by one: Tombola's sampler against
//! the off-the-shelf alternatives, at 10 to 1 000 000 weights.
//!
//! Every contender draws from the same generator and the same weights. The
//! run ends with a table of each contender's time as a ratio to
//! `rand_distr::WeightedTreeIndex` (see `BENCHMARKS.md`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use rand::Rng;
use rand::distr::Distribution;
use rand_distr::weighted::{WeightedIndex, WeightedTreeIndex};
use rand_pcg::Pcg64Mcg;
use tombola_core::pool::rules::uniform_below;
use tombola_core::pool::sampler::Sampler;

const SIZES: [usize; 4] = [10, 1_000, 100_000, 1_000_000];
const GROUP: &str = "sample_decrement";

// Weights between 2^28 and 2^29: no weight runs out however long criterion
// iterates. They fit in 32 bits, as stocks and weights of real pools do;
// `tombola_wide` repeats the largest size with weights past 2^32, which
// switch the sampler to 8-byte leaves.
fn weights(n: usize, wide: bool) -> Vec<u64> {
    let mut rng = Pcg64Mcg::new(0x0070_601a);
    let low = if wide { 1u64 << 40 } else { 1u64 << 28 };
    (0..n).map(|_| rng.random_range(low..low * 2)).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP);
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in SIZES {
        let start = weights(n, false);

        let mut sampler = Sampler::new(&start).expect("weights fit");
        let mut rng = Pcg64Mcg::new(1);
        group.bench_function(BenchmarkId::new("tombola", n), |b| {
            b.iter(|| {
                let index = sampler.sample(&mut rng).expect("weights are positive");
                sampler.decrease(index, 1);
                black_box(index)
            })
        });

        if n == 1_000_000 {
            let mut sampler = Sampler::new(&weights(n, true)).expect("weights fit");
            let mut rng = Pcg64Mcg::new(1);
            group.bench_function(BenchmarkId::new("tombola_wide", n), |b| {
                b.iter(|| {
                    let index = sampler.sample(&mut rng).expect("weights are positive");
                    sampler.decrease(index, 1);
                    black_box(index)
                })
            });
        }

        let mut tree = WeightedTreeIndex::new(start.iter().copied()).expect("weights fit");
        let mut rng = Pcg64Mcg::new(1);
        group.bench_function(BenchmarkId::new("weighted_tree_index", n), |b| {
            b.iter(|| {
                let index = tree.sample(&mut rng);
                let weight = tree.get(index);
                tree.update(index, weight - 1).expect("weight stays valid");
                black_box(index)
            })
        });

        let mut scan = start.clone();
        let mut total: u64 = scan.iter().sum();
        let mut rng = Pcg64Mcg::new(1);
        group.bench_function(BenchmarkId::new("linear_scan", n), |b| {
            b.iter(|| {
                let mut point = uniform_below(&mut rng, total);
                let index = scan
                    .iter()
                    .position(|&weight| {
                        let inside = point < weight;
                        point = point.wrapping_sub(weight);
                        inside
                    })
                    .expect("point below total");
                scan[index] -= 1;
                total -= 1;
                black_box(index)
            })
        });

        // Rebuilding is O(n) per draw: at a million weights one draw takes
        // milliseconds, so fewer samples keep the suite short.
        if n == 1_000_000 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(5));
        }
        let mut rebuilt = start.clone();
        let mut index_dist = WeightedIndex::new(&rebuilt).expect("weights fit");
        let mut rng = Pcg64Mcg::new(1);
        group.bench_function(BenchmarkId::new("weighted_index_rebuild", n), |b| {
            b.iter(|| {
                let index = index_dist.sample(&mut rng);
                rebuilt[index] -= 1;
                index_dist = WeightedIndex::new(&rebuilt).expect("weights fit");
                black_box(index)
            })
        });
    }
    group.finish();
}

fn output() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("criterion")
}

// Criterion's mean estimate of a benchmark, in nanoseconds.
fn mean_ns(function: &str, n: usize) -> Option<f64> {
    let path = output()
        .join(GROUP)
        .join(function)
        .join(n.to_string())
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

fn report() {
    let contenders = [
        "tombola",
        "tombola_wide",
        "weighted_tree_index",
        "weighted_index_rebuild",
        "linear_scan",
    ];
    println!(
        "\nsample + decrement, mean ns per draw (ratio: WeightedTreeIndex time / contender time)\n"
    );
    println!("| n | {} |", contenders.join(" | "));
    println!("|---:|{}", "---:|".repeat(contenders.len()));
    for n in SIZES {
        let baseline = mean_ns("weighted_tree_index", n);
        let cells: Vec<String> = contenders
            .iter()
            .map(|name| match (mean_ns(name, n), baseline) {
                (Some(time), Some(base)) => format!("{time:.1} ns ({:.2}x)", base / time),
                _ => "not run".to_owned(),
            })
            .collect();
        println!("| {n} | {} |", cells.join(" | "));
    }
    if let (Some(small), Some(large)) = (mean_ns("tombola", 1_000), mean_ns("tombola", 1_000_000)) {
        println!(
            "\ntombola cost growth from 1 000 to 1 000 000 weights: {:.2}x",
            large / small
        );
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .output_directory(&output())
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    report();
}
