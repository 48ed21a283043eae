//! The one place where domain errors become gRPC status codes: each domain error converts
//! with `From`, so the services write `?` and nothing else. The status message is the error
//! and its chain of causes. Every status made here names its rule in the
//! `kruispunt-refusal-rule` metadata entry (`<step>.<rule>`, see
//! `kruispunt_proto::refusal_rule`), which clients may read and the refusal log counts by.

use kruispunt_proto::refusal_rule::with_refusal_rule;
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
        let rule = fetch_refusal_rule(&refusal);
        let status = match refusal {
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
        };
        with_refusal_rule(status, rule)
    }
}

/// The rule token of a pipeline refusal: the step that refused and why.
fn fetch_refusal_rule(refusal: &FetchRefusal) -> &'static str {
    match refusal {
        FetchRefusal::NoAuthorization { .. } => "step3.no_authorization",
        FetchRefusal::SubjectNotRegistered { .. } => "step4.subject_not_registered",
        FetchRefusal::ConsentMissing(_) => "step5.consent_missing",
        FetchRefusal::ConsentRevoked => "step5.consent_revoked",
        FetchRefusal::ConsentExpired => "step5.consent_expired",
        FetchRefusal::NoRoute(_) => "step6.no_route",
        FetchRefusal::Misrouted { .. } => "step7.misrouted",
        FetchRefusal::ProviderUnavailable { .. } => "step7.provider_unavailable",
        FetchRefusal::ProviderDeadline { .. } => "step7.provider_deadline",
        FetchRefusal::SubjectNotFound { .. } => "step7.subject_not_found",
        FetchRefusal::UnsignedAnswer { .. } => "step7.unsigned_answer",
        FetchRefusal::InvalidSignature { .. } => "step7.invalid_signature",
        FetchRefusal::InvalidPayload { .. } => "step8.invalid_payload",
        FetchRefusal::MinimisationFailed { .. } => "step9.minimisation_failed",
        FetchRefusal::MinimisedPayloadUnencodable { .. } => "step9.minimised_payload_unencodable",
        FetchRefusal::LedgerUnavailable(_) => "step10.ledger_unavailable",
        FetchRefusal::RegistryUnavailable(_) => "broker.registry_unavailable",
        FetchRefusal::PseudonymSecretUnavailable(_) => "broker.pseudonym_secret_unavailable",
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
            StoreError::AlreadyExists { .. } => {
                with_refusal_rule(Status::already_exists(message), "store.already_exists")
            }
            StoreError::NotFound(_) => {
                with_refusal_rule(Status::not_found(message), "store.not_found")
            }
            StoreError::Unavailable(_) => {
                with_refusal_rule(Status::unavailable(message), "store.unavailable")
            }
            StoreError::Database(_)
            | StoreError::Open { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Encode { .. } => {
                with_refusal_rule(Status::internal(message), "store.fault")
            }
        }
    }
}

/// A request field is missing or malformed (SPEC step 2).
pub(crate) fn invalid_argument(message: impl Into<String>) -> Status {
    with_refusal_rule(
        Status::invalid_argument(message.into()),
        "step2.malformed_request",
    )
}

impl From<LedgerError> for Status {
    fn from(error: LedgerError) -> Self {
        let message = ErrorChain(&error).to_string();
        match error {
            LedgerError::Proof(_) => with_refusal_rule(
                Status::invalid_argument(message),
                "ledger.invalid_proof_request",
            ),
            LedgerError::BeyondTree { .. } => {
                with_refusal_rule(Status::out_of_range(message), "ledger.beyond_tree")
            }
            LedgerError::Store(store_error) => store_error.into(),
            LedgerError::WriterStopped
            | LedgerError::NotSequenced { .. }
            | LedgerError::NoCheckpointYet => {
                with_refusal_rule(Status::unavailable(message), "ledger.unavailable")
            }
            LedgerError::Inconsistent(_) | LedgerError::Secret { .. } => {
                with_refusal_rule(Status::internal(message), "ledger.fault")
            }
        }
    }
}

/// An epoch secret the subject access log or a request id query needs cannot be read: a fault
/// of the broker's data directory, never of the request.
impl From<EpochSecretError> for Status {
    fn from(error: EpochSecretError) -> Self {
        with_refusal_rule(
            Status::internal(ErrorChain(&error).to_string()),
            "broker.pseudonym_secret_unavailable",
        )
    }
}

/// A refused or failed rule change is its store error's status; one committed whose ledger
/// entry is not in the tree yet is `UNAVAILABLE`, the message saying it is committed and will be
/// sequenced.
impl From<GovernanceError> for Status {
    fn from(error: GovernanceError) -> Self {
        match error {
            GovernanceError::Store(store_error) => store_error.into(),
            GovernanceError::NotYetInLedger { .. } => with_refusal_rule(
                Status::unavailable(ErrorChain(&error).to_string()),
                "governance.not_yet_in_ledger",
            ),
        }
    }
}

/// A consumer asked for a proof of an entry that is not its own, or of no entry at all.
impl From<EntryNotTheCallers> for Status {
    fn from(refusal: EntryNotTheCallers) -> Self {
        with_refusal_rule(
            Status::permission_denied(refusal.to_string()),
            "audit.entry_not_the_callers",
        )
    }
}

/// A revoked agency is not authenticated any more (SPEC step 1).
impl From<AgencyRevoked> for Status {
    fn from(refusal: AgencyRevoked) -> Self {
        with_refusal_rule(
            Status::unauthenticated(refusal.to_string()),
            "step1.agency_revoked",
        )
    }
}
