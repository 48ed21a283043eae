//! Registry domain types: member agencies, routes from data types to provider adapters, and
//! authorizations (the deliberations that justify a transfer). Stored by
//! [`RegistryStore`](crate::store::RegistryStore); served by the `Registry` gRPC service.

use kruispunt_adapter::identity::AgencyId;

use crate::minimisation::FieldSet;

/// A member agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Its id, as in its certificate.
    pub id: AgencyId,
    /// Human-readable name.
    pub display_name: String,
    /// Unix seconds.
    pub registered_at: i64,
    /// Unix seconds; `None` while a member.
    pub revoked_at: Option<i64>,
}

/// Which provider adapter serves a data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The data type.
    pub data_type: String,
    /// The provider agency; the adapter's certificate must name it.
    pub provider: AgencyId,
    /// `https://host:port`.
    pub endpoint: String,
}

/// A new authorization, as an operator states it.
#[derive(Debug, Clone)]
pub struct AuthorizationGrant {
    /// The consumer agency.
    pub consumer: AgencyId,
    /// The data type.
    pub data_type: String,
    /// The purpose it covers.
    pub purpose: String,
    /// The legal basis, in words.
    pub legal_basis: String,
    /// A reference to the legal text (e.g. an ELI URI).
    pub legal_basis_ref: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds; `None` is open-ended.
    pub valid_until: Option<i64>,
    /// What may leave the broker.
    pub allowed_fields: FieldSet,
    /// Each request must quote a consent in force.
    pub requires_consent: bool,
    /// The subject must be in the consumer's client list.
    pub requires_subject_registration: bool,
}

/// A stored authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Assigned at grant time.
    pub id: i64,
    /// The consumer agency.
    pub consumer: String,
    /// The data type.
    pub data_type: String,
    /// The purpose.
    pub purpose: String,
    /// The legal basis, in words.
    pub legal_basis: String,
    /// A reference to the legal text.
    pub legal_basis_ref: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds; `None` is open-ended.
    pub valid_until: Option<i64>,
    /// Unix seconds; `None` if not revoked.
    pub revoked_at: Option<i64>,
    /// What may leave the broker.
    pub allowed_fields: FieldSet,
    /// Each request must quote a consent in force.
    pub requires_consent: bool,
    /// The subject must be in the consumer's client list.
    pub requires_subject_registration: bool,
}

/// A subject in a consumer's files (persons repertory), as a consumer states it.
#[derive(Debug, Clone)]
pub struct SubjectRegistration {
    /// The consumer (from its certificate).
    pub consumer: AgencyId,
    /// The subject's keyed pseudonym.
    pub subject_pseudonym: [u8; 32],
    /// In which capacity, e.g. `beneficiary`.
    pub capacity: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds; `None` is open-ended.
    pub valid_until: Option<i64>,
}

/// A citizen's consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Random id, quoted by consumers.
    pub id: String,
    /// The subject's keyed pseudonym.
    pub subject_pseudonym: [u8; 32],
    /// The consumer it is given to.
    pub consumer: String,
    /// Purposes it covers.
    pub purposes: Vec<String>,
    /// Data types it covers.
    pub data_types: Vec<String>,
    /// Unix seconds.
    pub granted_at: i64,
    /// Unix seconds.
    pub valid_until: i64,
    /// Unix seconds; `None` if not revoked.
    pub revoked_at: Option<i64>,
    /// The agency that recorded it (a portal or an operator).
    pub recorded_by: String,
}

/// Text fields of requests and registry entries are bounded, printable and non-empty where
/// required; this checks one.
pub fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    if value.chars().count() > max_chars {
        return Err(format!("{field} is longer than {max_chars} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

/// Seconds since the Unix epoch, now.
pub fn now_unix_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
