//! The audit ledger: every transfer, delivered or refused, appended durably before the consumer
//! gets an answer, as a leaf of an RFC 6962 Merkle tree.
//!
//! - `append`: the job a transfer hands to either backend's group commit.
//! - `sequencing`: assigning indices, leaf hashes and tree nodes to a batch of entries; used by
//!   both backends.
//! - `sqlite/`: on SQLite, the group-commit thread, the only writer of the ledger entries and
//!   tree.
//! - `postgres/`: on PostgreSQL, each node's group commit into a shared queue with its receipt
//!   poller, and the one node (holding an advisory lock) that sequences the queue into the tree.
//! - `checkpointer`: signs checkpoints of the tree head.
//! - `subject_indexer`: the background task that indexes entries by subject pseudonym.
//! - [`Ledger`]: the handle the pipeline and the audit API use; [`Ledger::shutdown`] stops all
//!   of the above and waits for them.
//!
//! What an entry holds and its canonical encoding, subject pseudonyms, the Merkle mathematics
//! and the verifier's pure core live in the `kruispunt_transparency` crate, free of storage and
//! gRPC; `sources` feeds that verifier from a database, a broker or a bundle.

mod append;
mod checkpointer;
mod postgres;
mod reader;
mod sequencing;
pub mod sources;
mod sqlite;
mod subject_indexer;

pub use checkpointer::{CHECKPOINT_INTERVAL, load_or_create_signing_key};
pub use postgres::{ELECTION_INTERVAL, SEQUENCER_APPLICATION_NAME};
pub use reader::{LedgerReader, StoredCheckpoint, StoredEntry, TransferFilter};

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::shutdown::{BackgroundTasks, StopSwitch};
use crate::store::{Backend, Database, StoreError};
use append::AppendJob;
use kruispunt_transparency::{Hash, LedgerEntry, NoteSigner, ProofError};

/// Where an entry sits in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// 0-based position.
    pub index: u64,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: Hash,
}

/// The ledger's size and Merkle root after the last commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// Merkle tree hash over all of them.
    pub root: Hash,
}

/// Why the ledger could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// The database refused or failed.
    #[error("ledger storage")]
    Store(#[from] StoreError),
    /// The ledger writer is gone (shutdown or a fatal error): the thread on SQLite, the queue
    /// task on PostgreSQL.
    #[error("the ledger writer is not running")]
    WriterStopped,
    /// The entry is durably queued, but no sequencer placed it in the tree in time (no node
    /// holds the sequencer lock). It will still be sequenced once one does.
    #[error(
        "the entry is queued but was not sequenced within {waited:?}; no ledger sequencer is running"
    )]
    NotSequenced {
        /// How long the transfer waited.
        waited: std::time::Duration,
    },
    /// A proof was asked for sizes or indices the tree cannot give.
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// A proof or entry beyond the durable tree was asked for.
    #[error("the ledger holds {durable_size} entries; {what} is beyond it")]
    BeyondTree {
        /// Entries durable now.
        durable_size: u64,
        /// What was asked.
        what: String,
    },
    /// No checkpoint has been signed yet (the checkpointer signs within a second of the first
    /// entry).
    #[error("no checkpoint has been signed yet; retry in a second")]
    NoCheckpointYet,
    /// The stored tree is inconsistent with itself.
    #[error("the stored ledger is inconsistent: {0}")]
    Inconsistent(String),
    /// A secret file could not be read or created.
    #[error("ledger secret {path}: {detail}")]
    Secret {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

/// The ledger's queries convert database errors exactly as the stores do (through
/// [`StoreError`]), so `?` works on sqlx results in this module.
impl From<sqlx::Error> for LedgerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::from(error))
    }
}

/// Handle to the ledger. Cheap to clone; [`Ledger::shutdown`] on any clone stops them all.
#[derive(Clone)]
pub struct Ledger {
    lifecycle: Arc<Lifecycle>,
    head: watch::Receiver<TreeHead>,
    backend: Backend,
    reader: LedgerReader,
    origin: String,
    verifier_key: String,
}

