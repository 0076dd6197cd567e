//! The store's database: Spin's SQLite `default` database, one connection
//! per request, migrated on first use.
//!
//! Every change runs in [`Db::write`]: `BEGIN IMMEDIATE` takes the write
//! lock before anything is read, so what a change decides from cannot move
//! under it, and the change and its outbox row commit together or not at
//! all. Concurrent requests are concurrent connections to one file: one
//! waits for another's lock (the host's busy timeout), and a lock it cannot
//! get in time is a 503 that says nothing was written, safe to retry.
//! Reads run in [`Db::read`], one snapshot of the database (WAL mode lets
//! them run beside a writer).

use spin_sdk::sqlite3::{Connection, Error, QueryResult, RowResult, Value};
use tombola_edge::error::ApiError;

use crate::schema::{self, MIGRATIONS};

/// The database label the manifest grants (`sqlite_databases`).
pub const DATABASE: &str = "default";

/// An open, migrated database.
pub struct Db {
    connection: Connection,
}

/// What a SQLite failure tells the client: busy (503, retry), or our fault.
pub fn error(step: &str, error: Error) -> ApiError {
    match error {
        Error::Io(message) if is_busy(&message) => {
            tracing::warn!(step, error = %message, "database busy");
            ApiError::new(
                503,
                "database-busy",
                "Service unavailable",
                format!("the store's database is busy ({message}); nothing was written, retry"),
            )
        }
        Error::Io(message) => {
            tracing::error!(step, error = %message, "database step failed");
            ApiError::new(
                500,
                "database-error",
                "Database error",
                format!("{step}: {message}"),
            )
        }
        Error::DatabaseFull => {
            tracing::error!(step, "database full");
            ApiError::new(
                503,
                "database-full",
                "Service unavailable",
                "the store's database is full; nothing was written",
            )
        }
        Error::NoSuchDatabase | Error::AccessDenied | Error::InvalidConnection => {
            tracing::error!(step, error = ?error, "database not available to the component");
            ApiError::not_configured(format!(
                "the SQLite database {DATABASE:?} is not available ({error:?}): the manifest must grant sqlite_databases = [\"{DATABASE}\"]"
            ))
        }
    }
}

/// Whether an I/O message is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("database table is locked")
}

/// 500 for a stored row that is not what this component writes.
pub fn bad_row(what: &str, reason: impl std::fmt::Display) -> ApiError {
    tracing::error!(what, %reason, "stored row cannot be read");
    ApiError::new(
        500,
        "database-data-error",
        "Stored data is not what the back office writes",
        format!("{what}: {reason}"),
    )
}

impl Db {
    /// Opens the database and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// 500 when the database is not granted or a migration fails; 503 when
    /// it is busy.
    pub fn open() -> Result<Db, ApiError> {
        let connection = Connection::open(DATABASE).map_err(|e| error("open", e))?;
        let db = Db { connection };
        if db.version()? < schema::LATEST {
            db.migrate()?;
        }
        Ok(db)
    }

    /// The schema version recorded (0 for a new database).
    pub fn version(&self) -> Result<i64, ApiError> {
        match self
            .connection
            .execute("SELECT max(version) FROM schema_version", &[])
        {
            Ok(result) => Ok(result
                .rows
                .first()
                .and_then(|row| row.get::<i64>(0))
                .unwrap_or(0)),
            Err(Error::Io(message)) if message.starts_with("no such table") => Ok(0),
            Err(e) => Err(error("schema version", e)),
        }
    }

