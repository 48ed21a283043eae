//! The rule changes' transactions: `governance_state` (the sequence of the newest rule change)
//! and `governance_outbox` (committed rule changes' entries the ledger has not drained yet).
//!
//! A [`RuleChange`] is ONE database transaction: it begins by taking the next governance
//! sequence (`UPDATE governance_state SET sequence = sequence + 1 RETURNING sequence`; the row
//! lock serialises rule changes across every broker node sharing the database, and on SQLite the
//! statement takes the write lock), the stores apply the change through it, and
//! [`RuleChange::commit`] inserts the change's encoded entry into the outbox and commits. A
//! refused change (bad input, not found) drops it: the transaction rolls back and nothing, not
//! even the sequence, changes.

use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use super::StoreError;

/// Opens rule changes.
#[derive(Clone, Debug)]
pub struct GovernanceStore {
    pool: AnyPool,
}

/// One rule change under way: a transaction holding its governance sequence.
pub struct RuleChange {
    transaction: Transaction<'static, Any>,
    sequence: u64,
}

fn sequence_column(row: &sqlx::any::AnyRow) -> Result<u64, StoreError> {
    let sequence: i64 = row.try_get("sequence")?;
    u64::try_from(sequence).map_err(|_| StoreError::Corrupt {
        what: "governance sequence (negative)".to_owned(),
        cause: None,
    })
}

fn to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl GovernanceStore {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Begins a rule change: a transaction that has taken the next governance sequence.
    pub async fn begin_change(&self) -> Result<RuleChange, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE governance_state SET sequence = sequence + 1 WHERE singleton = 1
             RETURNING sequence",
        )
        .fetch_one(&mut *transaction)
        .await?;
        let sequence = sequence_column(&row)?;
        Ok(RuleChange {
            transaction,
            sequence,
        })
    }

    /// Begins the baseline (see `governance::record_baseline`): a transaction holding the
    /// `governance_state` row lock, and the sequence of the newest rule change (0: none was ever
    /// recorded).
    pub async fn begin_baseline(&self) -> Result<(BaselineChange, u64), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE governance_state SET sequence = sequence WHERE singleton = 1
             RETURNING sequence",
        )
        .fetch_one(&mut *transaction)
        .await?;
        let sequence = sequence_column(&row)?;
        Ok((
            BaselineChange {
                transaction,
                staged: Vec::new(),
            },
            sequence,
        ))
    }

    /// The sequence of the newest rule change, read through `connection` (inside the caller's
    /// snapshot).
    pub(crate) async fn current_sequence(
        connection: &mut AnyConnection,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT sequence FROM governance_state WHERE singleton = 1")
            .fetch_one(connection)
            .await?;
        sequence_column(&row)
    }
}

async fn insert_outbox(
    connection: &mut AnyConnection,
    sequence: u64,
    entry: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO governance_outbox (sequence, entry) VALUES ($1, $2)")
        .bind(to_sql(sequence))
        .bind(entry.to_vec())
        .execute(connection)
        .await?;
    Ok(())
}

impl RuleChange {
    /// This change's governance sequence.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The transaction's connection, for the stores to apply the change through.
    pub(crate) fn connection(&mut self) -> &mut AnyConnection {
        &mut self.transaction
    }

    /// Puts the change's encoded entry (leaf index 0) into the outbox and commits the change
    /// with it.
    pub async fn commit(mut self, entry: &[u8]) -> Result<(), StoreError> {
        insert_outbox(&mut self.transaction, self.sequence, entry).await?;
        self.transaction.commit().await?;
        Ok(())
    }
}

/// The baseline under way: the rule rows in force read in this transaction, and their entries
/// staged with sequences 1, 2, …
pub struct BaselineChange {
    transaction: Transaction<'static, Any>,
    staged: Vec<Vec<u8>>,
}

impl BaselineChange {
    /// The transaction's connection, for the stores to read the rules in force through.
    pub(crate) fn connection(&mut self) -> &mut AnyConnection {
        &mut self.transaction
    }

    /// The sequence the next staged entry gets.
    pub fn next_sequence(&self) -> u64 {
        u64::try_from(self.staged.len()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Stages the encoded entry of rule change [`BaselineChange::next_sequence`].
    pub fn stage(&mut self, entry: Vec<u8>) {
        self.staged.push(entry);
    }

    /// Writes the staged entries into the outbox, sets the sequence to the last one and
    /// commits; returns how many. Nothing staged: rolls back and returns 0.
    pub async fn commit(mut self) -> Result<usize, StoreError> {
        let staged = std::mem::take(&mut self.staged);
        if staged.is_empty() {
            self.transaction.rollback().await?;
            return Ok(0);
        }
        for (position, entry) in staged.iter().enumerate() {
            let sequence = u64::try_from(position).unwrap_or(u64::MAX - 1) + 1;
            insert_outbox(&mut self.transaction, sequence, entry).await?;
        }
        sqlx::query("UPDATE governance_state SET sequence = $1 WHERE singleton = 1")
            .bind(to_sql(u64::try_from(staged.len()).unwrap_or(u64::MAX)))
            .execute(&mut *self.transaction)
            .await?;
        self.transaction.commit().await?;
        Ok(staged.len())
    }
}
