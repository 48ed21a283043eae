//! The log signer of a PostgreSQL ledger shared by several broker nodes (the Trillian
//! log-signer pattern): exactly one node at a time holds a PostgreSQL advisory lock and moves
//! queued entries into the Merkle tree.
//!
//! Every node runs this task. It opens its own connection and tries the session-level advisory
//! lock every [`ELECTION_INTERVAL`]; the holder loads the tree's frontier and then, batch after
//! batch, in one transaction on that same connection: takes queued entries in queue order,
//! assigns them the next indices, writes entries and tree nodes, records `queue id -> index` in
//! `ledger_sequenced`, deletes them from the queue, and notifies the nodes. If the holder dies,
//! PostgreSQL ends its session and releases the lock; another node takes it at its next try and
//! carries on from the tree in the database. Two sequencers can never both commit: the lock
//! serialises them, and if it did not, the primary key on `ledger_entries.leaf_index` would
//! reject the second one's indices.

use std::time::Duration;

use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::watch;

use super::queue::{QUEUED_CHANNEL, SEQUENCED_CHANNEL, listen};
use crate::error_chain::ErrorChain;
use crate::ledger::sequencing::{decode_outbox_entry, load_range, sequence, write_sequenced};
use crate::ledger::{LedgerError, TreeHead};
use crate::shutdown::StopSignal;
use crate::store::statement::{Placeholders, StatementBuilder};
use kruispunt_transparency::{CompactRange, LedgerEntry, LedgerRecord};

/// How often a node that is not the sequencer tries to become it.
pub const ELECTION_INTERVAL: Duration = Duration::from_millis(500);
/// The advisory lock key: "kruispun" in ASCII. Advisory locks are per database, so brokers on
/// different databases of one PostgreSQL cluster never contend.
const SEQUENCER_LOCK_KEY: i64 = 0x6b72_7569_7370_756e;
/// The sequencer connection's `application_name` prefix (followed by the process id): the
/// node holding the lock is the one whose `kruispunt-sequencer-<pid>` session holds an
/// advisory lock in `pg_locks`.
pub const SEQUENCER_APPLICATION_NAME: &str = "kruispunt-sequencer";
/// The sequencer's idle wait when no notification arrives (a safety net for lost ones).
const IDLE_POLL: Duration = Duration::from_millis(100);

pub(super) struct Sequencer {
    pub(super) url: String,
    pub(super) max_batch: usize,
    pub(super) head: watch::Sender<TreeHead>,
}

