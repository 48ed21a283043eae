//! Reading the ledger: entries, checkpoints, transfer queries, and Merkle proofs built from the
//! stored complete-subtree hashes, so a proof costs one query for O(log n) rows, never a rebuild.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::LedgerError;
use super::sequencing::{flat_position, to_sql_index};
use crate::store::Database;
use crate::store::statement::{Placeholders, StatementBuilder};
use kruispunt_transparency::{
    Hash, NodeRecipe, RecordedEntry, SubtreePosition, assemble, consistency_proof_nodes,
    inclusion_proof_nodes, required_subtrees,
};

/// One stored entry, as the verifier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its position.
    pub leaf_index: u64,
    /// The leaf hash recorded at write time.
    pub leaf_hash: Hash,
    /// The canonical entry bytes.
    pub entry: Vec<u8>,
}

impl StoredEntry {
    /// The entry as the verifier takes it ([`kruispunt_transparency::LedgerVerification`]).
    pub fn as_recorded(&self) -> RecordedEntry<'_> {
        RecordedEntry {
            leaf_index: self.leaf_index,
            entry: &self.entry,
            recorded_leaf_hash: self.leaf_hash,
        }
    }
}

/// One stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub tree_size: u64,
    /// Root hash it commits to.
    pub root_hash: Hash,
    /// The C2SP signed note.
    pub signed_note: String,
}

/// Filters of an auditor's transfer query; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct TransferFilter {
    /// Consumer or provider agency id.
    pub agency: Option<String>,
    /// Data type id.
    pub data_type: Option<String>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Outcome token (`delivered`, `refused.no_authorization`, …).
    pub outcome: Option<String>,
    /// Recorded at or after (Unix microseconds).
    pub from_micros: Option<i64>,
    /// Recorded before (Unix microseconds).
    pub until_micros: Option<i64>,
    /// Subject pseudonyms: entries holding any of them (the subject access log gives one per
    /// pseudonym epoch). `Some` of an empty list matches nothing.
    pub subject_pseudonyms: Option<Vec<Hash>>,
    /// Only entries below this index (paging, newest first).
    pub before_index: Option<u64>,
}

/// Read access to the ledger tables.
#[derive(Clone, Debug)]
pub struct LedgerReader {
    pool: AnyPool,
    placeholders: Placeholders,
}

fn hash_column(row: &AnyRow, column: &str) -> Result<Hash, LedgerError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    bytes
        .try_into()
        .map_err(|_| LedgerError::Inconsistent(format!("stored {column} is not 32 bytes")))
}

fn index_column(row: &AnyRow, column: &str) -> Result<u64, LedgerError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| LedgerError::Inconsistent(format!("negative {column}")))
}

fn stored_entry(row: &AnyRow) -> Result<StoredEntry, LedgerError> {
    Ok(StoredEntry {
        leaf_index: index_column(row, "leaf_index")?,
        leaf_hash: hash_column(row, "leaf_hash")?,
        entry: row.try_get("entry")?,
    })
}

fn stored_checkpoint(row: &AnyRow) -> Result<StoredCheckpoint, LedgerError> {
    Ok(StoredCheckpoint {
        tree_size: index_column(row, "tree_size")?,
        root_hash: hash_column(row, "root_hash")?,
        signed_note: row.try_get("signed_note")?,
    })
}

impl LedgerReader {
    /// Read access to the ledger tables of `database` (for the broker's own ledger, and for
    /// exports by an operator with database access).
    pub fn for_database(database: &Database) -> Self {
        Self {
            pool: database.pool().clone(),
            placeholders: Placeholders::for_backend(database.backend()),
        }
    }

