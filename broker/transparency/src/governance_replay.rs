//! The rules in force, replayed from a ledger's `governance` entries, and the check of every
//! transfer against them (`docs/ledger.md`, "The rules in force, replayed").
//!
//! [`RuleChange::from_entry`] reads a governance entry's key fields back into a typed record:
//! the documented names, in the documented order, each value in its documented form; anything
//! else is a [`KeyFieldError`]. [`RulesInForce`] is the state those changes build, in log order:
//! authorizations by id, revoked agencies, consents by id and subject registrations by
//! (consumer, epoch, pseudonym), each with the sequence (or leaf index) it was recorded at, so
//! that the rules *as of* a sequence can be asked for. [`GovernanceReplay`] is fed every entry
//! in index order (after the verifier's structural checks) and checks:
//!
//! 1. governance sequences run 1, 2, 3, … with no gap or repeat;
//! 2. a version 3 transfer's rules version is 0 (the rules before the first change) or a
//!    sequence recorded before it;
//! 3. a delivered version 3 transfer had an authorization in force as of its rules version for
//!    exactly its consumer, data type and purpose, valid at its time, and neither its consumer
//!    nor its provider was revoked as of its rules version;
//! 4. where that authorization requires consent, the consent it names;
//! 5. where it requires a registered subject, the subject's registration (a registration under
//!    an earlier pseudonym epoch cannot be matched without the secrets: counted, not failed).
//!
//! Format versions never decrease along a ledger; transfers of versions 1 and 2 were decided
//! before rules were recorded and are counted, not checked. Refused transfers are checked for
//! their rules version only. Nothing here holds or reports personal data: subjects are
//! pseudonyms, failures name entries, agencies, authorization ids and sequences.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::ledger_entry::{
    ENTRY_FORMAT_VERSION, GovernanceChange, GovernanceEntry, LedgerEntry, LedgerRecord, Outcome,
};
use crate::ledger_verification::VerificationFailure;
use crate::merkle::Hash;

/// Why a governance entry's key fields are not those `docs/ledger.md` documents for its change.
/// Never holds a value (a garbled value could be anything); names the field and the form due.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFieldError {
    /// The field due at `position` is absent, or another field stands there.
    #[error("key field `{expected}` is missing (due as key field {position})")]
    Missing {
        /// The documented name of the field due.
        expected: &'static str,
        /// Its 0-based position among the key fields.
        position: usize,
    },
    /// More key fields than the change has.
    #[error("{found} key fields where this change has {documented}")]
    Unexpected {
        /// How many the entry carries.
        found: usize,
        /// How many the change has.
        documented: usize,
    },
    /// A field's value is not in its documented form.
    #[error("key field `{field}` is not {expected}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The form it must have.
        expected: &'static str,
    },
}

/// The key fields of an `authorization.granted` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationTerms {
    /// The registry's id of the authorization.
    pub authorization_id: u64,
    /// The consumer agency it authorizes.
    pub consumer: String,
    /// The data type.
    pub data_type: String,
    /// The purpose code.
    pub purpose: String,
    /// Unix seconds it is valid from; `None` when the entry says none.
    pub valid_from: Option<i64>,
    /// Unix seconds it is valid until (exclusive); `None` is open-ended.
    pub valid_until: Option<i64>,
    /// Whether a transfer under it needs the subject's consent.
    pub requires_consent: bool,
    /// Whether a transfer under it needs the subject in the consumer's client list.
    pub requires_subject_registration: bool,
}

impl AuthorizationTerms {
    /// Whether it is valid at `at` (Unix seconds): `valid_from <= at < valid_until`, as the
    /// broker's registry index decides.
    pub fn valid_at(&self, at: i64) -> bool {
        valid_between(self.valid_from, self.valid_until, at)
    }
}

/// The key fields of a `consent.granted` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTerms {
    /// The consent's id, as consumers quote it.
    pub consent_id: String,
    /// The consumer it is given to.
    pub consumer: String,
    /// The purposes it covers, sorted.
    pub purposes: Vec<String>,
    /// The data types it covers, sorted.
    pub data_types: Vec<String>,
    /// Unix seconds it is valid until (exclusive); `None` is open-ended.
    pub valid_until: Option<i64>,
    /// The epoch whose secret keyed [`Self::subject_pseudonym`].
    pub pseudonym_epoch: u32,
    /// The subject, as a keyed pseudonym.
    pub subject_pseudonym: Hash,
}

