//! Schemathesis (from PyPI) against the OpenAPI documents the components
//! serve, with every check it has: no 5xx but the documented 503s, every
//! answer matching its schema, schema-valid input accepted and invalid
//! input refused, stateful sequences following the documents' links.
//!
//! Runs when Python 3 is on PATH, from a virtualenv under `target/` with
//! the pinned version; the cloud app is the debug `tombola-host` in front
//! of a redis-server of its own, and the store's app (`spin-store.toml`)
//! another over a fresh SQLite file under `target/schemathesis/store`. The
//! settings are in `tests/schemathesis/schemathesis.toml`, one project per
//! document.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::redis_server::{RedisServer, free_port};
use crate::{cargo, on_path, root, run};

/// The schemathesis release the run is pinned to.
const VERSION: &str = "4.32.5";

/// The documents to run against.
const DOCUMENTS: &[&str] = &[
    "/v1/openapi.json",
    "/api/v1/state/openapi.json",
    "/v1/lottery/openapi.json",
    "/console/openapi.json",
];

/// The store app's document.
const STORE_DOCUMENT: &str = "/api/v1/lottery/openapi.json";

/// The admin token the app is started with (the run sends it everywhere).
const ADMIN_TOKEN: &str = "schemathesis-admin-token";

/// The store token the store's app is started with.
const STORE_TOKEN: &str = "schemathesis-store-token";

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
    for document in DOCUMENTS {
        run_on(&schemathesis, &host, document, ADMIN_TOKEN)?;
    }
    drop(host);
    let store = Host::start_store()?;
    run_on(&schemathesis, &store, STORE_DOCUMENT, STORE_TOKEN)
}

/// Runs schemathesis against `document` of `host`, sending `token`.
fn run_on(schemathesis: &Path, host: &Host, document: &str, token: &str) -> Result<()> {
    let config = root().join("tests/schemathesis");
    let url = format!("http://{}{document}", host.addr);
    let status = Command::new(schemathesis)
        .current_dir(&config)
        .args(["--config-file", "schemathesis.toml", "run", &url])
        .args(["--header", &format!("Authorization: Bearer {token}")])
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

/// The debug `tombola-host`, serving one of the workspace's manifests.
struct Host {
    addr: String,
    log: PathBuf,
    health: &'static str,
    child: Child,
}

impl Host {
    /// The cloud app, `spin.toml`, over `redis`.
    fn start(redis: &RedisServer) -> Result<Self> {
        let mut cmd = Command::new(root().join("target/debug/tombola-host"));
        cmd.env("SPIN_VARIABLE_REDIS_ADDRESS", redis.address())
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_READER_TOKEN", "schemathesis-reader-token");
        Self::spawn(cmd, "host.log", "/v1/health")
    }

    /// The store's app, `spin-store.toml`, over a fresh SQLite file.
    fn start_store() -> Result<Self> {
        let dir = root().join("target/schemathesis/store");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Command::new(root().join("target/debug/tombola-host"));
        cmd.args(["--manifest", "spin-store.toml", "--sqlite-database"])
            .arg(format!("default={}", dir.join("sqlite_db.db").display()))
            .env("SPIN_VARIABLE_STORE_TOKEN", STORE_TOKEN);
        Self::spawn(cmd, "store-host.log", "/api/v1/lottery/health")
    }

    fn spawn(mut cmd: Command, log: &str, health: &'static str) -> Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let log = root().join("target/schemathesis").join(log);
        let output = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = cmd
            .current_dir(root())
            .args(["--listen", &addr])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .context("cannot start target/debug/tombola-host")?;
        let mut host = Self {
            addr,
            log,
            health,
            child,
        };
        host.wait_healthy()?;
        Ok(host)
    }

    fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        while !healthy(&self.addr, self.health) {
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

/// Whether `GET <path>` answers 200.
fn healthy(addr: &str, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_end(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.1 200")
}
