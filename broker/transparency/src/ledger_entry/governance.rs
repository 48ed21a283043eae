//! `governance` entries: one change to the rules in force (an agency registered or revoked, a
//! route set, an authorization granted or revoked, a consent granted or revoked, a subject
//! registered or unregistered, a purpose registered, limits set), so that an auditor can prove
//! which rules a transfer relied on when it happened.
//!
//! An entry says who changed it (the acting agency, from its certificate), what (the change, the
//! record's key fields, and the SHA-256 of the whole record in its canonical form), and when.
//! Key fields name records, never persons: a subject appears as its pseudonym in hex.

use super::{EntryDecodeError, EntryHeader, EntryKind, EntryReader, EntryWriter};
use crate::merkle::Hash;

/// Most key fields one governance entry carries.
pub const MAX_KEY_FIELDS: usize = 16;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GovernanceChange {
    /// An agency became a member.
    AgencyRegistered,
    /// An agency's membership was revoked.
    AgencyRevoked,
    /// A data type was routed to a provider (new or replaced).
    RouteSet,
    /// An authorization was granted.
    AuthorizationGranted,
    /// An authorization was revoked.
    AuthorizationRevoked,
    /// A subject gave consent.
    ConsentGranted,
    /// A subject revoked consent.
    ConsentRevoked,
    /// A consumer registered a subject in its client list.
    SubjectRegistered,
    /// A consumer ended subject registrations.
    SubjectUnregistered,
    /// The operator registered a purpose code.
    PurposeRegistered,
    /// An agency's limits were set.
    LimitsSet,
}

impl GovernanceChange {
    /// Every change.
    pub const ALL: [GovernanceChange; 11] = [
        GovernanceChange::AgencyRegistered,
        GovernanceChange::AgencyRevoked,
        GovernanceChange::RouteSet,
        GovernanceChange::AuthorizationGranted,
        GovernanceChange::AuthorizationRevoked,
        GovernanceChange::ConsentGranted,
        GovernanceChange::ConsentRevoked,
        GovernanceChange::SubjectRegistered,
        GovernanceChange::SubjectUnregistered,
        GovernanceChange::PurposeRegistered,
        GovernanceChange::LimitsSet,
    ];

    /// The stable token written into entries.
    pub fn as_str(self) -> &'static str {
        match self {
            GovernanceChange::AgencyRegistered => "agency.registered",
            GovernanceChange::AgencyRevoked => "agency.revoked",
            GovernanceChange::RouteSet => "route.set",
            GovernanceChange::AuthorizationGranted => "authorization.granted",
            GovernanceChange::AuthorizationRevoked => "authorization.revoked",
            GovernanceChange::ConsentGranted => "consent.granted",
            GovernanceChange::ConsentRevoked => "consent.revoked",
            GovernanceChange::SubjectRegistered => "subject.registered",
            GovernanceChange::SubjectUnregistered => "subject.unregistered",
            GovernanceChange::PurposeRegistered => "purpose.registered",
            GovernanceChange::LimitsSet => "limits.set",
        }
    }

    /// The change for a token.
    pub fn from_token(token: &str) -> Option<GovernanceChange> {
        GovernanceChange::ALL
            .into_iter()
            .find(|change| change.as_str() == token)
    }
}

/// One rule change, as recorded (an entry of kind [`EntryKind::Governance`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceEntry {
    /// Position in the ledger (assigned by the writer; part of the encoding).
    pub leaf_index: u64,
    /// Unix microseconds when the change was made.
    pub recorded_at_micros: i64,
    /// The change's place among all rule changes: 1 for the first, then consecutive, in the
    /// order they took effect. A transfer names the sequence of the rules it was decided under
    /// (its `rules_version`); a gap in the sequence means a rule change is missing.
    pub sequence: u64,
    /// The agency that made the change, from its certificate.
    pub actor: String,
    /// What changed.
    pub change: GovernanceChange,
    /// The changed record's key fields, as (name, value), in the order given (at most
    /// [`MAX_KEY_FIELDS`]); values never hold personal data.
    pub key_fields: Vec<(String, String)>,
    /// SHA-256 of the whole record after the change, in its canonical form.
    pub record_digest: Hash,
}

impl GovernanceEntry {
    /// The canonical encoding: header, sequence (`u64`), actor, change token, the number of key fields (`u8`)
    /// and each as two strings, the record digest. Key fields beyond [`MAX_KEY_FIELDS`] are not
    /// written; callers give fewer.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = EntryWriter::new(
            EntryKind::Governance,
            self.leaf_index,
            self.recorded_at_micros,
        );
        writer.u64(self.sequence);
        writer.string(&self.actor);
        writer.string(self.change.as_str());
        let fields = &self.key_fields[..self.key_fields.len().min(MAX_KEY_FIELDS)];
        // At most MAX_KEY_FIELDS (16), so the count fits a byte.
        writer.byte(u8::try_from(fields.len()).unwrap_or(u8::MAX));
        for (name, value) in fields {
            writer.string(name);
            writer.string(value);
        }
        writer.hash(&self.record_digest);
        writer.finish()
    }

    pub(super) fn decode_body(
        header: EntryHeader,
        reader: &mut EntryReader<'_>,
    ) -> Result<Self, EntryDecodeError> {
        let sequence = reader.u64()?;
        let actor = reader.string()?;
        let change = GovernanceChange::from_token(&reader.string()?)
            .ok_or(EntryDecodeError::Malformed("unknown governance change"))?;
        let count = usize::from(reader.byte()?);
        if count > MAX_KEY_FIELDS {
            return Err(EntryDecodeError::Malformed("too many key fields"));
        }
        let key_fields = (0..count)
            .map(|_| Ok((reader.string()?, reader.string()?)))
            .collect::<Result<_, EntryDecodeError>>()?;
        Ok(Self {
            leaf_index: header.leaf_index,
            recorded_at_micros: header.recorded_at_micros,
            sequence,
            actor,
            change,
            key_fields,
            record_digest: reader.hash()?,
        })
    }
}
