//! The node side of the PostgreSQL ledger: group commit into `ledger_queue`, then wait for the
//! sequencer to give each entry its index.
//!
//! Each broker node batches its transfers' entries exactly like the SQLite writer, but writes
//! them to the shared queue table (durable once committed, whatever happens to this node next)
//! and wakes the sequencer with a notification. A receipt poller then watches
//! `ledger_sequenced` for the queued ids and answers each waiting transfer with its index and
//! leaf hash. The transfer is therefore answered only once its entry is in the Merkle tree (see
//! ARCHITECTURE.md, "Answers wait for sequencing").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Row};
use tokio::sync::{Notify, mpsc};

use crate::error_chain::ErrorChain;
use crate::ledger::append::{AppendJob, Reply};
use crate::ledger::{LedgerError, Receipt};
use crate::shutdown::StopSignal;
use crate::store::StoreError;
use crate::store::statement::{Placeholders, StatementBuilder};
use kruispunt_transparency::Hash;

/// Channel on which nodes tell the sequencer that entries were queued.
pub(super) const QUEUED_CHANNEL: &str = "kruispunt_ledger_queued";
/// Channel on which the sequencer tells nodes that entries were sequenced.
pub(super) const SEQUENCED_CHANNEL: &str = "kruispunt_ledger_sequenced";
/// How long a transfer waits for its entry to be sequenced before it fails (the entry stays
/// queued and will still be sequenced: the ledger over-records, never under-records).
pub(super) const SEQUENCING_TIMEOUT: Duration = Duration::from_secs(30);
/// Poll interval of the receipt poller when no notification arrives (a safety net: a
/// notification can be lost while the listener reconnects).
const FALLBACK_POLL: Duration = Duration::from_millis(100);

/// Queue rows per statement (three parameters each, far below PostgreSQL's limit).
const QUEUE_ROWS_PER_STATEMENT: usize = 600;

