//! The request pipeline (SPEC "The request pipeline"): one consumer `Fetch`, step by step.
//!
//! Steps 1 (mutual TLS) and 2 (request shape) happen at the gRPC edge, before a
//! [`FetchCommand`] exists; this module runs the rest, in order:
//!
//! 3. authorization in force for consumer × data type × purpose (deny by default);
//! 4. the persons repertory, when the authorization demands a registered subject;
//! 5. consent in force, when the authorization demands it;
//! 6. routing to the provider adapter;
//! 7. the adapter call, under a deadline, over pinned mutual TLS;
//! 8. validation of the payload against the data type's schema (an invalid payload never leaves);
//! 9. minimisation to the fields the authorization allows;
//! 10. the ledger append, durable before the answer;
//! 11. the answer: payload and receipt.
//!
//! Every refusal from step 3 on is a ledger entry too. If the ledger cannot be written, the
//! request fails closed: no data leaves without a durable entry.

use std::sync::Arc;

use kruispunt_adapter::identity::AgencyIdentity;
use kruispunt_adapter::subject::SubjectId;
use kruispunt_proto::v1::{AdapterFetchRequest, Subject};
use tonic::Code;

use crate::catalog::{DataType, SchemaViolation};
use crate::ledger::{Ledger, LedgerError, Receipt};
use crate::registry::{Authorization, now_unix_seconds};
use crate::registry_index::RegistryIndex;
use crate::routing::AdapterDirectory;
use crate::store::{ConsentStore, RepertoryStore, StoreError};
use kruispunt_transparency::{LedgerEntry, Outcome, SubjectPseudonymizer, payload_digest};

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

impl std::fmt::Debug for DataType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DataType")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A delivered answer.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The validated payload, UTF-8 JSON.
    pub payload_json: Vec<u8>,
    /// The provider agency that answered.
    pub provider: String,
    /// The ledger entry of this transfer.
    pub receipt: Receipt,
}

