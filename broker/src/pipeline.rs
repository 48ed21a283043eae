//! The request pipeline (SPEC "The request pipeline"): one consumer `Fetch`, step by step.
//!
//! Steps 1 (mutual TLS) and 2 (request shape) happen at the gRPC edge, before a
//! [`FetchCommand`] exists; this module runs the rest, in order:
//!
//! 3. authorization in force for consumer × data type × purpose (deny by default);
//! 4. the persons repertory, when the authorization demands a registered subject;
//! 5. consent in force, when the authorization demands it;
//! 6. routing to the provider adapter;
//! 7. the adapter call, under a deadline, over pinned mutual TLS, and the check of the answer's
//!    signature against the certificate the adapter presented (`check_answer_signature`: an
//!    invalid signature is always refused, a missing one where the route requires signed
//!    answers);
//! 8. validation of the payload against the data type's schema (an invalid payload never leaves);
//! 9. minimisation to the fields the authorization allows;
//! 10. the ledger append, durable before the answer, keyed by the pseudonym epoch of its time;
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
use crate::pseudonym_epochs::{EpochSecretError, PseudonymEpochs};
use crate::registry::{Authorization, now_unix_micros, now_unix_seconds};
use crate::registry_index::RegistryIndex;
use crate::routing::{AdapterAnswer, AdapterDirectory, AdapterFailure, RoutedAdapter};
use crate::store::{ConsentStore, RepertoryStore, StoreError};
use kruispunt_adapter::answer_signature::{
    AnswerSignatureError, certificate_sha256, verify_answer_signature,
};
use kruispunt_transparency::{
    AnswerSignature, AnswerStatement, Hash, LedgerEntry, Outcome, TransferId, TransferReceipt,
    payload_digest,
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
    /// What the source answered, provably: passed on to the consumer.
    pub source_answer: SourceAnswer,
}

/// What the authentic source answered, as recorded in the transfer's entry: enough for the
/// consumer to rebuild the signed statement and check it offline.
#[derive(Debug, Clone)]
pub struct SourceAnswer {
    /// The broker's id for the transfer (the statement covers it).
    pub transfer_id: TransferId,
    /// SHA-256 of the payload the source answered, before minimisation.
    pub payload_sha256: Option<Hash>,
    /// The source's signature, checked; `None` when it did not sign.
    pub signature: Option<AnswerSignature>,
    /// The certificate the source presented and signed with (when it signed).
    pub certificate_der: Option<Vec<u8>>,
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
    /// Step 7: the route requires signed answers and the adapter did not sign; the answer was
    /// not passed on.
    #[error(
        "provider {provider} did not sign its answer for {data_type}, and the route requires signed answers; it was not passed on"
    )]
    UnsignedAnswer {
        /// The provider.
        provider: String,
        /// The data type.
        data_type: String,
    },
    /// Step 7: the adapter's signature over its answer does not hold; the answer was not passed
    /// on.
    #[error(
        "the signature of provider {provider} over its answer for {data_type} does not hold; the answer was not passed on"
    )]
    InvalidSignature {
        /// The provider.
        provider: String,
        /// The data type.
        data_type: String,
        /// What is wrong with it.
        #[source]
        fault: AnswerSignatureFault,
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
    /// Step 10: the pseudonym epoch's secret could not be read or created, so the entry cannot
    /// be keyed: fail closed.
    #[error(
        "the transfer could not be recorded in the audit ledger (its pseudonym secret is unavailable), so it was not delivered"
    )]
    PseudonymSecretUnavailable(#[from] EpochSecretError),
}

