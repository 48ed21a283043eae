//! Storage: the database connection, its migrations, and the conversion of sqlx errors into
//! [`StoreError`] at this boundary (nothing above this module sees a `sqlx::Error`).
//!
//! Two backends, chosen by the URL: `sqlite://...` (the embedded default) and `postgres://...`.
//! Both go through sqlx's `Any` driver with one set of queries (fixed queries with numbered `$n`
//! placeholders, which both accept; statements built at run time with each backend's best
//! placeholders, see [`statement`]; the types both understand: 64-bit integers, text, bytes).
//! Only the migrations differ, kept side by side in `migrations/sqlite/` and
//! `migrations/postgres/`. One exception: the SQLite ledger writer (`ledger::sqlite`) commits
//! on its own thread through a synchronous rusqlite connection to the same file; its
//! `rusqlite::Error`s convert into [`StoreError`] here too.
//!
//! SQLite is opened in WAL mode with `synchronous = FULL`: a committed transaction survives
//! power loss, which is what "durable before the answer" promises for the ledger. PostgreSQL
//! gives the same guarantee with its defaults (`fsync = on`, `synchronous_commit = on`).

mod consent;
mod governance;
mod registry;
mod repertory;
pub(crate) mod statement;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _, Row as _};
use tokio::task::JoinHandle;

pub use consent::ConsentStore;
pub use governance::{BaselineChange, GovernanceStore, RuleChange};
pub use registry::{RegistrySnapshot, RegistryStore};
pub use repertory::{RepertoryStore, StoredSubjectRegistration};

/// The outcome of a revocation: the record after it, and whether this call revoked it (`false`:
/// it was revoked before, and nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation<Record> {
    /// The record, revoked.
    pub record: Record,
    /// Whether this call revoked it.
    pub newly_revoked: bool,
}

/// Whether the row `table.id = id` exists with `revoked_at` set, read through `connection`
/// (inside the rule change's transaction, which serialises rule changes).
async fn was_revoked<Id>(
    connection: &mut sqlx::AnyConnection,
    table: &'static str,
    id: Id,
) -> Result<bool, StoreError>
where
    Id: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT revoked_at FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(connection)
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        None => false,
    })
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file: one broker node.
    Sqlite,
    /// PostgreSQL server: any number of broker nodes.
    Postgres,
}

impl Backend {
    /// The backend of `url`, or `None` for a scheme the broker does not support.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// What a [`StoreError`] came from (the driver's error, an I/O or a codec error), kept as its
/// source so the whole chain reaches whoever reports it.
pub type StoreErrorCause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a storage operation failed, in domain terms. Messages say what failed; the cause is the
/// error's [`source`](std::error::Error::source), never copied into the message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row with this key exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What exists ("agency be.example", or the driver's constraint message).
        what: String,
        /// The driver's error, when there is one.
        #[source]
        cause: Option<StoreErrorCause>,
    },
    /// No row with this key.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The database cannot be reached or is busy.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreErrorCause),
    /// Anything else the database reported.
    #[error("the database failed")]
    Database(#[source] StoreErrorCause),
    /// The database cannot be opened or migrated.
    #[error("cannot open the database: {context}")]
    Open {
        /// What was being done.
        context: String,
        /// Why it failed, when an error says so.
        #[source]
        cause: Option<StoreErrorCause>,
    },
    /// A stored value does not decode (the database was changed behind the broker's back).
    #[error("a stored {what} is unreadable")]
    Corrupt {
        /// Which value.
        what: String,
        /// The decoder's error, when there is one.
        #[source]
        cause: Option<StoreErrorCause>,
    },
    /// A value could not be encoded for storage; nothing was written.
    #[error("cannot encode {what} for storage")]
    Encode {
        /// Which value.
        what: String,
        /// The encoder's error.
        #[source]
        cause: StoreErrorCause,
    },
}

