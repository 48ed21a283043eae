//! The entries of change notifications: `change_published` (an authentic source announced that
//! data about a subject changed) and `notice_delivered` (a consumer was told, the first time the
//! notice was sent to it). Neither holds the subject or the provider's event id: the subject
//! appears as its pseudonym, the event id as its SHA-256 digest.

use super::{EntryDecodeError, EntryHeader, EntryKind, EntryReader, EntryWriter};
use crate::merkle::Hash;

/// What kind of change a provider announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A record came into being.
    Created,
    /// A record changed.
    Updated,
    /// A record ended.
    Deleted,
    /// An earlier state was wrong and was corrected.
    Corrected,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Created,
        ChangeKind::Updated,
        ChangeKind::Deleted,
        ChangeKind::Corrected,
    ];

    /// The token used in entries and in the `kruispunt.v1` contract (`change_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Corrected => "corrected",
        }
    }

    /// The kind for a token.
    pub fn from_token(token: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == token)
    }
}

fn change_kind(reader: &mut EntryReader<'_>) -> Result<ChangeKind, EntryDecodeError> {
    ChangeKind::from_token(&reader.string()?)
        .ok_or(EntryDecodeError::Malformed("unknown change kind"))
}

/// One published change (an entry of kind [`EntryKind::ChangePublished`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePublishedEntry {
    /// Position in the ledger.
    pub leaf_index: u64,
    /// Unix microseconds when the broker accepted the publication.
    pub recorded_at_micros: i64,
    /// The publishing provider agency.
    pub provider: String,
    /// The data type that changed.
    pub data_type: String,
    /// The pseudonym epoch whose secret keyed the subject's pseudonym.
    pub pseudonym_epoch: u32,
    /// The subject's keyed pseudonym.
    pub subject_pseudonym: Hash,
    /// What kind of change.
    pub change_kind: ChangeKind,
    /// Unix microseconds when the change happened, as the provider says.
    pub occurred_at_micros: i64,
    /// SHA-256 of the provider's event id.
    pub event_id_digest: Hash,
}

impl ChangePublishedEntry {
    /// The canonical encoding: header, provider, data type, pseudonym epoch (`u32`), pseudonym, change kind, occurred at,
    /// event id digest.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = EntryWriter::new(
            EntryKind::ChangePublished,
            self.leaf_index,
            self.recorded_at_micros,
        );
        writer.string(&self.provider);
        writer.string(&self.data_type);
        writer.u32(self.pseudonym_epoch);
        writer.hash(&self.subject_pseudonym);
        writer.string(self.change_kind.as_str());
        writer.i64(self.occurred_at_micros);
        writer.hash(&self.event_id_digest);
        writer.finish()
    }

    pub(super) fn decode_body(
        header: EntryHeader,
        reader: &mut EntryReader<'_>,
    ) -> Result<Self, EntryDecodeError> {
        Ok(Self {
            leaf_index: header.leaf_index,
            recorded_at_micros: header.recorded_at_micros,
            provider: reader.string()?,
            data_type: reader.string()?,
            pseudonym_epoch: reader.u32()?,
            subject_pseudonym: reader.hash()?,
            change_kind: change_kind(reader)?,
            occurred_at_micros: reader.i64()?,
            event_id_digest: reader.hash()?,
        })
    }
}

/// One notice delivered to a consumer for the first time (an entry of kind
/// [`EntryKind::NoticeDelivered`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDeliveredEntry {
    /// Position in the ledger.
    pub leaf_index: u64,
    /// Unix microseconds when the notice was first sent.
    pub recorded_at_micros: i64,
    /// The consumer agency told.
    pub consumer: String,
    /// The provider that published the change.
    pub provider: String,
    /// The data type that changed.
    pub data_type: String,
    /// The pseudonym epoch whose secret keyed the subject's pseudonym.
    pub pseudonym_epoch: u32,
    /// The subject's keyed pseudonym.
    pub subject_pseudonym: Hash,
    /// What kind of change.
    pub change_kind: ChangeKind,
    /// The notice's cursor in the consumer's stream.
    pub cursor: u64,
    /// The leaf index of the publication's `change_published` entry.
    pub publication_index: u64,
    /// SHA-256 of the provider's event id.
    pub event_id_digest: Hash,
}

impl NoticeDeliveredEntry {
    /// The canonical encoding: header, consumer, provider, data type, pseudonym epoch (`u32`), pseudonym, change kind,
    /// cursor, publication index, event id digest.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = EntryWriter::new(
            EntryKind::NoticeDelivered,
            self.leaf_index,
            self.recorded_at_micros,
        );
        writer.string(&self.consumer);
        writer.string(&self.provider);
        writer.string(&self.data_type);
        writer.u32(self.pseudonym_epoch);
        writer.hash(&self.subject_pseudonym);
        writer.string(self.change_kind.as_str());
        writer.u64(self.cursor);
        writer.u64(self.publication_index);
        writer.hash(&self.event_id_digest);
        writer.finish()
    }

    pub(super) fn decode_body(
        header: EntryHeader,
        reader: &mut EntryReader<'_>,
    ) -> Result<Self, EntryDecodeError> {
        Ok(Self {
            leaf_index: header.leaf_index,
            recorded_at_micros: header.recorded_at_micros,
            consumer: reader.string()?,
            provider: reader.string()?,
            data_type: reader.string()?,
            pseudonym_epoch: reader.u32()?,
            subject_pseudonym: reader.hash()?,
            change_kind: change_kind(reader)?,
            cursor: reader.u64()?,
            publication_index: reader.u64()?,
            event_id_digest: reader.hash()?,
        })
    }
}
