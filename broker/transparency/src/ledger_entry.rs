//! Ledger entries and their canonical, versioned byte encoding (documented in the repository's
//! `docs/ledger.md`).
//!
//! Every entry starts with its format version and, from version 2 on, its kind; then its place
//! (leaf index) and time; then the body of its kind. Entries are written in the newest version
//! and never rewritten: a ledger holds entries of every version it has seen, and decoders read
//! them all. Version 1 (before kinds) held transfers only.
//!
//! A transfer entry describes one transfer, delivered or refused, without personal data: the
//! subject appears only as a keyed pseudonym, the payload only as its SHA-256 digest.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The format version entries are written in: the first byte of every entry written today.
pub const ENTRY_FORMAT_VERSION: u8 = 2;
/// The first format: transfers only, no kind byte. Still read, never written.
pub const ENTRY_FORMAT_VERSION_1: u8 = 1;

/// What an entry records: its second byte, from format version 2 on. Codes are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// One transfer, delivered or refused (the only kind of version 1 entries).
    Transfer = 1,
}

impl EntryKind {
    /// The kind with this code, if this version of the software knows it.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Transfer),
            _ => None,
        }
    }

    /// The stable name used in documentation and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
        }
    }
}
/// Longest refusal reason kept in an entry, in bytes (longer ones are cut at a char boundary).
pub const MAX_REASON_BYTES: usize = 1024;

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The payload was delivered to the consumer.
    Delivered,
    /// Refused: no authorization in force for consumer × data type × purpose.
    RefusedNoAuthorization,
    /// Refused: the authorization demands a registered subject, and it is not in the
    /// consumer's client list.
    RefusedSubjectNotRegistered,
    /// Refused: the authorization demands consent, and none in force was quoted.
    RefusedConsentMissing,
    /// Refused: the quoted consent was revoked.
    RefusedConsentRevoked,
    /// Refused: the quoted consent expired.
    RefusedConsentExpired,
    /// Refused: no provider is routed for the data type.
    RefusedNoRoute,
    /// Refused: the provider has no record of the subject.
    RefusedSubjectNotFound,
    /// Refused: the routed provider does not serve the data type (a misconfigured route).
    /// Since format version 2.
    RefusedMisrouted,
    /// Refused: the provider adapter could not be reached or failed.
    RefusedProviderUnavailable,
    /// Refused: the provider adapter did not answer within the deadline.
    RefusedProviderDeadline,
    /// Refused: the provider's payload broke the data type's schema (never passed on).
    RefusedInvalidPayload,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 12] = [
        Outcome::Delivered,
        Outcome::RefusedNoAuthorization,
        Outcome::RefusedSubjectNotRegistered,
        Outcome::RefusedConsentMissing,
        Outcome::RefusedConsentRevoked,
        Outcome::RefusedConsentExpired,
        Outcome::RefusedNoRoute,
        Outcome::RefusedSubjectNotFound,
        Outcome::RefusedMisrouted,
        Outcome::RefusedProviderUnavailable,
        Outcome::RefusedProviderDeadline,
        Outcome::RefusedInvalidPayload,
    ];

    /// The stable token written into entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::RefusedNoAuthorization => "refused.no_authorization",
            Outcome::RefusedSubjectNotRegistered => "refused.subject_not_registered",
            Outcome::RefusedConsentMissing => "refused.consent_missing",
            Outcome::RefusedConsentRevoked => "refused.consent_revoked",
            Outcome::RefusedConsentExpired => "refused.consent_expired",
            Outcome::RefusedNoRoute => "refused.no_route",
            Outcome::RefusedSubjectNotFound => "refused.subject_not_found",
            Outcome::RefusedMisrouted => "refused.misrouted",
            Outcome::RefusedProviderUnavailable => "refused.provider_unavailable",
            Outcome::RefusedProviderDeadline => "refused.provider_deadline",
            Outcome::RefusedInvalidPayload => "refused.invalid_payload",
        }
    }

    /// The first entry format version that can record this outcome.
    pub fn since_format_version(self) -> u8 {
        match self {
            Outcome::RefusedMisrouted => 2,
            _ => ENTRY_FORMAT_VERSION_1,
        }
    }

    /// The outcome for a token.
    pub fn from_token(token: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == token)
    }
}

