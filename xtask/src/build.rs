//! Building the components for `wasm32-wasip2`.

use anyhow::{Context, Result, bail};

use crate::{cargo, on_path, run};

/// The target every component is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The component packages, as `spin.toml`'s build commands name them.
pub const COMPONENTS: &[&str] = &[
    "tombola-draw",
    "tombola-state",
    "tombola-backoffice",
    "tombola-lottery",
    "tombola-console",
];

/// Adds the components' wasm target through rustup when it is missing.
pub fn ensure_target() -> Result<()> {
    ensure_rust_target(TARGET)
}

/// Adds `target` through rustup when it is missing.
pub fn ensure_rust_target(target: &str) -> Result<()> {
    if !on_path("rustup") {
        // A toolchain without rustup must already have the target; the
        // build below says so clearly if it does not.
        return Ok(());
    }
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(crate::root())
        .output()
        .context("cannot ask rustup for installed targets")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t.trim() == target)
    {
        return Ok(());
    }
    let mut add = std::process::Command::new("rustup");
    add.args(["target", "add", target])
        .current_dir(crate::root());
    run(&mut add)
}

/// Builds every component in release mode.
pub fn components() -> Result<()> {
    ensure_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", TARGET]);
    for package in COMPONENTS {
        cmd.args(["--package", package]);
    }
    run(&mut cmd)?;
    for package in COMPONENTS {
        let wasm = crate::root()
            .join("target")
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        if !wasm.is_file() {
            bail!("the build did not produce {}", wasm.display());
        }
    }
    Ok(())
}
