//! [`FetchCommand`]: a consumer's data request in domain terms, once steps 1 (mutual TLS) and 2
//! (request shape) have passed at the gRPC edge. The pipeline runs it; routing hands it to the
//! provider's adapter.

use std::sync::Arc;

use kruispunt_adapter::identity::AgencyIdentity;
use kruispunt_adapter::subject::SubjectId;

use crate::catalog::DataType;

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
    /// The consumer's correlation id.
    pub request_id: String,
    /// Consent relied on, if any.
    pub consent_id: String,
}
