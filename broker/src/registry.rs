//! Registry domain types: member agencies, routes from data types to provider adapters,
//! purposes (codes the operator registers), and authorizations (the deliberations that justify
//! a transfer). Stored by
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
    /// Whether an answer the adapter did not sign is refused (`refused.unsigned_answer`). An
    /// invalid signature is refused either way.
    pub signed_answers_required: bool,
}

/// Longest purpose code, in characters.
pub const MAX_PURPOSE_CODE_CHARS: usize = 64;

/// A purpose code's form: `^[a-z0-9][a-z0-9._-]{0,63}$`. Lower-case ASCII letters and digits,
/// then also `.`, `_` and `-`, at most [`MAX_PURPOSE_CODE_CHARS`] characters: a token that reads
/// the same in every log, ledger entry and client, with no case or Unicode look-alikes.
/// Whether a well-formed code is *registered* is the registry's business (`RegistryIndex`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PurposeCode(String);

/// Why a text is not a code token (a purpose code or a capacity). Never quotes the text (a
/// caller may have put anything in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeTokenError {
    /// Empty.
    #[error("is required")]
    Empty,
    /// Longer than [`MAX_PURPOSE_CODE_CHARS`].
    #[error("is longer than {MAX_PURPOSE_CODE_CHARS} characters")]
    TooLong,
    /// Does not start with a lower-case letter or digit.
    #[error("must start with a lower-case letter or a digit")]
    BadStart,
    /// Has a character outside `[a-z0-9._-]`.
    #[error("may hold only lower-case letters, digits, '.', '_' and '-'")]
    BadCharacter,
}

/// Why a text is not a purpose code (the form of every code token).
pub type PurposeCodeError = CodeTokenError;

/// Checks `text` against the form of a code token, `^[a-z0-9][a-z0-9._-]{0,63}$`.
fn check_code_token(text: &str) -> Result<(), CodeTokenError> {
    let mut characters = text.chars();
    let first = characters.next().ok_or(CodeTokenError::Empty)?;
    if text.chars().count() > MAX_PURPOSE_CODE_CHARS {
        return Err(CodeTokenError::TooLong);
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(CodeTokenError::BadStart);
    }
    if !characters.all(|character| {
        character.is_ascii_lowercase()
            || character.is_ascii_digit()
            || matches!(character, '.' | '_' | '-')
    }) {
        return Err(CodeTokenError::BadCharacter);
    }
    Ok(())
}

impl PurposeCode {
    /// Checks `text` against the form of a code.
    pub fn parse(text: &str) -> Result<Self, PurposeCodeError> {
        check_code_token(text)?;
        Ok(Self(text.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PurposeCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// In which capacity a subject is in a consumer's files (persons repertory), e.g.
/// `beneficiary`: a code token of the same form as a [`PurposeCode`],
/// `^[a-z0-9][a-z0-9._-]{0,63}$`. The consumer types it, so it is never free text: a name, an
/// address, an e-mail address or a phone number cannot take this form. A code can still look
/// like an identifier (`85.07.30-033.28` is one), so the repertory keeps only its keyed digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capacity(String);

impl Capacity {
    /// Checks `text` against the form of a capacity.
    pub fn parse(text: &str) -> Result<Self, CodeTokenError> {
        check_code_token(text)?;
        Ok(Self(text.to_owned()))
    }

    /// The capacity.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Capacity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A registered purpose: the code authorizations name and consumers quote, and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// The code.
    pub code: PurposeCode,
    /// What it is for, in words.
    pub description: String,
    /// Unix seconds.
    pub registered_at: i64,
}

/// A new authorization, as an operator states it.
#[derive(Debug, Clone)]
pub struct AuthorizationGrant {
    /// The consumer agency.
    pub consumer: AgencyId,
    /// The data type.
    pub data_type: String,
    /// The registered purpose it covers.
    pub purpose: PurposeCode,
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
    /// In which capacity (e.g. `beneficiary`), as the keyed digest the repertory keeps
    /// (`SubjectPseudonymizer::capacity_digest` of the consumer and the [`Capacity`]).
    pub capacity_digest: [u8; 32],
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

/// Microseconds since the Unix epoch, now (how entries and the ledger queue stamp time).
pub fn now_unix_micros() -> i64 {
    let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{Capacity, CodeTokenError, PurposeCode, PurposeCodeError};

    #[test]
    fn purpose_codes_are_bounded_lower_case_tokens() {
        for code in [
            "demo",
            "0",
            "leefloon.toekenning",
            "school-enrolment",
            "a_b",
            &"a".repeat(64),
        ] {
            assert_eq!(
                PurposeCode::parse(code).map(|parsed| parsed.to_string()),
                Ok(code.to_owned())
            );
        }
        for (text, error) in [
            ("", PurposeCodeError::Empty),
            (&*"a".repeat(65), PurposeCodeError::TooLong),
            ("-demo", PurposeCodeError::BadStart),
            (".demo", PurposeCodeError::BadStart),
            ("Demo", PurposeCodeError::BadStart),
            ("de mo", PurposeCodeError::BadCharacter),
            ("demO", PurposeCodeError::BadCharacter),
            ("d\u{e9}mo", PurposeCodeError::BadCharacter),
            ("demo\n", PurposeCodeError::BadCharacter),
            ("a/b", PurposeCodeError::BadCharacter),
        ] {
            assert_eq!(PurposeCode::parse(text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn capacities_are_code_tokens_and_free_text_is_refused() {
        assert_eq!(
            Capacity::parse("beneficiary").map(|capacity| capacity.to_string()),
            Ok("beneficiary".to_owned())
        );
        for (text, error) in [
            ("", CodeTokenError::Empty),
            ("Jozefien Vandenbroucke-Pieters", CodeTokenError::BadStart),
            ("jozefien@example.be", CodeTokenError::BadCharacter),
            ("+32 470 12 34 56", CodeTokenError::BadStart),
            ("kerkstraat 17, 9000 gent", CodeTokenError::BadCharacter),
            (&*"b".repeat(65), CodeTokenError::TooLong),
        ] {
            assert_eq!(Capacity::parse(text), Err(error), "{text:?}");
        }
    }
}
