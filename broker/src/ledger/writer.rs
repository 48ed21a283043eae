//! Group commit on SQLite: the single task that appends entries to the ledger.
//!
//! Transfers hand their entry to the writer through a channel and wait. The writer takes every
//! entry queued at that moment (up to `max_batch`), sequences them (`sequencing`), and writes
//! entries and new tree nodes in ONE transaction. Only after the commit (durable under
//! `synchronous = FULL`) does any waiter get its receipt; if the commit fails, every waiter of
//! the batch gets an error and the in-memory tree is left as it was, so the request fails closed
//! and the next batch reuses the indices.

use sqlx::Any;
use sqlx::pool::PoolConnection;
use tokio::sync::{mpsc, oneshot, watch};

use super::entry::LedgerEntry;
use super::sequencing::{SequencedBatch, sequence, sqlite_commit_script};
use super::{LedgerError, Receipt, TreeHead};
use crate::store::StoreError;
use crate::transparency::CompactRange;

pub(super) struct AppendJob {
    pub(super) entry: LedgerEntry,
    pub(super) reply: oneshot::Sender<Result<Receipt, LedgerError>>,
}

pub(super) struct Writer {
    /// The writer's own connection, held for its lifetime: no pool acquire per commit.
    pub(super) connection: PoolConnection<Any>,
    pub(super) range: CompactRange,
    pub(super) max_batch: usize,
    pub(super) head: watch::Sender<TreeHead>,
}

impl Writer {
    pub(super) async fn run(mut self, mut jobs: mpsc::Receiver<AppendJob>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while jobs.recv_many(&mut batch, self.max_batch).await > 0 {
            self.commit_batch(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit_batch(&mut self, jobs: Vec<AppendJob>) {
        let (entries, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|job| (job.entry, job.reply)).unzip();
        let batch = sequence(&self.range, entries);
        let started = std::time::Instant::now();
        let written = write_in_transaction(&mut self.connection, &batch).await;
        tracing::debug!(
            entries = batch.len(),
            micros = started.elapsed().as_micros(),
            "ledger group commit"
        );
        match written {
            Ok(()) => {
                for (reply, receipt) in replies.into_iter().zip(batch.receipts()) {
                    let _ = reply.send(Ok(receipt));
                }
                self.range = batch.range;
                let _ = self.head.send(TreeHead {
                    size: self.range.size(),
                    root: self.range.root(),
                });
            }
            Err(error) => {
                tracing::error!(%error, entries = batch.len(), "ledger commit failed; refusing the batch");
                for reply in replies {
                    let _ = reply.send(Err(LedgerError::Store(error.clone())));
                }
            }
        }
    }
}

/// Runs the batch's commit script (one trip to sqlx's SQLite thread). If any statement fails,
/// the transaction it opened is rolled back, so the connection is clean for the next batch.
async fn write_in_transaction(
    connection: &mut PoolConnection<Any>,
    batch: &SequencedBatch,
) -> Result<(), StoreError> {
    let executed = sqlite_commit_script(batch)
        .build()?
        .execute(&mut **connection)
        .await;
    if let Err(error) = executed {
        // Fails harmlessly when the error came before BEGIN or after COMMIT.
        let _ = sqlx::query("ROLLBACK").execute(&mut **connection).await;
        return Err(error.into());
    }
    Ok(())
}
