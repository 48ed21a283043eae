//! Agency identities carried in X.509 certificates.
//!
//! An agency is who its certificate says it is, never what a request field claims. Kruispunt
//! certificates carry the identity as URI subject alternative names:
//!
//! - exactly one `urn:kruispunt:agency:<agency id>` (also the certificate's common name), and
//! - one `urn:kruispunt:role:<role>` per role the agency holds.
//!
//! [`AgencyIdentity::from_certificate_der`] reads them back; it is only ever called on a
//! certificate whose chain to the trust anchors has already been verified.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// URI prefix of the agency id SAN.
pub const AGENCY_URI_PREFIX: &str = "urn:kruispunt:agency:";
/// URI prefix of each role SAN.
pub const ROLE_URI_PREFIX: &str = "urn:kruispunt:role:";

/// What an agency may do. Every RPC names the role it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Asks for data (`Exchange`), registers its subjects.
    Consumer,
    /// Runs an adapter for an authentic source, publishes changes.
    Provider,
    /// Reads the audit ledger.
    Auditor,
    /// Manages the registry.
    Operator,
    /// Acts for citizens (subject access log, consent).
    Portal,
    /// The broker itself: the only caller adapters accept.
    Broker,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 6] = [
        Role::Consumer,
        Role::Provider,
        Role::Auditor,
        Role::Operator,
        Role::Portal,
        Role::Broker,
    ];

    /// The role's name in certificates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Consumer => "consumer",
            Role::Provider => "provider",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::Portal => "portal",
            Role::Broker => "broker",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| IdentityError::UnknownRole(text.to_owned()))
    }
}

/// Why a certificate does not describe a Kruispunt agency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The DER bytes are not an X.509 certificate.
    #[error("the certificate cannot be parsed: {0}")]
    MalformedCertificate(String),
    /// No `urn:kruispunt:agency:` SAN.
    #[error(
        "the certificate names no agency (no {AGENCY_URI_PREFIX}<id> subject alternative name)"
    )]
    MissingAgency,
    /// More than one `urn:kruispunt:agency:` SAN.
    #[error("the certificate names more than one agency")]
    SeveralAgencies,
    /// The agency id breaks the id rules.
    #[error("invalid agency id: {0}")]
    InvalidAgencyId(String),
    /// A role SAN names no known role.
    #[error("unknown role {0:?} (known: consumer, provider, auditor, operator, portal, broker)")]
    UnknownRole(String),
}

/// A validated agency id: 3 to 128 characters of `a-z`, `0-9`, `.`, `-` and `_`, starting with a
/// letter or digit, e.g. `be.vlaanderen.kbo.0316381039`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyId(String);

impl AgencyId {
    /// Checks `text` against the agency id rules.
    pub fn parse(text: &str) -> Result<Self, IdentityError> {
        let length_ok = (3..=128).contains(&text.len());
        let first_ok = text
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
        let characters_ok = text.chars().all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || matches!(character, '.' | '-' | '_')
        });
        if length_ok && first_ok && characters_ok {
            Ok(Self(text.to_owned()))
        } else {
            // The text is not quoted (a caller may have put anything in a request field).
            Err(IdentityError::InvalidAgencyId(
                "an agency id must be 3 to 128 characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit".to_owned(),
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Who is calling: the agency and its roles, read from a verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyIdentity {
    agency_id: AgencyId,
    roles: BTreeSet<Role>,
}

impl AgencyIdentity {
    /// Builds an identity directly (for issuing certificates and for tests).
    pub fn new(agency_id: AgencyId, roles: impl IntoIterator<Item = Role>) -> Self {
        Self {
            agency_id,
            roles: roles.into_iter().collect(),
        }
    }

    /// Reads the identity from a DER certificate. The caller must have verified its chain.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, IdentityError> {
        let (_, certificate) = X509Certificate::from_der(der)
            .map_err(|error| IdentityError::MalformedCertificate(error.to_string()))?;
        let mut agency_ids = Vec::new();
        let mut roles = BTreeSet::new();
        if let Ok(Some(alternative_names)) = certificate.subject_alternative_name() {
            for name in &alternative_names.value.general_names {
                if let GeneralName::URI(uri) = name {
                    if let Some(agency) = uri.strip_prefix(AGENCY_URI_PREFIX) {
                        agency_ids.push(agency.to_owned());
                    } else if let Some(role) = uri.strip_prefix(ROLE_URI_PREFIX) {
                        roles.insert(role.parse::<Role>()?);
                    }
                }
            }
        }
        let agency_id = match agency_ids.as_slice() {
            [] => return Err(IdentityError::MissingAgency),
            [only] => AgencyId::parse(only)?,
            _ => return Err(IdentityError::SeveralAgencies),
        };
        Ok(Self { agency_id, roles })
    }

    /// The agency's id.
    pub fn agency_id(&self) -> &AgencyId {
        &self.agency_id
    }

    /// The agency's roles.
    pub fn roles(&self) -> &BTreeSet<Role> {
        &self.roles
    }

    /// Whether the agency holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_ids_follow_the_rules() {
        assert!(AgencyId::parse("be.vlaanderen.kbo.0316381039").is_ok());
        assert!(AgencyId::parse("ab").is_err());
        assert!(AgencyId::parse("Be.upper").is_err());
        assert!(AgencyId::parse(".leading-dot").is_err());
        assert!(AgencyId::parse("with space").is_err());
        assert!(AgencyId::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!(matches!(
            "root".parse::<Role>(),
            Err(IdentityError::UnknownRole(_))
        ));
    }
}
