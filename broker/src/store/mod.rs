//! Storage: the database connection, its migrations, and the conversion of sqlx errors into
//! [`StoreError`] at this boundary (nothing above this module sees a `sqlx::Error`).
//!
//! SQLite is opened in WAL mode with `synchronous = FULL`: a committed transaction survives
//! power loss, which is what "durable before the answer" promises for the ledger.

mod consent;
mod registry;
mod repertory;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use consent::ConsentStore;
pub use registry::RegistryStore;
pub use repertory::RepertoryStore;

/// Why a storage operation failed, in domain terms.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row with this key exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// No row with this key.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The database cannot be reached or is busy.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be opened or migrated.
    #[error("cannot open the database: {0}")]
    Open(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
                StoreError::AlreadyExists(database_error.message().to_owned())
            }
            sqlx::Error::RowNotFound => StoreError::NotFound("row".to_owned()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// How often the WAL is copied back into the database file.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Copies the WAL into the database file once a second without blocking writers (`PASSIVE`),
/// so the WAL stays small and no commit pays for a checkpoint. Stops when the pool closes.
async fn checkpoint_wal_periodically(pool: SqlitePool) {
    let mut interval = tokio::time::interval(WAL_CHECKPOINT_INTERVAL);
    loop {
        interval.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

/// The broker's database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: SqlitePool,
}

impl Database {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://path`,
    /// `sqlite::memory:` for throw-away use).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::Open(error.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Checkpoints (copying the WAL back into the database file, with their own fsyncs)
            // run in a background task, not inside whichever commit crosses the threshold: a
            // group commit then costs one WAL write and one fsync.
            .pragma("wal_autocheckpoint", "0");
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| StoreError::Open(error.to_string()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Open(error.to_string()))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|error| StoreError::Open(format!("migration failed: {error}")))?;
        tokio::spawn(checkpoint_wal_periodically(pool.clone()));
        Ok(Self { pool })
    }

    /// The connection pool, for the store modules.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Read access to the ledger tables (for exports by an operator with database access).
    pub fn ledger_reader(&self) -> crate::ledger::LedgerReader {
        crate::ledger::LedgerReader::new(self.pool.clone())
    }

    /// The persons repertory.
    pub fn repertory(&self) -> RepertoryStore {
        RepertoryStore::new(self.pool.clone())
    }

    /// The consents.
    pub fn consents(&self) -> ConsentStore {
        ConsentStore::new(self.pool.clone())
    }

    /// The registry tables.
    pub fn registry(&self) -> RegistryStore {
        RegistryStore::new(self.pool.clone())
    }
}
