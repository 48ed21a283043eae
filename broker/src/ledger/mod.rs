//! The audit ledger: every transfer, delivered or refused, appended durably before the consumer
//! gets an answer, as a leaf of an RFC 6962 Merkle tree.
//!
//! - `sequencing`: assigning indices, leaf hashes and tree nodes to a batch of entries.
//! - `writer`: on SQLite, the group-commit thread, the only writer of the ledger entries and tree.
//! - `queue` and `sequencer`: on PostgreSQL, each node's group commit into a shared queue, and
//!   the one node (holding an advisory lock) that sequences the queue into the tree.
//! - `checkpointer`: signs checkpoints of the tree head.
//! - `subject_indexer`: the background task that indexes entries by subject pseudonym.
//! - [`Ledger`]: the handle the pipeline and the audit API use.
//!
//! What an entry holds and its canonical encoding, subject pseudonyms, the Merkle mathematics
//! and the verifier's pure core live in the `kruispunt_transparency` crate, free of storage and
//! gRPC; `sources` feeds that verifier from a database, a broker or a bundle.

mod checkpointer;
mod queue;
mod reader;
mod sequencer;
mod sequencing;
pub mod sources;
mod subject_indexer;
mod writer;

pub use checkpointer::{CHECKPOINT_INTERVAL, load_or_create_signing_key};
pub use reader::{LedgerReader, StoredCheckpoint, StoredEntry, TransferFilter};
pub use sequencer::{ELECTION_INTERVAL, SEQUENCER_APPLICATION_NAME};

use std::path::Path;

use tokio::sync::{mpsc, oneshot, watch};

use crate::store::{Backend, Database, StoreError};
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

/// Handle to the ledger. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    jobs: mpsc::Sender<AppendJob>,
    head: watch::Receiver<TreeHead>,
    backend: Backend,
    reader: LedgerReader,
    origin: String,
    verifier_key: String,
}

use writer::AppendJob;

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
        let last_size = LedgerReader::new(pool.clone(), database.backend())
            .latest_checkpoint()
            .await?
            .map(|checkpoint| checkpoint.tree_size);
        let checkpointer = checkpointer::Checkpointer {
            pool: pool.clone(),
            signer,
            head: head.clone(),
            last_size,
        };
        match database.backend() {
            Backend::Sqlite => {
                let file = writer::sqlite_file(&pool).await?;
                writer::Writer::open(&file, range, max_batch, head_sender)?.spawn(receiver)?;
            }
            Backend::Postgres => {
                let waiting = std::sync::Arc::new(queue::Waiting::default());
                let node = format!(
                    "{}-{:08x}",
                    std::process::id(),
                    rand_core::RngCore::next_u32(&mut rand_core::OsRng)
                );
                let queue_writer = queue::QueueWriter {
                    pool: pool.clone(),
                    max_batch,
                    node,
                    waiting: waiting.clone(),
                };
                let poller = queue::ReceiptPoller {
                    pool: pool.clone(),
                    url: database.url().to_owned(),
                    waiting,
                };
                let sequencer = sequencer::Sequencer {
                    url: database.url().to_owned(),
                    max_batch,
                    head: head_sender,
                };
                tokio::spawn(queue_writer.run(receiver));
                tokio::spawn(poller.run());
                tokio::spawn(sequencer.run());
            }
        }
        tokio::spawn(checkpointer.run());
        tokio::spawn(subject_indexer::run(pool.clone(), database.backend()));
        Ok(Self {
            jobs,
            head,
            backend: database.backend(),
            reader: LedgerReader::new(pool, database.backend()),
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

    /// Appends `entry` and returns once it is durable.
    pub async fn append(&self, entry: LedgerEntry) -> Result<Receipt, LedgerError> {
        let (reply, receipt) = oneshot::channel();
        self.jobs
            .send(AppendJob { entry, reply })
            .await
            .map_err(|_| LedgerError::WriterStopped)?;
        receipt.await.map_err(|_| LedgerError::WriterStopped)?
    }

    /// How many entries the tree holds now (every one durable). On SQLite this broker is the
    /// only writer and knows it; on PostgreSQL another node may be sequencing, so it is read.
    pub async fn durable_size(&self) -> Result<u64, LedgerError> {
        match self.backend {
            Backend::Sqlite => Ok(self.head.borrow().size),
            Backend::Postgres => self.reader.tree_size().await,
        }
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
