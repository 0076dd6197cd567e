//! Spin's SQLite interface, `spin:sqlite/sqlite@3.0.0`, as spin-sdk 5.2's
//! `sqlite3` module imports it, over rusqlite with SQLite bundled.
//!
//! It behaves as Spin's in-process SQLite host (`spin-factor-sqlite` and
//! `spin-sqlite-inproc`, Spin 4.0.2) does wherever a component could tell:
//!
//! - A component may open the labels its manifest lists in
//!   `sqlite_databases`; any other label is `access-denied`, whether or not
//!   the database exists. A granted label the host has no database for
//!   stops the host at start, as it stops `spin up`.
//! - Each `open` is a connection of its own to the database file, opened
//!   lazily on its first query, so a transaction begun by one `execute`
//!   stays open across calls on that connection, other connections (other
//!   requests) wait for its lock (rusqlite's 5 second busy timeout) and then
//!   fail with `database is locked`, and dropping the connection (or the
//!   request ending) rolls back whatever it left uncommitted.
//! - Every SQLite failure is `io` with rusqlite's message; `database-full`
//!   is never produced, as Spin's in-process host never produces it. A text
//!   parameter binds as TEXT, an integer as INTEGER, and so on; a column
//!   comes back as the storage class SQLite holds. One `execute` runs one
//!   statement ("Multiple statements provided" otherwise).
//! - At most 256 connections are open per instance, and a result past
//!   128 MiB is an `io` error, with Spin's messages.
//! - `ATTACH` of a file is denied; temporary and in-memory attachments are
//!   allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use wasmtime::component::Resource;

wasmtime::component::bindgen!({
    path: "wit",
    world: "tombola:host/sqlite-host",
    imports: { default: async | trappable },
    additional_derives: [PartialEq],
    with: {
        "spin:sqlite/sqlite.connection": SqliteConnection,
    },
});

pub use spin::sqlite::sqlite::{Error, QueryResult, RowResult, Value};

/// Connections one instance may hold open at once, as in Spin.
pub const MAX_CONNECTIONS: usize = 256;

/// The largest query result, in bytes, as Spin's `MAX_HOST_BUFFERED_BYTES`.
pub const MAX_RESULT_BYTES: usize = 128 << 20;

/// Spin's file name for the `default` database, in the app's `.spin` folder.
pub const DEFAULT_FILE: &str = "sqlite_db.db";

/// The `default` database where `spin up` keeps it: `.spin/sqlite_db.db`
/// beside the manifest.
pub fn default_location(manifest: &Path) -> PathBuf {
    manifest
        .parent()
        .unwrap_or(Path::new("."))
        .join(".spin")
        .join(DEFAULT_FILE)
}

/// Checks that every label `component` may open is one the host has a
/// database for, and returns those databases.
///
/// Fails as `spin up` does, naming the component and the label.
pub fn grants_for(
    component: &str,
    labels: &[String],
    databases: &BTreeMap<String, PathBuf>,
) -> Result<Grants> {
    let mut granted = BTreeMap::new();
    for label in labels {
        let Some(path) = databases.get(label) else {
            bail!(
                "One or more components use SQLite databases which are not defined.\n\
                 - Component {component} uses database '{label}'"
            );
        };
        granted.insert(label.clone(), path.clone());
    }
    Ok(Grants { databases: granted })
}

/// The databases one component may open: label and file.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    databases: BTreeMap<String, PathBuf>,
}

/// Runs `statements` (several, separated by `;`) on the database at
/// `path`, as `spin up --sqlite` does before serving: in one batch, outside
/// any explicit transaction.
///
/// Fails with SQLite's message, naming the file.
pub fn execute_batch(path: &Path, statements: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let connection = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
    connection
        .execute_batch(statements)
        .with_context(|| format!("failed to execute batch statements on {}", path.display()))
}

/// One `open`: a connection made on its first query.
pub struct SqliteConnection {
    path: PathBuf,
    connection: OnceLock<Arc<Mutex<rusqlite::Connection>>>,
}

impl SqliteConnection {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            connection: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<Arc<Mutex<rusqlite::Connection>>, Error> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let fresh = open_file(&self.path)?;
        Ok(self.connection.get_or_init(|| fresh).clone())
    }
}

