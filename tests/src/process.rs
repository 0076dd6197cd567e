//! The standalone host (`tombola-host`) as a child process, for tests that
//! kill the serving process itself: the cloud app ([`HostProcess::start`])
//! or any manifest with its own arguments ([`HostProcess::start_with`]).
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

/// A running `tombola-host`.
pub struct HostProcess {
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    health: &'static str,
    addr: SocketAddr,
    output: PathBuf,
    child: Option<Child>,
}

/// What a host process serves: the arguments and variables of every start,
/// the route that answers 200 once it is up, and where its output goes.
pub struct Serving {
    /// Arguments besides `--listen`.
    pub args: Vec<String>,
    /// Environment variables (`SPIN_VARIABLE_...`).
    pub env: Vec<(&'static str, String)>,
    /// A `GET` route that answers 200 once the host is ready.
    pub health: &'static str,
    /// The file its output is appended to.
    pub output: PathBuf,
}

impl HostProcess {
    /// Starts `binary` (the `tombola-host` executable) on a free loopback
    /// port in front of `redis`, with the admin token [`ADMIN_TOKEN`].
    ///
    /// Fails when it does not answer `GET /v1/health` with 200 within
    /// [`START_LIMIT`].
    pub async fn start(binary: &Path, redis: &RedisServer) -> Result<Self> {
        let serving = Serving {
            args: vec![
                "--manifest".into(),
                workspace_root().join("spin.toml").display().to_string(),
            ],
            env: vec![
                ("SPIN_VARIABLE_REDIS_ADDRESS", redis.address()),
                ("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN.into()),
                ("SPIN_VARIABLE_READER_TOKEN", "test-reader-token".into()),
            ],
            health: "/v1/health",
            output: std::env::temp_dir().join(format!(
                "tombola-host-{}-{}.log",
                std::process::id(),
                free_port()?
            )),
        };
        Self::start_with(binary, serving).await
    }

    /// Starts `binary` on a free loopback port as `serving` says.
    ///
    /// Fails when it does not answer `GET <health>` with 200 within
    /// [`START_LIMIT`].
    pub async fn start_with(binary: &Path, serving: Serving) -> Result<Self> {
        let mut host = Self {
            binary: binary.to_owned(),
            args: serving.args,
            env: serving.env,
            health: serving.health,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            output: serving.output,
            child: None,
        };
        host.start_again().await?;
        Ok(host)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
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
            .args(&self.args)
            .args(["--listen", &self.addr.to_string()])
            .envs(self.env.iter().map(|(name, value)| (*name, value)))
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
            if let Ok(response) = send(self.addr, "GET", self.health, &[], Bytes::new()).await
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