/// One transfer, as recorded (an entry of kind [`EntryKind::Transfer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Position in the ledger. Assigned by the ledger writer when the entry is appended; any
    /// value a caller sets is replaced. Part of the encoding, so a moved entry is detected.
    pub leaf_index: u64,
    /// Unix microseconds when the broker decided.
    pub recorded_at_micros: i64,
    /// Consumer agency id.
    pub consumer: String,
    /// Provider agency id ("" when refused before routing).
    pub provider: String,
    /// Data type id.
    pub data_type: String,
    /// Stated purpose.
    pub purpose: String,
    /// Legal basis of the authorization relied on ("" when none).
    pub legal_basis: String,
    /// Reference to the legal text ("" when none).
    pub legal_basis_ref: String,
    /// Consent id the request relied on ("" when none).
    pub consent_id: String,
    /// HMAC-SHA256 of the subject under the ledger secret.
    pub subject_pseudonym: Hash,
    /// SHA-256 of the payload sent to the consumer, when one was sent.
    pub payload_sha256: Option<Hash>,
    /// Consumer's request id.
    pub request_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was refused ("" when delivered); never contains personal data.
    pub refusal_reason: String,
}

/// Why bytes are not an encoded entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryDecodeError {
    /// A format version this software does not know (a newer broker wrote it, or the byte was
    /// damaged).
    #[error(
        "unknown entry format version {0} (this software reads versions {ENTRY_FORMAT_VERSION_1} to {ENTRY_FORMAT_VERSION})"
    )]
    UnknownVersion(u8),
    /// A kind this software does not know.
    #[error("unknown entry kind {0} in a version {ENTRY_FORMAT_VERSION} entry")]
    UnknownKind(u8),
    /// Too short, too long, or a field is malformed.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
}

impl LedgerEntry {
    /// The canonical encoding, in the newest format version: version byte, kind byte, then the
    /// fields in declaration order; integers big-endian, strings as u16 length + UTF-8, the
    /// digest as a presence byte + 32 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(256);
        bytes.push(ENTRY_FORMAT_VERSION);
        bytes.push(EntryKind::Transfer as u8);
        bytes.extend_from_slice(&self.leaf_index.to_be_bytes());
        bytes.extend_from_slice(&self.recorded_at_micros.to_be_bytes());
        for text in [
            &self.consumer,
            &self.provider,
            &self.data_type,
            &self.purpose,
            &self.legal_basis,
            &self.legal_basis_ref,
            &self.consent_id,
        ] {
            push_string(&mut bytes, text);
        }
        bytes.extend_from_slice(&self.subject_pseudonym);
        match &self.payload_sha256 {
            Some(digest) => {
                bytes.push(1);
                bytes.extend_from_slice(digest);
            }
            None => bytes.push(0),
        }
        push_string(&mut bytes, &self.request_id);
        push_string(&mut bytes, self.outcome.as_str());
        push_string(
            &mut bytes,
            truncate_at_char_boundary(&self.refusal_reason, MAX_REASON_BYTES),
        );
        bytes
    }

    /// Decodes a transfer entry of any known format version; refuses trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryDecodeError> {
        let mut reader = Reader { bytes, position: 0 };
        let version = reader.byte()?;
        match version {
            ENTRY_FORMAT_VERSION_1 => {}
            ENTRY_FORMAT_VERSION => {
                let code = reader.byte()?;
                match EntryKind::from_code(code) {
                    Some(EntryKind::Transfer) => {}
                    None => return Err(EntryDecodeError::UnknownKind(code)),
                }
            }
            other => return Err(EntryDecodeError::UnknownVersion(other)),
        }
        let leaf_index = u64::from_be_bytes(reader.array::<8>()?);
        let recorded_at_micros = i64::from_be_bytes(reader.array::<8>()?);
        let consumer = reader.string()?;
        let provider = reader.string()?;
        let data_type = reader.string()?;
        let purpose = reader.string()?;
        let legal_basis = reader.string()?;
        let legal_basis_ref = reader.string()?;
        let consent_id = reader.string()?;
        let subject_pseudonym = reader.array::<32>()?;
        let payload_sha256 = match reader.byte()? {
            0 => None,
            1 => Some(reader.array::<32>()?),
            _ => return Err(EntryDecodeError::Malformed("payload digest flag")),
        };
        let request_id = reader.string()?;
        let outcome = Outcome::from_token(&reader.string()?)
            .filter(|outcome| outcome.since_format_version() <= version)
            .ok_or(EntryDecodeError::Malformed("unknown outcome"))?;
        let refusal_reason = reader.string()?;
        if reader.position != bytes.len() {
            return Err(EntryDecodeError::Malformed("trailing bytes"));
        }
        Ok(Self {
            leaf_index,
            recorded_at_micros,
            consumer,
            provider,
            data_type,
            purpose,
            legal_basis,
            legal_basis_ref,
            consent_id,
            subject_pseudonym,
            payload_sha256,
            request_id,
            outcome,
            refusal_reason,
        })
    }
}