/// Why a fetch was refused. The gRPC code of each is decided in `api::status`, nowhere else.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchRefusal {
    /// Step 3: no authorization in force.
    #[error(
        "agency {consumer} has no authorization in force for data type {data_type} with purpose {purpose:?}"
    )]
    NoAuthorization {
        /// The consumer.
        consumer: String,
        /// The data type.
        data_type: String,
        /// The purpose.
        purpose: String,
    },
    /// Step 4: the subject is not in the consumer's client list.
    #[error(
        "the authorization requires the subject to be registered in the client list of agency {consumer} (Registry.RegisterSubject), and it is not"
    )]
    SubjectNotRegistered {
        /// The consumer.
        consumer: String,
    },
    /// Step 5: no consent in force covers the request.
    #[error("the authorization requires the subject's consent: {0}")]
    ConsentMissing(String),
    /// Step 5: the quoted consent was revoked.
    #[error("the quoted consent was revoked by the subject")]
    ConsentRevoked,
    /// Step 5: the quoted consent expired.
    #[error("the quoted consent expired")]
    ConsentExpired,
    /// Step 6: nobody serves the data type.
    #[error("no provider is registered for data type {0}")]
    NoRoute(String),
    /// Step 7: the provider has no record of the subject.
    #[error("provider {provider} holds no record of this subject for {data_type}")]
    SubjectNotFound {
        /// The provider.
        provider: String,
        /// The data type.
        data_type: String,
    },
    /// Step 7: the adapter failed or could not be reached.
    #[error("provider {provider} is unavailable: {detail}")]
    ProviderUnavailable {
        /// The provider.
        provider: String,
        /// What failed (no payload, no subject).
        detail: String,
    },
    /// Step 7: the adapter did not answer in time.
    #[error("provider {provider} did not answer within {deadline_ms} ms")]
    ProviderDeadline {
        /// The provider.
        provider: String,
        /// The deadline.
        deadline_ms: u128,
    },
    /// Step 8: the payload broke the schema; it was not passed on.
    #[error(
        "provider {provider} sent a payload that does not conform to the schema of {data_type}; it was not passed on. Violations: {}",
        violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    InvalidPayload {
        /// The provider.
        provider: String,
        /// The data type.
        data_type: String,
        /// Where and which keyword (no values).
        violations: Vec<SchemaViolation>,
    },
    /// Step 9: minimisation produced a document breaking the schema beyond withheld fields (a
    /// broker defect; nothing is sent).
    #[error("minimisation produced a payload that breaks the schema of {data_type}: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    MinimisationFailed {
        /// The data type.
        data_type: String,
        /// The unexpected violations.
        violations: Vec<SchemaViolation>,
    },
    /// The registry could not be read: fail closed.
    #[error("the registry is unavailable: {0}")]
    RegistryUnavailable(#[from] StoreError),
    /// Step 10: the ledger could not be written: fail closed.
    #[error("the transfer could not be recorded in the audit ledger, so it was not delivered: {0}")]
    LedgerUnavailable(#[from] LedgerError),
}

impl FetchRefusal {
    fn outcome(&self) -> Option<Outcome> {
        Some(match self {
            FetchRefusal::NoAuthorization { .. } => Outcome::RefusedNoAuthorization,
            FetchRefusal::SubjectNotRegistered { .. } => Outcome::RefusedSubjectNotRegistered,
            FetchRefusal::ConsentMissing(_) => Outcome::RefusedConsentMissing,
            FetchRefusal::ConsentRevoked => Outcome::RefusedConsentRevoked,
            FetchRefusal::ConsentExpired => Outcome::RefusedConsentExpired,
            FetchRefusal::NoRoute(_) => Outcome::RefusedNoRoute,
            FetchRefusal::SubjectNotFound { .. } => Outcome::RefusedSubjectNotFound,
            FetchRefusal::ProviderUnavailable { .. } => Outcome::RefusedProviderUnavailable,
            FetchRefusal::ProviderDeadline { .. } => Outcome::RefusedProviderDeadline,
            FetchRefusal::InvalidPayload { .. } | FetchRefusal::MinimisationFailed { .. } => {
                Outcome::RefusedInvalidPayload
            }
            FetchRefusal::RegistryUnavailable(_) | FetchRefusal::LedgerUnavailable(_) => {
                return None;
            }
        })
    }
}

/// What the pipeline needs, shared by all requests.
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) registry_index: RegistryIndex,
    pub(crate) repertory: RepertoryStore,
    pub(crate) consents: ConsentStore,
    pub(crate) adapters: AdapterDirectory,
    pub(crate) ledger: Ledger,
    pub(crate) pseudonymizer: SubjectPseudonymizer,
    pub(crate) adapter_deadline: std::time::Duration,
    pub(crate) max_payload_bytes: usize,
}

/// What is known about a transfer as it moves through the steps; becomes its ledger entry.
struct TransferFacts<'a> {
    command: &'a FetchCommand,
    subject_pseudonym: [u8; 32],
    authorization: Option<Authorization>,
    provider: String,
}

impl Pipeline {
    /// Runs steps 3 to 11 for `command`.
    pub async fn fetch(&self, command: FetchCommand) -> Result<Delivery, FetchRefusal> {
        let mut facts = TransferFacts {
            command: &command,
            subject_pseudonym: self
                .pseudonymizer
                .pseudonym(command.subject.scheme().as_str(), command.subject.id()),
            authorization: None,
            provider: String::new(),
        };
        match self.authorize_call_and_validate(&mut facts).await {
            Ok(payload_json) => {
                let entry = self.entry(&facts, Outcome::Delivered, Some(&payload_json), "");
                let receipt = self.ledger.append(entry).await?;
                Ok(Delivery {
                    payload_json,
                    provider: facts.provider,
                    receipt,
                })
            }
            Err(refusal) => {
                if let Some(outcome) = refusal.outcome() {
                    let entry = self.entry(&facts, outcome, None, &refusal.to_string());
                    self.ledger.append(entry).await?;
                }
                tracing::info!(
                    consumer = %command.consumer.agency_id(),
                    data_type = %command.data_type.id,
                    refusal = %refusal,
                    "fetch refused"
                );
                Err(refusal)
            }
        }
    }

