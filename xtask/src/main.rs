//! Tombola's project commands, the ones the README names.
//!
//! ```text
//! cargo xtask build   build every component for wasm32-wasip2
//! cargo xtask up      build, start Redis (unless REDIS_URL is set) and serve on 127.0.0.1:3000
//! cargo xtask test    every check: format, lints, unit, integration and portability tests
//! cargo xtask bench   the core's criterion benchmarks and the HTTP load run
//! ```
//!
//! Each command installs or starts what it needs on a fresh machine: the
//! wasm target through rustup, `redis-server` through apt-get where it can.

mod bench;
mod build;
mod schemathesis;
mod test;
mod up;

#[path = "../../tests/src/redis_server.rs"]
#[allow(
    dead_code,
    reason = "shared with the tests crate, which uses all of it"
)]
mod redis_server;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "build" => build::components(),
        "up" => up::run_app(&rest),
        "test" => test::run_all(&rest),
        "bench" => bench::run_all(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 build   build every component for wasm32-wasip2\n  \
                 up      serve the app on 127.0.0.1:3000 (starts Redis unless REDIS_URL is set)\n  \
                 test    run every check and test\n  \
                 bench   run the core's benchmarks and the HTTP load run"
            );
            if command.is_empty() || command == "help" || command == "--help" {
                Ok(())
            } else {
                bail!("unknown command {command:?}")
            }
        }
    }
}

/// The workspace's root folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

/// `cargo`, as the one running us.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a command to completion, failing if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed: {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a program is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
