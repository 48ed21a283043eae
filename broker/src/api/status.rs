//! The one place where domain errors become gRPC status codes.

use tonic::Status;

use crate::ledger::LedgerError;
use crate::pipeline::FetchRefusal;
use crate::store::StoreError;

/// Conversion of a domain error into the gRPC status a client sees.
pub trait BrokerStatus {
    /// The status.
    fn into_status(self) -> Status;
}

impl BrokerStatus for FetchRefusal {
    fn into_status(self) -> Status {
        let message = self.to_string();
        match self {
            FetchRefusal::NoAuthorization { .. }
            | FetchRefusal::SubjectNotRegistered { .. }
            | FetchRefusal::ConsentMissing(_)
            | FetchRefusal::ConsentRevoked
            | FetchRefusal::ConsentExpired => Status::permission_denied(message),
            FetchRefusal::SubjectNotFound { .. } => Status::not_found(message),
            FetchRefusal::NoRoute(_)
            | FetchRefusal::ProviderUnavailable { .. }
            | FetchRefusal::RegistryUnavailable(_)
            | FetchRefusal::LedgerUnavailable(_) => Status::unavailable(message),
            FetchRefusal::ProviderDeadline { .. } => Status::deadline_exceeded(message),
            FetchRefusal::InvalidPayload { .. } | FetchRefusal::MinimisationFailed { .. } => {
                Status::internal(message)
            }
        }
    }
}

impl BrokerStatus for StoreError {
    fn into_status(self) -> Status {
        let message = self.to_string();
        match self {
            StoreError::AlreadyExists(_) => Status::already_exists(message),
            StoreError::NotFound(_) => Status::not_found(message),
            StoreError::Unavailable(_) => Status::unavailable(message),
            StoreError::Database(_) | StoreError::Open(_) => Status::internal(message),
        }
    }
}

/// A request field is missing or malformed (SPEC step 2).
pub(crate) fn invalid_argument(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}

impl BrokerStatus for LedgerError {
    fn into_status(self) -> Status {
        let message = self.to_string();
        match self {
            LedgerError::Proof(_) => Status::invalid_argument(message),
            LedgerError::BeyondTree { .. } => Status::out_of_range(message),
            LedgerError::Store(store_error) => store_error.into_status(),
            LedgerError::WriterStopped | LedgerError::NotSequenced { .. } => {
                Status::unavailable(message)
            }
            LedgerError::Inconsistent(_) | LedgerError::Secret { .. } => Status::internal(message),
        }
    }
}
