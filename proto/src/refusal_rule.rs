//! The refusal rule token: every status the broker (and the adapter SDK) refuses a call with
//! names the rule that refused it in the `kruispunt-refusal-rule` metadata entry, a stable
//! token such as `step3.no_authorization` (`<step>.<rule>`, lower case). Clients may act on it;
//! the broker's refusal log counts and logs by it. A status without a token is named by its code
//! ([`generic_rule`]), so a refusal added without one is still counted.

use tonic::Status;
use tonic::metadata::MetadataValue;

/// The metadata entry (an ASCII header or trailer) carrying a refusal's rule token.
pub const REFUSAL_RULE_METADATA: &str = "kruispunt-refusal-rule";

/// `status`, naming `rule` in [`REFUSAL_RULE_METADATA`].
pub fn with_refusal_rule(mut status: Status, rule: &'static str) -> Status {
    status
        .metadata_mut()
        .insert(REFUSAL_RULE_METADATA, MetadataValue::from_static(rule));
    status
}

/// The rule token `status` carries, if any.
pub fn refusal_rule_of(status: &Status) -> Option<&str> {
    status
        .metadata()
        .get(REFUSAL_RULE_METADATA)
        .and_then(|value| value.to_str().ok())
}

/// The rule of a status that names none: `code.` and its code in snake case (for example
/// `code.resource_exhausted`).
pub fn generic_rule(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "code.ok",
        Code::Cancelled => "code.cancelled",
        Code::Unknown => "code.unknown",
        Code::InvalidArgument => "code.invalid_argument",
        Code::DeadlineExceeded => "code.deadline_exceeded",
        Code::NotFound => "code.not_found",
        Code::AlreadyExists => "code.already_exists",
        Code::PermissionDenied => "code.permission_denied",
        Code::ResourceExhausted => "code.resource_exhausted",
        Code::FailedPrecondition => "code.failed_precondition",
        Code::Aborted => "code.aborted",
        Code::OutOfRange => "code.out_of_range",
        Code::Unimplemented => "code.unimplemented",
        Code::Internal => "code.internal",
        Code::Unavailable => "code.unavailable",
        Code::DataLoss => "code.data_loss",
        Code::Unauthenticated => "code.unauthenticated",
    }
}

/// The rule of a request message that is not valid protobuf for its method.
pub const UNDECODABLE_MESSAGE: &str = "step2.undecodable_message";
/// The rule of a request message larger than the server accepts.
pub const OVERSIZED_MESSAGE: &str = "step2.oversized_message";
