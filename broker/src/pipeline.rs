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
//! Every refusal from step 3 on is a ledger entry too, and its receipt goes back with the
//! refusal. A receipt ([`TransferReceipt`]) carries the entry bytes, so the consumer can check
//! it against the signed log itself. If the ledger cannot be written, the
//! request fails closed: no data leaves without a durable entry.

use crate::catalog::SchemaViolation;
use crate::error_chain::ErrorChain;
use crate::fetch_command::FetchCommand;
use crate::ledger::{Ledger, LedgerError, Receipt};
use crate::registry::{Authorization, now_unix_seconds};
use crate::registry_index::RegistryIndex;
use crate::routing::{AdapterDirectory, AdapterFailure, RoutedAdapter};
use crate::store::{ConsentStore, RepertoryStore, StoreError};
use kruispunt_transparency::{
    LedgerEntry, Outcome, SubjectPseudonymizer, TransferReceipt, payload_digest,
};

/// A delivered answer.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The validated payload, UTF-8 JSON.
    pub payload_json: Vec<u8>,
    /// The provider agency that answered.
    pub provider: String,
    /// The ledger entry of this transfer: where it sits, and its bytes.
    pub receipt: TransferReceipt,
}

/// A refused fetch, with the receipt of its ledger entry when the refusal was recorded (from
/// step 3 on; not when the registry or the ledger itself failed).
#[derive(Debug, Clone)]
pub struct RecordedRefusal {
    /// Why the fetch was refused.
    pub refusal: FetchRefusal,
    /// The refusal's ledger entry.
    pub receipt: Option<TransferReceipt>,
}