    async fn authorize_call_and_validate(
        &self,
        facts: &mut TransferFacts<'_>,
    ) -> Result<Vec<u8>, FetchRefusal> {
        let command = facts.command;
        let consumer = command.consumer.agency_id().as_str();
        let data_type = &command.data_type.id;

        let now = now_unix_seconds();

        // Step 3: deny by default.
        let authorization = self
            .registry_index
            .in_force(consumer, data_type, &command.purpose, now)
            .ok_or_else(|| FetchRefusal::NoAuthorization {
                consumer: consumer.to_owned(),
                data_type: data_type.clone(),
                purpose: command.purpose.clone(),
            })?;
        let allowed_fields = authorization.allowed_fields.clone();
        let (requires_registration, requires_consent) = (
            authorization.requires_subject_registration,
            authorization.requires_consent,
        );
        facts.authorization = Some(authorization);

        // Step 4: the persons repertory.
        if requires_registration
            && !self
                .repertory
                .is_registered(consumer, &facts.subject_pseudonym, now)
                .await?
        {
            return Err(FetchRefusal::SubjectNotRegistered {
                consumer: consumer.to_owned(),
            });
        }

        // Step 5: consent.
        if requires_consent {
            self.check_consent(command, &facts.subject_pseudonym, now)
                .await?;
        }

        // Step 6: routing.
        let adapter = self
            .adapters
            .get(data_type)
            .ok_or_else(|| FetchRefusal::NoRoute(data_type.clone()))?;
        let provider = adapter.route.provider.to_string();
        facts.provider.clone_from(&provider);
        if self.registry_index.is_revoked(&provider) {
            return Err(FetchRefusal::ProviderUnavailable {
                provider,
                detail: "its membership is revoked".to_owned(),
            });
        }

        // Step 7: the adapter call, under a deadline.
        let mut request = tonic::Request::new(AdapterFetchRequest {
            data_type: data_type.clone(),
            subject: Some(Subject {
                scheme: command.subject.scheme().as_str().to_owned(),
                id: command.subject.id().to_owned(),
            }),
            purpose: command.purpose.clone(),
            request_id: command.request_id.clone(),
            consumer: consumer.to_owned(),
        });
        request.set_timeout(self.adapter_deadline);
        let mut client = adapter.client();
        let response = tokio::time::timeout(self.adapter_deadline, client.fetch(request))
            .await
            .map_err(|_| FetchRefusal::ProviderDeadline {
                provider: provider.clone(),
                deadline_ms: self.adapter_deadline.as_millis(),
            })?
            .map_err(|status| adapter_status_refusal(&provider, data_type, &status, self))?;
        let payload_json = response.into_inner().payload_json;

        // Step 8: validation; nothing invalid leaves the broker.
        let payload = match self.parse_and_validate(&command.data_type, &payload_json) {
            Ok(payload) => payload,
            Err(violations) => {
                tracing::warn!(
                    provider = %provider,
                    data_type = %data_type,
                    violations = ?violations,
                    "provider payload refused by schema validation"
                );
                return Err(FetchRefusal::InvalidPayload {
                    provider,
                    data_type: data_type.clone(),
                    violations,
                });
            }
        };

        // Step 9: minimisation.
        if allowed_fields.is_everything() {
            return Ok(payload_json);
        }
        let minimised = allowed_fields.project(&payload);
        let unexpected =
            allowed_fields.check_minimised(&payload, command.data_type.violations(&minimised));
        if !unexpected.is_empty() {
            return Err(FetchRefusal::MinimisationFailed {
                data_type: data_type.clone(),
                violations: unexpected,
            });
        }
        Ok(serde_json::to_vec(&minimised).unwrap_or_default())
    }