    /// The inclusion proof of leaf `leaf_index` in the tree of size `tree_size`. The caller
    /// checks `tree_size` against the durable size.
    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        let recipes = inclusion_proof_nodes(leaf_index, tree_size)?;
        self.assemble_proof(&recipes).await
    }

    /// The consistency proof between the trees of sizes `old_size` and `new_size`.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        let recipes = consistency_proof_nodes(old_size, new_size)?;
        self.assemble_proof(&recipes).await
    }

    async fn assemble_proof(&self, recipes: &[NodeRecipe]) -> Result<Vec<Hash>, LedgerError> {
        let nodes = self.subtree_hashes(&required_subtrees(recipes)).await?;
        Ok(assemble(recipes, |level, index| {
            nodes.get(&(level, index)).copied()
        })?)
    }

    async fn subtree_hashes(
        &self,
        positions: &[SubtreePosition],
    ) -> Result<HashMap<SubtreePosition, Hash>, LedgerError> {
        let mut nodes = HashMap::with_capacity(positions.len());
        if positions.is_empty() {
            return Ok(nodes);
        }
        let by_flat_position: HashMap<i64, SubtreePosition> = positions
            .iter()
            .map(|&(level, index)| (flat_position(level, index), (level, index)))
            .collect();
        let mut query = StatementBuilder::new(
            self.placeholders,
            "SELECT position, hash FROM ledger_nodes WHERE position IN ",
        );
        query.push_list(by_flat_position.keys().copied());
        let rows = query.build()?.fetch_all(&self.pool).await?;
        for row in &rows {
            let flat: i64 = row.try_get("position")?;
            if let Some(position) = by_flat_position.get(&flat) {
                nodes.insert(*position, hash_column(row, "hash")?);
            }
        }
        Ok(nodes)
    }

    /// Up to `limit` entries from `start_index` on, in index order.
    pub async fn entries(
        &self,
        start_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, LedgerError> {
        let rows = sqlx::query(
            "SELECT leaf_index, leaf_hash, entry FROM ledger_entries
             WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2",
        )
        .bind(to_sql_index(start_index))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_entry).collect()
    }

    /// Transfer entries (kind 1: never rule changes) matching `filter`, newest first, at most
    /// `limit`.
    pub async fn query(
        &self,
        filter: &TransferFilter,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, LedgerError> {
        let mut query = StatementBuilder::new(
            self.placeholders,
            "SELECT leaf_index, leaf_hash, entry FROM ledger_entries WHERE kind = 1",
        );
        if let Some(agency) = &filter.agency {
            query
                .push(" AND (consumer = ")
                .push_bind(agency.clone())
                .push(" OR provider = ")
                .push_bind(agency.clone())
                .push(")");
        }
        for (column, value) in [
            ("data_type", &filter.data_type),
            ("purpose", &filter.purpose),
            ("outcome", &filter.outcome),
        ] {
            if let Some(value) = value {
                query
                    .push(" AND ")
                    .push(column)
                    .push(" = ")
                    .push_bind(value.clone());
            }
        }
        if let Some(from) = filter.from_micros {
            query.push(" AND recorded_at >= ").push_bind(from);
        }
        if let Some(until) = filter.until_micros {
            query.push(" AND recorded_at < ").push_bind(until);
        }
        match &filter.subject_pseudonyms {
            None => {}
            Some(pseudonyms) if pseudonyms.is_empty() => {
                query.push(" AND 1 = 0");
            }
            Some(pseudonyms) => {
                // Indexed entries from the subject index, the rest from the unindexed tail.
                query
                    .push(
                        " AND leaf_index IN (SELECT leaf_index FROM ledger_subject_index WHERE subject_pseudonym IN ",
                    )
                    .push_list(pseudonyms.iter().map(|pseudonym| pseudonym.to_vec()))
                    .push(
                        " UNION ALL SELECT leaf_index FROM ledger_entries WHERE leaf_index >= \
                         (SELECT indexed_through FROM ledger_subject_index_state) AND subject_pseudonym IN ",
                    )
                    .push_list(pseudonyms.iter().map(|pseudonym| pseudonym.to_vec()))
                    .push(")");
            }
        }
        if let Some(before) = filter.before_index {
            query
                .push(" AND leaf_index < ")
                .push_bind(to_sql_index(before));
        }
        query
            .push(" ORDER BY leaf_index DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build()?.fetch_all(&self.pool).await?;
        rows.iter().map(stored_entry).collect()
    }

    /// The pool it reads through (the ledger's own waits use it too).
    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the rule change numbered `sequence` is in the tree.
    pub async fn has_governance_entry(&self, sequence: u64) -> Result<bool, LedgerError> {
        let row = sqlx::query(
            "SELECT leaf_index FROM ledger_entries WHERE governance_sequence = $1 AND kind = 2",
        )
        .bind(to_sql_index(sequence))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The number of entries in the tree, read from the database.
    pub async fn tree_size(&self) -> Result<u64, LedgerError> {
        super::sequencing::tree_size(&self.pool).await
    }

    /// The newest checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let row = sqlx::query(
            "SELECT tree_size, root_hash, CAST(signed_note AS TEXT) AS signed_note FROM ledger_checkpoints
             ORDER BY tree_size DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(stored_checkpoint).transpose()
    }

    /// Up to `limit` checkpoints with a tree size of at least `from_size`, oldest first.
    pub async fn checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        let rows = sqlx::query(
            "SELECT tree_size, root_hash, CAST(signed_note AS TEXT) AS signed_note FROM ledger_checkpoints
             WHERE tree_size >= $1 ORDER BY tree_size LIMIT $2",
        )
        .bind(to_sql_index(from_size))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_checkpoint).collect()
    }
}
