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
    ensure_packages(&["redis-server"], &["redis-server"], INSTALL_HINT)
}

/// What to do when the browser suite's Chromium cannot be installed.
const CHROMIUM_HINT: &str = "the browser suite needs Chromium and its WebDriver: install them with `sudo apt-get install chromium chromium-driver`";

/// Installs Debian's `chromium` and `chromium-driver` (the browser suite's
/// headless browser and its WebDriver) when either is missing.
pub fn ensure_chromium() -> Result<()> {
    ensure_packages(
        &["chromium", "chromedriver"],
        &["chromium", "chromium-driver"],
        CHROMIUM_HINT,
    )
}

/// Installs `packages` with apt-get unless every one of `commands` is on
/// PATH; `hint` says what to do when that cannot be done here.
pub fn ensure_packages(commands: &[&str], packages: &[&str], hint: &str) -> Result<()> {
    if commands.iter().all(|c| on_path(c)) {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!("{hint}");
    }
    let sudo: &[&str] = if is_root() {
        &[]
    } else if on_path("sudo") {
        &["sudo", "-n"]
    } else {
        bail!("{hint}");
    };
    eprintln!(
        "{} missing: installing {} from Debian's packages",
        commands.join(" or "),
        packages.join(" ")
    );
    let install: Vec<&str> = ["apt-get", "install", "-y", "-qq"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    for args in [&["apt-get", "update", "-qq"][..], &install[..]] {
        let argv: Vec<&str> = sudo.iter().chain(args).copied().collect();
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)?;
    }
    if !commands.iter().all(|c| on_path(c)) {
        bail!("{hint}");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The target the core's portability check runs on.
const PORTABLE_TARGET: &str = "wasm32-unknown-unknown";

/// The version of a package in Cargo.lock.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(crate::root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"")
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    bail!("{package} is not in Cargo.lock")
}

/// Installs `wasm-bindgen-test-runner` at the version the lock file pins
/// (the runner and the library must match exactly).
fn ensure_wasm_bindgen_runner() -> Result<()> {
    let version = locked_version("wasm-bindgen")?;
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    if installed.as_deref() == Some(&format!("wasm-bindgen {version}"))
        && on_path("wasm-bindgen-test-runner")
    {
        return Ok(());
    }
    // Not --locked: the lock file shipped with wasm-bindgen-cli names
    // versions the registry may no longer serve; the runner only has to
    // match the library's version, which --version pins.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))
}

/// Runs the core's golden vectors on wasm32 under wasm-bindgen-test (in
/// Node.js), proving outcomes do not depend on the platform.
fn portability_check() -> Result<()> {
    if !on_path("node") {
        bail!(
            "node is not on PATH: the wasm32 golden check runs in Node.js. Install it: `sudo apt-get install nodejs`"
        );
    }
    build::ensure_rust_target(PORTABLE_TARGET)?;
    ensure_wasm_bindgen_runner()?;
    run(cargo()
        .args([
            "test",
            "--package",
            "tombola-core",
            "--target",
            PORTABLE_TARGET,
            "--test",
            "golden",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        ))
}

/// The core's fuzz targets, and how long each runs in `cargo xtask test`.
const FUZZ_TARGETS: &[&str] = &["log_line", "snapshot", "draw_state"];
const FUZZ_SECONDS: u32 = 30;
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Runs each fuzz target for a bounded time on nightly (cargo-fuzz needs
/// its sanitizer flags); any crash fails the check, and the input that
/// crashed is kept under `core/fuzz/regressions` for `cargo test`.
fn fuzz_check() -> Result<()> {
    if !on_path("rustup") {
        bail!("the fuzz check needs rustup to run the nightly toolchain");
    }
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()?;
    if !String::from_utf8_lossy(&toolchains.stdout)
        .lines()
        .any(|t| t.starts_with("nightly"))
    {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if !on_path("cargo-fuzz") {
        run(cargo().args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION]))?;
    }
    let max_time = format!("-max_total_time={FUZZ_SECONDS}");
    for target in FUZZ_TARGETS {
        let fuzzed = run(Command::new("rustup")
            .args([
                "run", "nightly", "cargo", "fuzz", "run", target, "--", &max_time,
            ])
            .current_dir(crate::root().join("core")));
        if let Err(error) = fuzzed {
            let kept = keep_fuzz_findings(target)?;
            bail!(
                "{error:#}\nthe inputs that failed are kept as regression tests: {}; fix the bug and commit them",
                kept.join(", ")
            );
        }
    }
    Ok(())
}

/// Copies what a failed fuzz run left under `core/fuzz/artifacts/<target>`
/// into `core/fuzz/regressions/<target>`, which `cargo test` runs.
fn keep_fuzz_findings(target: &str) -> Result<Vec<String>> {
    let fuzz = crate::root().join("core/fuzz");
    let artifacts = fuzz.join("artifacts").join(target);
    let regressions = fuzz.join("regressions").join(target);
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(&artifacts)? {
        let path = entry?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        let to = regressions.join(name);
        std::fs::copy(&path, &to)?;
        kept.push(to.display().to_string());
    }
    Ok(kept)
}

/// Runs every check.
pub fn run_all(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("cargo xtask test takes no arguments (got {arg:?})");
    }
    build::ensure_target()?;
    ensure_redis_server()?;
    crate::bench::ensure_wrk()?;
    ensure_chromium()?;

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
    crate::schemathesis::check()?;
    portability_check()?;
    fuzz_check()?;
    eprintln!("xtask test: every check passed");
    Ok(())
}
