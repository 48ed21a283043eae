//! The one trait an authentic source implements.

use std::future::Future;

use crate::subject::SubjectId;

/// A data type a source serves: id and OSLO class IRI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDataType {
    /// `<standard>.<Class>@<major>`, e.g. `persoon.GeregistreerdPersoon@1`.
    pub id: String,
    /// The OSLO class IRI.
    pub class_iri: String,
    /// Human-readable title.
    pub title: String,
}

/// One data request, already authenticated (the caller is the broker) and well-formed.
#[derive(Debug, Clone)]
pub struct SourceRequest {
    /// The requested data type; always one the source declared in [`AuthenticSource::data_types`]
    /// (the SDK answers a request for any other with `UNIMPLEMENTED` before the source sees it).
    pub data_type: String,
    /// Whom the data is about (scheme and checksum already validated).
    pub subject: SubjectId,
    /// The purpose the consumer stated and the broker authorized.
    pub purpose: String,
    /// The broker's id for this transfer: 32 lower-case hex digits, the transfer id its ledger
    /// entry records (never the consumer's own request id or case reference).
    pub request_id: String,
    /// Agency id of the consumer.
    pub consumer: String,
}

/// Why a source could not answer. Each maps to one gRPC code at the adapter's edge.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The register has no record for the subject (`NOT_FOUND`).
    #[error("the register holds no record for this subject")]
    SubjectNotFound,
    /// The register cannot answer now (`UNAVAILABLE`).
    #[error("the register is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (`INTERNAL`); the message must not contain personal data.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An authentic source: implement this and hand it to [`serve`](crate::serve).
pub trait AuthenticSource: Send + Sync + 'static {
    /// The data types this source serves.
    fn data_types(&self) -> Vec<ServedDataType>;

    /// Answers one request with the payload as UTF-8 JSON bytes. The broker validates them
    /// against the data type's JSON Schema.
    fn fetch(
        &self,
        request: SourceRequest,
    ) -> impl Future<Output = Result<Vec<u8>, SourceError>> + Send;
}