/// What the clones of one ledger share: the way in for appends (gone once shutdown begins) and
/// the background work to stop.
struct Lifecycle {
    jobs: Mutex<Option<mpsc::Sender<AppendJob>>>,
    running: tokio::sync::Mutex<Option<Running>>,
}

/// The ledger's background work while it runs.
struct Running {
    writer: Writer,
    /// Raised once the writer has answered every append: stops the rest.
    stop: StopSwitch,
    /// The checkpointer, the subject indexer and, on PostgreSQL, the sequencer.
    after_writer: BackgroundTasks,
}

/// The group commit of either backend.
enum Writer {
    Sqlite(std::thread::JoinHandle<()>),
    Postgres(postgres::PostgresTasks),
}

impl Ledger {
    /// Starts the ledger on `database`: on SQLite the group-commit writer; on PostgreSQL the
    /// queue writer, the receipt poller and this node's sequencer candidate. Either way also
    /// the checkpointer signing with `signer` and the subject indexer.
    pub async fn start(
        database: &Database,
        max_batch: usize,
        signer: NoteSigner,
    ) -> Result<Self, LedgerError> {
        let pool = database.pool().clone();
        let range = {
            let mut connection = pool.acquire().await?;
            sequencing::load_range(&mut connection).await?
        };
        let (head_sender, head) = watch::channel(TreeHead {
            size: range.size(),
            root: range.root(),
        });
        let (jobs, receiver) = mpsc::channel(max_batch.saturating_mul(4).max(64));
        let verifier_key = signer.verifier_key_string();
        let origin = signer.name().to_owned();
        let reader = LedgerReader::for_database(database);
        let last_size = reader
            .latest_checkpoint()
            .await?
            .map(|checkpoint| checkpoint.tree_size);
        let checkpointer = checkpointer::Checkpointer {
            pool: pool.clone(),
            signer,
            head: head.clone(),
            last_size,
        };
        let stop = StopSwitch::new();
        let mut after_writer = BackgroundTasks::default();
        let writer = match database.backend() {
            Backend::Sqlite => {
                Writer::Sqlite(sqlite::start(&pool, range, max_batch, head_sender, receiver).await?)
            }
            Backend::Postgres => {
                let (tasks, sequencer) = postgres::start(
                    &pool,
                    database.url(),
                    max_batch,
                    head_sender,
                    receiver,
                    stop.signal(),
                );
                after_writer.push("ledger sequencer", sequencer);
                Writer::Postgres(tasks)
            }
        };
        after_writer.push(
            "ledger checkpointer",
            tokio::spawn(checkpointer.run(stop.signal())),
        );
        after_writer.push(
            "ledger subject indexer",
            tokio::spawn(subject_indexer::run(
                pool,
                database.backend(),
                stop.signal(),
            )),
        );
        Ok(Self {
            lifecycle: Arc::new(Lifecycle {
                jobs: Mutex::new(Some(jobs)),
                running: tokio::sync::Mutex::new(Some(Running {
                    writer,
                    stop,
                    after_writer,
                })),
            }),
            head,
            backend: database.backend(),
            reader,
            origin,
            verifier_key,
        })
    }

    /// Read access: entries, checkpoints, proofs.
    pub fn reader(&self) -> &LedgerReader {
        &self.reader
    }

    /// The origin line of this ledger's checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The checkpoint signer's public key, in the signed-note verifier-key format.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// A sender to the group commit, until [`Ledger::shutdown`] takes it away. Callers drop it
    /// as soon as their job is sent: only the shutdown's taking of the sender may keep the
    /// writer running.
    fn job_sender(&self) -> Result<mpsc::Sender<AppendJob>, LedgerError> {
        self.lifecycle
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(LedgerError::WriterStopped)
    }

