//! The store's app for a test: the back office (`spin-store.toml`) served
//! by the host over a SQLite file of its own, in process or as a
//! `tombola-host` child that a test can kill and start again.
//!
//! [`dump`] reads every table of the database straight from the file, so a
//! test can tell that a refused request left it byte for byte unchanged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::net::TcpListener;

use crate::app::{TestResponse, send, workspace_root};
use crate::host::{GuestLogs, Host, HostOptions};
use crate::process::{HostProcess, Serving};
use crate::redis_server::free_port;

/// The store token tests run with.
pub const STORE_TOKEN: &str = "test-store-token";

/// The store app's manifest.
pub fn manifest() -> PathBuf {
    workspace_root().join("spin-store.toml")
}

/// A fresh folder for one test's database, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder named after `name`.
    pub fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "tombola-store-{}-{name}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends requests with the store token.
pub trait StoreClient {
    /// Where the app listens.
    fn addr(&self) -> SocketAddr;

    /// `method path` with a JSON body (empty for none) and the store token.
    #[allow(async_fn_in_trait, reason = "used from the tests' own runtime only")]
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<TestResponse> {
        let auth = format!("Bearer {STORE_TOKEN}");
        let body = body.map_or(Ok(Vec::new()), |b| serde_json::to_vec(&b))?;
        send(
            self.addr(),
            method,
            &format!("/api/v1/lottery{path}"),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            Bytes::from(body),
        )
        .await
    }
}

/// The store app served in this process.
pub struct StoreApp {
    /// Where the host listens.
    pub addr: SocketAddr,
    /// The SQLite file behind `default`.
    pub database: PathBuf,
    logs: Arc<GuestLogs>,
    server: tokio::task::JoinHandle<Result<()>>,
}

impl StoreClient for StoreApp {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl StoreApp {
    /// Serves the back office over `dir/sqlite_db.db`.
    pub async fn start(dir: &Path) -> Result<Self> {
        Self::start_with(dir, &[]).await
    }

    /// Serves the back office over `dir/sqlite_db.db` with some variables
    /// set (the cloud's URL, the store's id and key).
    pub async fn start_with(dir: &Path, variables: &[(&str, &str)]) -> Result<Self> {
        Self::start_skewed(dir, variables, 0).await
    }

    /// [`StoreApp::start_with`] on a machine whose wall clock is
    /// `offset_seconds` ahead of the true time (behind when negative).
    pub async fn start_skewed(
        dir: &Path,
        variables: &[(&str, &str)],
        offset_seconds: i64,
    ) -> Result<Self> {
        let database = dir.join(crate::sqlite::DEFAULT_FILE);
        let mut all = BTreeMap::from([
            ("store_token".to_owned(), STORE_TOKEN.to_owned()),
            ("log_level".to_owned(), "debug".to_owned()),
        ]);
        for (name, value) in variables {
            all.insert((*name).to_owned(), (*value).to_owned());
        }
        let options = HostOptions {
            manifest: manifest(),
            variables: all,
            key_value_stores: BTreeMap::new(),
            sqlite_databases: BTreeMap::from([("default".to_owned(), database.clone())]),
            echo_guest_output: false,
            wall_clock_offset_seconds: offset_seconds,
        };
        let host = Arc::new(Host::new(&options)?);
        let logs = host.logs();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(host.serve(listener));
        Ok(Self {
            addr,
            database,
            logs,
            server,
        })
    }

    /// Every table's rows, read from the file.
    pub fn dump(&self) -> BTreeMap<String, Vec<Vec<String>>> {
        dump(&self.database)
    }
}

impl Drop for StoreApp {
    fn drop(&mut self) {
        self.server.abort();
        if std::thread::panicking() {
            for log in self.logs.snapshot() {
                eprintln!("--- [{}] {}\n{}", log.component, log.request, log.output);
            }
        }
    }
}

/// Every table of the database at `path` (`sqlite_sequence` included),
/// each row as the text of its values with their storage class.
pub fn dump(path: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let conn = rusqlite::Connection::open(path).expect("the store's database opens");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut statement = conn
                .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
                .unwrap();
            let width = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..width)
                        .map(|i| {
                            Ok(match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                                rusqlite::types::ValueRef::Integer(v) => format!("int {v}"),
                                rusqlite::types::ValueRef::Real(v) => format!("real {v:?}"),
                                rusqlite::types::ValueRef::Text(v) => {
                                    format!("text {}", String::from_utf8_lossy(v))
                                }
                                rusqlite::types::ValueRef::Blob(v) => format!("blob {v:?}"),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (table, rows)
        })
        .collect()
}

/// The standalone host serving the store app, as a child process.
pub struct StoreProcess(HostProcess);

impl StoreClient for StoreProcess {
    fn addr(&self) -> SocketAddr {
        self.0.addr()
    }
}

impl StoreProcess {
    /// Starts `binary` over `dir/sqlite_db.db` on a free port; with
    /// `migration`, each start first runs that file as `--sqlite @file`.
    pub async fn start(binary: &Path, dir: &Path, migration: Option<PathBuf>) -> Result<Self> {
        Self::start_with(binary, dir, migration, &[]).await
    }

    /// [`StoreProcess::start`] with some variables set, as
    /// `SPIN_VARIABLE_<NAME>` (the cloud's URL, the store's id and key).
    pub async fn start_with(
        binary: &Path,
        dir: &Path,
        migration: Option<PathBuf>,
        variables: &[(&'static str, String)],
    ) -> Result<Self> {
        let database = dir.join(crate::sqlite::DEFAULT_FILE);
        let mut args = vec![
            "--manifest".to_owned(),
            manifest().display().to_string(),
            "--sqlite-database".to_owned(),
            format!("default={}", database.display()),
        ];
        if let Some(migration) = &migration {
            args.push("--sqlite".to_owned());
            args.push(format!("@{}", migration.display()));
        }
        let serving = Serving {
            args,
            env: [("SPIN_VARIABLE_STORE_TOKEN", STORE_TOKEN.to_owned())]
                .into_iter()
                .chain(variables.iter().cloned())
                .collect(),
            health: "/api/v1/lottery/health",
            output: dir.join("host.log"),
        };
        Ok(Self(HostProcess::start_with(binary, serving).await?))
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        self.0.kill();
    }

    /// Starts it again on the same port and database, and waits until the
    /// health probe answers 200.
    pub async fn start_again(&mut self) -> Result<()> {
        self.0.start_again().await
    }

    /// Everything the process printed, across restarts.
    pub fn output(&self) -> String {
        self.0.output()
    }
}