impl ConsentTerms {
    /// Whether it covers this consumer, data type and purpose.
    pub fn covers(&self, consumer: &str, data_type: &str, purpose: &str) -> bool {
        self.consumer == consumer
            && self.data_types.iter().any(|covered| covered == data_type)
            && self.purposes.iter().any(|covered| covered == purpose)
    }
}

/// A subject in a consumer's client list: the key of subject registrations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey {
    /// The consumer agency.
    pub consumer: String,
    /// The epoch whose secret keyed the pseudonym.
    pub pseudonym_epoch: u32,
    /// The subject, as a keyed pseudonym.
    pub subject_pseudonym: Hash,
}

/// One rule change, read back from a governance entry's key fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleChange {
    /// `agency.registered`.
    AgencyRegistered {
        /// The agency.
        agency: String,
    },
    /// `agency.revoked`.
    AgencyRevoked {
        /// The agency.
        agency: String,
    },
    /// `route.set`.
    RouteSet {
        /// The data type routed.
        data_type: String,
        /// The provider it is routed to.
        provider: String,
        /// The adapter's endpoint.
        endpoint: String,
        /// Whether answers must be signed.
        signed_answers_required: bool,
    },
    /// `purpose.registered`.
    PurposeRegistered {
        /// The purpose code.
        purpose: String,
    },
    /// `authorization.granted`.
    AuthorizationGranted(AuthorizationTerms),
    /// `authorization.revoked`.
    AuthorizationRevoked {
        /// The authorization revoked.
        authorization_id: u64,
        /// Its consumer.
        consumer: String,
        /// Its data type.
        data_type: String,
        /// Its purpose.
        purpose: String,
    },
    /// `consent.granted`.
    ConsentGranted(ConsentTerms),
    /// `consent.revoked`.
    ConsentRevoked {
        /// The consent revoked.
        consent_id: String,
        /// Its consumer.
        consumer: String,
    },
    /// `subject.registered`.
    SubjectRegistered {
        /// Whose client list, which subject.
        subject: SubjectKey,
        /// Unix seconds it is valid from; `None` when the entry says none.
        valid_from: Option<i64>,
        /// Unix seconds it is valid until (exclusive); `None` is open-ended.
        valid_until: Option<i64>,
    },
    /// `subject.unregistered`: ends every registration of the subject for the consumer.
    SubjectUnregistered {
        /// Whose client list, which subject.
        subject: SubjectKey,
    },
    /// `limits.set`.
    LimitsSet {
        /// The agency limited.
        agency: String,
        /// Requests per second.
        rate_per_second: u64,
        /// Burst.
        burst: u64,
        /// Concurrent requests.
        concurrency: u64,
    },
}

