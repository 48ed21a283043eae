//! The persons repertory table: which consumer has which subject (by pseudonym) in its files.
//! Registrations and their ends run through a rule change's transaction (`connection`, from
//! [`RuleChange`](super::RuleChange)).

use sqlx::{AnyConnection, AnyPool, Row};

use kruispunt_adapter::identity::AgencyId;

use super::StoreError;
use crate::registry::SubjectRegistration;

/// A registration as stored: what the consumer stated, when it was recorded and ended.
#[derive(Debug, Clone)]
pub struct StoredSubjectRegistration {
    /// The consumer.
    pub consumer: AgencyId,
    /// The subject's pseudonym under the registry's secret (epoch 0).
    pub subject_pseudonym: [u8; 32],
    /// The capacity as stored: its keyed digest in hex, or a code from before digests.
    pub capacity: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds; `None` is open-ended.
    pub valid_until: Option<i64>,
    /// Unix seconds.
    pub registered_at: i64,
    /// Unix seconds; `None` while not ended.
    pub ended_at: Option<i64>,
}

/// Reads and writes subject registrations.
#[derive(Clone, Debug)]
pub struct RepertoryStore {
    pool: AnyPool,
}

impl RepertoryStore {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Records a registration.
    pub async fn register(
        &self,
        connection: &mut AnyConnection,
        registration: &SubjectRegistration,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subject_registrations (consumer, subject_pseudonym, capacity, valid_from, valid_until, registered_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(registration.consumer.as_str())
        .bind(registration.subject_pseudonym.as_slice())
        .bind(hex::encode(registration.capacity_digest))
        .bind(registration.valid_from)
        .bind(registration.valid_until)
        .bind(now)
        .execute(connection)
        .await?;
        Ok(())
    }

    /// Ends the consumer's registrations of a subject (in one capacity, or all); returns how many.
    /// A capacity is given as its keyed digest (how registrations store it) and as its code
    /// (how registrations from before digests, scrubbed to codes by migration 0006, store it).
    pub async fn unregister(
        &self,
        connection: &mut AnyConnection,
        consumer: &str,
        subject_pseudonym: &[u8; 32],
        capacity: Option<([u8; 32], &str)>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let (digest, code) = match capacity {
            Some((digest, code)) => (Some(hex::encode(digest)), Some(code)),
            None => (None, None),
        };
        let result = sqlx::query(
            "UPDATE subject_registrations SET ended_at = $1
             WHERE consumer = $2 AND subject_pseudonym = $3 AND ended_at IS NULL
               AND ($4 IS NULL OR capacity = $5 OR capacity = $6)",
        )
        .bind(now)
        .bind(consumer)
        .bind(subject_pseudonym.as_slice())
        .bind(digest.clone())
        .bind(digest)
        .bind(code)
        .execute(connection)
        .await?;
        Ok(result.rows_affected())
    }

    /// Every registration, in the order recorded, read through `connection` (the baseline).
    pub(crate) async fn all_in(
        connection: &mut AnyConnection,
    ) -> Result<Vec<StoredSubjectRegistration>, StoreError> {
        let rows = sqlx::query(
            "SELECT consumer, subject_pseudonym, capacity, valid_from, valid_until, registered_at, ended_at
             FROM subject_registrations ORDER BY id",
        )
        .fetch_all(connection)
        .await?;
        rows.iter()
            .map(|row| {
                let consumer: String = row.try_get("consumer")?;
                let pseudonym: Vec<u8> = row.try_get("subject_pseudonym")?;
                Ok(StoredSubjectRegistration {
                    consumer: AgencyId::parse(&consumer)
                        .map_err(|error| StoreError::corrupt("registration consumer", error))?,
                    subject_pseudonym: pseudonym.try_into().map_err(|_| StoreError::Corrupt {
                        what: "registration subject pseudonym (not 32 bytes)".to_owned(),
                        cause: None,
                    })?,
                    capacity: row.try_get("capacity")?,
                    valid_from: row.try_get("valid_from")?,
                    valid_until: row.try_get("valid_until")?,
                    registered_at: row.try_get("registered_at")?,
                    ended_at: row.try_get("ended_at")?,
                })
            })
            .collect()
    }

    /// Whether the subject is in the consumer's files at `now`.
    pub async fn is_registered(
        &self,
        consumer: &str,
        subject_pseudonym: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM subject_registrations
             WHERE consumer = $1 AND subject_pseudonym = $2 AND ended_at IS NULL
               AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $4)
             LIMIT 1",
        )
        .bind(consumer)
        .bind(subject_pseudonym.as_slice())
        .bind(now)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
