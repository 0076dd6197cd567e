//! The schema and its migrations, applied by the component on first use.
//!
//! Each migration is a `.sql` file under `migrations/`, compiled in, and
//! the same file a store may hand to `spin up --sqlite`. Every statement
//! in it is idempotent and the last one records its version in
//! `schema_version`, so whichever applies it first, the other finds
//! nothing to do. A request reads the version (one query); when it is
//! behind, the missing migrations run in one `BEGIN IMMEDIATE` transaction,
//! after the `PRAGMA`s they start with, which SQLite runs only outside one.

/// One migration: the version it brings the schema to, and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version recorded once it is applied.
    pub version: i64,
    /// The file's text.
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/0002_sync_ids.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/0003_sync_lease.sql"),
    },
];

/// The version the code expects.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The statements of a migration, comments dropped, in order: each ends
/// with `;` at the end of a line (Spin's `execute` runs one at a time).
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with("--") || line.trim().is_empty() {
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        match line.strip_suffix(';') {
            Some(last) => {
                current.push_str(last);
                out.push(std::mem::take(&mut current));
            }
            None => current.push_str(line),
        }
    }
    out
}

/// Whether a statement must run outside the migration's transaction.
pub fn outside_transaction(statement: &str) -> bool {
    statement.trim_start().starts_with("PRAGMA")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_rise_by_one_and_record_their_version_last() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i as i64 + 1);
            let statements = statements(migration.sql);
            let last = statements.last().expect("a migration has statements");
            assert!(
                last.starts_with("INSERT OR IGNORE INTO schema_version")
                    && last.contains(&format!("VALUES ({},", migration.version)),
                "{last}"
            );
        }
    }

    #[test]
    fn every_statement_can_run_again() {
        for migration in MIGRATIONS {
            for statement in statements(migration.sql) {
                let idempotent = [
                    "CREATE TABLE IF NOT EXISTS",
                    "CREATE INDEX IF NOT EXISTS",
                    "CREATE UNIQUE INDEX IF NOT EXISTS",
                    "INSERT OR IGNORE INTO",
                    "PRAGMA",
                ]
                .iter()
                .any(|prefix| statement.starts_with(prefix));
                assert!(idempotent, "not idempotent: {statement}");
                assert!(
                    !statement.contains(';'),
                    "two statements in one: {statement}"
                );
            }
        }
    }

    #[test]
    fn statements_split_at_line_ends_and_drop_comments() {
        let sql = "-- a comment\nPRAGMA x = 1;\n\nCREATE TABLE t (\n  a TEXT -- inline\n);\nINSERT INTO t VALUES ('a;b');\n";
        assert_eq!(
            statements(sql),
            [
                "PRAGMA x = 1",
                "CREATE TABLE t (\n  a TEXT -- inline\n)",
                "INSERT INTO t VALUES ('a;b')"
            ]
        );
        assert!(outside_transaction("PRAGMA journal_mode = WAL"));
        assert!(!outside_transaction("CREATE TABLE t (a)"));
    }
}