impl RuleChange {
    /// Reads `entry`'s key fields: exactly the fields `docs/ledger.md` lists for its change, in
    /// that order, each value in its form (decimal integers in their canonical form, `true` or
    /// `false`, 64 lower-case hex digits for a pseudonym, sorted comma-separated lists, an empty
    /// value for "none" where a field may be none, non-empty text for identifiers).
    pub fn from_entry(entry: &GovernanceEntry) -> Result<Self, KeyFieldError> {
        let mut fields = KeyFields::new(&entry.key_fields);
        let change = match entry.change {
            GovernanceChange::AgencyRegistered => RuleChange::AgencyRegistered {
                agency: fields.identifier("agency")?,
            },
            GovernanceChange::AgencyRevoked => RuleChange::AgencyRevoked {
                agency: fields.identifier("agency")?,
            },
            GovernanceChange::RouteSet => RuleChange::RouteSet {
                data_type: fields.identifier("data_type")?,
                provider: fields.identifier("provider")?,
                endpoint: fields.text("endpoint")?,
                signed_answers_required: fields.boolean("signed_answers_required")?,
            },
            GovernanceChange::PurposeRegistered => RuleChange::PurposeRegistered {
                purpose: fields.identifier("purpose")?,
            },
            GovernanceChange::AuthorizationGranted => {
                RuleChange::AuthorizationGranted(AuthorizationTerms {
                    authorization_id: fields.unsigned("authorization_id")?,
                    consumer: fields.identifier("consumer")?,
                    data_type: fields.identifier("data_type")?,
                    purpose: fields.identifier("purpose")?,
                    valid_from: fields.optional_seconds("valid_from")?,
                    valid_until: fields.optional_seconds("valid_until")?,
                    requires_consent: fields.boolean("requires_consent")?,
                    requires_subject_registration: fields
                        .boolean("requires_subject_registration")?,
                })
            }
            GovernanceChange::AuthorizationRevoked => RuleChange::AuthorizationRevoked {
                authorization_id: fields.unsigned("authorization_id")?,
                consumer: fields.identifier("consumer")?,
                data_type: fields.identifier("data_type")?,
                purpose: fields.identifier("purpose")?,
            },
            GovernanceChange::ConsentGranted => RuleChange::ConsentGranted(ConsentTerms {
                consent_id: fields.identifier("consent_id")?,
                consumer: fields.identifier("consumer")?,
                purposes: fields.sorted_list("purposes")?,
                data_types: fields.sorted_list("data_types")?,
                valid_until: fields.optional_seconds("valid_until")?,
                pseudonym_epoch: fields.epoch("pseudonym_epoch")?,
                subject_pseudonym: fields.pseudonym("subject_pseudonym")?,
            }),
            GovernanceChange::ConsentRevoked => RuleChange::ConsentRevoked {
                consent_id: fields.identifier("consent_id")?,
                consumer: fields.identifier("consumer")?,
            },
            GovernanceChange::SubjectRegistered => RuleChange::SubjectRegistered {
                subject: fields.subject()?,
                valid_from: fields.optional_seconds("valid_from")?,
                valid_until: fields.optional_seconds("valid_until")?,
            },
            GovernanceChange::SubjectUnregistered => RuleChange::SubjectUnregistered {
                subject: fields.subject()?,
            },
            GovernanceChange::LimitsSet => RuleChange::LimitsSet {
                agency: fields.identifier("agency")?,
                rate_per_second: fields.unsigned("rate_per_second")?,
                burst: fields.unsigned("burst")?,
                concurrency: fields.unsigned("concurrency")?,
            },
        };
        fields.finish()?;
        Ok(change)
    }
}

/// Reads key fields in their documented order.
struct KeyFields<'fields> {
    fields: &'fields [(String, String)],
    position: usize,
}

impl<'fields> KeyFields<'fields> {
    fn new(fields: &'fields [(String, String)]) -> Self {
        Self {
            fields,
            position: 0,
        }
    }

    /// The value of the field due next, which must be `name`.
    fn value(&mut self, name: &'static str) -> Result<&'fields str, KeyFieldError> {
        match self.fields.get(self.position) {
            Some((found, value)) if found == name => {
                self.position += 1;
                Ok(value)
            }
            _ => Err(KeyFieldError::Missing {
                expected: name,
                position: self.position,
            }),
        }
    }

    fn text(&mut self, name: &'static str) -> Result<String, KeyFieldError> {
        Ok(self.value(name)?.to_owned())
    }

    /// Text that names a record (an agency, data type, purpose, consent): never empty.
    fn identifier(&mut self, name: &'static str) -> Result<String, KeyFieldError> {
        let value = self.value(name)?;
        if value.is_empty() {
            return Err(invalid(name, "a non-empty name"));
        }
        Ok(value.to_owned())
    }

    fn unsigned(&mut self, name: &'static str) -> Result<u64, KeyFieldError> {
        canonical_integer(self.value(name)?).ok_or(invalid(name, "a decimal integer"))
    }

    fn epoch(&mut self, name: &'static str) -> Result<u32, KeyFieldError> {
        canonical_integer(self.value(name)?).ok_or(invalid(name, "a decimal epoch number"))
    }

    fn optional_seconds(&mut self, name: &'static str) -> Result<Option<i64>, KeyFieldError> {
        let value = self.value(name)?;
        if value.is_empty() {
            return Ok(None);
        }
        canonical_integer(value)
            .map(Some)
            .ok_or(invalid(name, "Unix seconds (a decimal integer) or empty"))
    }

    fn boolean(&mut self, name: &'static str) -> Result<bool, KeyFieldError> {
        match self.value(name)? {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(name, "`true` or `false`")),
        }
    }

