//! The consents table. Grants and revocations run through a rule change's transaction
//! (`connection`, from [`RuleChange`](super::RuleChange)).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{Revocation, StoreError};
use crate::registry::Consent;

/// Reads and writes consents.
#[derive(Clone, Debug)]
pub struct ConsentStore {
    pool: AnyPool,
}

const CONSENT_COLUMNS: &str = "id, subject_pseudonym, consumer, purposes, data_types, granted_at, valid_until, revoked_at, recorded_by";

fn consent_from_row(row: &AnyRow) -> Result<Consent, StoreError> {
    let list = |column: &str| -> Result<Vec<String>, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text)
            .map_err(|error| StoreError::corrupt(format!("consent {column}"), error))
    };
    let pseudonym: Vec<u8> = row.try_get("subject_pseudonym")?;
    Ok(Consent {
        id: row.try_get("id")?,
        subject_pseudonym: pseudonym.try_into().map_err(|_| StoreError::Corrupt {
            what: "consent subject pseudonym (not 32 bytes)".to_owned(),
            cause: None,
        })?,
        consumer: row.try_get("consumer")?,
        purposes: list("purposes")?,
        data_types: list("data_types")?,
        granted_at: row.try_get("granted_at")?,
        valid_until: row.try_get("valid_until")?,
        revoked_at: row.try_get("revoked_at")?,
        recorded_by: row.try_get("recorded_by")?,
    })
}

impl ConsentStore {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Stores a new consent.
    pub async fn insert(
        &self,
        connection: &mut AnyConnection,
        consent: &Consent,
    ) -> Result<(), StoreError> {
        let purposes = serde_json::to_string(&consent.purposes)
            .map_err(|error| StoreError::encode("consent purposes", error))?;
        let data_types = serde_json::to_string(&consent.data_types)
            .map_err(|error| StoreError::encode("consent data types", error))?;
        sqlx::query(
            "INSERT INTO consents (id, subject_pseudonym, consumer, purposes, data_types, granted_at, valid_until, recorded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&consent.id)
        .bind(consent.subject_pseudonym.as_slice())
        .bind(&consent.consumer)
        .bind(purposes)
        .bind(data_types)
        .bind(consent.granted_at)
        .bind(consent.valid_until)
        .bind(&consent.recorded_by)
        .execute(connection)
        .await?;
        Ok(())
    }

    /// The consent with this id.
    pub async fn get(&self, id: &str) -> Result<Option<Consent>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    /// Revokes a consent at `now` (the first revocation time is kept); `NotFound` if absent.
    pub async fn revoke(
        &self,
        connection: &mut AnyConnection,
        id: &str,
        now: i64,
    ) -> Result<Revocation<Consent>, StoreError> {
        let already_revoked =
            super::was_revoked(&mut *connection, "consents", id.to_owned()).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE consents SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING {CONSENT_COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .fetch_optional(connection)
        .await?
        .ok_or_else(|| StoreError::NotFound("consent".to_owned()))?;
        Ok(Revocation {
            record: consent_from_row(&row)?,
            newly_revoked: !already_revoked,
        })
    }

    /// Every consent, by grant time and id, read through `connection` (the baseline).
    pub(crate) async fn all_in(connection: &mut AnyConnection) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLUMNS} FROM consents ORDER BY granted_at, id"
        )))
        .fetch_all(connection)
        .await?;
        rows.iter().map(consent_from_row).collect()
    }

    /// Every consent of a subject, newest first.
    pub async fn of_subject(
        &self,
        subject_pseudonym: &[u8; 32],
    ) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_pseudonym = $1 ORDER BY granted_at DESC, id"
        )))
        .bind(subject_pseudonym.as_slice())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(consent_from_row).collect()
    }
}
