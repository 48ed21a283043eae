//! Ledger entries and their canonical, versioned byte encoding (documented in the repository's
//! `docs/ledger.md`).
//!
//! Every entry starts with its format version and, from version 2 on, its kind; then its place
//! (leaf index) and time; then the body of its kind. Entries are written in the newest version
//! and never rewritten: a ledger holds entries of every version it has seen, and decoders read
//! them all. Version 1 (before kinds) held transfers only.
//!
//! [`LedgerRecord`] is any entry, by kind: a transfer ([`LedgerEntry`], here), a rule change
//! ([`GovernanceEntry`], in [`governance`]), a published change or a delivered change notice
//! ([`ChangePublishedEntry`], [`NoticeDeliveredEntry`], in [`notification`]). None holds
//! personal data: a subject appears only as a keyed pseudonym, a payload only as its SHA-256
//! digest, provider text (an event id) only as a digest.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

pub mod governance;
pub mod notification;

pub use governance::{GovernanceChange, GovernanceEntry, MAX_KEY_FIELDS};
pub use notification::{ChangeKind, ChangePublishedEntry, NoticeDeliveredEntry};

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
    /// A change to the rules in force (agencies, routes, authorizations, consents, subject
    /// registrations, purposes, limits).
    Governance = 2,
    /// An authentic source announced that data about a subject changed.
    ChangePublished = 3,
    /// A change notice was delivered to a consumer for the first time.
    NoticeDelivered = 4,
}

impl EntryKind {
    /// The kind with this code, if this version of the software knows it.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Transfer),
            2 => Some(Self::Governance),
            3 => Some(Self::ChangePublished),
            4 => Some(Self::NoticeDelivered),
            _ => None,
        }
    }

    /// The stable name used in documentation and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Governance => "governance",
            Self::ChangePublished => "change_published",
            Self::NoticeDelivered => "notice_delivered",
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
    /// The entry is of another kind than the caller asked for.
    #[error("the entry is of kind {}, not {}", .found.as_str(), .expected.as_str())]
    OtherKind {
        /// The kind asked for.
        expected: EntryKind,
        /// The entry's kind.
        found: EntryKind,
    },
    /// Too short, too long, or a field is malformed.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
}

/// Any ledger entry, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerRecord {
    /// A transfer.
    Transfer(LedgerEntry),
    /// A rule change.
    Governance(GovernanceEntry),
    /// A published change.
    ChangePublished(ChangePublishedEntry),
    /// A delivered change notice.
    NoticeDelivered(NoticeDeliveredEntry),
}

impl LedgerRecord {
    /// The entry's kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Self::Transfer(_) => EntryKind::Transfer,
            Self::Governance(_) => EntryKind::Governance,
            Self::ChangePublished(_) => EntryKind::ChangePublished,
            Self::NoticeDelivered(_) => EntryKind::NoticeDelivered,
        }
    }

    /// Its position in the ledger, as encoded.
    pub fn leaf_index(&self) -> u64 {
        match self {
            Self::Transfer(entry) => entry.leaf_index,
            Self::Governance(entry) => entry.leaf_index,
            Self::ChangePublished(entry) => entry.leaf_index,
            Self::NoticeDelivered(entry) => entry.leaf_index,
        }
    }

    /// Sets its position (the ledger writer does, when it appends the entry).
    pub fn set_leaf_index(&mut self, leaf_index: u64) {
        match self {
            Self::Transfer(entry) => entry.leaf_index = leaf_index,
            Self::Governance(entry) => entry.leaf_index = leaf_index,
            Self::ChangePublished(entry) => entry.leaf_index = leaf_index,
            Self::NoticeDelivered(entry) => entry.leaf_index = leaf_index,
        }
    }

    /// The canonical encoding, in the newest format version.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Transfer(entry) => entry.encode(),
            Self::Governance(entry) => entry.encode(),
            Self::ChangePublished(entry) => entry.encode(),
            Self::NoticeDelivered(entry) => entry.encode(),
        }
    }

    /// Decodes an entry of any known format version and kind; refuses trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryDecodeError> {
        let mut reader = EntryReader::new(bytes);
        let version = reader.byte()?;
        let kind = match version {
            ENTRY_FORMAT_VERSION_1 => EntryKind::Transfer,
            ENTRY_FORMAT_VERSION => {
                let code = reader.byte()?;
                EntryKind::from_code(code).ok_or(EntryDecodeError::UnknownKind(code))?
            }
            other => return Err(EntryDecodeError::UnknownVersion(other)),
        };
        let header = EntryHeader {
            version,
            leaf_index: reader.u64()?,
            recorded_at_micros: reader.i64()?,
        };
        let record = match kind {
            EntryKind::Transfer => Self::Transfer(LedgerEntry::decode_body(header, &mut reader)?),
            EntryKind::Governance => {
                Self::Governance(GovernanceEntry::decode_body(header, &mut reader)?)
            }
            EntryKind::ChangePublished => {
                Self::ChangePublished(ChangePublishedEntry::decode_body(header, &mut reader)?)
            }
            EntryKind::NoticeDelivered => {
                Self::NoticeDelivered(NoticeDeliveredEntry::decode_body(header, &mut reader)?)
            }
        };
        reader.finish()?;
        Ok(record)
    }
}

