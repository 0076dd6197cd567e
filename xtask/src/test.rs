//! `cargo xtask test`: every check the project has, in the order that
//! fails fastest.

use std::process::Command;

use anyhow::{Result, bail};

use crate::build::{self, COMPONENTS, TARGET};
use crate::redis_server::INSTALL_HINT;
use crate::{cargo, on_path, run};

/// Installs `redis-server` from the distribution's packages when it is
/// missing and apt-get can be used without a password.
pub fn ensure_redis_server() -> Result<()> {
    if on_path("redis-server") {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!(INSTALL_HINT);
    }
    let sudo: &[&str] = if is_root() {
        &[]
    } else if on_path("sudo") {
        &["sudo", "-n"]
    } else {
        bail!(INSTALL_HINT);
    };
    eprintln!("redis-server is missing: installing it from Debian's packages");
    for args in [
        &["apt-get", "update", "-qq"][..],
        &["apt-get", "install", "-y", "-qq", "redis-server"][..],
    ] {
        let argv: Vec<&str> = sudo.iter().chain(args).copied().collect();
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)?;
    }
    if !on_path("redis-server") {
        bail!(INSTALL_HINT);
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Runs every check.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask test takes no arguments (got {arg:?})");
    }
    build::ensure_target()?;
    ensure_redis_server()?;

    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut wasm_clippy = cargo();
    wasm_clippy.args(["clippy", "--release", "--target", TARGET]);
    for package in COMPONENTS {
        wasm_clippy.args(["--package", package]);
    }
    run(wasm_clippy.args(["--", "-D", "warnings"]))?;

    build::components()?;
    run(cargo().args(["test", "--workspace"]))?;
    eprintln!("xtask test: every check passed");
    Ok(())
}
