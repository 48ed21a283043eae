//! `transfer` entries: one data request, delivered or refused, and how each format version
//! encodes it.
//!
//! Version 3 records what a court or a data protection officer asks about a transfer and
//! nothing a caller typed: the rules it was decided under (the governance sequence), the
//! pseudonym epoch, the broker's own transfer id, keyed digests of the consumer's request id and
//! case reference, and what the authentic source answered (the digest of its payload and, when
//! it signed, its signature). Versions 1 and 2 kept the consumer's request id as text; they are
//! still read, into [`LedgerEntry::legacy_request_id`], and never written.

use super::{
    ENTRY_FORMAT_VERSION_1, EntryDecodeError, EntryHeader, EntryKind, EntryReader, EntryWriter,
    LedgerRecord, truncate_at_char_boundary,
};
use crate::merkle::Hash;

/// Longest refusal reason kept in an entry, in bytes (longer ones are cut at a char boundary).
pub const MAX_REASON_BYTES: usize = 1024;
/// Longest answer signature kept in an entry, in bytes (an ECDSA P-384 DER signature is at
/// most 104; the bound leaves room for other algorithms).
pub const MAX_SIGNATURE_BYTES: usize = 512;

/// The broker's own id for one transfer: 16 random bytes, written in entries and sent to the
/// adapter (as 32 lower-case hex digits) instead of anything the consumer typed.
pub type TransferId = [u8; 16];

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
    /// Refused: the route requires signed answers and the adapter's answer carried no
    /// signature. Since format version 3.
    RefusedUnsignedAnswer,
    /// Refused: the adapter's answer carried a signature that does not verify against the
    /// routed provider's certificate. Since format version 3.
    RefusedInvalidSignature,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 14] = [
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
        Outcome::RefusedUnsignedAnswer,
        Outcome::RefusedInvalidSignature,
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
            Outcome::RefusedUnsignedAnswer => "refused.unsigned_answer",
            Outcome::RefusedInvalidSignature => "refused.invalid_signature",
        }
    }

    /// The first entry format version that can record this outcome.
    pub fn since_format_version(self) -> u8 {
        match self {
            Outcome::RefusedMisrouted => 2,
            Outcome::RefusedUnsignedAnswer | Outcome::RefusedInvalidSignature => 3,
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

/// An authentic source's signature over its answer (see [`crate::answer`]), as the broker
/// checked and recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSignature {
    /// Unix microseconds when the source signed, as it says.
    pub signed_at_micros: i64,
    /// SHA-256 of the DER certificate whose key signed (the routed provider's, as presented on
    /// the TLS connection the answer came over).
    pub certificate_sha256: Hash,
    /// The signature algorithm's token, e.g. `ecdsa-p256-sha256` (see [`crate::answer`]).
    pub algorithm: String,
    /// The signature bytes (at most [`MAX_SIGNATURE_BYTES`]).
    pub signature: Vec<u8>,
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
    /// The purpose: a code the operator registered.
    pub purpose: String,
    /// Legal basis of the authorization relied on ("" when none).
    pub legal_basis: String,
    /// Reference to the legal text ("" when none).
    pub legal_basis_ref: String,
    /// Consent id the authorization relied on ("" when none).
    pub consent_id: String,
    /// The governance sequence of the rules the broker decided under: the newest rule change
    /// (a `governance` entry's sequence) in the deciding node's view of the registry; 0 before
    /// any rule change was recorded. Since version 3 (0 in older entries).
    pub rules_version: u64,
    /// The pseudonym epoch whose secret keyed [`Self::subject_pseudonym`] and the digests.
    /// Since version 3 (0, the secret from before epochs, in older entries).
    pub pseudonym_epoch: u32,
    /// HMAC-SHA256 of the subject under the epoch's secret.
    pub subject_pseudonym: Hash,
    /// SHA-256 of the payload sent to the consumer, when one was sent.
    pub payload_sha256: Option<Hash>,
    /// The broker's own id for the transfer, sent to the adapter. Since version 3 (zeros in
    /// older entries).
    pub transfer_id: TransferId,
    /// Keyed digest of the consumer's request id, when it gave one. Since version 3.
    pub request_digest: Option<Hash>,
    /// Keyed digest of the consumer's case reference, when it gave one. Since version 3.
    pub case_reference_digest: Option<Hash>,
    /// SHA-256 of the payload the source answered (before minimisation), when it answered
    /// one. Since version 3.
    pub source_payload_sha256: Option<Hash>,
    /// The source's signature over its answer, when it signed and the signature verified.
    /// Since version 3.
    pub answer_signature: Option<AnswerSignature>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was refused ("" when delivered); a fixed text, never personal data.
    pub refusal_reason: String,
    /// The consumer's request id as text, as versions 1 and 2 kept it; empty in entries of
    /// version 3, which keep [`Self::request_digest`] instead, and never written.
    pub legacy_request_id: String,
}

impl LedgerEntry {
    /// The canonical encoding, in the newest format version: version byte, kind byte, leaf
    /// index, time, then the transfer's fields in declaration order (`docs/ledger.md`);
    /// integers big-endian, strings as u16 length + UTF-8, optional digests as a presence
    /// byte + 32 bytes.
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
        writer.u64(self.rules_version);
        writer.u32(self.pseudonym_epoch);
        writer.hash(&self.subject_pseudonym);
        writer.optional_hash(self.payload_sha256.as_ref());
        writer.bytes(&self.transfer_id);
        writer.optional_hash(self.request_digest.as_ref());
        writer.optional_hash(self.case_reference_digest.as_ref());
        writer.optional_hash(self.source_payload_sha256.as_ref());
        match &self.answer_signature {
            None => writer.byte(0),
            Some(signature) => {
                writer.byte(1);
                writer.i64(signature.signed_at_micros);
                writer.hash(&signature.certificate_sha256);
                writer.string(&signature.algorithm);
                let bytes =
                    &signature.signature[..signature.signature.len().min(MAX_SIGNATURE_BYTES)];
                writer.length_prefixed(bytes);
            }
        }
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

    pub(super) fn decode_body(
        header: EntryHeader,
        reader: &mut EntryReader<'_>,
    ) -> Result<Self, EntryDecodeError> {
        let consumer = reader.string()?;
        let provider = reader.string()?;
        let data_type = reader.string()?;
        let purpose = reader.string()?;
        let legal_basis = reader.string()?;
        let legal_basis_ref = reader.string()?;
        let consent_id = reader.string()?;
        let version_3 = header.version >= 3;
        let (rules_version, pseudonym_epoch) = if version_3 {
            (reader.u64()?, reader.u32()?)
        } else {
            (0, 0)
        };
        let subject_pseudonym = reader.hash()?;
        let payload_sha256 = reader.optional_hash("payload digest flag")?;
        let mut entry = Self {
            leaf_index: header.leaf_index,
            recorded_at_micros: header.recorded_at_micros,
            consumer,
            provider,
            data_type,
            purpose,
            legal_basis,
            legal_basis_ref,
            consent_id,
            rules_version,
            pseudonym_epoch,
            subject_pseudonym,
            payload_sha256,
            transfer_id: [0; 16],
            request_digest: None,
            case_reference_digest: None,
            source_payload_sha256: None,
            answer_signature: None,
            outcome: Outcome::Delivered,
            refusal_reason: String::new(),
            legacy_request_id: String::new(),
        };
        if version_3 {
            entry.transfer_id = reader.array::<16>()?;
            entry.request_digest = reader.optional_hash("request digest flag")?;
            entry.case_reference_digest = reader.optional_hash("case reference digest flag")?;
            entry.source_payload_sha256 = reader.optional_hash("source payload digest flag")?;
            entry.answer_signature = answer_signature(reader)?;
        } else {
            entry.legacy_request_id = reader.string()?;
        }
        entry.outcome = outcome(reader, header.version)?;
        entry.refusal_reason = reader.string()?;
        Ok(entry)
    }
}

fn answer_signature(
    reader: &mut EntryReader<'_>,
) -> Result<Option<AnswerSignature>, EntryDecodeError> {
    match reader.byte()? {
        0 => Ok(None),
        1 => Ok(Some(AnswerSignature {
            signed_at_micros: reader.i64()?,
            certificate_sha256: reader.hash()?,
            algorithm: reader.string()?,
            signature: {
                let bytes = reader.length_prefixed()?;
                if bytes.len() > MAX_SIGNATURE_BYTES {
                    return Err(EntryDecodeError::Malformed("signature too long"));
                }
                bytes
            },
        })),
        _ => Err(EntryDecodeError::Malformed("answer signature flag")),
    }
}

fn outcome(reader: &mut EntryReader<'_>, version: u8) -> Result<Outcome, EntryDecodeError> {
    Outcome::from_token(&reader.string()?)
        .filter(|outcome| outcome.since_format_version() <= version)
        .ok_or(EntryDecodeError::Malformed("unknown outcome"))
}