/// Why an answer's signature does not hold.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AnswerSignatureFault {
    /// No certificate was recorded for the connection the answer came over (cannot happen for
    /// an answer that came over a verified connection; refused all the same).
    #[error("no certificate was recorded for the connection the answer came over")]
    NoPresentedCertificate,
    /// The signature does not verify against the presented certificate.
    #[error(transparent)]
    Invalid(#[from] AnswerSignatureError),
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
            FetchRefusal::UnsignedAnswer { .. } => Outcome::RefusedUnsignedAnswer,
            FetchRefusal::InvalidSignature { .. } => Outcome::RefusedInvalidSignature,
            FetchRefusal::InvalidPayload { .. }
            | FetchRefusal::MinimisationFailed { .. }
            | FetchRefusal::MinimisedPayloadUnencodable { .. } => Outcome::RefusedInvalidPayload,
            FetchRefusal::RegistryUnavailable(_)
            | FetchRefusal::LedgerUnavailable(_)
            | FetchRefusal::PseudonymSecretUnavailable(_) => {
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
    /// Keys the registry's pseudonyms (epoch 0) and each entry's (the epoch of its time).
    pub(crate) pseudonym_epochs: PseudonymEpochs,
    /// When a transfer is recorded; its epoch follows from it.
    pub(crate) clock: TransferClock,
    pub(crate) adapter_deadline: std::time::Duration,
    pub(crate) max_payload_bytes: usize,
}

/// The clock that stamps ledger entries (`recorded_at`, Unix microseconds), and so picks each
/// transfer's pseudonym epoch. [`TransferClock::system`] in every broker; tests that need
/// entries in several epochs start a broker with another one
/// ([`crate::broker::Broker::start_with_clock`]). It is not configurable.
#[derive(Clone)]
pub struct TransferClock(std::sync::Arc<dyn Fn() -> i64 + Send + Sync>);

impl TransferClock {
    /// The system's UTC clock.
    pub fn system() -> Self {
        Self(std::sync::Arc::new(now_unix_micros))
    }

    /// A clock reading `now` (Unix microseconds), for tests.
    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(now))
    }

    /// Now, in Unix microseconds.
    pub fn now_micros(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for TransferClock {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TransferClock")
    }
}

/// What is known about a transfer as it moves through the steps; becomes its ledger entry.
struct TransferFacts<'a> {
    command: &'a FetchCommand,
    /// The subject's pseudonym under the registry's secret (epoch 0), which keys consents and
    /// the persons repertory. The entry's own pseudonym is keyed by its epoch's secret.
    registry_subject_pseudonym: [u8; 32],
    authorization: Option<Authorization>,
    /// The consent the authorization relied on: one that exists and covers the request (in
    /// force or not). A quoted id that is not is caller text, and is not recorded.
    consent_relied_on: Option<String>,
    provider: String,
    /// The broker's id for this transfer, sent to the adapter and signed by it.
    transfer_id: TransferId,
    /// What the source answered, once it answered (`check_answer_signature`).
    source_answer: Option<SourceAnswer>,
    /// The governance sequence of the registry view step 3 decided under (0 before step 3).
    rules_version: u64,
}