/// Transfers waiting for their queued entries to be sequenced, by queue id.
#[derive(Default)]
pub(super) struct Waiting {
    replies: Mutex<BTreeMap<i64, (Reply, Instant)>>,
    changed: Notify,
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, (Reply, Instant)>> {
        self.replies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes batches of entries into the queue.
pub(super) struct QueueWriter {
    pub(super) pool: AnyPool,
    pub(super) max_batch: usize,
    pub(super) node: String,
    pub(super) waiting: Arc<Waiting>,
}

impl QueueWriter {
    /// Queues batches until every sender of `jobs` is gone and the jobs queued then are
    /// handled.
    pub(super) async fn run(self, mut jobs: mpsc::Receiver<AppendJob>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while jobs.recv_many(&mut batch, self.max_batch).await > 0 {
            let mut entries = Vec::with_capacity(batch.len());
            let mut replies = Vec::with_capacity(batch.len());
            for job in std::mem::take(&mut batch) {
                match job {
                    AppendJob::Transfer { entry, reply } => {
                        entries.push(entry.encode());
                        replies.push(reply);
                    }
                    // Rule changes wait for their entry by polling (`await_governance_entry`);
                    // their transaction already woke the sequencer.
                    AppendJob::DrainGovernanceOutbox { reply } => {
                        let _ = reply.send(Ok(()));
                    }
                }
            }
            let mut replies = replies.into_iter();
            for chunk in entries.chunks(QUEUE_ROWS_PER_STATEMENT) {
                let chunk_replies: Vec<Reply> = replies.by_ref().take(chunk.len()).collect();
                match self.enqueue(chunk).await {
                    Ok(queue_ids) => {
                        let now = Instant::now();
                        let mut waiting = self.waiting.lock();
                        for (queue_id, reply) in queue_ids.into_iter().zip(chunk_replies) {
                            waiting.insert(queue_id, (reply, now));
                        }
                        drop(waiting);
                        self.waiting.changed.notify_one();
                    }
                    Err(error) => {
                        tracing::error!(error = %ErrorChain(&error), entries = chunk.len(), "queueing ledger entries failed; refusing them");
                        for reply in chunk_replies {
                            let _ = reply.send(Err(LedgerError::Store(error.clone())));
                        }
                    }
                }
            }
        }
    }

    /// Inserts the encoded entries and wakes the sequencer, in ONE statement (so one round
    /// trip and one commit: durable when it returns); returns their queue ids in order.
    async fn enqueue(&self, entries: &[Vec<u8>]) -> Result<Vec<i64>, StoreError> {
        let queued_at = crate::registry::now_unix_micros();
        let mut insert = StatementBuilder::new(
            Placeholders::Numbered,
            "WITH queued AS (INSERT INTO ledger_queue (node, entry, queued_at) ",
        );
        insert.push_values(entries, |values, entry| {
            values
                .bind(self.node.clone())
                .bind(entry.clone())
                .bind(queued_at);
        });
        insert.push(" RETURNING queue_id) SELECT queued.queue_id FROM queued, (SELECT pg_notify(");
        insert.push_bind(QUEUED_CHANNEL);
        insert.push(", '')) AS notified");
        let mut queue_ids = Vec::with_capacity(entries.len());
        for row in insert.build()?.fetch_all(&self.pool).await? {
            queue_ids.push(row.try_get::<i64, _>("queue_id")?);
        }
        // Identity values are drawn row by row in VALUES order, so sorted ids match the entries'
        // order whatever order RETURNING used.
        queue_ids.sort_unstable();
        Ok(queue_ids)
    }
}

/// Answers waiting transfers once the sequencer has placed their entries.
pub(super) struct ReceiptPoller {
    pub(super) pool: AnyPool,
    pub(super) url: String,
    pub(super) waiting: Arc<Waiting>,
}

impl ReceiptPoller {
    /// Answers waiting transfers until `stop` is raised and none waits (raised once the queue
    /// writer has ended, so none can come).
    pub(super) async fn run(self, mut stop: StopSignal) {
        let mut listener = None;
        loop {
            if self.waiting.lock().is_empty() {
                if stop.is_raised() {
                    return;
                }
                tokio::select! {
                    () = self.waiting.changed.notified() => {}
                    () = stop.raised() => continue,
                }
            }
            if let Err(error) = self.resolve_sequenced().await {
                tracing::warn!(error = %ErrorChain(&error), "reading sequenced ledger entries failed; retrying");
                tokio::time::sleep(FALLBACK_POLL).await;
                continue;
            }
            self.expire_overdue();
            if self.waiting.lock().is_empty() {
                continue;
            }
            // Wait for the sequencer's notification (or a new batch, or the fallback tick).
            if listener.is_none() {
                listener = listen(&self.url, SEQUENCED_CHANNEL).await;
            }
            let notified = async {
                match listener.as_mut() {
                    Some(listener) => listener.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = notified => if received.is_err() { listener = None },
                () = self.waiting.changed.notified() => {}
                () = tokio::time::sleep(FALLBACK_POLL) => {}
            }
        }
    }

    async fn resolve_sequenced(&self) -> Result<(), StoreError> {
        let bounds = {
            let waiting = self.waiting.lock();
            waiting
                .keys()
                .next()
                .copied()
                .zip(waiting.keys().last().copied())
        };
        let Some((first, last)) = bounds else {
            return Ok(());
        };
        let rows = sqlx::query(
            "SELECT queue_id, leaf_index, leaf_hash FROM ledger_sequenced
             WHERE queue_id BETWEEN $1 AND $2",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        let mut waiting = self.waiting.lock();
        for row in rows {
            let queue_id: i64 = row.try_get("queue_id")?;
            let Some((reply, _)) = waiting.remove(&queue_id) else {
                continue;
            };
            let leaf_index: i64 = row.try_get("leaf_index")?;
            let leaf_hash: Vec<u8> = row.try_get("leaf_hash")?;
            let receipt = match (u64::try_from(leaf_index), Hash::try_from(leaf_hash)) {
                (Ok(index), Ok(leaf_hash)) => Ok(Receipt { index, leaf_hash }),
                _ => Err(LedgerError::Inconsistent(format!(
                    "sequenced entry {leaf_index} has a malformed index or hash"
                ))),
            };
            let _ = reply.send(receipt);
        }
        Ok(())
    }

    fn expire_overdue(&self) {
        let mut waiting = self.waiting.lock();
        let overdue: Vec<i64> = waiting
            .iter()
            .filter(|(_, (_, since))| since.elapsed() > SEQUENCING_TIMEOUT)
            .map(|(queue_id, _)| *queue_id)
            .collect();
        for queue_id in overdue {
            if let Some((reply, _)) = waiting.remove(&queue_id) {
                let _ = reply.send(Err(LedgerError::NotSequenced {
                    waited: SEQUENCING_TIMEOUT,
                }));
            }
        }
    }
}

/// A listener on `channel`, or `None` (logged) if PostgreSQL cannot be reached right now.
pub(super) async fn listen(url: &str, channel: &str) -> Option<sqlx::postgres::PgListener> {
    let connected = async {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), channel, "cannot listen for ledger notifications; polling");
            None
        }
    }
}