    fn pseudonym(&mut self, name: &'static str) -> Result<Hash, KeyFieldError> {
        let value = self.value(name)?;
        let malformed = || invalid(name, "a pseudonym of 64 lower-case hex digits");
        if value.len() != 64
            || !value
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        {
            return Err(malformed());
        }
        hex::decode(value)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(malformed)
    }

    /// A comma-separated list, sorted, without repeats or empty items; empty is no items.
    fn sorted_list(&mut self, name: &'static str) -> Result<Vec<String>, KeyFieldError> {
        let value = self.value(name)?;
        if value.is_empty() {
            return Ok(Vec::new());
        }
        let items: Vec<String> = value.split(',').map(str::to_owned).collect();
        let sorted = items.windows(2).all(|pair| pair[0] < pair[1]);
        if !sorted || items.iter().any(String::is_empty) {
            return Err(invalid(
                name,
                "a sorted comma-separated list without repeats",
            ));
        }
        Ok(items)
    }

    fn subject(&mut self) -> Result<SubjectKey, KeyFieldError> {
        Ok(SubjectKey {
            consumer: self.identifier("consumer")?,
            pseudonym_epoch: self.epoch("pseudonym_epoch")?,
            subject_pseudonym: self.pseudonym("subject_pseudonym")?,
        })
    }

    fn finish(self) -> Result<(), KeyFieldError> {
        if self.position == self.fields.len() {
            Ok(())
        } else {
            Err(KeyFieldError::Unexpected {
                found: self.fields.len(),
                documented: self.position,
            })
        }
    }
}

fn invalid(field: &'static str, expected: &'static str) -> KeyFieldError {
    KeyFieldError::InvalidValue { field, expected }
}

/// A decimal integer in its one canonical form (no sign on positives, no leading zeros).
fn canonical_integer<Number>(value: &str) -> Option<Number>
where
    Number: std::str::FromStr + ToString,
{
    value
        .parse::<Number>()
        .ok()
        .filter(|number| number.to_string() == value)
}

fn valid_between(valid_from: Option<i64>, valid_until: Option<i64>, at: i64) -> bool {
    valid_from.is_none_or(|from| from <= at) && valid_until.is_none_or(|until| at < until)
}

/// An authorization grant as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedAuthorization {
    /// What was granted.
    pub terms: AuthorizationTerms,
    /// The sequence of the grant.
    pub granted_at_sequence: u64,
    /// The sequence of its revocation, once revoked.
    pub revoked_at_sequence: Option<u64>,
}

impl ReplayedAuthorization {
    /// Whether it was revoked in the rules as of `rules_version`.
    pub fn revoked_as_of(&self, rules_version: u64) -> bool {
        self.revoked_at_sequence
            .is_some_and(|revoked| revoked <= rules_version)
    }
}

/// A consent as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedConsent {
    /// What was granted.
    pub terms: ConsentTerms,
    /// The leaf index of the grant's entry.
    pub granted_at_index: u64,
    /// The sequence of the grant.
    pub granted_at_sequence: u64,
    /// The sequence of its revocation, once revoked.
    pub revoked_at_sequence: Option<u64>,
}

/// A subject registration as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedRegistration {
    /// Unix seconds it is valid from; `None` when the entry said none.
    pub valid_from: Option<i64>,
    /// Unix seconds it is valid until (exclusive); `None` is open-ended.
    pub valid_until: Option<i64>,
    /// The leaf index of the registration's entry.
    pub registered_at_index: u64,
    /// The sequence of the `subject.unregistered` change that ended it, once ended.
    pub ended_at_sequence: Option<u64>,
}

/// The rules built from the governance entries read so far, in log order, with the sequence of
/// every change, so the rules as of an earlier sequence can be asked for.
#[derive(Debug, Default)]
pub struct RulesInForce {
    newest_sequence: u64,
    /// Grants by authorization id, oldest first (an id granted again keeps its history).
    authorizations: HashMap<u64, Vec<ReplayedAuthorization>>,
    /// Authorization ids by (consumer, data type, purpose) of any of their grants.
    authorization_ids_by_scope: HashMap<(String, String, String), BTreeSet<u64>>,
    /// Each agency's revocations and registrations: (sequence, revoked), oldest first.
    agency_standing: HashMap<String, Vec<(u64, bool)>>,
    /// Consents by id (a later grant of the same id replaces the earlier one).
    consents: HashMap<String, ReplayedConsent>,
    /// Registrations by subject, oldest first.
    registrations: HashMap<SubjectKey, Vec<ReplayedRegistration>>,
    /// The pseudonym epochs each consumer registered subjects under.
    registration_epochs: HashMap<String, BTreeSet<u32>>,
}