/// What every entry starts with, once read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryHeader {
    /// The format version the entry was written in.
    pub(crate) version: u8,
    pub(crate) leaf_index: u64,
    pub(crate) recorded_at_micros: i64,
}

impl LedgerEntry {
    /// The canonical encoding, in the newest format version: version byte, kind byte, leaf
    /// index, time, then the transfer's fields in declaration order; integers big-endian,
    /// strings as u16 length + UTF-8, the digest as a presence byte + 32 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = EntryWriter::new(
            EntryKind::Transfer,
            self.leaf_index,
            self.recorded_at_micros,
        );
        for text in [
            &self.consumer,
            &self.provider,
            &self.data_type,
            &self.purpose,
            &self.legal_basis,
            &self.legal_basis_ref,
            &self.consent_id,
        ] {
            writer.string(text);
        }
        writer.hash(&self.subject_pseudonym);
        writer.optional_hash(self.payload_sha256.as_ref());
        writer.string(&self.request_id);
        writer.string(self.outcome.as_str());
        writer.string(truncate_at_char_boundary(
            &self.refusal_reason,
            MAX_REASON_BYTES,
        ));
        writer.finish()
    }

    /// Decodes a transfer entry of any known format version; refuses trailing bytes and
    /// entries of other kinds.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryDecodeError> {
        match LedgerRecord::decode(bytes)? {
            LedgerRecord::Transfer(entry) => Ok(entry),
            other => Err(EntryDecodeError::OtherKind {
                expected: EntryKind::Transfer,
                found: other.kind(),
            }),
        }
    }

    fn decode_body(
        header: EntryHeader,
        reader: &mut EntryReader<'_>,
    ) -> Result<Self, EntryDecodeError> {
        Ok(Self {
            leaf_index: header.leaf_index,
            recorded_at_micros: header.recorded_at_micros,
            consumer: reader.string()?,
            provider: reader.string()?,
            data_type: reader.string()?,
            purpose: reader.string()?,
            legal_basis: reader.string()?,
            legal_basis_ref: reader.string()?,
            consent_id: reader.string()?,
            subject_pseudonym: reader.hash()?,
            payload_sha256: reader.optional_hash("payload digest flag")?,
            request_id: reader.string()?,
            outcome: Outcome::from_token(&reader.string()?)
                .filter(|outcome| outcome.since_format_version() <= header.version)
                .ok_or(EntryDecodeError::Malformed("unknown outcome"))?,
            refusal_reason: reader.string()?,
        })
    }
}

/// Builds an entry's bytes: the header of the newest format version, then the body's fields.
pub(crate) struct EntryWriter {
    bytes: Vec<u8>,
}

impl EntryWriter {
    pub(crate) fn new(kind: EntryKind, leaf_index: u64, recorded_at_micros: i64) -> Self {
        let mut bytes = Vec::with_capacity(256);
        bytes.push(ENTRY_FORMAT_VERSION);
        bytes.push(kind as u8);
        bytes.extend_from_slice(&leaf_index.to_be_bytes());
        bytes.extend_from_slice(&recorded_at_micros.to_be_bytes());
        Self { bytes }
    }

