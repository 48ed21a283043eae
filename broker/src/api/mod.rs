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

use kruispunt_transparency::SubjectPseudonymizer;

/// Checks a subject from a request and returns its keyed pseudonym.
pub(crate) fn subject_pseudonym(
    pseudonymizer: &SubjectPseudonymizer,
    subject: Option<proto::Subject>,
) -> Result<[u8; 32], Status> {
    let subject = subject.ok_or_else(|| invalid_argument("subject is required"))?;
    let subject = parse_subject(&subject.scheme, &subject.id)
        .map_err(|error| invalid_argument(format!("subject: {error}")))?;
    Ok(pseudonymizer.pseudonym(subject.scheme().as_str(), subject.id()))
}
