//! `cargo xtask bench`: the core's criterion benchmarks, then the HTTP
//! load run against the built components (served by the release
//! `tombola-host`, and by `spin up` when Spin is installed, loaded by
//! `wrk`), all in one run so ratios compare numbers taken on the same
//! machine at the same time. The load run's Markdown report replaces the
//! part of `BENCHMARKS.md` between [`BEGIN`] and [`END`]; the lottery
//! sync's (`tombola-sync-bench`, against the cloud and store apps each in
//! a `tombola-host` process) the part between [`SYNC_BEGIN`] and
//! [`SYNC_END`].

use anyhow::{Context, Result, bail};

use crate::{build, cargo, root, run, test};

/// What to do when wrk is missing and cannot be installed.
const WRK_HINT: &str = "wrk is not on PATH. Install it: `sudo apt-get install wrk` (Debian, Ubuntu), `sudo dnf install wrk` (Fedora) or `brew install wrk` (macOS)";

/// Marks the start of the generated part of `BENCHMARKS.md`.
const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
/// Marks its end.
const END: &str = "<!-- cargo xtask bench: end -->";
/// Marks the start of the sync benchmark's part.
const SYNC_BEGIN: &str = "<!-- cargo xtask bench: sync begin -->";
/// Marks its end.
const SYNC_END: &str = "<!-- cargo xtask bench: sync end -->";

/// Installs wrk from Debian's packages when it is missing (the bench's
/// load generator, which its tests drive too).
pub fn ensure_wrk() -> Result<()> {
    test::ensure_packages(&["wrk"], &["wrk"], WRK_HINT)
}

/// Runs every benchmark and writes the HTTP and sync reports into
/// `BENCHMARKS.md`.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask bench takes no arguments (got {arg:?})");
    }
    test::ensure_redis_server()?;
    ensure_wrk()?;
    run(cargo().args(["bench", "--package", "tombola-core"]))?;
    build::components()?;
    // The benches start the host beside them, so all are built.
    run(cargo().args([
        "build",
        "--release",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-bench",
        "--bin",
        "tombola-sync-bench",
        "--bin",
        "tombola-host",
    ]))?;
    let report = report_of("tombola-bench")?;
    write_between(&report, BEGIN, END)?;
    let report = report_of("tombola-sync-bench")?;
    write_between(&report, SYNC_BEGIN, SYNC_END)?;
    Ok(())
}

/// Runs the release benchmark `name` and answers the Markdown it prints.
fn report_of(name: &str) -> Result<String> {
    let binary = root().join("target/release").join(name);
    eprintln!("$ {}", binary.display());
    let output = std::process::Command::new(&binary)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    if !output.status.success() {
        bail!("{name} failed: {}", output.status);
    }
    String::from_utf8(output.stdout).with_context(|| format!("{name}'s report is not UTF-8"))
}

/// Replaces what `BENCHMARKS.md` holds between `begin` and `end` with
/// `report`.
fn write_between(report: &str, begin: &str, end: &str) -> Result<()> {
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (Some(from), Some(to)) = (text.find(begin), text.find(end)) else {
        bail!("{} lacks the {begin} and {end} markers", path.display());
    };
    let updated = format!(
        "{}{begin}\n{}\n{}",
        &text[..from],
        report.trim_end(),
        &text[to..]
    );
    std::fs::write(&path, updated).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote a report into {}", path.display());
    Ok(())
}
