//! The one place where domain errors become gRPC status codes: each domain error converts
//! with `From`, so the services write `?` and nothing else. The status message is the error
//! and its chain of causes.

use kruispunt_proto::v1::AuditReceipt;
use prost::Message;
use tonic::Status;
use tonic::metadata::MetadataValue;

use super::audit::EntryNotTheCallers;
use crate::error_chain::ErrorChain;
use crate::governance::GovernanceError;
use crate::ledger::LedgerError;
use crate::pipeline::{FetchRefusal, RecordedRefusal};
use crate::pseudonym_epochs::EpochSecretError;
use crate::revocation::AgencyRevoked;
use crate::store::StoreError;
use kruispunt_transparency::TransferReceipt;

impl From<FetchRefusal> for Status {
    fn from(refusal: FetchRefusal) -> Self {
        let message = ErrorChain(&refusal).to_string();
        match refusal {
            FetchRefusal::NoAuthorization { .. }
            | FetchRefusal::SubjectNotRegistered { .. }
            | FetchRefusal::ConsentMissing(_)
            | FetchRefusal::ConsentRevoked
            | FetchRefusal::ConsentExpired => Status::permission_denied(message),
            FetchRefusal::SubjectNotFound { .. } => Status::not_found(message),
            FetchRefusal::NoRoute(_)
            | FetchRefusal::Misrouted { .. }
            | FetchRefusal::ProviderUnavailable { .. }
            | FetchRefusal::RegistryUnavailable(_)
            | FetchRefusal::LedgerUnavailable(_)
            | FetchRefusal::PseudonymSecretUnavailable(_) => Status::unavailable(message),
            FetchRefusal::ProviderDeadline { .. } => Status::deadline_exceeded(message),
            FetchRefusal::InvalidPayload { .. }
            | FetchRefusal::UnsignedAnswer { .. }
            | FetchRefusal::InvalidSignature { .. }
            | FetchRefusal::MinimisationFailed { .. }
            | FetchRefusal::MinimisedPayloadUnencodable { .. } => Status::internal(message),
        }
    }
}

/// The trailer in which a refused `Fetch` carries the receipt of its ledger entry: an
/// `AuditReceipt`, protobuf-encoded (gRPC binary metadata, base64 on the wire).
pub const RECEIPT_TRAILER: &str = "kruispunt-receipt-bin";

/// A recorded refusal is its refusal's status, with the receipt in [`RECEIPT_TRAILER`].
impl From<RecordedRefusal> for Status {
    fn from(recorded: RecordedRefusal) -> Self {
        let mut status = Status::from(recorded.refusal);
        if let Some(receipt) = recorded.receipt {
            let encoded = audit_receipt(receipt).encode_to_vec();
            status
                .metadata_mut()
                .insert_bin(RECEIPT_TRAILER, MetadataValue::from_bytes(&encoded));
        }
        status
    }
}

/// The contract's form of a receipt, for the answer and for a refusal's trailer.
pub(crate) fn audit_receipt(receipt: TransferReceipt) -> AuditReceipt {
    AuditReceipt {
        index: receipt.leaf_index,
        leaf_hash: receipt.leaf_hash.to_vec(),
        entry: receipt.entry,
        origin: receipt.origin,
    }
}

impl From<StoreError> for Status {
    fn from(error: StoreError) -> Self {
        let message = ErrorChain(&error).to_string();
        match error {
            StoreError::AlreadyExists { .. } => Status::already_exists(message),
            StoreError::NotFound(_) => Status::not_found(message),
            StoreError::Unavailable(_) => Status::unavailable(message),
            StoreError::Database(_)
            | StoreError::Open { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Encode { .. } => Status::internal(message),
        }
    }
}

/// A request field is missing or malformed (SPEC step 2).
pub(crate) fn invalid_argument(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}

impl From<LedgerError> for Status {
    fn from(error: LedgerError) -> Self {
        let message = ErrorChain(&error).to_string();
        match error {
            LedgerError::Proof(_) => Status::invalid_argument(message),
            LedgerError::BeyondTree { .. } => Status::out_of_range(message),
            LedgerError::Store(store_error) => store_error.into(),
            LedgerError::WriterStopped
            | LedgerError::NotSequenced { .. }
            | LedgerError::NoCheckpointYet => Status::unavailable(message),
            LedgerError::Inconsistent(_) | LedgerError::Secret { .. } => Status::internal(message),
        }
    }
}

/// An epoch secret the subject access log or a request id query needs cannot be read: a fault
/// of the broker's data directory, never of the request.
impl From<EpochSecretError> for Status {
    fn from(error: EpochSecretError) -> Self {
        Status::internal(ErrorChain(&error).to_string())
    }
}

/// A refused or failed rule change is its store error's status; one committed whose ledger
/// entry is not in the tree yet is `UNAVAILABLE`, the message saying it is committed and will be
/// sequenced.
impl From<GovernanceError> for Status {
    fn from(error: GovernanceError) -> Self {
        match error {
            GovernanceError::Store(store_error) => store_error.into(),
            GovernanceError::NotYetInLedger { .. } => {
                Status::unavailable(ErrorChain(&error).to_string())
            }
        }
    }
}

/// A consumer asked for a proof of an entry that is not its own, or of no entry at all.
impl From<EntryNotTheCallers> for Status {
    fn from(refusal: EntryNotTheCallers) -> Self {
        Status::permission_denied(refusal.to_string())
    }
}

/// A revoked agency is not authenticated any more (SPEC step 1).
impl From<AgencyRevoked> for Status {
    fn from(refusal: AgencyRevoked) -> Self {
        Status::unauthenticated(refusal.to_string())
    }
}
