//! Schemathesis (from PyPI) against the OpenAPI documents the components
//! serve, with every check it has: no 5xx but the documented 503s, every
//! answer matching its schema, schema-valid input accepted and invalid
//! input refused, stateful sequences following the documents' links.
//!
//! Runs when Python 3 is on PATH, from a virtualenv under `target/` with
//! the pinned version; the app is the debug `tombola-host` in front of a
//! redis-server of its own. The settings are in
//! `tests/schemathesis/schemathesis.toml`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::redis_server::{RedisServer, free_port};
use crate::{cargo, on_path, root, run};

/// The schemathesis release the run is pinned to.
const VERSION: &str = "4.32.5";

/// The documents to run against.
const DOCUMENTS: &[&str] = &["/v1/openapi.json", "/api/v1/state/openapi.json"];

/// The admin token the app is started with (the run sends it everywhere).
const ADMIN_TOKEN: &str = "schemathesis-admin-token";

/// How long the host may take to start (it compiles every component).
const START_LIMIT: Duration = Duration::from_secs(120);

/// Runs schemathesis against every document, or says why it cannot.
pub fn check() -> Result<()> {
    if !on_path("python3") {
        eprintln!("python3 is not on PATH: skipping the schemathesis run");
        return Ok(());
    }
    let schemathesis = ensure_installed()?;
    run(cargo().args([
        "build",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-host",
    ]))?;
    let redis = RedisServer::start()?;
    let host = Host::start(&redis)?;
    let config = root().join("tests/schemathesis");
    for document in DOCUMENTS {
        let url = format!("http://{}{document}", host.addr);
        let status = Command::new(&schemathesis)
            .current_dir(&config)
            .args(["--config-file", "schemathesis.toml", "run", &url])
            .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
            // Hypothesis's own files go under target/, not beside the config.
            .env(
                "HYPOTHESIS_STORAGE_DIRECTORY",
                root().join("target/schemathesis/hypothesis"),
            )
            .status()
            .context("cannot run schemathesis")?;
        if !status.success() {
            bail!(
                "schemathesis found problems in {url} ({status}); the host's log is {}",
                host.log.display()
            );
        }
    }
    Ok(())
}

/// The virtualenv's `schemathesis`, installing the pinned version first
/// when it is missing or another one.
fn ensure_installed() -> Result<PathBuf> {
    let venv = root().join("target/schemathesis");
    let bin = venv.join("bin/schemathesis");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    if installed.as_deref() == Some(&format!("schemathesis, version {VERSION}")) {
        return Ok(bin);
    }
    if !venv.join("bin/pip").is_file() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("schemathesis=={VERSION}"),
    ]))?;
    Ok(bin)
}

/// The debug `tombola-host`, serving the workspace's `spin.toml`.
struct Host {
    addr: String,
    log: PathBuf,
    child: Child,
}

impl Host {
    fn start(redis: &RedisServer) -> Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let log = root().join("target/schemathesis/host.log");
        let output = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(root().join("target/debug/tombola-host"))
            .current_dir(root())
            .args(["--listen", &addr])
            .env("SPIN_VARIABLE_REDIS_ADDRESS", redis.address())
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_READER_TOKEN", "schemathesis-reader-token")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .context("cannot start target/debug/tombola-host")?;
        let mut host = Self { addr, log, child };
        host.wait_healthy()?;
        Ok(host)
    }

    fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        while !healthy(&self.addr) {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "tombola-host exited at start ({status}); see {}",
                    self.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "tombola-host was not healthy within {START_LIMIT:?}; see {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /v1/health` answers 200.
fn healthy(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_end(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.1 200")
}
