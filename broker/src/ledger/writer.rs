//! Group commit: the single task that appends entries to the ledger.
//!
//! Transfers hand their entry to the writer through a channel and wait. The writer takes every
//! entry queued at that moment (up to `max_batch`), assigns consecutive indices, extends the
//! Merkle tree's compact range, and writes entries and new tree nodes in ONE transaction. Only
//! after the commit (durable under `synchronous = FULL`) does any waiter get its receipt; if the
//! commit fails, every waiter of the batch gets an error and the in-memory tree is left as it
//! was, so the request fails closed and the next batch reuses the indices.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};

use super::entry::LedgerEntry;
use super::{LedgerError, Receipt, TreeHead};
use crate::store::StoreError;
use crate::transparency::{CompactRange, Hash, leaf_hash};

/// SQLite allows 32,766 bound parameters per statement; stay well below.
const MAX_ROWS_PER_STATEMENT: usize = 2_000;

pub(super) struct AppendJob {
    pub(super) entry: LedgerEntry,
    pub(super) reply: oneshot::Sender<Result<Receipt, LedgerError>>,
}

pub(super) struct Writer {
    pub(super) pool: SqlitePool,
    pub(super) range: CompactRange,
    pub(super) max_batch: usize,
    pub(super) head: watch::Sender<TreeHead>,
}

struct PreparedRow {
    leaf_index: u64,
    leaf_hash: Hash,
    entry_bytes: Vec<u8>,
    entry: LedgerEntry,
}

impl Writer {
    pub(super) async fn run(mut self, mut jobs: mpsc::Receiver<AppendJob>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while jobs.recv_many(&mut batch, self.max_batch).await > 0 {
            self.commit_batch(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit_batch(&mut self, batch: Vec<AppendJob>) {
        let mut range = self.range.clone();
        let mut rows = Vec::with_capacity(batch.len());
        let mut nodes = Vec::with_capacity(batch.len() * 2);
        let mut replies = Vec::with_capacity(batch.len());
        for mut job in batch {
            let leaf_index = range.size();
            job.entry.leaf_index = leaf_index;
            let entry_bytes = job.entry.encode();
            let leaf = leaf_hash(&entry_bytes);
            nodes.extend(range.append(leaf));
            rows.push(PreparedRow {
                leaf_index,
                leaf_hash: leaf,
                entry_bytes,
                entry: job.entry,
            });
            replies.push((
                job.reply,
                Receipt {
                    index: leaf_index,
                    leaf_hash: leaf,
                },
            ));
        }
        let started = std::time::Instant::now();
        let written = write_rows(&self.pool, &rows, &nodes).await;
        tracing::debug!(
            entries = rows.len(),
            micros = started.elapsed().as_micros(),
            "ledger group commit"
        );
        match written {
            Ok(()) => {
                self.range = range;
                let _ = self.head.send(TreeHead {
                    size: self.range.size(),
                    root: self.range.root(),
                });
                for (reply, receipt) in replies {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(error) => {
                tracing::error!(%error, entries = rows.len(), "ledger commit failed; refusing the batch");
                for (reply, _) in replies {
                    let _ = reply.send(Err(LedgerError::Store(error.clone())));
                }
            }
        }
    }
}

async fn write_rows(
    pool: &SqlitePool,
    rows: &[PreparedRow],
    nodes: &[(u8, u64, Hash)],
) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT / 10) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO ledger_entries (leaf_index, leaf_hash, entry, recorded_at, consumer, provider, data_type, purpose, outcome, subject_pseudonym) ",
        );
        insert.push_values(chunk, |mut values, row| {
            values
                .push_bind(to_sql_index(row.leaf_index))
                .push_bind(row.leaf_hash.as_slice())
                .push_bind(row.entry_bytes.as_slice())
                .push_bind(row.entry.recorded_at_micros)
                .push_bind(row.entry.consumer.as_str())
                .push_bind(row.entry.provider.as_str())
                .push_bind(row.entry.data_type.as_str())
                .push_bind(row.entry.purpose.as_str())
                .push_bind(row.entry.outcome.as_str())
                .push_bind(row.entry.subject_pseudonym.as_slice());
        });
        insert.build().execute(&mut *transaction).await?;
    }
    for chunk in nodes.chunks(MAX_ROWS_PER_STATEMENT / 2) {
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO ledger_nodes (position, hash) ");
        insert.push_values(chunk, |mut values, (level, index, hash)| {
            values
                .push_bind(flat_position(*level, *index))
                .push_bind(hash.as_slice());
        });
        insert.build().execute(&mut *transaction).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The in-order ("flat tree") position of the perfect subtree `(level, index)`: leaves at even
/// positions, each parent between its children. Nodes created by one append are adjacent.
pub(super) fn flat_position(level: u8, index: u64) -> i64 {
    let level = u32::from(level);
    let position = index
        .checked_shl(level + 1)
        .and_then(|shifted| shifted.checked_add((1_u64 << level) - 1))
        .unwrap_or(u64::MAX);
    to_sql_index(position)
}

/// Ledger indices are stored as SQLite INTEGER (i64); 2^63 entries are out of reach.
pub(super) fn to_sql_index(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::flat_position;

    #[test]
    fn flat_positions_put_parents_between_children() {
        assert_eq!(
            [(0, 0), (1, 0), (0, 1), (2, 0), (0, 2), (1, 1), (0, 3)]
                .map(|(level, index)| flat_position(level, index)),
            [0, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(flat_position(3, 1), 23);
    }
}