impl RulesInForce {
    /// The sequence of the newest change read (0 before the first).
    pub fn newest_sequence(&self) -> u64 {
        self.newest_sequence
    }

    /// Every grant of authorization `id`, oldest first.
    pub fn authorization(&self, id: u64) -> &[ReplayedAuthorization] {
        self.authorizations.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The consent with this id, as last granted.
    pub fn consent(&self, consent_id: &str) -> Option<&ReplayedConsent> {
        self.consents.get(consent_id)
    }

    /// The registrations of this subject, oldest first.
    pub fn registrations(&self, subject: &SubjectKey) -> &[ReplayedRegistration] {
        self.registrations.get(subject).map_or(&[], Vec::as_slice)
    }

    /// The sequence at which `agency` was revoked, if it stood revoked in the rules as of
    /// `rules_version`.
    pub fn agency_revoked_as_of(&self, agency: &str, rules_version: u64) -> Option<u64> {
        let standing = self.agency_standing.get(agency)?;
        let newest = standing
            .iter()
            .rev()
            .find(|(sequence, _)| *sequence <= rules_version)?;
        newest.1.then_some(newest.0)
    }

    /// The authorizations granted, as of `rules_version`, for exactly this consumer, data type
    /// and purpose: for each id, its newest grant at or before `rules_version`, revoked or not.
    pub fn authorizations_granted_as_of(
        &self,
        consumer: &str,
        data_type: &str,
        purpose: &str,
        rules_version: u64,
    ) -> Vec<&ReplayedAuthorization> {
        let scope = (
            consumer.to_owned(),
            data_type.to_owned(),
            purpose.to_owned(),
        );
        let Some(ids) = self.authorization_ids_by_scope.get(&scope) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| {
                self.authorization(*id)
                    .iter()
                    .rev()
                    .find(|grant| grant.granted_at_sequence <= rules_version)
            })
            .filter(|grant| {
                grant.terms.consumer == consumer
                    && grant.terms.data_type == data_type
                    && grant.terms.purpose == purpose
            })
            .collect()
    }

    /// Whether `consumer` registered any subject under a pseudonym epoch before `epoch`.
    pub fn has_registrations_before_epoch(&self, consumer: &str, epoch: u32) -> bool {
        self.registration_epochs
            .get(consumer)
            .and_then(|epochs| epochs.first())
            .is_some_and(|oldest| *oldest < epoch)
    }