impl From<FetchRefusal> for RecordedRefusal {
    fn from(refusal: FetchRefusal) -> Self {
        RecordedRefusal {
            refusal,
            receipt: None,
        }
    }
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
    /// Step 7: the routed adapter does not serve the data type (`UNIMPLEMENTED`): the route is
    /// wrong, not the request.
    #[error("provider {provider} does not serve data type {data_type}: the route is misconfigured")]
    Misrouted {
        /// The provider the route names.
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
    /// Step 9: the minimised payload could not be serialized (a broker defect; nothing is sent).
    #[error("the minimised payload of {data_type} could not be serialized: {detail}")]
    MinimisedPayloadUnencodable {
        /// The data type.
        data_type: String,
        /// The serializer's message (no values).
        detail: String,
    },
    /// The registry could not be read: fail closed.
    #[error("the registry is unavailable")]
    RegistryUnavailable(#[from] StoreError),
    /// Step 10: the ledger could not be written: fail closed.
    #[error("the transfer could not be recorded in the audit ledger, so it was not delivered")]
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
            FetchRefusal::Misrouted { .. } => Outcome::RefusedMisrouted,
            FetchRefusal::ProviderUnavailable { .. } => Outcome::RefusedProviderUnavailable,
            FetchRefusal::ProviderDeadline { .. } => Outcome::RefusedProviderDeadline,
            FetchRefusal::InvalidPayload { .. }
            | FetchRefusal::MinimisationFailed { .. }
            | FetchRefusal::MinimisedPayloadUnencodable { .. } => Outcome::RefusedInvalidPayload,
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
    /// The consent the authorization relied on: one that exists and covers the request (in
    /// force or not). A quoted id that is not is caller text, and is not recorded.
    consent_relied_on: Option<String>,
    provider: String,
    /// The governance sequence of the registry view step 3 decided under (0 before step 3).
    rules_version: u64,
}

impl Pipeline {
    /// Runs steps 3 to 11 for `command`.
    pub async fn fetch(&self, command: FetchCommand) -> Result<Delivery, RecordedRefusal> {
        let mut facts = TransferFacts {
            command: &command,
            subject_pseudonym: self
                .pseudonymizer
                .pseudonym(command.subject.scheme().as_str(), command.subject.id()),
            authorization: None,
            consent_relied_on: None,
            provider: String::new(),
            rules_version: 0,
        };
        match self.run_steps_3_to_9(&mut facts).await {
            Ok(payload_json) => {
                // Step 10, then 11.
                let entry = self.entry(&facts, Outcome::Delivered, Some(&payload_json), "");
                let receipt = self.record(entry).await.map_err(FetchRefusal::from)?;
                Ok(Delivery {
                    payload_json,
                    provider: facts.provider,
                    receipt,
                })
            }
            Err(refusal) => {
                let receipt = match refusal.outcome() {
                    Some(outcome) => {
                        let entry = self.entry(&facts, outcome, None, &refusal.to_string());
                        Some(self.record(entry).await.map_err(FetchRefusal::from)?)
                    }
                    None => None,
                };
                tracing::info!(
                    consumer = %command.consumer.agency_id(),
                    data_type = %command.data_type.id,
                    refusal = %ErrorChain(&refusal),
                    "fetch refused"
                );
                Err(RecordedRefusal { refusal, receipt })
            }
        }
    }

    /// Appends `entry` (step 10) and returns its receipt: the entry encoded with the index the
    /// ledger gave it, which is exactly the stored bytes. A leaf hash that differs from the
    /// ledger's would be a broker defect; the request then fails closed.
    async fn record(&self, mut entry: LedgerEntry) -> Result<TransferReceipt, LedgerError> {
        let Receipt { index, leaf_hash } = self.ledger.append(entry.clone()).await?;
        entry.leaf_index = index;
        let receipt = TransferReceipt::for_sequenced_entry(self.ledger.origin(), &entry);
        if receipt.leaf_hash != leaf_hash {
            return Err(LedgerError::Inconsistent(format!(
                "the receipt of entry {index} does not hash to the leaf hash the ledger recorded"
            )));
        }
        Ok(receipt)
    }

    /// The steps up to the ledger, in order; `facts` collects what the ledger entry records.
    async fn run_steps_3_to_9(
        &self,
        facts: &mut TransferFacts<'_>,
    ) -> Result<Vec<u8>, FetchRefusal> {
        let command = facts.command;
        let now = now_unix_seconds();
        let authorization =
            facts
                .authorization
                .insert(self.authorize(command, now, &mut facts.rules_version)?);
        self.check_repertory(command, authorization, &facts.subject_pseudonym, now)
            .await?;
        self.check_consent(
            command,
            authorization,
            &facts.subject_pseudonym,
            now,
            &mut facts.consent_relied_on,
        )
        .await?;
        let adapter = self.route(command, &mut facts.provider)?;
        let payload_json = self.call_adapter(command, &adapter).await?;
        let payload = self.validate(command, &adapter, &payload_json)?;
        self.minimise(command, authorization, payload, payload_json)
    }

    /// Step 3: an authorization in force for consumer × data type × purpose; deny by default.
    /// The rules version of the registry view it decided under goes into `rules_version`, for
    /// the ledger entry (granted or refused).
    fn authorize(
        &self,
        command: &FetchCommand,
        now: i64,
        rules_version: &mut u64,
    ) -> Result<Authorization, FetchRefusal> {
        let consumer = command.consumer.agency_id().as_str();
        let (authorization, decided_under) =
            self.registry_index
                .decide(consumer, &command.data_type.id, &command.purpose, now);
        *rules_version = decided_under;
        authorization.ok_or_else(|| FetchRefusal::NoAuthorization {
            consumer: consumer.to_owned(),
            data_type: command.data_type.id.clone(),
            purpose: command.purpose.clone(),
        })
    }

    /// Step 4: the subject is in the consumer's client list, when the authorization demands it.
    async fn check_repertory(
        &self,
        command: &FetchCommand,
        authorization: &Authorization,
        subject_pseudonym: &[u8; 32],
        now: i64,
    ) -> Result<(), FetchRefusal> {
        if !authorization.requires_subject_registration {
            return Ok(());
        }
        let consumer = command.consumer.agency_id().as_str();
        if self
            .repertory
            .is_registered(consumer, subject_pseudonym, now)
            .await?
        {
            Ok(())
        } else {
            Err(FetchRefusal::SubjectNotRegistered {
                consumer: consumer.to_owned(),
            })
        }
    }

    /// Step 5: when the authorization demands it, a consent in force from this subject to this
    /// consumer, for this purpose and data type. Messages never reveal whether a consent id
    /// exists for another subject. A consent that covers the request is written into
    /// `relied_on` (for the ledger entry) before its validity is checked.
    async fn check_consent(
        &self,
        command: &FetchCommand,
        authorization: &Authorization,
        subject_pseudonym: &[u8; 32],
        now: i64,
        relied_on: &mut Option<String>,
    ) -> Result<(), FetchRefusal> {
        if !authorization.requires_consent {
            return Ok(());
        }
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
        *relied_on = Some(consent.id.clone());
        if consent.revoked_at.is_some_and(|revoked| revoked <= now) {
            return Err(FetchRefusal::ConsentRevoked);
        }
        if consent.valid_until <= now {
            return Err(FetchRefusal::ConsentExpired);
        }
        Ok(())
    }

    /// Step 6: the adapter routed for the data type, whose provider must not be revoked. Its
    /// provider is written into `provider` as soon as it is known, for the ledger entry.
    fn route(
        &self,
        command: &FetchCommand,
        provider: &mut String,
    ) -> Result<RoutedAdapter, FetchRefusal> {
        let data_type = &command.data_type.id;
        let adapter = self
            .adapters
            .get(data_type)
            .ok_or_else(|| FetchRefusal::NoRoute(data_type.clone()))?;
        provider.clone_from(&adapter.route.provider.to_string());
        if self.registry_index.is_revoked(provider) {
            return Err(FetchRefusal::ProviderUnavailable {
                provider: provider.clone(),
                detail: "its membership is revoked".to_owned(),
            });
        }
        Ok(adapter)
    }

    /// Step 7: the adapter call, under the deadline.
    async fn call_adapter(
        &self,
        command: &FetchCommand,
        adapter: &RoutedAdapter,
    ) -> Result<Vec<u8>, FetchRefusal> {
        let provider = || adapter.route.provider.to_string();
        let data_type = || command.data_type.id.clone();
        adapter
            .fetch(command, self.adapter_deadline)
            .await
            .map_err(|failure| match failure {
                AdapterFailure::SubjectNotFound => FetchRefusal::SubjectNotFound {
                    provider: provider(),
                    data_type: data_type(),
                },
                AdapterFailure::DataTypeNotServed => FetchRefusal::Misrouted {
                    provider: provider(),
                    data_type: data_type(),
                },
                AdapterFailure::Deadline(deadline) => FetchRefusal::ProviderDeadline {
                    provider: provider(),
                    deadline_ms: deadline.as_millis(),
                },
                AdapterFailure::Unavailable(detail) => FetchRefusal::ProviderUnavailable {
                    provider: provider(),
                    detail,
                },
            })
    }

    /// Step 8: the payload against the data type's schema; nothing invalid leaves the broker.
    fn validate(
        &self,
        command: &FetchCommand,
        adapter: &RoutedAdapter,
        payload_json: &[u8],
    ) -> Result<serde_json::Value, FetchRefusal> {
        let data_type = &command.data_type;
        data_type
            .validate_payload(payload_json, self.max_payload_bytes)
            .map_err(|violations| {
                let provider = adapter.route.provider.to_string();
                tracing::warn!(
                    provider = %provider,
                    data_type = %data_type.id,
                    violations = ?violations,
                    "provider payload refused by schema validation"
                );
                FetchRefusal::InvalidPayload {
                    provider,
                    data_type: data_type.id.clone(),
                    violations,
                }
            })
    }

    /// Step 9: only the fields the authorization allows; the whole payload as received when it
    /// allows everything.
    fn minimise(
        &self,
        command: &FetchCommand,
        authorization: &Authorization,
        payload: serde_json::Value,
        payload_json: Vec<u8>,
    ) -> Result<Vec<u8>, FetchRefusal> {
        let allowed_fields = &authorization.allowed_fields;
        if allowed_fields.is_everything() {
            return Ok(payload_json);
        }
        let data_type = &command.data_type;
        let minimised = allowed_fields.project(&payload);
        let unexpected = allowed_fields.check_minimised(&payload, data_type.violations(&minimised));
        if !unexpected.is_empty() {
            return Err(FetchRefusal::MinimisationFailed {
                data_type: data_type.id.clone(),
                violations: unexpected,
            });
        }
        serde_json::to_vec(&minimised).map_err(|error| FetchRefusal::MinimisedPayloadUnencodable {
            data_type: data_type.id.clone(),
            detail: error.to_string(),
        })
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
            consent_id: facts.consent_relied_on.clone().unwrap_or_default(),
            rules_version: facts.rules_version,
            pseudonym_epoch: 0,
            subject_pseudonym: facts.subject_pseudonym,
            payload_sha256: payload.map(payload_digest),
            transfer_id: [0; 16],
            request_digest: (!command.request_id.is_empty()).then(|| {
                self.pseudonymizer
                    .request_digest(command.consumer.agency_id().as_str(), &command.request_id)
            }),
            case_reference_digest: None,
            source_payload_sha256: None,
            answer_signature: None,
            outcome,
            refusal_reason: refusal_reason.to_owned(),
            legacy_request_id: String::new(),
        }
    }
}

fn now_unix_micros() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}
