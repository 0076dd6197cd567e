//! The standalone host (`tombola-host`) as a child process, for tests that
//! kill the serving process itself.
//!
//! [`HostProcess::kill`] sends SIGKILL, as a crash would;
//! [`HostProcess::start_again`] starts it on the same port with the same
//! variables. What the process prints goes to a file, shown when a test
//! panics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;

use crate::app::{ADMIN_TOKEN, send, workspace_root};
use crate::redis_server::{RedisServer, free_port};

/// How long a start may take: the host compiles every component first.
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// A running `tombola-host` serving the workspace's `spin.toml`.
pub struct HostProcess {
    binary: PathBuf,
    redis_address: String,
    addr: SocketAddr,
    output: PathBuf,
    child: Option<Child>,
}

impl HostProcess {
    /// Starts `binary` (the `tombola-host` executable) on a free loopback
    /// port in front of `redis`, with the admin token [`ADMIN_TOKEN`].
    ///
    /// Fails when it does not answer `GET /v1/health` with 200 within
    /// [`START_LIMIT`].
    pub async fn start(binary: &Path, redis: &RedisServer) -> Result<Self> {
        let port = free_port()?;
        let mut host = Self {
            binary: binary.to_owned(),
            redis_address: redis.address(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            output: std::env::temp_dir()
                .join(format!("tombola-host-{}-{port}.log", std::process::id())),
            child: None,
        };
        host.start_again().await?;
        Ok(host)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same port, and waits until it is
    /// healthy.
    pub async fn start_again(&mut self) -> Result<()> {
        self.kill();
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .with_context(|| format!("cannot open {}", self.output.display()))?;
        let child = Command::new(&self.binary)
            .arg("--manifest")
            .arg(workspace_root().join("spin.toml"))
            .args(["--listen", &self.addr.to_string()])
            .env("SPIN_VARIABLE_REDIS_ADDRESS", &self.redis_address)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_READER_TOKEN", "test-reader-token")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_healthy().await
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "tombola-host exited at start ({status}):\n{}",
                    self.output()
                );
            }
            if let Ok(response) = send(self.addr, "GET", "/v1/health", &[], Bytes::new()).await
                && response.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "tombola-host on {} was not healthy within {START_LIMIT:?}:\n{}",
                    self.addr,
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the process printed so far, across restarts.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("=== tombola-host output ===\n{}", self.output());
        }
        let _ = std::fs::remove_file(&self.output);
    }
}