    /// Applies one governance entry, found at `index`: checks its sequence, reads its key fields
    /// and changes the rules.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &GovernanceEntry,
    ) -> Result<(), VerificationFailure> {
        let expected = self.newest_sequence + 1;
        if entry.sequence > expected {
            return Err(VerificationFailure::GovernanceSequenceGap {
                index,
                expected,
                found: entry.sequence,
            });
        }
        if entry.sequence < expected {
            return Err(VerificationFailure::GovernanceSequenceRepeated {
                index,
                expected,
                found: entry.sequence,
            });
        }
        let change = RuleChange::from_entry(entry).map_err(|problem| {
            VerificationFailure::GovernanceKeyFieldsMalformed {
                index,
                change: entry.change.as_str(),
                problem,
            }
        })?;
        let sequence = entry.sequence;
        self.newest_sequence = sequence;
        match change {
            RuleChange::AgencyRegistered { agency } => {
                self.agency_standing
                    .entry(agency)
                    .or_default()
                    .push((sequence, false));
            }
            RuleChange::AgencyRevoked { agency } => {
                self.agency_standing
                    .entry(agency)
                    .or_default()
                    .push((sequence, true));
            }
            RuleChange::AuthorizationGranted(terms) => {
                self.authorization_ids_by_scope
                    .entry((
                        terms.consumer.clone(),
                        terms.data_type.clone(),
                        terms.purpose.clone(),
                    ))
                    .or_default()
                    .insert(terms.authorization_id);
                self.authorizations
                    .entry(terms.authorization_id)
                    .or_default()
                    .push(ReplayedAuthorization {
                        terms,
                        granted_at_sequence: sequence,
                        revoked_at_sequence: None,
                    });
            }
            RuleChange::AuthorizationRevoked {
                authorization_id, ..
            } => {
                if let Some(grant) = self
                    .authorizations
                    .get_mut(&authorization_id)
                    .and_then(|grants| grants.last_mut())
                    .filter(|grant| grant.revoked_at_sequence.is_none())
                {
                    grant.revoked_at_sequence = Some(sequence);
                }
            }
            RuleChange::ConsentGranted(terms) => {
                self.consents.insert(
                    terms.consent_id.clone(),
                    ReplayedConsent {
                        terms,
                        granted_at_index: index,
                        granted_at_sequence: sequence,
                        revoked_at_sequence: None,
                    },
                );
            }
            RuleChange::ConsentRevoked { consent_id, .. } => {
                if let Some(consent) = self
                    .consents
                    .get_mut(&consent_id)
                    .filter(|consent| consent.revoked_at_sequence.is_none())
                {
                    consent.revoked_at_sequence = Some(sequence);
                }
            }
            RuleChange::SubjectRegistered {
                subject,
                valid_from,
                valid_until,
            } => {
                self.registration_epochs
                    .entry(subject.consumer.clone())
                    .or_default()
                    .insert(subject.pseudonym_epoch);
                self.registrations
                    .entry(subject)
                    .or_default()
                    .push(ReplayedRegistration {
                        valid_from,
                        valid_until,
                        registered_at_index: index,
                        ended_at_sequence: None,
                    });
            }
            RuleChange::SubjectUnregistered { subject } => {
                for registration in self.registrations.get_mut(&subject).into_iter().flatten() {
                    registration.ended_at_sequence.get_or_insert(sequence);
                }
            }
            RuleChange::RouteSet { .. }
            | RuleChange::PurposeRegistered { .. }
            | RuleChange::LimitsSet { .. } => {}
        }
        Ok(())
    }
}

/// Which side of a transfer an agency was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferParty {
    /// The consumer that received the data.
    Consumer,
    /// The provider that answered.
    Provider,
}

impl fmt::Display for TransferParty {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            TransferParty::Consumer => "consumer",
            TransferParty::Provider => "provider",
        })
    }
}

/// Why the consent a delivered transfer relied on was not in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentProblem {
    /// The transfer names no consent.
    #[error("the transfer names no consent")]
    NoneNamed,
    /// No consent with the named id was granted before the transfer in the log.
    #[error("no consent with the id it names was granted before it in the ledger")]
    NotGrantedBefore,
    /// The consent is for another consumer, or does not cover the data type or purpose.
    #[error("the consent it names does not cover its consumer, data type and purpose")]
    DoesNotCover,
    /// The consent is another subject's (same pseudonym epoch, other pseudonym).
    #[error("the consent it names was given for another subject")]
    OtherSubject,
    /// The consent was revoked in the rules as of the transfer's rules version.
    #[error("the consent it names was revoked by rule change {revoked_at_sequence}")]
    Revoked {
        /// The sequence of the revocation.
        revoked_at_sequence: u64,
    },
    /// The consent had expired at the transfer's time.
    #[error("the consent it names had expired")]
    Expired,
}

/// Why a delivered transfer's subject was not registered for its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationProblem {
    /// No registration of the subject for the consumer was recorded before the transfer.
    #[error("no registration of the subject for the consumer was recorded before it")]
    NoneRecorded,
    /// Every registration of the subject for the consumer had ended as of its rules version.
    #[error("the subject's registration was ended by rule change {ended_at_sequence}")]
    Ended {
        /// The sequence of the end.
        ended_at_sequence: u64,
    },
    /// The registrations in force were not valid at the transfer's time.
    #[error("the subject's registration was not valid at the time of the transfer")]
    NotValidAtTransfer,
}

/// What the replay covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Governance entries replayed.
    pub governance_entries: u64,
    /// Delivered version 3 transfers checked against the rules in force.
    pub transfers_checked: u64,
    /// Transfers of format versions 1 and 2: decided before rules were recorded, not checkable.
    pub transfers_before_rules: u64,
    /// Checked transfers whose subject registration was recorded under an earlier pseudonym
    /// epoch, which cannot be matched without the secrets.
    pub registrations_not_checkable_across_epochs: u64,
    /// Checked transfers whose consent names its subject under another pseudonym epoch, so the
    /// subject could not be compared (everything else about the consent was checked).
    pub consents_not_checkable_across_epochs: u64,
}

