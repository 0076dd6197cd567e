//! `cargo xtask bench`: the core's criterion benchmarks, then the HTTP
//! load run against the built components, all in one run so ratios
//! compare numbers taken on the same machine at the same time.

use anyhow::{Result, bail};

use crate::{build, cargo, run, test};

/// Runs every benchmark.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask bench takes no arguments (got {arg:?})");
    }
    test::ensure_redis_server()?;
    run(cargo().args(["bench", "--package", "tombola-core"]))?;
    build::components()?;
    run(cargo().args([
        "run",
        "--release",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-bench",
    ]))
}
