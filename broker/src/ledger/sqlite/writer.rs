//! The SQLite writer: the one thread that appends entries to the ledger, by group commit.
//!
//! Transfers hand their entry to the writer through a channel and wait. The writer takes every
//! entry queued at that moment (up to `max_batch`), sequences them (`sequencing`), and writes
//! entries and new tree nodes in ONE transaction. Only after the commit (durable under
//! `synchronous = FULL`) does any waiter get its receipt; if the commit fails, every waiter of
//! the batch gets an error and the in-memory tree is left as it was, so the request fails closed
//! and the next batch reuses the indices.
//!
//! The writer is an OS thread that owns a synchronous SQLite connection (rusqlite, on the same
//! libsqlite3 as sqlx), not a task on sqlx's asynchronous one. A commit then costs two thread
//! hand-offs (the entry in, the receipt out) instead of four (task to writer task, writer task
//! to sqlx's SQLite thread, and back twice), and the inserts are statements prepared once and
//! bound per row instead of one script parsed per commit. See `docs/performance.md`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, watch};

use crate::error_chain::ErrorChain;
use crate::ledger::append::AppendJob;
use crate::ledger::sequencing::{SequencedBatch, sequence};
use crate::ledger::{LedgerError, TreeHead};
use crate::store::{SQLITE_CONNECTION_PRAGMAS, StoreError};
use kruispunt_transparency::CompactRange;

pub(super) struct Writer {
    /// The writer's own connection, held for its lifetime.
    connection: Connection,
    range: CompactRange,
    max_batch: usize,
    head: watch::Sender<TreeHead>,
}

impl Writer {
    /// Opens the writer's connection to the database file at `path` (already created and
    /// migrated through the pool), with the broker's SQLite settings.
    pub(super) fn open(
        path: &Path,
        range: CompactRange,
        max_batch: usize,
        head: watch::Sender<TreeHead>,
    ) -> Result<Self, StoreError> {
        let connection = Connection::open(path)?;
        connection.execute_batch(SQLITE_CONNECTION_PRAGMAS)?;
        Ok(Self {
            connection,
            range,
            max_batch,
            head,
        })
    }

    /// Starts the writer thread. It stops when every sender of `jobs` is gone, once it has
    /// committed (or refused) every job still queued then; joining the handle waits for that
    /// and for its connection to be closed.
    pub(super) fn spawn(
        self,
        jobs: mpsc::Receiver<AppendJob>,
    ) -> Result<std::thread::JoinHandle<()>, StoreError> {
        std::thread::Builder::new()
            .name("ledger-writer".to_owned())
            .spawn(move || self.run(jobs))
            .map_err(|error| StoreError::open("cannot start the ledger writer", error))
    }

    fn run(mut self, mut jobs: mpsc::Receiver<AppendJob>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = jobs.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(std::mem::take(&mut batch));
        }
        // `self` drops here: the connection closes before the thread ends.
    }

    fn commit_batch(&mut self, jobs: Vec<AppendJob>) {
        let (entries, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|job| (job.entry, job.reply)).unzip();
        let batch = match sequence(&self.range, entries) {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), "ledger batch cannot be placed; refusing it");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
                return;
            }
        };
        let started = std::time::Instant::now();
        let written = self.write_in_transaction(&batch);
        tracing::debug!(
            entries = batch.len(),
            micros = started.elapsed().as_micros(),
            "ledger group commit"
        );
        match written {
            Ok(()) => {
                // The head first: once a transfer has its receipt, the durable size (and the
                // checkpointer) already count its entry.
                let _ = self.head.send(TreeHead {
                    size: batch.range.size(),
                    root: batch.range.root(),
                });
                for (reply, receipt) in replies.into_iter().zip(batch.receipts()) {
                    let _ = reply.send(Ok(receipt));
                }
                self.range = batch.range;
            }
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), entries = batch.len(), "ledger commit failed; refusing the batch");
                for reply in replies {
                    let _ = reply.send(Err(LedgerError::Store(error.clone())));
                }
            }
        }
    }

    /// `BEGIN IMMEDIATE`, the inserts, `COMMIT`. On any error the transaction is rolled back
    /// (dropping it does), so the connection is clean for the next batch.
    fn write_in_transaction(&mut self, batch: &SequencedBatch) -> Result<(), StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        batch.write_sqlite(&transaction)?;
        transaction.commit()?;
        Ok(())
    }
}

/// The file behind the pool's main database, as SQLite itself reports it (so the writer opens
/// exactly what sqlx opened, whatever form the URL took).
pub(super) async fn sqlite_file(pool: &sqlx::AnyPool) -> Result<PathBuf, LedgerError> {
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(pool)
            .await?;
    if file.is_empty() {
        return Err(LedgerError::Store(StoreError::Open {
            context: "the SQLite ledger needs a database file".to_owned(),
            cause: None,
        }));
    }
    Ok(PathBuf::from(file))
}