/// The replay: feed every entry in index order with [`Self::push`].
#[derive(Debug, Default)]
pub struct GovernanceReplay {
    rules: RulesInForce,
    newest_format_version: u8,
    counts: ReplayCounts,
}

/// What a transfer's checks could not match (counted once the transfer passes).
#[derive(Default)]
struct Unmatchable {
    registration_across_epochs: bool,
    consent_across_epochs: bool,
}

impl GovernanceReplay {
    /// A replay of an empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rules replayed so far.
    pub fn rules(&self) -> &RulesInForce {
        &self.rules
    }

    /// What was replayed and checked so far.
    pub fn counts(&self) -> ReplayCounts {
        self.counts
    }

    /// Replays or checks the entry at `index`, written in `format_version`.
    pub fn push(
        &mut self,
        index: u64,
        format_version: u8,
        record: &LedgerRecord,
    ) -> Result<(), VerificationFailure> {
        if format_version < self.newest_format_version {
            return Err(VerificationFailure::FormatVersionDecreased {
                index,
                version: format_version,
                newest_before: self.newest_format_version,
            });
        }
        self.newest_format_version = format_version;
        match record {
            LedgerRecord::Governance(entry) => {
                self.rules.apply(index, entry)?;
                self.counts.governance_entries += 1;
                Ok(())
            }
            LedgerRecord::Transfer(_) if format_version < ENTRY_FORMAT_VERSION => {
                self.counts.transfers_before_rules += 1;
                Ok(())
            }
            LedgerRecord::Transfer(transfer) => self.check_transfer(index, transfer),
            LedgerRecord::ChangePublished(_) | LedgerRecord::NoticeDelivered(_) => Ok(()),
        }
    }

    fn check_transfer(
        &mut self,
        index: u64,
        transfer: &LedgerEntry,
    ) -> Result<(), VerificationFailure> {
        let rules_version = transfer.rules_version;
        if rules_version > self.rules.newest_sequence() {
            return Err(VerificationFailure::RulesVersionNotYetRecorded {
                index,
                rules_version,
                newest_sequence: self.rules.newest_sequence(),
            });
        }
        if transfer.outcome != Outcome::Delivered {
            return Ok(());
        }
        self.counts.transfers_checked += 1;
        for (party, agency) in [
            (TransferParty::Consumer, &transfer.consumer),
            (TransferParty::Provider, &transfer.provider),
        ] {
            if let Some(revoked_at_sequence) =
                self.rules.agency_revoked_as_of(agency, rules_version)
            {
                return Err(VerificationFailure::AgencyRevokedBeforeTransfer {
                    index,
                    party,
                    agency: agency.clone(),
                    revoked_at_sequence,
                });
            }
        }
        let granted = self.rules.authorizations_granted_as_of(
            &transfer.consumer,
            &transfer.data_type,
            &transfer.purpose,
            rules_version,
        );
        let Some(first_granted) = granted.first() else {
            return Err(VerificationFailure::TransferWithoutAuthorization { index });
        };
        let in_force: Vec<_> = granted
            .iter()
            .filter(|grant| !grant.revoked_as_of(rules_version))
            .collect();
        let Some(first_in_force) = in_force.first() else {
            return Err(VerificationFailure::AuthorizationRevokedBeforeTransfer {
                index,
                authorization_id: first_granted.terms.authorization_id,
                revoked_at_sequence: first_granted.revoked_at_sequence.unwrap_or_default(),
                rules_version,
            });
        };
        let at_seconds = transfer.recorded_at_micros.div_euclid(1_000_000);
        let valid: Vec<_> = in_force
            .iter()
            .filter(|grant| grant.terms.valid_at(at_seconds))
            .collect();
        if valid.is_empty() {
            return Err(VerificationFailure::AuthorizationNotValidAtTransfer {
                index,
                authorization_id: first_in_force.terms.authorization_id,
            });
        }
        let mut first_failure = None;
        for grant in valid {
            match self.check_requirements(index, transfer, &grant.terms, at_seconds) {
                Ok(unmatchable) => {
                    self.counts.registrations_not_checkable_across_epochs +=
                        u64::from(unmatchable.registration_across_epochs);
                    self.counts.consents_not_checkable_across_epochs +=
                        u64::from(unmatchable.consent_across_epochs);
                    return Ok(());
                }
                Err(failure) => {
                    first_failure.get_or_insert(failure);
                }
            }
        }
        Err(first_failure.unwrap_or(VerificationFailure::TransferWithoutAuthorization { index }))
    }

