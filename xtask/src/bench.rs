//! `cargo xtask bench`: the core's criterion benchmarks, then the HTTP
//! load run against the built components, all in one run so ratios
//! compare numbers taken on the same machine at the same time. The load
//! run's Markdown report replaces the part of `BENCHMARKS.md` between
//! [`BEGIN`] and [`END`].

use anyhow::{Context, Result, bail};

use crate::{build, cargo, root, run, test};

/// Marks the start of the generated part of `BENCHMARKS.md`.
const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
/// Marks its end.
const END: &str = "<!-- cargo xtask bench: end -->";

/// Runs every benchmark and writes the HTTP report into `BENCHMARKS.md`.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask bench takes no arguments (got {arg:?})");
    }
    test::ensure_redis_server()?;
    run(cargo().args(["bench", "--package", "tombola-core"]))?;
    build::components()?;
    let mut bench = cargo();
    bench.args([
        "run",
        "--release",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-bench",
    ]);
    eprintln!("$ cargo run --release --package tombola-tests --bin tombola-bench");
    let output = bench
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run the HTTP benchmark")?;
    if !output.status.success() {
        bail!("the HTTP benchmark failed: {}", output.status);
    }
    let report = String::from_utf8(output.stdout).context("the report is not UTF-8")?;
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("{} lacks the {BEGIN} and {END} markers", path.display());
    };
    let updated = format!(
        "{}{BEGIN}\n{}\n{}",
        &text[..begin],
        report.trim_end(),
        &text[end..]
    );
    std::fs::write(&path, updated).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote the report into {}", path.display());
    Ok(())
}
