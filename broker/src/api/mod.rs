//! The gRPC edge: one file per service. Each converts generated proto types into domain types
//! (checking request shape, SPEC step 2), checks the caller's role, calls the domain, and
//! converts the result back. Domain errors become gRPC statuses in [`status`] only.

pub mod audit;
pub mod consent;
pub mod exchange;
pub mod registry;
mod status;

pub use status::RECEIPT_TRAILER;

use kruispunt_adapter::subject::parse_subject;
use kruispunt_proto::v1 as proto;
use status::invalid_argument;
use tonic::Status;

use kruispunt_adapter::subject::SubjectId;
use kruispunt_transparency::SubjectPseudonymizer;

use crate::governance::LedgerSubject;
use crate::pseudonym_epochs::PseudonymEpochs;

/// Checks a subject from a request.
fn checked_subject(subject: Option<proto::Subject>) -> Result<SubjectId, Status> {
    let subject = subject.ok_or_else(|| invalid_argument("subject is required"))?;
    parse_subject(&subject.scheme, &subject.id)
        .map_err(|error| invalid_argument(format!("subject: {error}")))
}

/// Checks a subject from a request and returns its keyed pseudonym.
pub(crate) fn subject_pseudonym(
    pseudonymizer: &SubjectPseudonymizer,
    subject: Option<proto::Subject>,
) -> Result<[u8; 32], Status> {
    let subject = checked_subject(subject)?;
    Ok(pseudonymizer.pseudonym(subject.scheme().as_str(), subject.id()))
}

/// Checks a subject from a request that changes a rule about it, and returns its pseudonym
/// under the registry's secret (epoch 0, which keys the registry's tables) and as the change's
/// governance entry names it: under the secret of the epoch current now.
pub(crate) fn subject_keys(
    epochs: &PseudonymEpochs,
    subject: Option<proto::Subject>,
) -> Result<([u8; 32], LedgerSubject), Status> {
    let subject = checked_subject(subject)?;
    let (scheme, id) = (subject.scheme().as_str(), subject.id());
    let current = epochs.current_at(crate::registry::now_unix_micros())?;
    Ok((
        epochs.registry_pseudonymizer().pseudonym(scheme, id),
        LedgerSubject {
            epoch: current.epoch,
            pseudonym: current.pseudonymizer.pseudonym(scheme, id),
        },
    ))
}
