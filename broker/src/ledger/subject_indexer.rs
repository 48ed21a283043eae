//! The subject indexer: keeps `ledger_subject_index` (subject pseudonym → entry index) up to
//! date in the background, a few thousand entries per transaction, so the group commit never
//! pays for random-key index pages. Queries by subject read the index and scan the short
//! unindexed tail, so they are exact at any moment.

use std::time::Duration;

use sqlx::{AnyPool, Row};

use crate::error_chain::ErrorChain;
use crate::shutdown::StopSignal;
use crate::store::Backend;
use crate::store::StoreError;
use crate::store::statement::{Placeholders, StatementBuilder};

/// How often the indexer catches up.
const INDEX_INTERVAL: Duration = Duration::from_millis(500);
/// `ledger_entries.kind` of a transfer.
const TRANSFER_KIND: i64 = 1;
/// Most entries indexed per transaction.
const INDEX_BATCH: i64 = 5_000;

/// Catches up every [`INDEX_INTERVAL`] until `stop` is raised (a batch under way commits
/// first) or the pool closes.
pub(super) async fn run(pool: AnyPool, backend: Backend, mut stop: StopSignal) {
    let mut interval = tokio::time::interval(INDEX_INTERVAL);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = stop.raised() => return,
        }
        if pool.is_closed() {
            return;
        }
        loop {
            match index_next_batch(&pool, Placeholders::for_backend(backend)).await {
                Ok(0) => break,
                Ok(_) if stop.is_raised() => return,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %ErrorChain(&error), "subject indexing failed; retrying");
                    break;
                }
            }
        }
    }
}

/// Indexes the next batch of entries; returns how many.
async fn index_next_batch(pool: &AnyPool, placeholders: Placeholders) -> Result<usize, StoreError> {
    let mut transaction = pool.begin().await?;
    let indexed_through: i64 =
        sqlx::query("SELECT indexed_through FROM ledger_subject_index_state")
            .fetch_one(&mut *transaction)
            .await?
            .try_get("indexed_through")?;
    let rows = sqlx::query(
        "SELECT leaf_index, subject_pseudonym, kind FROM ledger_entries
         WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2",
    )
    .bind(indexed_through)
    .bind(INDEX_BATCH)
    .fetch_all(&mut *transaction)
    .await?;
    let Some(last) = rows.last() else {
        return Ok(0);
    };
    let next: i64 = last.try_get::<i64, _>("leaf_index")? + 1;
    let mut pairs: Vec<(Vec<u8>, i64)> = Vec::with_capacity(rows.len());
    for row in &rows {
        // Only transfers (kind 1) name a subject; the index moves past the other kinds.
        if row.try_get::<i64, _>("kind")? == TRANSFER_KIND {
            pairs.push((
                row.try_get("subject_pseudonym")?,
                row.try_get("leaf_index")?,
            ));
        }
    }
    let indexed = rows.len();
    for chunk in pairs.chunks(1_000) {
        let mut insert = StatementBuilder::new(
            placeholders,
            "INSERT INTO ledger_subject_index (subject_pseudonym, leaf_index) ",
        );
        insert.push_values(chunk, |values, (pseudonym, index)| {
            values.bind(pseudonym.clone()).bind(*index);
        });
        // Several broker nodes may index the same entries at once (PostgreSQL): idempotent.
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build()?.execute(&mut *transaction).await?;
    }
    sqlx::query(
        "UPDATE ledger_subject_index_state SET indexed_through = $1 WHERE indexed_through < $2",
    )
    .bind(next)
    .bind(next)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(indexed)
}