    /// Step 5: a consent in force, from this subject to this consumer, for this purpose and data
    /// type. Messages never reveal whether a consent id exists for another subject.
    async fn check_consent(
        &self,
        command: &FetchCommand,
        subject_pseudonym: &[u8; 32],
        now: i64,
    ) -> Result<(), FetchRefusal> {
        if command.consent_id.is_empty() {
            return Err(FetchRefusal::ConsentMissing(
                "the request quotes no consent_id".to_owned(),
            ));
        }
        let not_covered = || {
            FetchRefusal::ConsentMissing(
                "no consent with this id covers this subject, agency, purpose and data type"
                    .to_owned(),
            )
        };
        let consent = self
            .consents
            .get(&command.consent_id)
            .await?
            .ok_or_else(not_covered)?;
        let covers = consent.subject_pseudonym == *subject_pseudonym
            && consent.consumer == command.consumer.agency_id().as_str()
            && consent.purposes.contains(&command.purpose)
            && consent.data_types.contains(&command.data_type.id);
        if !covers {
            return Err(not_covered());
        }
        if consent.revoked_at.is_some_and(|revoked| revoked <= now) {
            return Err(FetchRefusal::ConsentRevoked);
        }
        if consent.valid_until <= now {
            return Err(FetchRefusal::ConsentExpired);
        }
        Ok(())
    }

    /// The payload as JSON, if it is within the size bound, is JSON, and conforms to the data
    /// type's schema; otherwise what is wrong with it (no values).
    fn parse_and_validate(
        &self,
        data_type: &DataType,
        payload_json: &[u8],
    ) -> Result<serde_json::Value, Vec<SchemaViolation>> {
        let violation = |keyword: &str| {
            vec![SchemaViolation {
                instance_pointer: String::new(),
                keyword: keyword.to_owned(),
            }]
        };
        if payload_json.len() > self.max_payload_bytes {
            return Err(violation("maxPayloadBytes"));
        }
        let payload: serde_json::Value =
            serde_json::from_slice(payload_json).map_err(|_| violation("json"))?;
        let violations = data_type.violations(&payload);
        if violations.is_empty() {
            Ok(payload)
        } else {
            Err(violations)
        }
    }

    fn entry(
        &self,
        facts: &TransferFacts<'_>,
        outcome: Outcome,
        payload: Option<&[u8]>,
        refusal_reason: &str,
    ) -> LedgerEntry {
        let command = facts.command;
        let (legal_basis, legal_basis_ref) = facts
            .authorization
            .as_ref()
            .map(|authorization| {
                (
                    authorization.legal_basis.clone(),
                    authorization.legal_basis_ref.clone(),
                )
            })
            .unwrap_or_default();
        LedgerEntry {
            leaf_index: 0,
            recorded_at_micros: now_unix_micros(),
            consumer: command.consumer.agency_id().to_string(),
            provider: facts.provider.clone(),
            data_type: command.data_type.id.clone(),
            purpose: command.purpose.clone(),
            legal_basis,
            legal_basis_ref,
            consent_id: command.consent_id.clone(),
            subject_pseudonym: facts.subject_pseudonym,
            payload_sha256: payload.map(payload_digest),
            request_id: command.request_id.clone(),
            outcome,
            refusal_reason: refusal_reason.to_owned(),
        }
    }
}

/// How an adapter's gRPC status becomes a refusal. The adapter's own message is not relayed:
/// it is outside our control and might carry personal data.
fn adapter_status_refusal(
    provider: &str,
    data_type: &str,
    status: &tonic::Status,
    pipeline: &Pipeline,
) -> FetchRefusal {
    match status.code() {
        Code::NotFound => FetchRefusal::SubjectNotFound {
            provider: provider.to_owned(),
            data_type: data_type.to_owned(),
        },
        Code::DeadlineExceeded | Code::Cancelled => FetchRefusal::ProviderDeadline {
            provider: provider.to_owned(),
            deadline_ms: pipeline.adapter_deadline.as_millis(),
        },
        Code::Unavailable => FetchRefusal::ProviderUnavailable {
            provider: provider.to_owned(),
            detail: "the adapter cannot be reached or refused the connection".to_owned(),
        },
        code => FetchRefusal::ProviderUnavailable {
            provider: provider.to_owned(),
            detail: format!("the adapter answered with gRPC code {code:?}"),
        },
    }
}

fn now_unix_micros() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}