    pub(crate) fn string(&mut self, text: &str) {
        push_string(&mut self.bytes, text);
    }

    pub(crate) fn hash(&mut self, hash: &Hash) {
        self.bytes.extend_from_slice(hash);
    }

    pub(crate) fn optional_hash(&mut self, hash: Option<&Hash>) {
        match hash {
            Some(digest) => {
                self.bytes.push(1);
                self.bytes.extend_from_slice(digest);
            }
            None => self.bytes.push(0),
        }
    }

    pub(crate) fn byte(&mut self, byte: u8) {
        self.bytes.push(byte);
    }

    pub(crate) fn u64(&mut self, number: u64) {
        self.bytes.extend_from_slice(&number.to_be_bytes());
    }

    pub(crate) fn i64(&mut self, number: i64) {
        self.bytes.extend_from_slice(&number.to_be_bytes());
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
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

/// Reads an entry's fields in order.
pub(crate) struct EntryReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> EntryReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// Refuses bytes after the last field.
    fn finish(&self) -> Result<(), EntryDecodeError> {
        if self.position == self.bytes.len() {
            Ok(())
        } else {
            Err(EntryDecodeError::Malformed("trailing bytes"))
        }
    }

    pub(crate) fn u64(&mut self) -> Result<u64, EntryDecodeError> {
        Ok(u64::from_be_bytes(self.array::<8>()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, EntryDecodeError> {
        Ok(i64::from_be_bytes(self.array::<8>()?))
    }

    pub(crate) fn hash(&mut self) -> Result<Hash, EntryDecodeError> {
        self.array::<32>()
    }

    /// A presence byte (0 or 1, else `Malformed(flag_name)`), then 32 bytes if 1.
    pub(crate) fn optional_hash(
        &mut self,
        flag_name: &'static str,
    ) -> Result<Option<Hash>, EntryDecodeError> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.hash()?)),
            _ => Err(EntryDecodeError::Malformed(flag_name)),
        }
    }

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