    /// Checks 4 and 5 for a transfer under `authorization`.
    fn check_requirements(
        &self,
        index: u64,
        transfer: &LedgerEntry,
        authorization: &AuthorizationTerms,
        at_seconds: i64,
    ) -> Result<Unmatchable, VerificationFailure> {
        let mut unmatchable = Unmatchable::default();
        if authorization.requires_consent {
            unmatchable.consent_across_epochs =
                self.check_consent(transfer, at_seconds)
                    .map_err(|problem| VerificationFailure::ConsentNotInForce {
                        index,
                        authorization_id: authorization.authorization_id,
                        problem,
                    })?;
        }
        if authorization.requires_subject_registration {
            unmatchable.registration_across_epochs = self
                .check_registration(transfer, at_seconds)
                .map_err(
                    |problem| VerificationFailure::SubjectRegistrationNotInForce {
                        index,
                        authorization_id: authorization.authorization_id,
                        problem,
                    },
                )?;
        }
        Ok(unmatchable)
    }

    /// Check 4; `Ok(true)` when the consent keyed its subject under another epoch.
    fn check_consent(
        &self,
        transfer: &LedgerEntry,
        at_seconds: i64,
    ) -> Result<bool, ConsentProblem> {
        if transfer.consent_id.is_empty() {
            return Err(ConsentProblem::NoneNamed);
        }
        let consent = self
            .rules
            .consent(&transfer.consent_id)
            .ok_or(ConsentProblem::NotGrantedBefore)?;
        if !consent
            .terms
            .covers(&transfer.consumer, &transfer.data_type, &transfer.purpose)
        {
            return Err(ConsentProblem::DoesNotCover);
        }
        let same_epoch = consent.terms.pseudonym_epoch == transfer.pseudonym_epoch;
        if same_epoch && consent.terms.subject_pseudonym != transfer.subject_pseudonym {
            return Err(ConsentProblem::OtherSubject);
        }
        if let Some(revoked_at_sequence) = consent
            .revoked_at_sequence
            .filter(|revoked| *revoked <= transfer.rules_version)
        {
            return Err(ConsentProblem::Revoked {
                revoked_at_sequence,
            });
        }
        if consent
            .terms
            .valid_until
            .is_some_and(|until| until <= at_seconds)
        {
            return Err(ConsentProblem::Expired);
        }
        Ok(!same_epoch)
    }

    /// Check 5; `Ok(true)` when only a registration under an earlier epoch can stand for it.
    fn check_registration(
        &self,
        transfer: &LedgerEntry,
        at_seconds: i64,
    ) -> Result<bool, RegistrationProblem> {
        let subject = SubjectKey {
            consumer: transfer.consumer.clone(),
            pseudonym_epoch: transfer.pseudonym_epoch,
            subject_pseudonym: transfer.subject_pseudonym,
        };
        let registrations = self.rules.registrations(&subject);
        let not_ended: Vec<_> = registrations
            .iter()
            .filter(|registration| {
                registration
                    .ended_at_sequence
                    .is_none_or(|ended| ended > transfer.rules_version)
            })
            .collect();
        if not_ended.iter().any(|registration| {
            valid_between(
                registration.valid_from,
                registration.valid_until,
                at_seconds,
            )
        }) {
            return Ok(false);
        }
        if self
            .rules
            .has_registrations_before_epoch(&transfer.consumer, transfer.pseudonym_epoch)
        {
            return Ok(true);
        }
        Err(if !not_ended.is_empty() {
            RegistrationProblem::NotValidAtTransfer
        } else if let Some(ended_at_sequence) = registrations
            .iter()
            .filter_map(|registration| registration.ended_at_sequence)
            .max()
        {
            RegistrationProblem::Ended { ended_at_sequence }
        } else {
            RegistrationProblem::NoneRecorded
        })
    }
}