fn open_file(path: &Path) -> Result<Arc<Mutex<rusqlite::Connection>>, Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::Io(format!(
                "failed to create sqlite database directory '{}': {e}",
                parent.display()
            ))
        })?;
    }
    let connection = rusqlite::Connection::open(path).map_err(io)?;
    connection.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
        use rusqlite::hooks::{AuthAction, Authorization};
        match ctx.action {
            AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }
    }));
    Ok(Arc::new(Mutex::new(connection)))
}

fn io(error: rusqlite::Error) -> Error {
    Error::Io(error.to_string())
}

/// The SQLite side of one instance: its grants and its open connections.
pub struct SqliteState {
    grants: Arc<Grants>,
    connections: Vec<Option<Arc<SqliteConnection>>>,
}

impl SqliteState {
    /// No connection open yet.
    pub fn new(grants: Arc<Grants>) -> Self {
        Self {
            grants,
            connections: Vec::new(),
        }
    }

    fn connection(&self, rep: u32) -> Result<Arc<SqliteConnection>, Error> {
        self.connections
            .get(rep as usize)
            .and_then(Option::clone)
            .ok_or(Error::InvalidConnection)
    }

    fn push(&mut self, connection: SqliteConnection) -> Result<u32, Error> {
        let slot = match self.connections.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.connections.len() < MAX_CONNECTIONS => {
                self.connections.push(None);
                self.connections.len() - 1
            }
            None => return Err(Error::Io("too many connections opened".into())),
        };
        self.connections[slot] = Some(Arc::new(connection));
        Ok(u32::try_from(slot).expect("at most MAX_CONNECTIONS slots"))
    }
}

/// Links `spin:sqlite/sqlite@3.0.0` into `linker`, each instance's state
/// reached through `get`.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut SqliteState,
) -> Result<()> {
    SqliteHost::add_to_linker::<T, wasmtime::component::HasSelf<SqliteState>>(linker, get)?;
    Ok(())
}

fn value_to_sql(value: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null => V::Null,
        Value::Integer(i) => V::Integer(i),
        Value::Real(r) => V::Real(r),
        Value::Text(t) => V::Text(t),
        Value::Blob(b) => V::Blob(b),
    }
}

fn value_from_sql(value: rusqlite::types::ValueRef<'_>) -> Result<Value, Error> {
    use rusqlite::types::ValueRef as V;
    Ok(match value {
        V::Null => Value::Null,
        V::Integer(i) => Value::Integer(i),
        V::Real(r) => Value::Real(r),
        V::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|e| Error::Io(format!("a text value is not UTF-8: {e}")))?,
        ),
        V::Blob(b) => Value::Blob(b.to_vec()),
    })
}

fn memory_size(value: &Value) -> usize {
    let base = std::mem::size_of::<Value>();
    match value {
        Value::Null | Value::Integer(_) | Value::Real(_) => base,
        Value::Text(t) => base + t.len(),
        Value::Blob(b) => base + b.len(),
    }
}

