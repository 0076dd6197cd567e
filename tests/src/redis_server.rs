//! A real `redis-server` for tests and local runs, on a free loopback port.
//!
//! The server is a child process: [`RedisServer::stop`] kills it (SIGKILL,
//! like a crash), [`RedisServer::start_again`] brings it back on the same
//! port and data directory, and dropping the value kills it for good.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// What to tell a user whose machine has no `redis-server`.
pub const INSTALL_HINT: &str = "redis-server is not on PATH. Install it: `sudo apt-get install redis-server` (Debian, Ubuntu), `sudo dnf install redis` (Fedora) or `brew install redis` (macOS)";

/// How the server keeps its data.
#[derive(Debug, Clone, Default)]
pub enum Persistence {
    /// Nothing is written to disk.
    #[default]
    None,
    /// An append-only file in this directory, fsynced once a second.
    AppendOnly(PathBuf),
    /// An append-only file in this directory, fsynced on every write.
    AppendOnlyFsyncAlways(PathBuf),
}

/// A running `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    persistence: Persistence,
    scratch: PathBuf,
    child: Option<Child>,
}

/// A port on the loopback interface that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server with no persistence on a free port.
    pub fn start() -> Result<Self> {
        Self::start_with(Persistence::None, None)
    }

    /// Starts a server with the given persistence, on `port` or a free one.
    ///
    /// Fails when `redis-server` is not installed or does not answer `PING`
    /// within a few seconds.
    pub fn start_with(persistence: Persistence, port: Option<u16>) -> Result<Self> {
        let scratch =
            std::env::temp_dir().join(format!("tombola-redis-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&scratch)?;
        let mut server = Self {
            port: match port {
                Some(port) => port,
                None => free_port()?,
            },
            persistence,
            scratch,
            child: None,
        };
        server.start_again()?;
        Ok(server)
    }

    /// The `redis://` URL of database `db`.
    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// The `redis://host:port` address, with no database.
    pub fn address(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server gracefully (`SHUTDOWN`, which flushes the
    /// append-only file), killing it if it does not exit within seconds.
    pub fn shutdown(&mut self) {
        use std::io::Write;
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.write_all(b"SHUTDOWN\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port and data directory.
    pub fn start_again(&mut self) -> Result<()> {
        self.stop();
        let (dir, appendonly, fsync) = match &self.persistence {
            Persistence::None => (self.scratch.as_path(), "no", "everysec"),
            Persistence::AppendOnly(dir) => (dir.as_path(), "yes", "everysec"),
            Persistence::AppendOnlyFsyncAlways(dir) => (dir.as_path(), "yes", "always"),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create Redis data directory {}", dir.display()))?;
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", appendonly, "--appendfsync", fsync])
            .args(["--protected-mode", "yes", "--databases", "16"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(INSTALL_HINT),
            Err(e) => return Err(e).context("cannot start redis-server"),
        };
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(10))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "redis-server on port {} exited at start: {status}",
                    self.port
                );
            }
            if ping(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("redis-server on port {} did not answer PING", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The data directory, when the server persists.
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.persistence {
            Persistence::None => None,
            Persistence::AppendOnly(dir) | Persistence::AppendOnlyFsyncAlways(dir) => Some(dir),
        }
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}