fn push_string(bytes: &mut Vec<u8>, text: &str) {
    let text = truncate_at_char_boundary(text, usize::from(u16::MAX));
    // The cut above guarantees the length fits.
    let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(text.as_bytes());
}

fn truncate_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], EntryDecodeError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(EntryDecodeError::Malformed("truncated"))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, EntryDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryDecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| EntryDecodeError::Malformed("truncated"))
    }

    fn string(&mut self) -> Result<String, EntryDecodeError> {
        let length = usize::from(u16::from_be_bytes(self.array::<2>()?));
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EntryDecodeError::Malformed("invalid UTF-8"))
    }
}

/// Keyed pseudonyms for subjects: the same subject always maps to the same pseudonym under one
/// ledger secret, and nobody without the secret can go back or test a guess.
#[derive(Clone)]
pub struct SubjectPseudonymizer {
    secret: [u8; 32],
}

impl SubjectPseudonymizer {
    /// Uses `secret` (32 random bytes, kept outside the database).
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// HMAC-SHA256(secret, "kruispunt.subject.v1" ‖ 0x00 ‖ scheme ‖ 0x00 ‖ id).
    pub fn pseudonym(&self, scheme: &str, id: &str) -> Hash {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of any length");
        mac.update(b"kruispunt.subject.v1\0");
        mac.update(scheme.as_bytes());
        mac.update(b"\0");
        mac.update(id.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// SHA-256 of a payload.
pub fn payload_digest(payload: &[u8]) -> Hash {
    Sha256::digest(payload).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    fn sample() -> LedgerEntry {
        LedgerEntry {
            leaf_index: 41,
            recorded_at_micros: 1_700_000_000_000_000,
            consumer: "be.vlaanderen.consumer".to_owned(),
            provider: "be.civil-registry".to_owned(),
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            purpose: "demo".to_owned(),
            legal_basis: "Decreet".to_owned(),
            legal_basis_ref: "https://example/eli".to_owned(),
            consent_id: String::new(),
            subject_pseudonym: [7; 32],
            payload_sha256: Some([9; 32]),
            request_id: "r-1".to_owned(),
            outcome: Outcome::Delivered,
            refusal_reason: String::new(),
        }
    }

    #[test]
    fn entries_round_trip() {
        let entry = sample();
        assert_eq!(LedgerEntry::decode(&entry.encode()), Ok(entry));
    }

    #[test]
    fn every_outcome_round_trips_through_its_token() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_token(outcome.as_str()), Some(outcome));
        }
    }