/// Runs one statement, as Spin's `execute_query` does.
fn query(
    connection: &Mutex<rusqlite::Connection>,
    statement: &str,
    parameters: Vec<Value>,
) -> Result<QueryResult, Error> {
    let connection = connection.lock().unwrap_or_else(|p| p.into_inner());
    let mut prepared = connection.prepare_cached(statement).map_err(io)?;
    let columns: Vec<String> = prepared
        .column_names()
        .into_iter()
        .map(ToOwned::to_owned)
        .collect();
    let width = columns.len();
    let mut rows = prepared
        .query(rusqlite::params_from_iter(
            parameters.into_iter().map(value_to_sql),
        ))
        .map_err(io)?;
    let mut bytes = std::mem::size_of::<QueryResult>();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(io)? {
        let values = (0..width)
            .map(|i| value_from_sql(row.get_ref(i).map_err(io)?))
            .collect::<Result<Vec<_>, Error>>()?;
        bytes += values.iter().map(memory_size).sum::<usize>();
        if bytes > MAX_RESULT_BYTES {
            return Err(Error::Io(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

impl spin::sqlite::sqlite::Host for SqliteState {}

impl spin::sqlite::sqlite::HostConnection for SqliteState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, Error>> {
        // Spin asks the grant first, so a component cannot probe which
        // databases exist.
        let Some(path) = self.grants.databases.get(&database) else {
            tracing::debug!(database, "sqlite open refused: not in sqlite_databases");
            return Ok(Err(Error::AccessDenied));
        };
        let connection = SqliteConnection::new(path.clone());
        Ok(self.push(connection).map(Resource::new_own))
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let connection = match self.connection(connection.rep()).and_then(|c| c.get()) {
            Ok(connection) => connection,
            Err(error) => return Ok(Err(error)),
        };
        // A statement may wait on another connection's lock for the busy
        // timeout: it must not hold up the runtime's other tasks meanwhile.
        let result =
            tokio::task::spawn_blocking(move || query(&connection, &statement, parameters))
                .await
                .unwrap_or_else(|e| Err(Error::Io(format!("internal runtime error: {e}"))));
        Ok(result)
    }

    async fn last_insert_rowid(
        &mut self,
        connection: Resource<SqliteConnection>,
    ) -> wasmtime::Result<i64> {
        let connection = self.connection(connection.rep())?.get()?;
        let connection = connection.lock().unwrap_or_else(|p| p.into_inner());
        Ok(connection.last_insert_rowid())
    }

    async fn changes(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<u64> {
        let connection = self.connection(connection.rep())?.get()?;
        let connection = connection.lock().unwrap_or_else(|p| p.into_inner());
        Ok(connection.changes())
    }

    async fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        if let Some(slot) = self.connections.get_mut(connection.rep() as usize) {
            *slot = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::spin::sqlite::sqlite::HostConnection;
    use super::*;

    fn state(dir: &Path, labels: &[&str]) -> SqliteState {
        let databases = BTreeMap::from([("default".to_owned(), dir.join("db.sqlite"))]);
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        SqliteState::new(Arc::new(grants_for("store", &labels, &databases).unwrap()))
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tombola-sqlite-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    async fn exec(
        state: &mut SqliteState,
        conn: &Resource<SqliteConnection>,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let handle = Resource::new_borrow(conn.rep());
        state.execute(handle, sql.into(), params).await.unwrap()
    }

    async fn open(
        state: &mut SqliteState,
        label: &str,
    ) -> Result<Resource<SqliteConnection>, Error> {
        state.open(label.into()).await.unwrap()
    }

    /// The WIT this host is generated from is the WIT `spin-sdk` builds the
    /// components from, byte for byte.
    #[test]
    fn vendored_wit_matches_the_spin_sdk_crate() {
        let sdk = crate::spin::tests::spin_sdk_dir();
        let theirs = std::fs::read_to_string(sdk.join("wit/deps/spin-sqlite@3.0.0/sqlite.wit"))
            .expect("spin-sdk ships the sqlite WIT");
        let ours = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wit/deps/spin-sqlite/sqlite.wit"),
        )
        .unwrap();
        assert_eq!(ours, theirs, "sqlite.wit differs from spin-sdk's");
    }

    #[test]
    fn a_granted_label_without_a_database_stops_the_host() {
        let databases = BTreeMap::from([("default".to_owned(), PathBuf::from("/x.db"))]);
        let error = grants_for("store", &["audit".to_owned()], &databases).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Component store uses database 'audit'"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn labels_not_granted_are_denied() {
        let dir = temp_dir("denied");
        let mut granted = state(&dir, &["default"]);
        assert_eq!(
            open(&mut granted, "other").await.unwrap_err(),
            Error::AccessDenied
        );
        let mut none = state(&dir, &[]);
        assert_eq!(
            open(&mut none, "default").await.unwrap_err(),
            Error::AccessDenied
        );
        assert!(open(&mut granted, "default").await.is_ok());
        // Opening makes no file: the connection is made on the first query.
        assert!(!dir.join("db.sqlite").exists());
    }

    #[tokio::test]
    async fn values_round_trip_with_their_storage_class() {
        let dir = temp_dir("values");
        let mut state = state(&dir, &["default"]);
        let conn = open(&mut state, "default").await.unwrap();
        exec(&mut state, &conn, "CREATE TABLE t (a, b, c, d, e)", vec![])
            .await
            .unwrap();
        let values = vec![
            Value::Integer(-7),
            Value::Real(1.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 255]),
            Value::Null,
        ];
        exec(
            &mut state,
            &conn,
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            values.clone(),
        )
        .await
        .unwrap();
        let handle = Resource::new_borrow(conn.rep());
        assert_eq!(state.changes(handle).await.unwrap(), 1);
        let handle = Resource::new_borrow(conn.rep());
        assert_eq!(state.last_insert_rowid(handle).await.unwrap(), 1);
        let result = exec(
            &mut state,
            &conn,
            "SELECT a, b, c, d, e, typeof(c) AS kind FROM t",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(result.columns, ["a", "b", "c", "d", "e", "kind"]);
        let mut expected = values;
        expected.push(Value::Text("text".into()));
        assert_eq!(result.rows[0].values, expected);
    }

    #[tokio::test]
    async fn errors_are_io_with_sqlites_message() {
        let dir = temp_dir("errors");
        let mut state = state(&dir, &["default"]);
        let conn = open(&mut state, "default").await.unwrap();
        let error = exec(&mut state, &conn, "SELECT * FROM missing", vec![])
            .await
            .unwrap_err();
        assert_eq!(error, Error::Io("no such table: missing".into()));
        let error = exec(&mut state, &conn, "SELECT 1; SELECT 2", vec![])
            .await
            .unwrap_err();
        assert_eq!(error, Error::Io("Multiple statements provided".into()));
        let error = exec(&mut state, &conn, "ATTACH 'other.db' AS other", vec![])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Io(m) if m.contains("not authorized")),
            "{error}"
        );
        let stale = Resource::new_borrow(conn.rep() + 1);
        let error = state
            .execute(stale, "SELECT 1".into(), vec![])
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(error, Error::InvalidConnection);
    }

    #[tokio::test]
    async fn a_transaction_spans_calls_and_locks_out_other_connections() {
        let dir = temp_dir("transactions");
        let mut state = state(&dir, &["default"]);
        let first = open(&mut state, "default").await.unwrap();
        let second = open(&mut state, "default").await.unwrap();
        exec(&mut state, &first, "CREATE TABLE t (n INTEGER)", vec![])
            .await
            .unwrap();
        exec(&mut state, &first, "BEGIN IMMEDIATE", vec![])
            .await
            .unwrap();
        exec(&mut state, &first, "INSERT INTO t VALUES (1)", vec![])
            .await
            .unwrap();
        // The other connection sees nothing of it, and cannot write.
        let seen = exec(&mut state, &second, "SELECT count(*) FROM t", vec![])
            .await
            .unwrap();
        assert_eq!(seen.rows[0].values, [Value::Integer(0)]);
        {
            let conn = state.connection(second.rep()).unwrap().get().unwrap();
            conn.lock()
                .unwrap()
                .busy_timeout(std::time::Duration::from_millis(10))
                .unwrap();
        }
        let error = exec(&mut state, &second, "BEGIN IMMEDIATE", vec![])
            .await
            .unwrap_err();
        assert_eq!(error, Error::Io("database is locked".into()));
        // Dropping the connection rolls its transaction back.
        state.drop(first).await.unwrap();
        let seen = exec(&mut state, &second, "SELECT count(*) FROM t", vec![])
            .await
            .unwrap();
        assert_eq!(seen.rows[0].values, [Value::Integer(0)]);
    }

    #[tokio::test]
    async fn connections_are_bounded_per_instance() {
        let dir = temp_dir("bounded");
        let mut state = state(&dir, &["default"]);
        for _ in 0..MAX_CONNECTIONS {
            open(&mut state, "default").await.unwrap();
        }
        assert_eq!(
            open(&mut state, "default").await.unwrap_err(),
            Error::Io("too many connections opened".into())
        );
    }

    #[test]
    fn batches_run_like_spin_up_sqlite() {
        let dir = temp_dir("batch");
        let path = dir.join("nested/db.sqlite");
        execute_batch(&path, "CREATE TABLE a (x); INSERT INTO a VALUES (1);").unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert!(execute_batch(&path, "CREATE TABLE a (x);").is_err());
    }
}