impl Pipeline {
    /// Runs steps 3 to 11 for `command`.
    pub async fn fetch(&self, command: FetchCommand) -> Result<Delivery, RecordedRefusal> {
        let mut facts = TransferFacts {
            command: &command,
            registry_subject_pseudonym: self
                .pseudonym_epochs
                .registry_pseudonymizer()
                .pseudonym(command.subject.scheme().as_str(), command.subject.id()),
            authorization: None,
            consent_relied_on: None,
            provider: String::new(),
            transfer_id: command.transfer_id,
            source_answer: None,
            rules_version: 0,
        };
        match self.run_steps_3_to_9(&mut facts).await {
            Ok(payload_json) => {
                // Step 10, then 11.
                let entry = self.entry(&facts, Outcome::Delivered, Some(&payload_json), "")?;
                let receipt = self.record(entry).await.map_err(FetchRefusal::from)?;
                Ok(Delivery {
                    payload_json,
                    provider: facts.provider,
                    receipt,
                    source_answer: facts.source_answer.unwrap_or(SourceAnswer {
                        transfer_id: facts.transfer_id,
                        payload_sha256: None,
                        signature: None,
                        certificate_der: None,
                    }),
                })
            }
            Err(refusal) => {
                let receipt = match refusal.outcome() {
                    Some(outcome) => {
                        let entry = self.entry(&facts, outcome, None, &refusal.to_string())?;
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
        self.check_repertory(
            command,
            authorization,
            &facts.registry_subject_pseudonym,
            now,
        )
        .await?;
        self.check_consent(
            command,
            authorization,
            &facts.registry_subject_pseudonym,
            now,
            &mut facts.consent_relied_on,
        )
        .await?;
        let adapter = self.route(command, &mut facts.provider)?;
        let answer = self
            .call_adapter(command, &facts.transfer_id, &adapter)
            .await?;
        let payload_json = self.check_answer_signature(
            command,
            &adapter,
            facts.transfer_id,
            answer,
            &mut facts.source_answer,
        )?;
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
        transfer_id: &TransferId,
        adapter: &RoutedAdapter,
    ) -> Result<AdapterAnswer, FetchRefusal> {
        let provider = || adapter.route.provider.to_string();
        let data_type = || command.data_type.id.clone();
        adapter
            .fetch(command, transfer_id, self.adapter_deadline)
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

    /// Step 7, the answer's signature: records what the source answered in `recorded` (the
    /// payload digest always; the signature once it verified, against the certificate the
    /// adapter presented on the connection, over the statement for this transfer and the
    /// payload as received). An invalid signature is refused whatever the route says; no
    /// signature is refused where the route requires signed answers. Returns the payload.
    fn check_answer_signature(
        &self,
        command: &FetchCommand,
        adapter: &RoutedAdapter,
        transfer_id: TransferId,
        answer: AdapterAnswer,
        recorded: &mut Option<SourceAnswer>,
    ) -> Result<Vec<u8>, FetchRefusal> {
        let payload_sha256 = payload_digest(&answer.payload_json);
        let source_answer = recorded.insert(SourceAnswer {
            transfer_id,
            payload_sha256: Some(payload_sha256),
            signature: None,
            certificate_der: None,
        });
        let provider = || adapter.route.provider.to_string();
        let data_type = || command.data_type.id.clone();
        let Some(signed) = answer.signature else {
            if adapter.route.signed_answers_required {
                return Err(FetchRefusal::UnsignedAnswer {
                    provider: provider(),
                    data_type: data_type(),
                });
            }
            return Ok(answer.payload_json);
        };
        let invalid = |fault: AnswerSignatureFault| {
            tracing::warn!(
                provider = %adapter.route.provider,
                data_type = %command.data_type.id,
                fault = %ErrorChain(&fault),
                "provider answer refused: its signature does not hold"
            );
            FetchRefusal::InvalidSignature {
                provider: provider(),
                data_type: data_type(),
                fault,
            }
        };
        let certificate_der = answer
            .presented_certificate_der
            .ok_or_else(|| invalid(AnswerSignatureFault::NoPresentedCertificate))?;
        let statement = AnswerStatement {
            data_type: data_type(),
            transfer_id,
            payload_sha256,
            signed_at_micros: signed.signed_at_micros,
        };
        verify_answer_signature(
            &statement,
            &signed.algorithm,
            &signed.signature,
            &certificate_der,
        )
        .map_err(|error| invalid(error.into()))?;
        source_answer.signature = Some(AnswerSignature {
            signed_at_micros: signed.signed_at_micros,
            certificate_sha256: certificate_sha256(&certificate_der),
            algorithm: signed.algorithm,
            signature: signed.signature,
        });
        source_answer.certificate_der = Some(certificate_der.to_vec());
        Ok(answer.payload_json)
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

    /// The transfer's ledger entry, stamped now: its pseudonym, request digest and case
    /// reference digest keyed by the secret of the epoch current at that time.
    fn entry(
        &self,
        facts: &TransferFacts<'_>,
        outcome: Outcome,
        payload: Option<&[u8]>,
        refusal_reason: &str,
    ) -> Result<LedgerEntry, FetchRefusal> {
        let command = facts.command;
        let consumer = command.consumer.agency_id().as_str();
        let recorded_at_micros = self.clock.now_micros();
        let epoch = self.pseudonym_epochs.current_at(recorded_at_micros)?;
        let keyed = &epoch.pseudonymizer;
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
        Ok(LedgerEntry {
            leaf_index: 0,
            recorded_at_micros,
            consumer: consumer.to_owned(),
            provider: facts.provider.clone(),
            data_type: command.data_type.id.clone(),
            purpose: command.purpose.clone(),
            legal_basis,
            legal_basis_ref,
            consent_id: facts.consent_relied_on.clone().unwrap_or_default(),
            rules_version: facts.rules_version,
            pseudonym_epoch: epoch.epoch,
            subject_pseudonym: keyed
                .pseudonym(command.subject.scheme().as_str(), command.subject.id()),
            payload_sha256: payload.map(payload_digest),
            transfer_id: facts.transfer_id,
            request_digest: (!command.request_id.is_empty())
                .then(|| keyed.request_digest(consumer, &command.request_id)),
            case_reference_digest: command
                .case_reference
                .as_ref()
                .map(|case| keyed.case_reference_digest(consumer, case.kind(), case.reference())),
            source_payload_sha256: facts
                .source_answer
                .as_ref()
                .and_then(|answer| answer.payload_sha256),
            answer_signature: facts
                .source_answer
                .as_ref()
                .and_then(|answer| answer.signature.clone()),
            outcome,
            refusal_reason: refusal_reason.to_owned(),
            legacy_request_id: String::new(),
        })
    }
}