impl StoreError {
    /// [`StoreError::Open`] for `context`, caused by `cause`.
    pub(crate) fn open(
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Open {
            context: context.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// [`StoreError::Corrupt`]: the stored `what` does not decode, because of `cause`.
    pub(crate) fn corrupt(
        what: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Corrupt {
            what: what.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// [`StoreError::Encode`]: `what` could not be encoded, because of `cause`.
    pub(crate) fn encode(
        what: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Encode {
            what: what.into(),
            cause: Arc::new(cause),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
                StoreError::AlreadyExists {
                    what: database_error.message().to_owned(),
                    cause: Some(Arc::new(error)),
                }
            }
            sqlx::Error::RowNotFound => StoreError::NotFound("row".to_owned()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(Arc::new(error))
            }
            _ => StoreError::Database(Arc::new(error)),
        }
    }
}

/// The SQLite ledger writer's own connection (`ledger::sqlite`) reports through rusqlite; its
/// errors convert here too, with the same meanings.
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        let extended_code = match &error {
            rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
            _ => None,
        };
        match (error.sqlite_error_code(), extended_code) {
            (_, Some(SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE)) => {
                StoreError::AlreadyExists {
                    what: error.to_string(),
                    cause: Some(Arc::new(error)),
                }
            }
            (Some(DatabaseBusy | DatabaseLocked), _) => StoreError::Unavailable(Arc::new(error)),
            (Some(CannotOpen), _) => StoreError::open("SQLite cannot open the file", error),
            _ => StoreError::Database(Arc::new(error)),
        }
    }
}

/// How often the WAL is copied back into the database file.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// WAL frames (4 KiB pages) beyond which the checkpointer rewinds the log: about 64 MiB.
const WAL_RESTART_FRAMES: i64 = 16_384;

/// Copies the WAL into the database file once a second without blocking writers (`PASSIVE`),
/// so no commit pays for a checkpoint. Stops when the pool closes (between checkpoints).
///
/// A passive checkpoint never rewinds the log while writes keep coming: SQLite starts writing
/// the WAL from its beginning again only when a checkpoint has copied every frame and no
/// transaction holds an older snapshot, and under sustained load a new commit always lands
/// first. Left alone, the WAL grew without bound (3.9 GB after three minutes at 9,000
/// transfers/s), and so did its in-memory index. So once the log holds more than
/// [`WAL_RESTART_FRAMES`], the checkpointer runs a `RESTART` checkpoint. That checkpoint
/// waits for the current commit, holds new writers back while it copies the few frames the
/// passive ones have not copied yet, and makes the next commit write the log from its start.
/// Writers pause for a moment, about once every 64 MiB of ledger.
///
/// `RESTART`, not `TRUNCATE`: the log file keeps its size and commits overwrite blocks it
/// already has. After a truncation every commit appended to the file again, and an fsync of
/// a growing file also allocates blocks and writes the inode. Measured in the benchmark: the
/// median at 1 caller went from 0.80 to 0.68 ms, and 64 callers from about 10,500 to 12,000
/// transfers/s (`docs/performance.md`).
async fn checkpoint_wal_periodically(pool: AnyPool) {
    let mut interval = tokio::time::interval(WAL_CHECKPOINT_INTERVAL);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = pool.close_event() => return,
        }
        if pool.is_closed() {
            return;
        }
        if let Err(error) = checkpoint_wal(&pool).await {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

async fn checkpoint_wal(pool: &AnyPool) -> Result<(), sqlx::Error> {
    // Columns: busy (0/1), frames in the log, frames checkpointed.
    let passive = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    let log_frames: i64 = passive.try_get(1)?;
    if log_frames > WAL_RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Per-connection SQLite settings. Checkpoints (copying the WAL back into the database file,
/// with their own fsyncs) run in a background task, not inside whichever commit crosses the
/// threshold: a group commit then costs one WAL write and one fsync.
pub(crate) const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;";

/// The broker's database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    url: String,
    /// The WAL checkpointer (SQLite), joined by [`Database::close`].
    wal_checkpointer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Database {
    /// Opens and migrates the database at `url`: `sqlite://path` (created if missing) or
    /// `postgres://user@host/database`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| StoreError::Open {
            context: "the database URL must start with sqlite: or postgres://".to_owned(),
            cause: None,
        })?;
        let pool = match backend {
            Backend::Sqlite => open_sqlite(url).await?,
            Backend::Postgres => AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&with_application_name(url, "kruispunt"))
                .await
                .map_err(|error| StoreError::open("cannot connect to PostgreSQL", error))?,
        };
        let migrated = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await,
        };
        migrated.map_err(|error| StoreError::open("the migrations failed", error))?;
        let wal_checkpointer = (backend == Backend::Sqlite)
            .then(|| tokio::spawn(checkpoint_wal_periodically(pool.clone())));
        Ok(Self {
            pool,
            backend,
            url: url.to_owned(),
            wal_checkpointer: Arc::new(Mutex::new(wal_checkpointer)),
        })
    }

    /// The engine behind this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL it was opened with (for the ledger sequencer's own connection).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The connection pool, for the store modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection of the pool (waiting for those in use to come back) and waits
    /// for the WAL checkpointer to end. Every clone of this database is closed with it.
    pub async fn close(&self) {
        self.pool.close().await;
        let wal_checkpointer = self
            .wal_checkpointer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = wal_checkpointer
            && let Err(error) = task.await
        {
            tracing::error!(%error, "the WAL checkpointer failed");
        }
    }

    /// The persons repertory.
    pub fn repertory(&self) -> RepertoryStore {
        RepertoryStore::new(self.pool.clone())
    }

    /// The consents.
    pub fn consents(&self) -> ConsentStore {
        ConsentStore::new(self.pool.clone())
    }

    /// The rule changes' transactions (`governance_state`, `governance_outbox`).
    pub fn governance(&self) -> GovernanceStore {
        GovernanceStore::new(self.pool.clone())
    }

    /// The registry tables.
    pub fn registry(&self) -> RegistryStore {
        RegistryStore::new(self.pool.clone())
    }
}

