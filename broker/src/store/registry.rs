//! Registry tables: agencies, routes, purposes, authorizations.
//!
//! Changes run through a rule change's transaction (`connection`, from
//! [`RuleChange`](super::RuleChange)), so each is committed with its governance entry or not at
//! all; the `*_in` reads run inside a caller's snapshot (the registry index, the baseline).

use kruispunt_adapter::identity::AgencyId;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{Revocation, StoreError};
use crate::minimisation::FieldSet;
use crate::registry::{Agency, Authorization, AuthorizationGrant, Purpose, PurposeCode, Route};

/// Reads and writes the registry tables.
#[derive(Clone, Debug)]
pub struct RegistryStore {
    pool: AnyPool,
}

const AUTHORIZATION_COLUMNS: &str = "id, consumer, data_type, purpose, legal_basis, legal_basis_ref, valid_from, valid_until, revoked_at, allowed_fields, requires_consent, requires_subject_registration";

fn authorization_from_row(row: &sqlx::any::AnyRow) -> Result<Authorization, StoreError> {
    let allowed_fields: String = row.try_get("allowed_fields")?;
    let allowed_fields: Vec<String> = serde_json::from_str(&allowed_fields)
        .map_err(|error| StoreError::corrupt("allowed_fields", error))?;
    let allowed_fields = FieldSet::parse(&allowed_fields)
        .map_err(|error| StoreError::corrupt("allowed_fields", error))?;
    Ok(Authorization {
        allowed_fields,
        // Flags are 0/1 integers on both backends (sqlx's Any driver has no SQLite boolean).
        requires_consent: row.try_get::<i64, _>("requires_consent")? != 0,
        requires_subject_registration: row.try_get::<i64, _>("requires_subject_registration")? != 0,
        id: row.try_get("id")?,
        consumer: row.try_get("consumer")?,
        data_type: row.try_get("data_type")?,
        purpose: row.try_get("purpose")?,
        legal_basis: row.try_get("legal_basis")?,
        legal_basis_ref: row.try_get("legal_basis_ref")?,
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn agency_from_row(row: &sqlx::any::AnyRow) -> Result<Agency, StoreError> {
    Ok(Agency {
        id: agency_id_from_column(row.try_get("id")?)?,
        display_name: row.try_get("display_name")?,
        registered_at: row.try_get("registered_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn agency_id_from_column(text: String) -> Result<AgencyId, StoreError> {
    AgencyId::parse(&text).map_err(|error| StoreError::corrupt("agency id", error))
}

/// What the registry index holds, read in one consistent snapshot.
#[derive(Debug, Clone)]
pub struct RegistrySnapshot {
    /// Every authorization, by id.
    pub authorizations: Vec<Authorization>,
    /// Every agency, by id.
    pub agencies: Vec<Agency>,
    /// Every registered purpose, by code.
    pub purposes: Vec<Purpose>,
    /// The governance sequence of the newest rule change the rows above include (0: none):
    /// the rules version of transfers decided under this snapshot.
    pub rules_version: u64,
}

impl RegistryStore {
    pub(super) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Authorizations, agencies, purposes and the governance sequence, in ONE snapshot: a
    /// transaction (`REPEATABLE READ` on PostgreSQL; on SQLite a read transaction sees one
    /// snapshot), so the sequence is exactly that of the newest change the rows include (rule
    /// changes commit their rows and the sequence together).
    pub async fn snapshot(&self) -> Result<RegistrySnapshot, StoreError> {
        use sqlx::Connection as _;
        let mut connection = self.pool.acquire().await?;
        let postgres = !connection.backend_name().eq_ignore_ascii_case("sqlite");
        let mut transaction = connection.begin().await?;
        if postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *transaction)
                .await?;
        }
        let snapshot = RegistrySnapshot {
            authorizations: Self::all_authorizations_in(&mut transaction).await?,
            agencies: Self::agencies_in(&mut transaction).await?,
            purposes: Self::purposes_in(&mut transaction).await?,
            rules_version: super::GovernanceStore::current_sequence(&mut transaction).await?,
        };
        transaction.commit().await?;
        Ok(snapshot)
    }

    /// Records an agency; `AlreadyExists` if its id is taken.
    pub async fn insert_agency(
        &self,
        connection: &mut AnyConnection,
        agency: &Agency,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO agencies (id, display_name, registered_at) VALUES ($1, $2, $3)")
            .bind(agency.id.as_str())
            .bind(&agency.display_name)
            .bind(agency.registered_at)
            .execute(connection)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::AlreadyExists { cause, .. } => StoreError::AlreadyExists {
                    what: format!("agency {}", agency.id),
                    cause,
                },
                other => other,
            })?;
        Ok(())
    }

    /// All agencies, by id.
    pub async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        Self::agencies_in(&mut *self.pool.acquire().await?).await
    }

    /// All agencies, by id, read through `connection`.
    pub(crate) async fn agencies_in(
        connection: &mut AnyConnection,
    ) -> Result<Vec<Agency>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, display_name, registered_at, revoked_at FROM agencies ORDER BY id",
        )
        .fetch_all(connection)
        .await?;
        rows.iter().map(agency_from_row).collect()
    }

    /// Revokes an agency's membership at `now` (the first revocation time is kept);
    /// `NotFound` if it was never registered.
    pub async fn revoke_agency(
        &self,
        connection: &mut AnyConnection,
        id: &str,
        now: i64,
    ) -> Result<Revocation<Agency>, StoreError> {
        let already_revoked =
            super::was_revoked(&mut *connection, "agencies", id.to_owned()).await?;
        let row = sqlx::query(
            "UPDATE agencies SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
             RETURNING id, display_name, registered_at, revoked_at",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(connection)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("agency {id}")))?;
        Ok(Revocation {
            record: agency_from_row(&row)?,
            newly_revoked: !already_revoked,
        })
    }

    /// Sets (inserts or replaces) the route of a data type.
    pub async fn upsert_route(
        &self,
        connection: &mut AnyConnection,
        route: &Route,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO routes (data_type, provider, endpoint, signed_answers_required)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (data_type) DO UPDATE SET provider = excluded.provider,
                 endpoint = excluded.endpoint,
                 signed_answers_required = excluded.signed_answers_required",
        )
        .bind(&route.data_type)
        .bind(route.provider.as_str())
        .bind(&route.endpoint)
        .bind(i64::from(route.signed_answers_required))
        .execute(connection)
        .await?;
        Ok(())
    }

    /// All routes, by data type.
    pub async fn routes(&self) -> Result<Vec<Route>, StoreError> {
        Self::routes_in(&mut *self.pool.acquire().await?).await
    }

    /// All routes, by data type, read through `connection`.
    pub(crate) async fn routes_in(
        connection: &mut AnyConnection,
    ) -> Result<Vec<Route>, StoreError> {
        let rows =
            sqlx::query("SELECT data_type, provider, endpoint, signed_answers_required FROM routes ORDER BY data_type")
                .fetch_all(connection)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Route {
                    data_type: row.try_get("data_type")?,
                    provider: agency_id_from_column(row.try_get("provider")?)?,
                    endpoint: row.try_get("endpoint")?,
                    signed_answers_required: row.try_get::<i64, _>("signed_answers_required")? != 0,
                })
            })
            .collect()
    }

    /// Registers a purpose; `AlreadyExists` if its code is taken (a code is never redefined).
    pub async fn insert_purpose(
        &self,
        connection: &mut AnyConnection,
        purpose: &Purpose,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO purposes (code, description, registered_at) VALUES ($1, $2, $3)")
            .bind(purpose.code.as_str())
            .bind(&purpose.description)
            .bind(purpose.registered_at)
            .execute(connection)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::AlreadyExists { cause, .. } => StoreError::AlreadyExists {
                    what: format!("purpose {}", purpose.code),
                    cause,
                },
                other => other,
            })?;
        Ok(())
    }

    /// All registered purposes, by code.
    pub async fn purposes(&self) -> Result<Vec<Purpose>, StoreError> {
        Self::purposes_in(&mut *self.pool.acquire().await?).await
    }

    /// All registered purposes, by code, read through `connection`.
    pub(crate) async fn purposes_in(
        connection: &mut AnyConnection,
    ) -> Result<Vec<Purpose>, StoreError> {
        let rows =
            sqlx::query("SELECT code, description, registered_at FROM purposes ORDER BY code")
                .fetch_all(connection)
                .await?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("code")?;
                Ok(Purpose {
                    code: PurposeCode::parse(&code)
                        .map_err(|error| StoreError::corrupt("purpose code", error))?,
                    description: row.try_get("description")?,
                    registered_at: row.try_get("registered_at")?,
                })
            })
            .collect()
    }

    /// Stores a new authorization and returns it with its id.
    pub async fn insert_authorization(
        &self,
        connection: &mut AnyConnection,
        grant: &AuthorizationGrant,
    ) -> Result<Authorization, StoreError> {
        let row = sqlx::query(
            "INSERT INTO authorizations (consumer, data_type, purpose, legal_basis, legal_basis_ref, valid_from, valid_until,
                                         allowed_fields, requires_consent, requires_subject_registration)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING id, consumer, data_type, purpose, legal_basis, legal_basis_ref, valid_from, valid_until, revoked_at,
                       allowed_fields, requires_consent, requires_subject_registration",
        )
        .bind(grant.consumer.as_str())
        .bind(&grant.data_type)
        .bind(grant.purpose.as_str())
        .bind(&grant.legal_basis)
        .bind(&grant.legal_basis_ref)
        .bind(grant.valid_from)
        .bind(grant.valid_until)
        .bind(
            serde_json::to_string(grant.allowed_fields.pointers())
                .map_err(|error| StoreError::encode("allowed_fields", error))?,
        )
        .bind(i64::from(grant.requires_consent))
        .bind(i64::from(grant.requires_subject_registration))
        .fetch_one(connection)
        .await?;
        authorization_from_row(&row)
    }

    /// All authorizations, optionally of one consumer, by id.
    pub async fn authorizations(
        &self,
        consumer: Option<&str>,
    ) -> Result<Vec<Authorization>, StoreError> {
        let rows = match consumer {
            Some(consumer) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations WHERE consumer = $1 ORDER BY id"
            )))
            .bind(consumer)
            .fetch_all(&self.pool)
            .await?,
            None => return Self::all_authorizations_in(&mut *self.pool.acquire().await?).await,
        };
        rows.iter().map(authorization_from_row).collect()
    }

    /// Every authorization, by id, read through `connection`.
    pub(crate) async fn all_authorizations_in(
        connection: &mut AnyConnection,
    ) -> Result<Vec<Authorization>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations ORDER BY id"
        )))
        .fetch_all(connection)
        .await?;
        rows.iter().map(authorization_from_row).collect()
    }

    /// Revokes an authorization at `now`; `NotFound` if there is none with that id. Revoking a
    /// revoked authorization keeps the first revocation time.
    pub async fn revoke_authorization(
        &self,
        connection: &mut AnyConnection,
        id: i64,
        now: i64,
    ) -> Result<Revocation<Authorization>, StoreError> {
        let already_revoked = super::was_revoked(&mut *connection, "authorizations", id).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE authorizations SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
             RETURNING {AUTHORIZATION_COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .fetch_optional(connection)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("authorization {id}")))?;
        Ok(Revocation {
            record: authorization_from_row(&row)?,
            newly_revoked: !already_revoked,
        })
    }
}
