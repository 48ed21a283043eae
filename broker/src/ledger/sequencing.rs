//! Sequencing: turning entries into leaves of the Merkle tree. Shared by both ways entries
//! reach the tree: the SQLite group commit (`writer`) and the PostgreSQL log signer
//! (`sequencer`).
//!
//! [`sequence`] assigns consecutive indices from the tree's compact range, encodes each entry
//! (a [`LedgerRecord`] of any kind: transfers, and the rule changes drained from
//! `governance_outbox`) with its index, and computes the leaf hashes and the new subtree nodes. The rows are then
//! written either row by row through prepared statements on the SQLite writer's own connection
//! ([`SequencedBatch::write_sqlite`]) or as multi-row inserts in the PostgreSQL sequencer's
//! transaction ([`write_sequenced`]). The caller adopts the extended range only after that
//! transaction commits, so a failed commit leaves the in-memory tree as it was.

use sqlx::{AnyConnection, Row};

use super::{LedgerError, Receipt};
use crate::store::StoreError;
use crate::store::statement::{Placeholders, StatementBuilder};
use kruispunt_transparency::{CompactRange, Hash, LedgerRecord, leaf_hash, root_nodes};

/// Bound parameters per statement: SQLite allows 32,766 and PostgreSQL 65,535; stay well below.
const MAX_PARAMETERS_PER_STATEMENT: usize = 2_000;
/// Columns of one `ledger_entries` row.
const ENTRY_COLUMNS: usize = 12;
/// The start of both backends' entry inserts: the [`ENTRY_COLUMNS`] columns, in bind order.
const INSERT_ENTRIES: &str = "INSERT INTO ledger_entries (leaf_index, leaf_hash, entry, recorded_at, consumer, provider, data_type, purpose, outcome, subject_pseudonym, kind, governance_sequence) ";

/// Entries with their indices, leaf hashes and the tree nodes they create, ready to write.
pub(super) struct SequencedBatch {
    rows: Vec<SequencedRow>,
    nodes: Vec<(u8, u64, Hash)>,
    /// The tree after this batch.
    pub(super) range: CompactRange,
}

struct SequencedRow {
    leaf_hash: Hash,
    entry_bytes: Vec<u8>,
    columns: QueryColumns,
}

/// The copies of entry fields `ledger_entries` keeps for queries (the verifier never trusts
/// them). A rule change fills only its kind and sequence; its transfer columns stay empty, so
/// no transfer query (which filters on `kind = 1` anyway) can match it.
struct QueryColumns {
    leaf_index: u64,
    recorded_at_micros: i64,
    consumer: String,
    provider: String,
    data_type: String,
    purpose: String,
    outcome: &'static str,
    subject_pseudonym: Vec<u8>,
    kind: i64,
    governance_sequence: Option<i64>,
}

impl QueryColumns {
    fn of(record: &LedgerRecord) -> Self {
        let mut columns = Self {
            leaf_index: record.leaf_index(),
            recorded_at_micros: 0,
            consumer: String::new(),
            provider: String::new(),
            data_type: String::new(),
            purpose: String::new(),
            outcome: "",
            subject_pseudonym: Vec::new(),
            kind: i64::from(record.kind() as u8),
            governance_sequence: None,
        };
        match record {
            LedgerRecord::Transfer(entry) => {
                columns.recorded_at_micros = entry.recorded_at_micros;
                columns.consumer.clone_from(&entry.consumer);
                columns.provider.clone_from(&entry.provider);
                columns.data_type.clone_from(&entry.data_type);
                columns.purpose.clone_from(&entry.purpose);
                columns.outcome = entry.outcome.as_str();
                columns.subject_pseudonym = entry.subject_pseudonym.to_vec();
            }
            LedgerRecord::Governance(entry) => {
                columns.recorded_at_micros = entry.recorded_at_micros;
                columns.governance_sequence = Some(to_sql_index(entry.sequence));
            }
            LedgerRecord::ChangePublished(entry) => {
                columns.recorded_at_micros = entry.recorded_at_micros;
            }
            LedgerRecord::NoticeDelivered(entry) => {
                columns.recorded_at_micros = entry.recorded_at_micros;
            }
        }
        columns
    }
}

