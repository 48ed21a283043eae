//! The audit ledger: every transfer, delivered or refused, appended durably before the consumer
//! gets an answer, as a leaf of an RFC 6962 Merkle tree.
//!
//! - [`entry`]: what an entry holds and its canonical encoding; subject pseudonyms.
//! - `writer`: the group-commit task, the only writer of the ledger entries and tree.
//! - `subject_indexer`: the background task that indexes entries by subject pseudonym.
//! - [`Ledger`]: the handle the pipeline and the audit API use.
//!
//! The Merkle mathematics live in [`crate::transparency`], free of storage and gRPC.

mod checkpointer;
pub mod entry;
mod reader;
pub mod sources;
mod subject_indexer;
pub mod verify;
mod writer;

pub use checkpointer::{CHECKPOINT_INTERVAL, load_or_create_signing_key};
pub use reader::{LedgerReader, StoredCheckpoint, StoredEntry, TransferFilter};

use std::path::Path;

use sqlx::Row;
use tokio::sync::{mpsc, oneshot, watch};

use crate::store::{Database, StoreError};
use crate::transparency::{CompactRange, Hash, NoteSigner, ProofError, root_nodes};
use entry::LedgerEntry;

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
    #[error("ledger storage: {0}")]
    Store(#[from] StoreError),
    /// The writer task is gone (shutdown or a fatal error).
    #[error("the ledger writer is not running")]
    WriterStopped,
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

/// Handle to the ledger. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    jobs: mpsc::Sender<AppendJob>,
    head: watch::Receiver<TreeHead>,
    reader: LedgerReader,
    origin: String,
    verifier_key: String,
}

use writer::AppendJob;

impl Ledger {
    /// Loads the tree's frontier from `database`, starts the group-commit writer and the
    /// checkpointer signing with `signer`.
    pub async fn start(
        database: &Database,
        max_batch: usize,
        signer: NoteSigner,
    ) -> Result<Self, LedgerError> {
        let pool = database.pool().clone();
        let size: i64 =
            sqlx::query("SELECT COALESCE(MAX(leaf_index) + 1, 0) AS size FROM ledger_entries")
                .fetch_one(&pool)
                .await
                .map_err(StoreError::from)?
                .try_get("size")
                .map_err(StoreError::from)?;
        let size = u64::try_from(size)
            .map_err(|_| LedgerError::Inconsistent("negative ledger size".to_owned()))?;
        let mut frontier = Vec::new();
        for (level, index) in root_nodes(size) {
            let row = sqlx::query("SELECT hash FROM ledger_nodes WHERE position = ?")
                .bind(writer::flat_position(level, index))
                .fetch_optional(&pool)
                .await
                .map_err(StoreError::from)?
                .ok_or_else(|| {
                    LedgerError::Inconsistent(format!("tree node ({level}, {index}) is missing"))
                })?;
            let hash: Vec<u8> = row.try_get("hash").map_err(StoreError::from)?;
            frontier.push(hash.try_into().map_err(|_| {
                LedgerError::Inconsistent(format!("tree node ({level}, {index}) is not 32 bytes"))
            })?);
        }
        let range = CompactRange::from_parts(size, frontier)
            .map_err(|error| LedgerError::Inconsistent(error.to_string()))?;
        let (head_sender, head) = watch::channel(TreeHead {
            size: range.size(),
            root: range.root(),
        });
        let (jobs, receiver) = mpsc::channel(max_batch.saturating_mul(4).max(64));
        let verifier_key = signer.verifier_key_string();
        let origin = signer.name().to_owned();
        let last_size = LedgerReader::new(pool.clone())
            .latest_checkpoint()
            .await?
            .map(|checkpoint| checkpoint.tree_size);
        let checkpointer = checkpointer::Checkpointer {
            pool: pool.clone(),
            signer,
            head: head.clone(),
            last_size,
        };
        let writer = writer::Writer {
            pool: pool.clone(),
            range,
            max_batch,
            head: head_sender,
        };
        tokio::spawn(writer.run(receiver));
        tokio::spawn(checkpointer.run());
        tokio::spawn(subject_indexer::run(pool.clone()));
        Ok(Self {
            jobs,
            head,
            reader: LedgerReader::new(pool),
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

    /// Size and root after the last durable commit.
    pub fn head(&self) -> TreeHead {
        *self.head.borrow()
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