    #[test]
    fn damaged_encodings_are_refused() {
        let bytes = sample().encode();
        assert!(LedgerEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(LedgerEntry::decode(&longer).is_err());
        let mut other_version = bytes.clone();
        other_version[0] = 3;
        assert_eq!(
            LedgerEntry::decode(&other_version),
            Err(EntryDecodeError::UnknownVersion(3))
        );
        let mut other_kind = bytes;
        other_kind[1] = 9;
        assert_eq!(
            LedgerEntry::decode(&other_kind),
            Err(EntryDecodeError::UnknownKind(9))
        );
    }

    /// The entry of the byte-level vectors in `docs/ledger.md`.
    fn vector_entry(outcome: Outcome) -> LedgerEntry {
        let delivered = outcome == Outcome::Delivered;
        LedgerEntry {
            leaf_index: 7,
            recorded_at_micros: 1_767_225_600_000_000,
            consumer: "be.example.gemeente".to_owned(),
            provider: "be.example.civil-registry".to_owned(),
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            purpose: "demo".to_owned(),
            legal_basis: "Wet".to_owned(),
            legal_basis_ref: String::new(),
            consent_id: String::new(),
            subject_pseudonym: [0x11; 32],
            payload_sha256: delivered.then_some([0x22; 32]),
            request_id: "r-1".to_owned(),
            outcome,
            refusal_reason: if delivered { "" } else { "misrouted" }.to_owned(),
        }
    }

    /// (entry bytes, leaf hash), hex, as published in `docs/ledger.md`.
    const VECTOR_V1_DELIVERED: (&str, &str) = (
        "0100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f00035765740000000011111111111111111111111111111111111111111111111111111111111111110122222222222222222222222222222222222222222222222222222222222222220003722d31000964656c6976657265640000",
        "0b8eff355215c5262b657bc437ef5baa1649e7714234100a18c99b65c3ef31d0",
    );
    const VECTOR_V2_DELIVERED: (&str, &str) = (
        "020100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f00035765740000000011111111111111111111111111111111111111111111111111111111111111110122222222222222222222222222222222222222222222222222222222222222220003722d31000964656c6976657265640000",
        "f67a8f75b6912f08695b9fdb2e633d423c947db4471241a92f75692b9dcc47ed",
    );
    const VECTOR_V2_MISROUTED: (&str, &str) = (
        "020100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f0003576574000000001111111111111111111111111111111111111111111111111111111111111111000003722d310011726566757365642e6d6973726f7574656400096d6973726f75746564",
        "42e9265e331112cf90777b4f1f2d304bbdf1fcfa63a11835af7e7d5ee8c6d184",
    );

    #[test]
    fn the_documented_vectors_encode_decode_and_hash_as_published() {
        let documentation =
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ledger.md"));
        for (outcome, (bytes_hex, leaf_hex)) in [
            (Outcome::Delivered, VECTOR_V2_DELIVERED),
            (Outcome::RefusedMisrouted, VECTOR_V2_MISROUTED),
        ] {
            let entry = vector_entry(outcome);
            assert_eq!(hex::encode(entry.encode()), bytes_hex);
            assert_eq!(hex::encode(leaf_hash(&entry.encode())), leaf_hex);
            assert_eq!(
                LedgerEntry::decode(&hex::decode(bytes_hex).unwrap()),
                Ok(entry)
            );
            assert!(documentation.contains(bytes_hex) && documentation.contains(leaf_hex));
        }
        // Version 1 bytes, as the broker wrote them before kinds, still decode to the entry.
        let (bytes_hex, leaf_hex) = VECTOR_V1_DELIVERED;
        let bytes = hex::decode(bytes_hex).unwrap();
        assert_eq!(hex::encode(leaf_hash(&bytes)), leaf_hex);
        assert_eq!(
            LedgerEntry::decode(&bytes),
            Ok(vector_entry(Outcome::Delivered))
        );
        assert!(documentation.contains(bytes_hex) && documentation.contains(leaf_hex));
    }

    #[test]
    fn version_1_entries_cannot_carry_outcomes_introduced_later() {
        let mut bytes = hex::decode(VECTOR_V2_MISROUTED.0).unwrap();
        bytes.remove(1);
        bytes[0] = ENTRY_FORMAT_VERSION_1;
        assert_eq!(
            LedgerEntry::decode(&bytes),
            Err(EntryDecodeError::Malformed("unknown outcome"))
        );
    }

    #[test]
    fn pseudonyms_depend_on_secret_scheme_and_id() {
        let first = SubjectPseudonymizer::new([1; 32]);
        let second = SubjectPseudonymizer::new([2; 32]);
        let base = first.pseudonym("be.insz", "85073003328");
        assert_eq!(base, first.pseudonym("be.insz", "85073003328"));
        assert_ne!(base, second.pseudonym("be.insz", "85073003328"));
        assert_ne!(base, first.pseudonym("be.kbo", "85073003328"));
        assert_ne!(base, first.pseudonym("be.insz", "85073003427"));
    }
}
