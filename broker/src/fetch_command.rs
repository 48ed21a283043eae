//! [`FetchCommand`]: a consumer's data request in domain terms, once steps 1 (mutual TLS) and 2
//! (request shape) have passed at the gRPC edge. The pipeline runs it; routing hands it to the
//! provider's adapter.
//!
//! What the consumer typed for its own bookkeeping, the request id and the [`CaseReference`],
//! stays between the consumer and the broker: the ledger keeps only keyed digests of them, and
//! the adapter gets the broker's own [`TransferId`] instead.

use std::sync::Arc;

use kruispunt_adapter::identity::AgencyIdentity;
use kruispunt_adapter::subject::SubjectId;
use kruispunt_transparency::TransferId;

use crate::catalog::DataType;

/// Longest case reference kind, in characters.
pub const MAX_CASE_KIND_CHARS: usize = 32;
/// Longest case reference, in characters.
pub const MAX_CASE_REFERENCE_CHARS: usize = 128;

/// A consumer's reference to the file or case a request serves: a `kind` token
/// (`^[a-z0-9][a-z0-9._-]{0,31}$`, e.g. `dossier`) and the `reference` itself (at most
/// [`MAX_CASE_REFERENCE_CHARS`] characters, no control characters, not blank). Its `Debug`
/// shows the kind only: a reference may name a person.
#[derive(Clone, PartialEq, Eq)]
pub struct CaseReference {
    kind: String,
    reference: String,
}

/// Why a case reference is malformed. Never quotes the text (a caller may have put anything in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseReferenceError {
    /// The kind is empty.
    #[error("case_reference.kind is required")]
    KindMissing,
    /// The kind is longer than [`MAX_CASE_KIND_CHARS`].
    #[error("case_reference.kind is longer than {MAX_CASE_KIND_CHARS} characters")]
    KindTooLong,
    /// The kind is not of the token form.
    #[error(
        "case_reference.kind must start with a lower-case letter or a digit and hold only lower-case letters, digits, '.', '_' and '-'"
    )]
    KindNotAToken,
    /// The reference is empty or blank.
    #[error("case_reference.reference is required")]
    ReferenceMissing,
    /// The reference is longer than [`MAX_CASE_REFERENCE_CHARS`].
    #[error("case_reference.reference is longer than {MAX_CASE_REFERENCE_CHARS} characters")]
    ReferenceTooLong,
    /// The reference holds control characters.
    #[error("case_reference.reference contains control characters")]
    ReferenceNotPrintable,
}

impl CaseReference {
    /// Checks both parts.
    pub fn parse(kind: &str, reference: &str) -> Result<Self, CaseReferenceError> {
        let mut characters = kind.chars();
        let first = characters.next().ok_or(CaseReferenceError::KindMissing)?;
        if kind.chars().count() > MAX_CASE_KIND_CHARS {
            return Err(CaseReferenceError::KindTooLong);
        }
        let token_character = |character: char| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || matches!(character, '.' | '_' | '-')
        };
        if !(first.is_ascii_lowercase() || first.is_ascii_digit())
            || !characters.all(token_character)
        {
            return Err(CaseReferenceError::KindNotAToken);
        }
        if reference.trim().is_empty() {
            return Err(CaseReferenceError::ReferenceMissing);
        }
        if reference.chars().count() > MAX_CASE_REFERENCE_CHARS {
            return Err(CaseReferenceError::ReferenceTooLong);
        }
        if reference.chars().any(char::is_control) {
            return Err(CaseReferenceError::ReferenceNotPrintable);
        }
        Ok(Self {
            kind: kind.to_owned(),
            reference: reference.to_owned(),
        })
    }

    /// What the reference is, e.g. `dossier`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The file or case number.
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

impl std::fmt::Debug for CaseReference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CaseReference")
            .field("kind", &self.kind)
            .field("reference", &"<withheld>")
            .finish()
    }
}