/// `url` naming its connections `<role>-<process id>` in PostgreSQL's `pg_stat_activity`, so
/// an operator sees which broker process holds which connection (and the sequencer lock).
pub(crate) fn with_application_name(url: &str, role: &str) -> String {
    if url.contains("application_name=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}application_name={role}-{}",
        std::process::id()
    )
}

/// Opens an SQLite pool, creating the file (and its directory) if missing.
async fn open_sqlite(url: &str) -> Result<AnyPool, StoreError> {
    if url.contains(":memory:") {
        return Err(StoreError::Open {
            context: "an in-memory SQLite database cannot be shared by the broker's connections; name a file".to_owned(),
            cause: None,
        });
    }
    let options: AnyConnectOptions = if url.contains("mode=") {
        url.parse()
    } else {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::open(format!("cannot create {}", parent.display()), error)
            })?;
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rwc").parse()
    }
    .map_err(|error: sqlx::Error| StoreError::open("the SQLite URL is not valid", error))?;
    AnyPoolOptions::new()
        // Readers, the checkpointer and the registry share these; the ledger writer has its
        // own connection outside the pool.
        .max_connections(5)
        // A local file does not go stale the way a network connection does: skip the ping
        // (one more round trip to sqlx's SQLite thread) on every acquire.
        .test_before_acquire(false)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute(SQLITE_CONNECTION_PRAGMAS).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|error| StoreError::open("cannot open the SQLite database", error))
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn rusqlite_errors_convert_with_the_same_meanings_as_sqlx_ones() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE rows (key INTEGER PRIMARY KEY NOT NULL);
                 CREATE TRIGGER rows_no_delete BEFORE DELETE ON rows
                 BEGIN SELECT RAISE(ABORT, 'append-only'); END;
                 INSERT INTO rows (key) VALUES (1);",
            )
            .unwrap();
        let duplicate = connection
            .execute("INSERT INTO rows (key) VALUES (1)", [])
            .unwrap_err();
        assert!(
            matches!(
                StoreError::from(duplicate),
                StoreError::AlreadyExists { .. }
            ),
            "a primary-key clash is AlreadyExists"
        );
        // A trigger's refusal is also a constraint failure in SQLite, but not a duplicate; the
        // driver's message stays reachable as the error's source.
        let refused = StoreError::from(connection.execute("DELETE FROM rows", []).unwrap_err());
        assert!(
            matches!(refused, StoreError::Database(_)),
            "a trigger's refusal is a database error"
        );
        let cause = std::error::Error::source(&refused).unwrap().to_string();
        assert!(cause.contains("append-only"), "{cause}");
    }
}