impl SequencedBatch {
    /// The receipts, in the order the entries were given.
    pub(super) fn receipts(&self) -> impl Iterator<Item = Receipt> + '_ {
        self.rows.iter().map(|row| Receipt {
            index: row.columns.leaf_index,
            leaf_hash: row.leaf_hash,
        })
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// Places `entries` after the tree `range`, in order. Fails, placing nothing, if they do not fit
/// (a tree holds at most `u64::MAX` leaves).
pub(super) fn sequence(
    range: &CompactRange,
    entries: Vec<LedgerRecord>,
) -> Result<SequencedBatch, LedgerError> {
    let mut range = range.clone();
    let mut rows = Vec::with_capacity(entries.len());
    let mut nodes = Vec::with_capacity(entries.len() * 2);
    for mut entry in entries {
        entry.set_leaf_index(range.size());
        let entry_bytes = entry.encode();
        let leaf = leaf_hash(&entry_bytes);
        let completed_nodes = range
            .append(leaf)
            .map_err(|error| LedgerError::Inconsistent(error.to_string()))?;
        nodes.extend(completed_nodes);
        rows.push(SequencedRow {
            leaf_hash: leaf,
            entry_bytes,
            columns: QueryColumns::of(&entry),
        });
    }
    Ok(SequencedBatch { rows, nodes, range })
}

/// A rule change's entry as `governance_outbox` holds it (encoded with leaf index 0); anything
/// else there is an inconsistency the writer refuses to sequence.
pub(super) fn decode_outbox_entry(bytes: &[u8]) -> Result<LedgerRecord, LedgerError> {
    match LedgerRecord::decode(bytes) {
        Ok(record @ LedgerRecord::Governance(_)) => Ok(record),
        Ok(other) => Err(LedgerError::Inconsistent(format!(
            "the governance outbox holds an entry of kind {}",
            other.kind().as_str()
        ))),
        Err(error) => Err(LedgerError::Inconsistent(format!(
            "a governance outbox entry does not decode: {error}"
        ))),
    }
}

/// Writes the batch's entries and tree nodes through `connection` (inside the caller's
/// transaction), one statement per chunk.
pub(super) async fn write_sequenced(
    connection: &mut AnyConnection,
    batch: &SequencedBatch,
) -> Result<(), StoreError> {
    let placeholders = Placeholders::for_backend_name(connection.backend_name());
    for chunk in batch.entry_chunks() {
        let mut insert = StatementBuilder::new(placeholders, "");
        push_entries_insert(&mut insert, chunk);
        insert.build()?.execute(&mut *connection).await?;
    }
    for chunk in batch.node_chunks() {
        let mut insert = StatementBuilder::new(placeholders, "");
        push_nodes_insert(&mut insert, chunk);
        insert.build()?.execute(&mut *connection).await?;
    }
    Ok(())
}

impl SequencedBatch {
    /// Writes the batch's entries and tree nodes through the SQLite writer's `transaction`: one
    /// prepared statement per table, bound and run once per row. (SQLite runs a cached
    /// single-row insert faster than it parses and binds a multi-row one.)
    pub(super) fn write_sqlite(
        &self,
        transaction: &rusqlite::Transaction<'_>,
    ) -> rusqlite::Result<()> {
        let mut insert_entry = transaction.prepare_cached(&format!(
            "{INSERT_ENTRIES}VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))?;
        for row in &self.rows {
            let columns = &row.columns;
            insert_entry.execute(rusqlite::params![
                to_sql_index(columns.leaf_index),
                row.leaf_hash.as_slice(),
                row.entry_bytes.as_slice(),
                columns.recorded_at_micros,
                columns.consumer,
                columns.provider,
                columns.data_type,
                columns.purpose,
                columns.outcome,
                columns.subject_pseudonym.as_slice(),
                columns.kind,
                columns.governance_sequence,
            ])?;
        }
        let mut insert_node = transaction
            .prepare_cached("INSERT INTO ledger_nodes (position, hash) VALUES (?1, ?2)")?;
        for (level, index, hash) in &self.nodes {
            insert_node.execute(rusqlite::params![
                flat_position(*level, *index),
                hash.as_slice()
            ])?;
        }
        Ok(())
    }

    fn entry_chunks(&self) -> std::slice::Chunks<'_, SequencedRow> {
        self.rows
            .chunks(MAX_PARAMETERS_PER_STATEMENT / ENTRY_COLUMNS)
    }

    fn node_chunks(&self) -> std::slice::Chunks<'_, (u8, u64, Hash)> {
        self.nodes.chunks(MAX_PARAMETERS_PER_STATEMENT / 2)
    }
}

fn push_entries_insert(statement: &mut StatementBuilder, rows: &[SequencedRow]) {
    statement.push(INSERT_ENTRIES);
    statement.push_values(rows, |values, row| {
        let columns = &row.columns;
        values
            .bind(to_sql_index(columns.leaf_index))
            .bind(row.leaf_hash.to_vec())
            .bind(row.entry_bytes.clone())
            .bind(columns.recorded_at_micros)
            .bind(columns.consumer.clone())
            .bind(columns.provider.clone())
            .bind(columns.data_type.clone())
            .bind(columns.purpose.clone())
            .bind(columns.outcome)
            .bind(columns.subject_pseudonym.clone())
            .bind(columns.kind)
            .bind(columns.governance_sequence);
    });
}

fn push_nodes_insert(statement: &mut StatementBuilder, nodes: &[(u8, u64, Hash)]) {
    statement.push("INSERT INTO ledger_nodes (position, hash) ");
    statement.push_values(nodes, |values, (level, index, hash)| {
        values
            .bind(flat_position(*level, *index))
            .bind(hash.to_vec());
    });
}

/// The number of entries in the stored tree.
pub(super) async fn tree_size<'c, E>(executor: E) -> Result<u64, LedgerError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let size: i64 =
        sqlx::query("SELECT COALESCE(MAX(leaf_index) + 1, 0) AS size FROM ledger_entries")
            .fetch_one(executor)
            .await?
            .try_get("size")?;
    u64::try_from(size).map_err(|_| LedgerError::Inconsistent("negative ledger size".to_owned()))
}

/// Reads the tree's size and frontier (its O(log n) root subtrees) from the database.
pub(super) async fn load_range(
    connection: &mut AnyConnection,
) -> Result<CompactRange, LedgerError> {
    let size = tree_size(&mut *connection).await?;
    let mut frontier = Vec::new();
    for (level, index) in root_nodes(size) {
        let row = sqlx::query("SELECT hash FROM ledger_nodes WHERE position = $1")
            .bind(flat_position(level, index))
            .fetch_optional(&mut *connection)
            .await?
            .ok_or_else(|| {
                LedgerError::Inconsistent(format!("tree node ({level}, {index}) is missing"))
            })?;
        let hash: Vec<u8> = row.try_get("hash")?;
        frontier.push(hash.try_into().map_err(|_| {
            LedgerError::Inconsistent(format!("tree node ({level}, {index}) is not 32 bytes"))
        })?);
    }
    CompactRange::from_parts(size, frontier)
        .map_err(|error| LedgerError::Inconsistent(error.to_string()))
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

/// Ledger indices are stored as 64-bit signed integers; 2^63 entries are out of reach.
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
