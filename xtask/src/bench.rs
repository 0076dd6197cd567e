//! `cargo xtask bench`: the core's criterion benchmarks, then the HTTP
//! load run against the built components (served by the release
//! `tombola-host`, and by `spin up` when Spin is installed, loaded by
//! `wrk`), all in one run so ratios compare numbers taken on the same
//! machine at the same time. The load run's Markdown report replaces the
//! part of `BENCHMARKS.md` between [`BEGIN`] and [`END`].

use anyhow::{Context, Result, bail};

use crate::{build, cargo, root, run, test};

/// What to do when wrk is missing and cannot be installed.
const WRK_HINT: &str = "wrk is not on PATH. Install it: `sudo apt-get install wrk` (Debian, Ubuntu), `sudo dnf install wrk` (Fedora) or `brew install wrk` (macOS)";

/// Marks the start of the generated part of `BENCHMARKS.md`.
const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
/// Marks its end.
const END: &str = "<!-- cargo xtask bench: end -->";

/// Installs wrk from Debian's packages when it is missing (the bench's
/// load generator, which its tests drive too).
pub fn ensure_wrk() -> Result<()> {
    test::ensure_packages(&["wrk"], &["wrk"], WRK_HINT)
}

/// Runs every benchmark and writes the HTTP report into `BENCHMARKS.md`.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask bench takes no arguments (got {arg:?})");
    }
    test::ensure_redis_server()?;
    ensure_wrk()?;
    run(cargo().args(["bench", "--package", "tombola-core"]))?;
    build::components()?;
    // The bench starts the host beside it, so both binaries are built.
    run(cargo().args([
        "build",
        "--release",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-bench",
        "--bin",
        "tombola-host",
    ]))?;
    let binary = root().join("target/release/tombola-bench");
    eprintln!("$ {}", binary.display());
    let output = std::process::Command::new(&binary)
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
