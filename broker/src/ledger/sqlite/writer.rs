//! The SQLite writer: the one thread that appends entries to the ledger, by group commit.
//!
//! Transfers hand their entry to the writer through a channel and wait. The writer takes every
//! entry queued at that moment (up to `max_batch`), then, in its transaction, reads every rule
//! change waiting in `governance_outbox` (in sequence order), sequences those BEFORE the batch's
//! transfers (`sequencing`), writes entries and new tree nodes and deletes the drained outbox
//! rows, all in ONE transaction. Reading the outbox after taking the transfers is what orders a
//! rule before the transfers decided under it: such a transfer was decided after the rule's
//! transaction committed, so the rule's outbox row is visible by the time the writer reads the
//! outbox. A rule change that committed asks for a drain ([`AppendJob::DrainGovernanceOutbox`])
//! so an idle writer wakes; the writer also drains once when it starts (rule changes committed
//! before a crash). Only after the commit (durable under
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
use crate::ledger::append::{AppendJob, DrainReply, Reply};
use crate::ledger::sequencing::{SequencedBatch, decode_outbox_entry, sequence};
use crate::ledger::{LedgerError, TreeHead};
use crate::store::{SQLITE_CONNECTION_PRAGMAS, StoreError};
use kruispunt_transparency::{CompactRange, LedgerRecord};

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
        // Rule changes committed before this start (a crash between their commit and their
        // drain) go into the tree first.
        self.commit_batch(Vec::new());
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
        let mut entries = Vec::with_capacity(jobs.len());
        let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
        let mut drain_replies: Vec<DrainReply> = Vec::new();
        for job in jobs {
            match job {
                AppendJob::Transfer { entry, reply } => {
                    entries.push(LedgerRecord::Transfer(entry));
                    replies.push(reply);
                }
                AppendJob::DrainGovernanceOutbox { reply } => drain_replies.push(reply),
            }
        }
        let started = std::time::Instant::now();
        let written = self.write_in_transaction(entries);
        match written {
            Ok(Some((batch, governance_entries))) => {
                tracing::debug!(
                    entries = batch.len(),
                    governance_entries,
                    micros = started.elapsed().as_micros(),
                    "ledger group commit"
                );
                // The head first: once a transfer has its receipt, the durable size (and the
                // checkpointer) already count its entry.
                let _ = self.head.send(TreeHead {
                    size: batch.range.size(),
                    root: batch.range.root(),
                });
                // The batch's rule changes come first; the transfers' receipts follow.
                for (reply, receipt) in replies
                    .into_iter()
                    .zip(batch.receipts().skip(governance_entries))
                {
                    let _ = reply.send(Ok(receipt));
                }
                for reply in drain_replies {
                    let _ = reply.send(Ok(()));
                }
                self.range = batch.range;
            }
            Ok(None) => {
                for reply in drain_replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), transfers = replies.len(), "ledger commit failed; refusing the batch");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
                for reply in drain_replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// `BEGIN IMMEDIATE`; the outbox read; sequencing the outbox's rule changes, then
    /// `transfers`; the inserts and the outbox rows' deletion; `COMMIT`. Returns the committed
    /// batch and how many of its entries (the first ones) are rule changes, or `None` if there
    /// was nothing to write. On any error the transaction is rolled back (dropping it does), so
    /// the connection is clean for the next batch and the in-memory tree is unchanged.
    fn write_in_transaction(
        &mut self,
        transfers: Vec<LedgerRecord>,
    ) -> Result<Option<(SequencedBatch, usize)>, LedgerError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let outbox = read_outbox(&transaction).map_err(StoreError::from)?;
        let governance_entries = outbox.len();
        if governance_entries == 0 && transfers.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(governance_entries + transfers.len());
        let mut outbox_ids = Vec::with_capacity(governance_entries);
        for (outbox_id, bytes) in outbox {
            entries.push(decode_outbox_entry(&bytes)?);
            outbox_ids.push(outbox_id);
        }
        entries.extend(transfers);
        let batch = sequence(&self.range, entries)?;
        batch.write_sqlite(&transaction).map_err(StoreError::from)?;
        {
            let mut delete = transaction
                .prepare_cached("DELETE FROM governance_outbox WHERE outbox_id = ?1")
                .map_err(StoreError::from)?;
            for outbox_id in outbox_ids {
                delete.execute([outbox_id]).map_err(StoreError::from)?;
            }
        }
        transaction.commit().map_err(StoreError::from)?;
        Ok(Some((batch, governance_entries)))
    }
}

/// Every row of `governance_outbox`, in sequence order: (outbox id, encoded entry).
fn read_outbox(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<Vec<(i64, Vec<u8>)>> {
    let mut select = transaction
        .prepare_cached("SELECT outbox_id, entry FROM governance_outbox ORDER BY sequence")?;
    let rows = select.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
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