    fn migrate(&self) -> Result<(), ApiError> {
        for migration in MIGRATIONS {
            for statement in schema::statements(migration.sql) {
                if schema::outside_transaction(&statement) {
                    self.run(&statement, &[])?;
                }
            }
        }
        self.write("migrate", |db| {
            let from = db.version()?;
            for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
                for statement in schema::statements(migration.sql) {
                    if !schema::outside_transaction(&statement) {
                        db.run(&statement, &[])?;
                    }
                }
                tracing::info!(version = migration.version, "schema migrated");
            }
            Ok(())
        })
    }

    /// Runs one statement.
    ///
    /// # Errors
    ///
    /// See [`error`].
    pub fn run(&self, statement: &str, params: &[Value]) -> Result<QueryResult, ApiError> {
        self.connection
            .execute(statement, params)
            .map_err(|e| error(first_words(statement), e))
    }

    /// Runs a query and returns its rows.
    pub fn rows(&self, statement: &str, params: &[Value]) -> Result<Vec<RowResult>, ApiError> {
        Ok(self.run(statement, params)?.rows)
    }

    /// The rows modified by the last statement.
    pub fn changes(&self) -> u64 {
        self.connection.changes()
    }

    /// Runs `change` in one write transaction: `BEGIN IMMEDIATE`, then
    /// `COMMIT` if it succeeds, `ROLLBACK` if it fails (and nothing it did
    /// stays).
    pub fn write<T>(
        &self,
        what: &str,
        change: impl FnOnce(&Db) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.transaction("BEGIN IMMEDIATE", what, change)
    }

    /// Runs `read` on one snapshot of the database.
    pub fn read<T>(
        &self,
        what: &str,
        read: impl FnOnce(&Db) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.transaction("BEGIN", what, read)
    }

    fn transaction<T>(
        &self,
        begin: &str,
        what: &str,
        body: impl FnOnce(&Db) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.run(begin, &[])?;
        match body(self) {
            Ok(value) => match self.run("COMMIT", &[]) {
                Ok(_) => Ok(value),
                Err(e) => {
                    self.rollback(what);
                    Err(e)
                }
            },
            Err(e) => {
                self.rollback(what);
                Err(e)
            }
        }
    }

    fn rollback(&self, what: &str) {
        // A failed ROLLBACK leaves the transaction to the connection's end,
        // which rolls it back all the same.
        if let Err(e) = self.connection.execute("ROLLBACK", &[]) {
            tracing::warn!(what, error = ?e, "rollback failed; the connection's end rolls back");
        }
    }
}

fn first_words(statement: &str) -> &str {
    let end = statement
        .char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .nth(2)
        .map_or(statement.len(), |(i, _)| i);
    &statement[..end]
}

/// A column read as an integer.
pub fn int(row: &RowResult, index: usize, what: &str) -> Result<i64, ApiError> {
    row.get::<i64>(index)
        .ok_or_else(|| bad_row(what, format!("column {index} is not an integer")))
}

/// A column read as text.
pub fn text<'a>(row: &'a RowResult, index: usize, what: &str) -> Result<&'a str, ApiError> {
    row.get::<&str>(index)
        .ok_or_else(|| bad_row(what, format!("column {index} is not text")))
}

/// A column read as text, or `None` for NULL.
pub fn opt_text<'a>(
    row: &'a RowResult,
    index: usize,
    what: &str,
) -> Result<Option<&'a str>, ApiError> {
    match row.values.get(index) {
        Some(Value::Null) => Ok(None),
        _ => text(row, index, what).map(Some),
    }
}

/// A column read as an integer, or `None` for NULL.
pub fn opt_int(row: &RowResult, index: usize, what: &str) -> Result<Option<i64>, ApiError> {
    match row.values.get(index) {
        Some(Value::Null) => Ok(None),
        _ => int(row, index, what).map(Some),
    }
}

/// A JSON column read as `T` (the core's types check themselves on the
/// way in).
pub fn json<T: serde::de::DeserializeOwned>(
    row: &RowResult,
    index: usize,
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_str(text(row, index, what)?).map_err(|e| bad_row(what, e))
}

/// Text for a statement parameter.
pub fn t(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

/// An integer for a statement parameter.
pub fn i(value: impl Into<i64>) -> Value {
    Value::Integer(value.into())
}

/// A value as JSON text for a statement parameter.
pub fn j<T: serde::Serialize>(value: &T) -> Value {
    Value::Text(serde_json::to_string(value).expect("stored values always serialize"))
}

/// The host's clock, in milliseconds, for a statement parameter.
pub fn now() -> Value {
    Value::Integer(i64::try_from(tombola_edge::host::now_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_a_retry_safe_503_and_other_failures_are_ours() {
        let busy = error("BEGIN IMMEDIATE", Error::Io("database is locked".into()));
        assert_eq!((busy.status, busy.code), (503, "database-busy"));
        assert!(busy.detail.contains("nothing was written"));
        let broken = error("SELECT", Error::Io("no such table: packs".into()));
        assert_eq!((broken.status, broken.code), (500, "database-error"));
        assert_eq!(error("open", Error::AccessDenied).status, 500);
        assert_eq!(error("INSERT", Error::DatabaseFull).status, 503);
    }

    #[test]
    fn steps_are_named_by_their_first_words() {
        assert_eq!(
            first_words("SELECT max(version) FROM schema_version"),
            "SELECT max(version) FROM"
        );
        assert_eq!(first_words("COMMIT"), "COMMIT");
    }
}
