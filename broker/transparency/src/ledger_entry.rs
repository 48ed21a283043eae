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
pub mod transfer;

pub use governance::{GovernanceChange, GovernanceEntry, MAX_KEY_FIELDS};
pub use notification::{ChangeKind, ChangePublishedEntry, NoticeDeliveredEntry};
pub use transfer::{
    AnswerSignature, LedgerEntry, MAX_REASON_BYTES, MAX_SIGNATURE_BYTES, Outcome, TransferId,
};

/// The format version entries are written in: the first byte of every entry written today.
pub const ENTRY_FORMAT_VERSION: u8 = 3;
/// The first format: transfers only, no kind byte. Still read, never written.
pub const ENTRY_FORMAT_VERSION_1: u8 = 1;
/// The second format: the kind byte, transfers with the caller's request id as text. Still
/// read, never written. Entries of the other kinds were specified in it but never written, so
/// a version 2 entry of another kind is refused.
pub const ENTRY_FORMAT_VERSION_2: u8 = 2;

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
    #[error("unknown entry kind {0}")]
    UnknownKind(u8),
    /// A kind that entries of this format version never held.
    #[error("a version {version} entry cannot be of kind {}", .kind.as_str())]
    KindNotInVersion {
        /// The entry's format version.
        version: u8,
        /// Its kind.
        kind: EntryKind,
    },
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
// Transfers are by far the most frequent kind, and records are decoded and checked one at a
// time, never held in bulk: boxing the transfer would cost an allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
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
        Self::decode_with_format_version(bytes).map(|(_, record)| record)
    }

    /// Decodes an entry as [`Self::decode`] does, and also says which format version it was
    /// written in (its first byte: [`ENTRY_FORMAT_VERSION_1`], [`ENTRY_FORMAT_VERSION_2`] or
    /// [`ENTRY_FORMAT_VERSION`]). The verifier needs it: format versions never decrease along a
    /// ledger, and transfers of versions 1 and 2 were decided before rules were recorded.
    pub fn decode_with_format_version(bytes: &[u8]) -> Result<(u8, Self), EntryDecodeError> {
        let mut reader = EntryReader::new(bytes);
        let version = reader.byte()?;
        let kind = match version {
            ENTRY_FORMAT_VERSION_1 => EntryKind::Transfer,
            ENTRY_FORMAT_VERSION_2 | ENTRY_FORMAT_VERSION => {
                let code = reader.byte()?;
                let kind = EntryKind::from_code(code).ok_or(EntryDecodeError::UnknownKind(code))?;
                if version == ENTRY_FORMAT_VERSION_2 && kind != EntryKind::Transfer {
                    return Err(EntryDecodeError::KindNotInVersion { version, kind });
                }
                kind
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
        Ok((version, record))
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

    pub(crate) fn u32(&mut self, number: u32) {
        self.bytes.extend_from_slice(&number.to_be_bytes());
    }

    /// Fixed-length bytes, as they are.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// A `u16` length, then the bytes (callers keep them under 64 KiB).
    pub(crate) fn length_prefixed(&mut self, bytes: &[u8]) {
        let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
        let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.bytes.extend_from_slice(&length.to_be_bytes());
        self.bytes.extend_from_slice(bytes);
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

pub(crate) fn truncate_at_char_boundary(text: &str, max_bytes: usize) -> &str {
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

    pub(crate) fn u32(&mut self) -> Result<u32, EntryDecodeError> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    /// A `u16` length, then that many bytes.
    pub(crate) fn length_prefixed(&mut self) -> Result<Vec<u8>, EntryDecodeError> {
        let length = usize::from(u16::from_be_bytes(self.array::<2>()?));
        Ok(self.take(length)?.to_vec())
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

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryDecodeError> {
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
        self.keyed_digest(b"kruispunt.subject.v1", &[scheme, id])
    }

    /// A consumer's request id as entries keep it:
    /// HMAC-SHA256(secret, "kruispunt.request.v1" ‖ 0x00 ‖ consumer ‖ 0x00 ‖ request id).
    /// The consumer can recognise its own ids; nobody without the secret can read them.
    pub fn request_digest(&self, consumer: &str, request_id: &str) -> Hash {
        self.keyed_digest(b"kruispunt.request.v1", &[consumer, request_id])
    }

    /// A consumer's case reference as entries keep it:
    /// HMAC-SHA256(secret, "kruispunt.case.v1" ‖ 0x00 ‖ consumer ‖ 0x00 ‖ kind ‖ 0x00 ‖
    /// reference).
    pub fn case_reference_digest(&self, consumer: &str, kind: &str, reference: &str) -> Hash {
        self.keyed_digest(b"kruispunt.case.v1", &[consumer, kind, reference])
    }

    /// A consumer's capacity code in the persons repertory as the broker stores it (never in
    /// an entry): HMAC-SHA256(secret, "kruispunt.capacity.v1" ‖ 0x00 ‖ consumer ‖ 0x00 ‖
    /// capacity). Equal capacities of one consumer match; nobody without the secret can read
    /// them.
    pub fn capacity_digest(&self, consumer: &str, capacity: &str) -> Hash {
        self.keyed_digest(b"kruispunt.capacity.v1", &[consumer, capacity])
    }

    /// HMAC-SHA256 of `label`, then each part after a 0x00 separator (parts never hold 0x00:
    /// every caller's text is checked for control characters first).
    fn keyed_digest(&self, label: &[u8], parts: &[&str]) -> Hash {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of any length");
        mac.update(label);
        for part in parts {
            mac.update(b"\0");
            mac.update(part.as_bytes());
        }
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
            rules_version: 12,
            pseudonym_epoch: 2026,
            subject_pseudonym: [7; 32],
            payload_sha256: Some([9; 32]),
            transfer_id: [3; 16],
            request_digest: Some([4; 32]),
            case_reference_digest: None,
            source_payload_sha256: Some([5; 32]),
            answer_signature: Some(AnswerSignature {
                signed_at_micros: 1_700_000_000_000_001,
                certificate_sha256: [6; 32],
                algorithm: "ecdsa-p256-sha256".to_owned(),
                signature: vec![8; 71],
            }),
            outcome: Outcome::Delivered,
            refusal_reason: String::new(),
            legacy_request_id: String::new(),
        }
    }

    #[test]
    fn entries_round_trip() {
        let entry = sample();
        assert_eq!(LedgerEntry::decode(&entry.encode()), Ok(entry));
        let mut unsigned = sample();
        unsigned.answer_signature = None;
        unsigned.request_digest = None;
        unsigned.case_reference_digest = Some([1; 32]);
        assert_eq!(LedgerEntry::decode(&unsigned.encode()), Ok(unsigned));
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
        other_version[0] = 4;
        assert_eq!(
            LedgerEntry::decode(&other_version),
            Err(EntryDecodeError::UnknownVersion(4))
        );
        let mut other_kind = bytes;
        other_kind[1] = 9;
        assert_eq!(
            LedgerEntry::decode(&other_kind),
            Err(EntryDecodeError::UnknownKind(9))
        );
        let mut governance_as_version_2 = vector_governance().encode();
        governance_as_version_2[0] = ENTRY_FORMAT_VERSION_2;
        assert_eq!(
            LedgerRecord::decode(&governance_as_version_2),
            Err(EntryDecodeError::KindNotInVersion {
                version: 2,
                kind: EntryKind::Governance
            }),
            "version 2 entries of other kinds were never written"
        );
    }

    /// The transfer of the version 3 byte-level vectors in `docs/ledger.md`.
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
            rules_version: 4,
            pseudonym_epoch: 2026,
            subject_pseudonym: [0x11; 32],
            payload_sha256: delivered.then_some([0x22; 32]),
            transfer_id: [0xab; 16],
            request_digest: Some([0x55; 32]),
            case_reference_digest: None,
            source_payload_sha256: delivered.then_some([0x66; 32]),
            answer_signature: delivered.then(|| AnswerSignature {
                signed_at_micros: 1_767_225_599_990_000,
                certificate_sha256: [0x77; 32],
                algorithm: "ecdsa-p256-sha256".to_owned(),
                signature: vec![0x88; 8],
            }),
            outcome,
            refusal_reason: if delivered { "" } else { "misrouted" }.to_owned(),
            legacy_request_id: String::new(),
        }
    }

    /// The transfer of the version 1 and 2 vectors, as decoded today.
    fn legacy_vector_entry(outcome: Outcome) -> LedgerEntry {
        let delivered = outcome == Outcome::Delivered;
        LedgerEntry {
            rules_version: 0,
            pseudonym_epoch: 0,
            transfer_id: [0; 16],
            request_digest: None,
            source_payload_sha256: None,
            answer_signature: None,
            legacy_request_id: "r-1".to_owned(),
            payload_sha256: delivered.then_some([0x22; 32]),
            ..vector_entry(outcome)
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
    const VECTOR_V3_DELIVERED: (&str, &str) = (
        "030100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f0003576574000000000000000000000004000007ea1111111111111111111111111111111111111111111111111111111111111111012222222222222222222222222222222222222222222222222222222222222222abababababababababababababababab015555555555555555555555555555555555555555555555555555555555555555000166666666666666666666666666666666666666666666666666666666666666660100064748462018f07777777777777777777777777777777777777777777777777777777777777777001165636473612d703235362d73686132353600088888888888888888000964656c6976657265640000",
        "aca024a8ed2e8687df44796a4178365159629c01db6ecf9f0d6a8a0fa8fb47f1",
    );
    const VECTOR_V3_MISROUTED: (&str, &str) = (
        "030100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f0003576574000000000000000000000004000007ea111111111111111111111111111111111111111111111111111111111111111100abababababababababababababababab0155555555555555555555555555555555555555555555555555555555555555550000000011726566757365642e6d6973726f7574656400096d6973726f75746564",
        "c5e523c8e43e696af59ca2d386ac4ebeb495af69b599bdb95dd93fd3d8c4e0ba",
    );

    #[test]
    fn the_documented_vectors_encode_decode_and_hash_as_published() {
        let documentation =
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ledger.md"));
        for (outcome, (bytes_hex, leaf_hex)) in [
            (Outcome::Delivered, VECTOR_V3_DELIVERED),
            (Outcome::RefusedMisrouted, VECTOR_V3_MISROUTED),
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
        // Bytes of versions 1 and 2, as brokers wrote them before, still decode, and hash as
        // they did then.
        for (outcome, (bytes_hex, leaf_hex)) in [
            (Outcome::Delivered, VECTOR_V1_DELIVERED),
            (Outcome::Delivered, VECTOR_V2_DELIVERED),
            (Outcome::RefusedMisrouted, VECTOR_V2_MISROUTED),
        ] {
            let bytes = hex::decode(bytes_hex).unwrap();
            assert_eq!(hex::encode(leaf_hash(&bytes)), leaf_hex);
            assert_eq!(
                LedgerEntry::decode(&bytes),
                Ok(legacy_vector_entry(outcome))
            );
            assert!(documentation.contains(bytes_hex) && documentation.contains(leaf_hex));
        }
    }

    fn vector_governance() -> GovernanceEntry {
        GovernanceEntry {
            leaf_index: 8,
            recorded_at_micros: 1_767_225_600_000_000,
            sequence: 4,
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
            pseudonym_epoch: 2026,
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
            pseudonym_epoch: 2026,
            subject_pseudonym: [0x11; 32],
            change_kind: ChangeKind::Updated,
            cursor: 1,
            publication_index: 9,
            event_id_digest: [0x44; 32],
        }
    }

    const VECTOR_GOVERNANCE: (&str, &str) = (
        "030200000000000000080006474846204000000000000000000400126b7275697370756e742e6f70657261746f720015617574686f72697a6174696f6e2e6772616e746564040008636f6e73756d6572001362652e6578616d706c652e67656d65656e74650009646174615f74797065001e706572736f6f6e2e47657265676973747265657264506572736f6f6e40310007707572706f7365000464656d6f0010617574686f72697a6174696f6e5f69640001313333333333333333333333333333333333333333333333333333333333333333",
        "0b29b8780eb6a57f25e0f4e18c0d7c97e28e53663bb11b658de98b75cfb3218f",
    );
    const VECTOR_CHANGE_PUBLISHED: (&str, &str) = (
        "030300000000000000090006474846204000001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000007ea111111111111111111111111111111111111111111111111111111111111111100077570646174656400064748402a5f004444444444444444444444444444444444444444444444444444444444444444",
        "606f173ca4524c49286a6a7252168fd635dbdfa9ce67e6582e8d83a530399fc3",
    );
    const VECTOR_NOTICE_DELIVERED: (&str, &str) = (
        "0304000000000000000a0006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000007ea1111111111111111111111111111111111111111111111111111111111111111000775706461746564000000000000000100000000000000094444444444444444444444444444444444444444444444444444444444444444",
        "e65579ec63cef42d32e8d7905ef90adc23dbb4f666ba9acfec8dae601bfb2637",
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

    #[test]
    fn capacity_digests_depend_on_secret_consumer_and_capacity_and_no_other_digest_equals_them() {
        let first = SubjectPseudonymizer::new([1; 32]);
        let second = SubjectPseudonymizer::new([2; 32]);
        let base = first.capacity_digest("be.test.consumer", "beneficiary");
        assert_eq!(
            base,
            first.capacity_digest("be.test.consumer", "beneficiary")
        );
        assert_ne!(
            base,
            second.capacity_digest("be.test.consumer", "beneficiary")
        );
        assert_ne!(base, first.capacity_digest("be.test.other", "beneficiary"));
        assert_ne!(base, first.capacity_digest("be.test.consumer", "employee"));
        assert_ne!(
            base,
            first.request_digest("be.test.consumer", "beneficiary")
        );
        assert_ne!(base, first.pseudonym("be.test.consumer", "beneficiary"));
    }
}