    pub(crate) fn byte(&mut self) -> Result<u8, EntryDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryDecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| EntryDecodeError::Malformed("truncated"))
    }

    pub(crate) fn string(&mut self) -> Result<String, EntryDecodeError> {
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

    fn vector_governance() -> GovernanceEntry {
        GovernanceEntry {
            leaf_index: 8,
            recorded_at_micros: 1_767_225_600_000_000,
            actor: "kruispunt.operator".to_owned(),
            change: GovernanceChange::AuthorizationGranted,
            key_fields: [
                ("consumer", "be.example.gemeente"),
                ("data_type", "persoon.GeregistreerdPersoon@1"),
                ("purpose", "demo"),
                ("authorization_id", "1"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .to_vec(),
            record_digest: [0x33; 32],
        }
    }

    fn vector_change_published() -> ChangePublishedEntry {
        ChangePublishedEntry {
            leaf_index: 9,
            recorded_at_micros: 1_767_225_600_000_000,
            provider: "be.example.civil-registry".to_owned(),
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            subject_pseudonym: [0x11; 32],
            change_kind: ChangeKind::Updated,
            occurred_at_micros: 1_767_225_500_000_000,
            event_id_digest: [0x44; 32],
        }
    }

    fn vector_notice_delivered() -> NoticeDeliveredEntry {
        NoticeDeliveredEntry {
            leaf_index: 10,
            recorded_at_micros: 1_767_225_600_000_000,
            consumer: "be.example.gemeente".to_owned(),
            provider: "be.example.civil-registry".to_owned(),
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            subject_pseudonym: [0x11; 32],
            change_kind: ChangeKind::Updated,
            cursor: 1,
            publication_index: 9,
            event_id_digest: [0x44; 32],
        }
    }

    const VECTOR_GOVERNANCE: (&str, &str) = (
        "02020000000000000008000647484620400000126b7275697370756e742e6f70657261746f720015617574686f72697a6174696f6e2e6772616e746564040008636f6e73756d6572001362652e6578616d706c652e67656d65656e74650009646174615f74797065001e706572736f6f6e2e47657265676973747265657264506572736f6f6e40310007707572706f7365000464656d6f0010617574686f72697a6174696f6e5f69640001313333333333333333333333333333333333333333333333333333333333333333",
        "ca596e22d1414e5c1966f330cf29937c9062ccdff20ce2a9cbcd828d98cf9c61",
    );
    const VECTOR_CHANGE_PUBLISHED: (&str, &str) = (
        "020300000000000000090006474846204000001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031111111111111111111111111111111111111111111111111111111111111111100077570646174656400064748402a5f004444444444444444444444444444444444444444444444444444444444444444",
        "f08c106f64fa7737aca734c11e3090a8246d8dbf39e8b95692d1d8bcce86a164",
    );
    const VECTOR_NOTICE_DELIVERED: (&str, &str) = (
        "0204000000000000000a0006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e40311111111111111111111111111111111111111111111111111111111111111111000775706461746564000000000000000100000000000000094444444444444444444444444444444444444444444444444444444444444444",
        "6a3dbec4e5166995d9051ed3047da62bb015c8746173f98b0a2ae5bef4df3866",
    );

    #[test]
    fn the_documented_vectors_of_the_other_kinds_encode_decode_and_hash_as_published() {
        let documentation =
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ledger.md"));
        for (record, (bytes_hex, leaf_hex)) in [
            (
                LedgerRecord::Governance(vector_governance()),
                VECTOR_GOVERNANCE,
            ),
            (
                LedgerRecord::ChangePublished(vector_change_published()),
                VECTOR_CHANGE_PUBLISHED,
            ),
            (
                LedgerRecord::NoticeDelivered(vector_notice_delivered()),
                VECTOR_NOTICE_DELIVERED,
            ),
        ] {
            let bytes = record.encode();
            assert_eq!(hex::encode(&bytes), bytes_hex, "{:?}", record.kind());
            assert_eq!(hex::encode(leaf_hash(&bytes)), leaf_hex);
            assert_eq!(LedgerRecord::decode(&bytes).as_ref(), Ok(&record));
            assert!(documentation.contains(bytes_hex) && documentation.contains(leaf_hex));
            assert_eq!(
                LedgerEntry::decode(&bytes),
                Err(EntryDecodeError::OtherKind {
                    expected: EntryKind::Transfer,
                    found: record.kind(),
                }),
                "a transfer decoder names the kind it found"
            );
        }
    }

    #[test]
    fn every_kind_refuses_truncation_trailing_bytes_and_unknown_tokens() {
        for record in [
            LedgerRecord::Transfer(sample()),
            LedgerRecord::Governance(vector_governance()),
            LedgerRecord::ChangePublished(vector_change_published()),
            LedgerRecord::NoticeDelivered(vector_notice_delivered()),
        ] {
            let bytes = record.encode();
            for cut in 0..bytes.len() {
                assert!(
                    LedgerRecord::decode(&bytes[..cut]).is_err(),
                    "{:?} cut at {cut}",
                    record.kind()
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                LedgerRecord::decode(&longer),
                Err(EntryDecodeError::Malformed("trailing bytes"))
            );
        }
        let mut unknown_change = vector_governance().encode();
        let token = b"authorization.granted";
        let position = unknown_change
            .windows(token.len())
            .position(|window| window == token)
            .unwrap();
        unknown_change[position] = b'x';
        assert_eq!(
            LedgerRecord::decode(&unknown_change),
            Err(EntryDecodeError::Malformed("unknown governance change"))
        );
        let mut too_many = vector_governance();
        too_many.key_fields = vec![("k".to_owned(), "v".to_owned()); MAX_KEY_FIELDS + 3];
        let decoded = LedgerRecord::decode(&too_many.encode()).unwrap();
        let LedgerRecord::Governance(decoded) = decoded else {
            panic!("a governance entry");
        };
        assert_eq!(
            decoded.key_fields.len(),
            MAX_KEY_FIELDS,
            "extra fields are not written"
        );
    }

    #[test]
    fn every_change_and_change_kind_round_trips_through_its_token() {
        for change in GovernanceChange::ALL {
            assert_eq!(GovernanceChange::from_token(change.as_str()), Some(change));
        }
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_token(kind.as_str()), Some(kind));
        }
        for code in 0..=u8::MAX {
            if let Some(kind) = EntryKind::from_code(code) {
                assert_eq!(kind as u8, code);
            }
        }
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
