//! Test support for code built on the broker: the database backends a test can run on, and a
//! throw-away PostgreSQL database per test.
//!
//! Tests run on SQLite always and on PostgreSQL when `KRUISPUNT_TEST_POSTGRES_URL` names a
//! server (a database there whose user may `CREATE DATABASE`). Each PostgreSQL test gets its own
//! database, dropped when the test ends; advisory locks (the ledger sequencer's) are per
//! database, so tests never contend.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection as _;

/// The variable naming the PostgreSQL server for the tests.
pub const POSTGRES_URL_VARIABLE: &str = "KRUISPUNT_TEST_POSTGRES_URL";

/// Which database a test's broker uses.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the test's temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at `base_url`.
    Postgres {
        /// URL of a database on the server, used to create and drop the test databases.
        base_url: String,
    },
}

impl Backend {
    /// PostgreSQL if [`POSTGRES_URL_VARIABLE`] is set; otherwise says in one line that
    /// `test` was skipped, and why, and returns `None`.
    pub fn postgres_or_skip(test: &str) -> Option<Self> {
        match std::env::var(POSTGRES_URL_VARIABLE) {
            Ok(base_url) if !base_url.is_empty() => Some(Self::Postgres { base_url }),
            _ => {
                eprintln!(
                    "skipped {test} on PostgreSQL: {POSTGRES_URL_VARIABLE} is not set (.ci/run sets it)"
                );
                None
            }
        }
    }
}

/// The database of one test: a SQLite file in the test's directory, or a fresh PostgreSQL
/// database (dropped with this).
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to give the broker.
    pub url: String,
    _postgres: Option<PostgresTestDatabase>,
}

impl TestDatabase {
    /// Creates the database for a test on `backend`; SQLite's file goes into `directory`.
    pub async fn create(
        backend: &Backend,
        directory: &std::path::Path,
    ) -> Result<Self, sqlx::Error> {
        Ok(match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", directory.join("kruispunt.db").display()),
                _postgres: None,
            },
            Backend::Postgres { base_url } => {
                let database = PostgresTestDatabase::create(base_url).await?;
                Self {
                    url: database.url.clone(),
                    _postgres: Some(database),
                }
            }
        })
    }
}

/// A database created for one test on the PostgreSQL server, dropped (with its connections)
/// when this is dropped.
#[derive(Debug)]
pub struct PostgresTestDatabase {
    /// URL of the new database.
    pub url: String,
    base_url: String,
    name: String,
}

impl PostgresTestDatabase {
    /// Creates a database with a unique name next to the one `base_url` names.
    pub async fn create(base_url: &str) -> Result<Self, sqlx::Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "kruispunt_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.subsec_nanos())
                .unwrap_or(0)
        );
        let mut connection = sqlx::PgConnection::connect(base_url).await?;
        // The name is made of ASCII letters, digits and underscores above: safe as an identifier.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await?;
        let _ = connection.close().await;
        Ok(Self {
            url: with_database(base_url, &name),
            base_url: base_url.to_owned(),
            name,
        })
    }
}

impl Drop for PostgresTestDatabase {
    fn drop(&mut self) {
        let base_url = self.base_url.clone();
        let name = self.name.clone();
        // Drop runs outside any async context we could borrow: use a short-lived runtime on
        // its own thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&base_url).await.ok()?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut connection)
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `base_url` with its database path replaced by `name`.
fn with_database(base_url: &str, name: &str) -> String {
    let (without_query, query) = match base_url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (base_url, String::new()),
    };
    let authority_start = without_query.find("://").map_or(0, |position| position + 3);
    let server = match without_query[authority_start..].find('/') {
        Some(slash) => &without_query[..authority_start + slash],
        None => without_query,
    };
    format!("{server}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_replaces_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1/test?sslmode=disable", "t1"),
            "postgres://127.0.0.1/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://host", "t1"), "postgres://host/t1");
    }
}