/// A well-formed, authenticated data request (steps 1 and 2 passed).
#[derive(Debug, Clone)]
pub struct FetchCommand {
    /// Who asks (from the certificate).
    pub consumer: Arc<AgencyIdentity>,
    /// What is asked for (known to the catalog).
    pub data_type: Arc<DataType>,
    /// About whom (scheme and checksum valid).
    pub subject: SubjectId,
    /// Why.
    pub purpose: String,
    /// The broker's own random id for this transfer: recorded in its ledger entry and sent to
    /// the adapter (as 32 lower-case hex digits).
    pub transfer_id: TransferId,
    /// The consumer's correlation id ("" when none): bounded, no control characters; the
    /// ledger keeps its keyed digest, the adapter never sees it.
    pub request_id: String,
    /// The consumer's file or case, if it named one; the ledger keeps its keyed digest, the
    /// adapter never sees it.
    pub case_reference: Option<CaseReference>,
    /// Consent relied on, if any.
    pub consent_id: String,
}

/// A fresh random transfer id (16 bytes from the operating system's generator).
pub fn new_transfer_id() -> TransferId {
    let mut transfer_id = [0_u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut transfer_id);
    transfer_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use kruispunt_adapter::answer_signature::transfer_id_hex;

    #[test]
    fn case_references_are_a_kind_token_and_a_bounded_printable_reference() {
        for (kind, reference) in [
            ("dossier", "2026/0042"),
            ("case", "A"),
            ("0", "x"),
            ("file.v2_x-y", "Bijlage 3 – dossier ÉÀ"),
            ("abcdefghijklmnopqrstuvwxyz012345", &"r".repeat(128)),
        ] {
            let parsed = CaseReference::parse(kind, reference).expect("well-formed");
            assert_eq!((parsed.kind(), parsed.reference()), (kind, reference));
        }
        let refused = [
            ("", "2026/0042", CaseReferenceError::KindMissing),
            ("dossier", "", CaseReferenceError::ReferenceMissing),
            ("dossier", "   ", CaseReferenceError::ReferenceMissing),
            (
                "abcdefghijklmnopqrstuvwxyz0123456",
                "x",
                CaseReferenceError::KindTooLong,
            ),
            ("Dossier", "x", CaseReferenceError::KindNotAToken),
            ("-dossier", "x", CaseReferenceError::KindNotAToken),
            ("dos sier", "x", CaseReferenceError::KindNotAToken),
            ("dossiér", "x", CaseReferenceError::KindNotAToken),
            (
                "dossier",
                &"r".repeat(129),
                CaseReferenceError::ReferenceTooLong,
            ),
            (
                "dossier",
                "2026\n0042",
                CaseReferenceError::ReferenceNotPrintable,
            ),
            (
                "dossier",
                "2026\u{0}",
                CaseReferenceError::ReferenceNotPrintable,
            ),
            (
                "dossier",
                "2026\u{85}",
                CaseReferenceError::ReferenceNotPrintable,
            ),
        ];
        for (kind, reference, expected) in refused {
            assert_eq!(
                CaseReference::parse(kind, reference),
                Err(expected.clone()),
                "{kind:?} {reference:?}"
            );
            assert!(!expected.to_string().contains("2026"), "{expected}");
        }
    }

    #[test]
    fn debug_output_withholds_the_reference() {
        let reference = CaseReference::parse("dossier", "Janssens-85073003328").expect("valid");
        let shown = format!("{reference:?}");
        assert!(shown.contains("dossier"), "{shown}");
        assert!(!shown.contains("Janssens"), "{shown}");
    }

    #[test]
    fn transfer_ids_are_random_and_sent_as_32_lower_case_hex_digits() {
        let (first, second) = (new_transfer_id(), new_transfer_id());
        assert_ne!(first, second);
        let hex = transfer_id_hex(&[0xab; 16]);
        assert_eq!(hex, "ab".repeat(16));
        let sent = transfer_id_hex(&first);
        assert_eq!(sent.len(), 32);
        assert!(
            sent.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