impl Sequencer {
    /// Campaigns for the lock until `stop` is raised; sequences while holding it. A batch
    /// under way when `stop` is raised is committed (or fails) first; the lock goes with the
    /// connection, closed on the way out.
    pub(super) async fn run(self, mut stop: StopSignal) {
        while !stop.is_raised() {
            match self.campaign(&mut stop).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(error = %ErrorChain(&error), "ledger sequencer stopped; will campaign again")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(ELECTION_INTERVAL) => {}
                () = stop.raised() => {}
            }
        }
    }

    /// Connects, waits for the lock, then sequences until an error (which drops the connection
    /// and with it the lock) or until `stop` is raised (which closes the connection).
    async fn campaign(&self, stop: &mut StopSignal) -> Result<(), LedgerError> {
        let url = crate::store::with_application_name(&self.url, SEQUENCER_APPLICATION_NAME);
        let mut connection = tokio::select! {
            connected = AnyConnection::connect(&url) => connected?,
            () = stop.raised() => return Ok(()),
        };
        loop {
            let locked: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind(SEQUENCER_LOCK_KEY)
                .fetch_one(&mut connection)
                .await?
                .try_get("locked")?;
            if locked {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(ELECTION_INTERVAL) => {}
                () = stop.raised() => {
                    connection.close().await?;
                    return Ok(());
                }
            }
        }
        let mut range = load_range(&mut connection).await?;
        tracing::info!(
            tree_size = range.size(),
            "this node is now the ledger sequencer"
        );
        self.publish(&range);
        let mut listener = listen(&self.url, QUEUED_CHANNEL).await;
        loop {
            if stop.is_raised() {
                tracing::info!(
                    tree_size = range.size(),
                    "this node stops sequencing the ledger"
                );
                connection.close().await?;
                return Ok(());
            }
            let sequenced = self
                .sequence_next_batch(&mut connection, &mut range)
                .await?;
            if sequenced > 0 {
                continue;
            }
            match listener.as_mut() {
                Some(active) => {
                    tokio::select! {
                        received = active.recv() => if received.is_err() { listener = None },
                        () = tokio::time::sleep(IDLE_POLL) => {}
                        () = stop.raised() => {}
                    }
                }
                None => tokio::select! {
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    () = stop.raised() => {}
                },
            }
        }
    }

    /// Sequences up to `max_batch` queued entries, after every rule change waiting in the
    /// outbox, in one transaction; returns how many entries it placed.
    async fn sequence_next_batch(
        &self,
        connection: &mut AnyConnection,
        range: &mut CompactRange,
    ) -> Result<usize, LedgerError> {
        let mut transaction = connection.begin().await?;
        // The queue first, then the outbox (see the module documentation).
        let rows =
            sqlx::query("SELECT queue_id, entry FROM ledger_queue ORDER BY queue_id LIMIT $1")
                .bind(i64::try_from(self.max_batch).unwrap_or(i64::MAX))
                .fetch_all(&mut *transaction)
                .await?;
        let outbox =
            sqlx::query("SELECT outbox_id, entry FROM governance_outbox ORDER BY sequence")
                .fetch_all(&mut *transaction)
                .await?;
        if rows.is_empty() && outbox.is_empty() {
            return Ok(0);
        }
        let mut outbox_ids = Vec::with_capacity(outbox.len());
        let mut entries = Vec::with_capacity(outbox.len() + rows.len());
        for row in &outbox {
            outbox_ids.push(row.try_get::<i64, _>("outbox_id")?);
            let bytes: Vec<u8> = row.try_get("entry")?;
            entries.push(decode_outbox_entry(&bytes)?);
        }
        let mut queue_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            queue_ids.push(row.try_get::<i64, _>("queue_id")?);
            let bytes: Vec<u8> = row.try_get("entry")?;
            entries.push(LedgerRecord::Transfer(
                LedgerEntry::decode(&bytes).map_err(|error| {
                    LedgerError::Inconsistent(format!("a queued entry does not decode: {error}"))
                })?,
            ));
        }
        let batch = sequence(range, entries)?;
        write_sequenced(&mut transaction, &batch).await?;
        if !outbox_ids.is_empty() {
            let mut drained = StatementBuilder::new(
                Placeholders::Numbered,
                "DELETE FROM governance_outbox WHERE outbox_id IN ",
            );
            drained.push_list(outbox_ids.iter().copied());
            drained.build()?.execute(&mut *transaction).await?;
        }
        if queue_ids.is_empty() {
            transaction.commit().await?;
            *range = batch.range;
            self.publish(range);
            return Ok(outbox_ids.len());
        }
        let mut record = StatementBuilder::new(
            Placeholders::Numbered,
            "INSERT INTO ledger_sequenced (queue_id, leaf_index, leaf_hash) ",
        );
        record.push_values(
            queue_ids
                .iter()
                .zip(batch.receipts().skip(outbox_ids.len())),
            |values, (queue_id, receipt)| {
                values
                    .bind(*queue_id)
                    .bind(i64::try_from(receipt.index).unwrap_or(i64::MAX))
                    .bind(receipt.leaf_hash.to_vec());
            },
        );
        record.build()?.execute(&mut *transaction).await?;
        let mut dequeue = StatementBuilder::new(
            Placeholders::Numbered,
            "DELETE FROM ledger_queue WHERE queue_id IN ",
        );
        dequeue.push_list(queue_ids.iter().copied());
        dequeue.build()?.execute(&mut *transaction).await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(SEQUENCED_CHANNEL)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        *range = batch.range;
        self.publish(range);
        Ok(outbox_ids.len() + queue_ids.len())
    }

    fn publish(&self, range: &CompactRange) {
        let _ = self.head.send(TreeHead {
            size: range.size(),
            root: range.root(),
        });
    }
}