    /// Appends `entry` and returns once it is durable. After [`Ledger::shutdown`] has begun:
    /// [`LedgerError::WriterStopped`].
    pub async fn append(&self, entry: LedgerEntry) -> Result<Receipt, LedgerError> {
        let jobs = self.job_sender()?;
        let (reply, receipt) = oneshot::channel();
        let sent = jobs.send(AppendJob::Transfer { entry, reply }).await;
        // Only the shutdown's taking of the sender may keep the writer running, not this one.
        drop(jobs);
        sent.map_err(|_| LedgerError::WriterStopped)?;
        receipt.await.map_err(|_| LedgerError::WriterStopped)?
    }

    /// Waits until the rule change numbered `sequence` (committed, with its entry in
    /// `governance_outbox`) is in the tree. On SQLite it asks the writer to drain the outbox
    /// and waits for that batch; on PostgreSQL it polls `ledger_entries` for the sequence (the
    /// rule change's transaction woke the sequencer) for as long as a transfer waits for its
    /// entry. Errors: [`LedgerError::WriterStopped`], [`LedgerError::NotSequenced`], or the
    /// store's.
    pub async fn await_governance_entry(&self, sequence: u64) -> Result<(), LedgerError> {
        match self.backend {
            Backend::Sqlite => {
                let jobs = self.job_sender()?;
                let (reply, drained) = oneshot::channel();
                let sent = jobs.send(AppendJob::DrainGovernanceOutbox { reply }).await;
                drop(jobs);
                sent.map_err(|_| LedgerError::WriterStopped)?;
                drained.await.map_err(|_| LedgerError::WriterStopped)??;
                // The writer drained every row committed before it was asked; this one too,
                // unless the database was changed behind the broker's back.
                if self.reader.has_governance_entry(sequence).await? {
                    Ok(())
                } else {
                    Err(LedgerError::Inconsistent(format!(
                        "rule change {sequence} was drained but is not in the ledger"
                    )))
                }
            }
            Backend::Postgres => postgres::await_governance_entry(&self.reader, sequence).await,
        }
    }

    /// How many entries the tree holds now (every one durable). On SQLite this broker is the
    /// only writer and knows it; on PostgreSQL another node may be sequencing, so it is read.
    pub async fn durable_size(&self) -> Result<u64, LedgerError> {
        match self.backend {
            Backend::Sqlite => Ok(self.head.borrow().size),
            Backend::Postgres => self.reader.tree_size().await,
        }
    }

    /// Stops the ledger and waits until none of its background work runs.
    ///
    /// New appends get [`LedgerError::WriterStopped`] from the moment this is called. The
    /// appends already handed to the writer are committed and answered, or answered with an
    /// error, first: on SQLite the writer thread commits what is queued, closes its connection
    /// and ends; on PostgreSQL the queue writer queues what is left, and the receipt poller
    /// answers every waiting transfer once sequenced (or with
    /// [`LedgerError::NotSequenced`] after the sequencing timeout). Then the sequencer (after
    /// its batch under way, releasing the lock), the subject indexer and the checkpointer stop;
    /// the checkpointer signs the final tree head first if no checkpoint covers it. Nothing is
    /// aborted and no timeout cuts the wait short. Calling it again (or on another clone) waits
    /// for the first call to finish.
    pub async fn shutdown(&self) {
        drop(
            self.lifecycle
                .jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        let mut running = self.lifecycle.running.lock().await;
        let Some(Running {
            writer,
            stop,
            after_writer,
        }) = running.take()
        else {
            return;
        };
        match writer {
            Writer::Sqlite(thread) => sqlite::join(thread).await,
            Writer::Postgres(tasks) => tasks.finish_appends().await,
        }
        stop.raise();
        after_writer.join_all().await;
    }
}

/// Reads the 32-byte secret at `path`, or creates it with fresh randomness, owner-only (0600).
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], LedgerError> {
    let secret_error = |detail: String| LedgerError::Secret {
        path: path.display().to_string(),
        detail,
    };
    match std::fs::read(path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| secret_error("must hold exactly 32 bytes".to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0_u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|error| secret_error(error.to_string()))?;
            }
            crate::pki::write_file(path, &secret, true)
                .map_err(|error| secret_error(error.to_string()))?;
            Ok(secret)
        }
        Err(error) => Err(secret_error(error.to_string())),
    }
}
