//! Rule changes as `governance` ledger entries (docs/ledger.md, "The `governance` body" and "The
//! rules in force, replayed"): for each change to the rules in force, the record's key fields
//! (exactly the names, order and value formats of the table in docs/ledger.md), its canonical
//! form and the SHA-256 of that, the `record_digest`; and [`GovernanceRecorder`], which commits a
//! change together with its entry and waits until the entry is in the tree.
//!
//! # Values
//!
//! Integers are decimal (`-` for negatives, no leading zeros); flags are `true` or `false`;
//! lists are comma-separated, sorted and without repeats; a missing value (an open-ended
//! validity, no revocation) is the empty string; a subject is its pseudonym in lower-case hex,
//! beside the `pseudonym_epoch` whose secret keyed it. Key fields hold identifiers and codes the
//! broker checked (agency ids, data type ids, purpose codes, consent and authorization ids,
//! Unix seconds, route endpoints), never free text and never a person's identifier.
//!
//! # The canonical form of a record
//!
//! The key fields in the order of docs/ledger.md, then the record's other fields in the order
//! below, each field as two strings, its name and its value, encoded as entries encode strings
//! (docs/ledger.md, "Encoding"): a `u16` big-endian byte length followed by that many bytes of
//! UTF-8, a longer text cut at a character boundary (no field the broker accepts comes near
//! 65,535 bytes). The `record_digest` is the SHA-256 of those bytes: whoever is shown the record
//! recomputes it and compares.
//!
//! The other fields, by change, in this order:
//!
//! | change | other fields |
//! | --- | --- |
//! | `agency.registered`, `agency.revoked` | `display_name`, `registered_at`, `revoked_at` |
//! | `route.set` | none |
//! | `purpose.registered` | `description`, `registered_at` |
//! | `authorization.granted` | `legal_basis`, `legal_basis_ref`, `allowed_fields` (the JSON array of JSON pointers, as stored), `revoked_at` |
//! | `authorization.revoked` | `valid_from`, `valid_until`, `requires_consent`, `requires_subject_registration`, then those of `authorization.granted` |
//! | `consent.granted` | `granted_at`, `revoked_at`, `recorded_by` |
//! | `consent.revoked` | `purposes`, `data_types`, `valid_until`, then those of `consent.granted` (no subject: the consent id leads to the grant) |
//! | `subject.registered` | `capacity`, `registered_at` |
//! | `subject.unregistered` | `capacity` (empty: every capacity), `ended` (how many registrations ended), `ended_at` |
//!
//! A revocation's record is the whole authorization or consent after the revocation: its
//! digest covers every field the grant's did (with `revoked_at` now set), in the grant's order.

use sha2::{Digest, Sha256};

use crate::error_chain::ErrorChain;
use crate::ledger::{Ledger, LedgerError};
use crate::registry::{Agency, Authorization, Consent, Purpose, Route, now_unix_micros};
use crate::store::{
    ConsentStore, Database, GovernanceStore, RegistryStore, RepertoryStore, RuleChange, StoreError,
};
use kruispunt_transparency::{
    GovernanceChange, GovernanceEntry, Hash, ledger_entry::MAX_KEY_FIELDS,
};

/// The actor of the rule entries a ledger records for the rules it found in force when it began
/// recording rule changes (see [`record_baseline`]).
pub const BASELINE_ACTOR: &str = "kruispunt.baseline";

/// How many of `authorization.granted`'s key fields `authorization.revoked` keeps as its own
/// (`authorization_id`, `consumer`, `data_type`, `purpose`).
const AUTHORIZATION_REVOKED_KEY_FIELDS: usize = 4;

/// A subject as a governance entry names it: its pseudonym under the secret of `epoch`. A
/// change made through the APIs names it under the epoch current when the change was made (so
/// deleting that epoch's secret unlinks the entry, as it unlinks the epoch's transfers); the
/// baseline, which reads only the registry's own pseudonyms, under epoch 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSubject {
    /// The pseudonym epoch whose secret keyed `pseudonym`.
    pub epoch: u32,
    /// The subject's pseudonym under that epoch's secret.
    pub pseudonym: Hash,
}

/// One rule change, ready to be recorded: what changed, the record's key fields (names and
/// values as docs/ledger.md lists them) and its other fields (the order documented above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceRecord {
    /// What changed.
    pub change: GovernanceChange,
    /// The key fields, in the documented order; at most [`MAX_KEY_FIELDS`].
    pub key_fields: Vec<(String, String)>,
    /// The record's other fields (free text included), in the documented order; never in the
    /// ledger, only in the digest.
    pub other_fields: Vec<(String, String)>,
}

fn field(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

fn optional_number(value: Option<i64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Sorted, without repeats, comma-separated.
fn sorted_list(values: &[String]) -> String {
    let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join(",")
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends at a character boundary.
fn cut_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl GovernanceRecord {
    fn new(
        change: GovernanceChange,
        key_fields: Vec<(String, String)>,
        other_fields: Vec<(String, String)>,
    ) -> Self {
        debug_assert!(key_fields.len() <= MAX_KEY_FIELDS);
        Self {
            change,
            key_fields,
            other_fields,
        }
    }

    fn agency(change: GovernanceChange, agency: &Agency) -> Self {
        Self::new(
            change,
            vec![field("agency", agency.id.as_str())],
            vec![
                field("display_name", agency.display_name.clone()),
                field("registered_at", agency.registered_at.to_string()),
                field("revoked_at", optional_number(agency.revoked_at)),
            ],
        )
    }

    /// `agency.registered`.
    pub fn agency_registered(agency: &Agency) -> Self {
        Self::agency(GovernanceChange::AgencyRegistered, agency)
    }

    /// `agency.revoked` (the agency after its revocation).
    pub fn agency_revoked(agency: &Agency) -> Self {
        Self::agency(GovernanceChange::AgencyRevoked, agency)
    }

    /// `route.set`.
    pub fn route_set(route: &Route) -> Self {
        Self::new(
            GovernanceChange::RouteSet,
            vec![
                field("data_type", route.data_type.clone()),
                field("provider", route.provider.as_str()),
                field("endpoint", route.endpoint.clone()),
                field(
                    "signed_answers_required",
                    flag(route.signed_answers_required),
                ),
            ],
            Vec::new(),
        )
    }

    /// `purpose.registered`.
    pub fn purpose_registered(purpose: &Purpose) -> Self {
        Self::new(
            GovernanceChange::PurposeRegistered,
            vec![field("purpose", purpose.code.as_str())],
            vec![
                field("description", purpose.description.clone()),
                field("registered_at", purpose.registered_at.to_string()),
            ],
        )
    }

    fn authorization_other_fields(authorization: &Authorization) -> Vec<(String, String)> {
        vec![
            field("legal_basis", authorization.legal_basis.clone()),
            field("legal_basis_ref", authorization.legal_basis_ref.clone()),
            field(
                "allowed_fields",
                serde_json::Value::from(authorization.allowed_fields.pointers().to_vec())
                    .to_string(),
            ),
            field("revoked_at", optional_number(authorization.revoked_at)),
        ]
    }

    /// An authorization's key fields as `authorization.granted` lists them; a revocation keeps
    /// the first [`AUTHORIZATION_REVOKED_KEY_FIELDS`] as its key and the rest among its other
    /// fields.
    fn authorization_grant_fields(authorization: &Authorization) -> Vec<(String, String)> {
        vec![
            field("authorization_id", authorization.id.to_string()),
            field("consumer", authorization.consumer.clone()),
            field("data_type", authorization.data_type.clone()),
            field("purpose", authorization.purpose.clone()),
            field("valid_from", authorization.valid_from.to_string()),
            field("valid_until", optional_number(authorization.valid_until)),
            field("requires_consent", flag(authorization.requires_consent)),
            field(
                "requires_subject_registration",
                flag(authorization.requires_subject_registration),
            ),
        ]
    }

    /// `authorization.granted`.
    pub fn authorization_granted(authorization: &Authorization) -> Self {
        Self::new(
            GovernanceChange::AuthorizationGranted,
            Self::authorization_grant_fields(authorization),
            Self::authorization_other_fields(authorization),
        )
    }

    /// `authorization.revoked` (the authorization after its revocation).
    pub fn authorization_revoked(authorization: &Authorization) -> Self {
        let mut key_fields = Self::authorization_grant_fields(authorization);
        let terms = key_fields.split_off(AUTHORIZATION_REVOKED_KEY_FIELDS);
        Self::new(
            GovernanceChange::AuthorizationRevoked,
            key_fields,
            terms
                .into_iter()
                .chain(Self::authorization_other_fields(authorization))
                .collect(),
        )
    }

    fn consent_other_fields(consent: &Consent) -> Vec<(String, String)> {
        vec![
            field("granted_at", consent.granted_at.to_string()),
            field("revoked_at", optional_number(consent.revoked_at)),
            field("recorded_by", consent.recorded_by.clone()),
        ]
    }

    /// What a consent covers, as `consent.granted` lists it after the consent id and consumer.
    fn consent_terms(consent: &Consent) -> [(String, String); 3] {
        [
            field("purposes", sorted_list(&consent.purposes)),
            field("data_types", sorted_list(&consent.data_types)),
            field("valid_until", consent.valid_until.to_string()),
        ]
    }

    /// `consent.granted`, the consent's subject named as `subject`.
    pub fn consent_granted(consent: &Consent, subject: &LedgerSubject) -> Self {
        let mut key_fields = vec![
            field("consent_id", consent.id.clone()),
            field("consumer", consent.consumer.clone()),
        ];
        key_fields.extend(Self::consent_terms(consent));
        key_fields.push(field("pseudonym_epoch", subject.epoch.to_string()));
        key_fields.push(field("subject_pseudonym", hex::encode(subject.pseudonym)));
        Self::new(
            GovernanceChange::ConsentGranted,
            key_fields,
            Self::consent_other_fields(consent),
        )
    }

    /// `consent.revoked` (the consent after its revocation). The revocation names no subject:
    /// its consent id leads to the grant, which does.
    pub fn consent_revoked(consent: &Consent) -> Self {
        Self::new(
            GovernanceChange::ConsentRevoked,
            vec![
                field("consent_id", consent.id.clone()),
                field("consumer", consent.consumer.clone()),
            ],
            Self::consent_terms(consent)
                .into_iter()
                .chain(Self::consent_other_fields(consent))
                .collect(),
        )
    }

    /// `subject.registered`: `consumer` registered `subject` for `valid_from`..`valid_until`,
    /// recorded at `registered_at`; `capacity` as the repertory stores it (its keyed digest in
    /// hex, or a code from before digests), which only the record digest covers.
    pub fn subject_registered(
        consumer: &str,
        subject: &LedgerSubject,
        valid_from: i64,
        valid_until: Option<i64>,
        capacity: &str,
        registered_at: i64,
    ) -> Self {
        Self::new(
            GovernanceChange::SubjectRegistered,
            vec![
                field("consumer", consumer),
                field("pseudonym_epoch", subject.epoch.to_string()),
                field("subject_pseudonym", hex::encode(subject.pseudonym)),
                field("valid_from", valid_from.to_string()),
                field("valid_until", optional_number(valid_until)),
            ],
            vec![
                field("capacity", capacity),
                field("registered_at", registered_at.to_string()),
            ],
        )
    }

    /// `subject.unregistered`: `ended` registrations of the subject for `consumer` (in
    /// `capacity`, or every one if `None`) ended at `ended_at`.
    pub fn subject_unregistered(
        consumer: &str,
        subject: &LedgerSubject,
        capacity: Option<&str>,
        ended: u64,
        ended_at: i64,
    ) -> Self {
        Self::new(
            GovernanceChange::SubjectUnregistered,
            vec![
                field("consumer", consumer),
                field("pseudonym_epoch", subject.epoch.to_string()),
                field("subject_pseudonym", hex::encode(subject.pseudonym)),
            ],
            vec![
                field("capacity", capacity.unwrap_or_default()),
                field("ended", ended.to_string()),
                field("ended_at", ended_at.to_string()),
            ],
        )
    }

    /// The canonical form (see the module documentation): key fields, then other fields, each
    /// as two strings in the entries' string encoding.
    pub fn canonical_form(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (name, value) in self.key_fields.iter().chain(&self.other_fields) {
            for text in [name, value] {
                let text = cut_at_char_boundary(text, usize::from(u16::MAX));
                let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
                bytes.extend_from_slice(&length.to_be_bytes());
                bytes.extend_from_slice(text.as_bytes());
            }
        }
        bytes
    }

    /// SHA-256 of the canonical form.
    pub fn record_digest(&self) -> Hash {
        Sha256::digest(self.canonical_form()).into()
    }

    /// The entry of this change as rule change `sequence`, made by `actor` at
    /// `recorded_at_micros`, with leaf index 0 (the ledger writer sets it).
    pub fn entry(&self, sequence: u64, actor: &str, recorded_at_micros: i64) -> GovernanceEntry {
        GovernanceEntry {
            leaf_index: 0,
            recorded_at_micros,
            sequence,
            actor: actor.to_owned(),
            change: self.change,
            key_fields: self.key_fields.clone(),
            record_digest: self.record_digest(),
        }
    }
}

/// Why a rule change was not acknowledged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GovernanceError {
    /// The change could not be stored; nothing changed.
    #[error("the rule change was not stored")]
    Store(#[from] StoreError),
    /// The change is committed and its entry is in the governance outbox, but it did not reach
    /// the ledger's tree in time; it will be sequenced (by the next group commit or sequencer
    /// round).
    #[error(
        "rule change {sequence} is committed and its ledger entry will be sequenced, but it is not in the ledger yet"
    )]
    NotYetInLedger {
        /// The change's governance sequence.
        sequence: u64,
        /// Why the wait ended.
        #[source]
        cause: LedgerError,
    },
}

/// Commits rule changes with their `governance` entries and waits for the entries to be in the
/// tree before the change is acknowledged.
#[derive(Clone)]
pub struct GovernanceRecorder {
    store: GovernanceStore,
    ledger: Ledger,
}

impl GovernanceRecorder {
    /// A recorder over `store` (the rule changes' transactions) and `ledger` (where their
    /// entries go).
    pub fn new(store: GovernanceStore, ledger: Ledger) -> Self {
        Self { store, ledger }
    }

    /// Begins a rule change: one transaction, holding the next governance sequence. Apply the
    /// change through it, then [`GovernanceRecorder::commit`]; dropping it rolls everything
    /// back (a refused change writes nothing).
    pub async fn begin(&self) -> Result<RuleChange, StoreError> {
        self.store.begin_change().await
    }

    /// Commits `change` with the entry of `record` made by `actor` (from its certificate), then
    /// waits until the entry is in the tree. Returns the change's governance sequence.
    pub async fn commit(
        &self,
        change: RuleChange,
        actor: &str,
        record: &GovernanceRecord,
    ) -> Result<u64, GovernanceError> {
        let sequence = change.sequence();
        let entry = record.entry(sequence, actor, now_unix_micros());
        change.commit(&entry.encode()).await?;
        if let Err(cause) = self.ledger.await_governance_entry(sequence).await {
            tracing::warn!(
                sequence,
                change = record.change.as_str(),
                error = %ErrorChain(&cause),
                "a rule change is committed but its ledger entry is not in the tree yet"
            );
            return Err(GovernanceError::NotYetInLedger { sequence, cause });
        }
        Ok(sequence)
    }
}

/// The baseline: if no rule change was ever recorded (sequence 0) and rule rows exist (a
/// database from before rule changes were recorded), one entry per rule row in force, made by
/// [`BASELINE_ACTOR`], into the outbox, in ONE transaction under the `governance_state` row
/// lock: so it happens once, whichever node starts first and however often they restart.
/// Agencies (a revoked one as registered, then revoked), purposes, routes, authorizations (and
/// their revocations), consents (and their revocations), subject registrations (and their
/// ends), each kind in its table's order. Returns how many entries it staged.
pub async fn record_baseline(database: &Database) -> Result<usize, StoreError> {
    let (mut baseline, sequence) = database.governance().begin_baseline().await?;
    if sequence != 0 {
        return Ok(0);
    }
    let connection = baseline.connection();
    let mut records = Vec::new();
    for agency in RegistryStore::agencies_in(connection).await? {
        records.push(GovernanceRecord::agency_registered(&agency));
        if agency.revoked_at.is_some() {
            records.push(GovernanceRecord::agency_revoked(&agency));
        }
    }
    for purpose in RegistryStore::purposes_in(connection).await? {
        records.push(GovernanceRecord::purpose_registered(&purpose));
    }
    for route in RegistryStore::routes_in(connection).await? {
        records.push(GovernanceRecord::route_set(&route));
    }
    for authorization in RegistryStore::all_authorizations_in(connection).await? {
        records.push(GovernanceRecord::authorization_granted(&authorization));
        if authorization.revoked_at.is_some() {
            records.push(GovernanceRecord::authorization_revoked(&authorization));
        }
    }
    // The registry's own pseudonyms are keyed by epoch 0: the baseline names subjects so.
    let registry_subject = |pseudonym| LedgerSubject {
        epoch: 0,
        pseudonym,
    };
    for consent in ConsentStore::all_in(connection).await? {
        records.push(GovernanceRecord::consent_granted(
            &consent,
            &registry_subject(consent.subject_pseudonym),
        ));
        if consent.revoked_at.is_some() {
            records.push(GovernanceRecord::consent_revoked(&consent));
        }
    }
    for stored in RepertoryStore::all_in(connection).await? {
        let subject = registry_subject(stored.subject_pseudonym);
        records.push(GovernanceRecord::subject_registered(
            stored.consumer.as_str(),
            &subject,
            stored.valid_from,
            stored.valid_until,
            &stored.capacity,
            stored.registered_at,
        ));
        if let Some(ended_at) = stored.ended_at {
            records.push(GovernanceRecord::subject_unregistered(
                stored.consumer.as_str(),
                &subject,
                Some(&stored.capacity),
                1,
                ended_at,
            ));
        }
    }
    let recorded_at = now_unix_micros();
    for record in &records {
        let entry = record.entry(baseline.next_sequence(), BASELINE_ACTOR, recorded_at);
        baseline.stage(entry.encode());
    }
    baseline.commit().await
}

#[cfg(test)]
mod tests {
    use super::GovernanceRecord;
    use crate::registry::{Consent, Purpose, PurposeCode};
    use kruispunt_transparency::GovernanceChange;

    #[test]
    fn a_consent_records_sorted_lists_and_the_pseudonym_in_hex_but_no_free_text() {
        let consent = Consent {
            id: "consent-1".to_owned(),
            subject_pseudonym: [0xab; 32],
            consumer: "be.example.gemeente".to_owned(),
            purposes: vec!["b".to_owned(), "a".to_owned(), "b".to_owned()],
            data_types: vec!["z@1".to_owned(), "y@1".to_owned()],
            granted_at: 10,
            valid_until: 20,
            revoked_at: None,
            recorded_by: "be.example.portal".to_owned(),
        };
        // The entry names the subject as given (here under epoch 2026), not the registry's
        // epoch 0 pseudonym the consent row holds.
        let subject = super::LedgerSubject {
            epoch: 2026,
            pseudonym: [0xcd; 32],
        };
        let record = GovernanceRecord::consent_granted(&consent, &subject);
        assert_eq!(record.change, GovernanceChange::ConsentGranted);
        let fields: Vec<(&str, &str)> = record
            .key_fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let pseudonym = "cd".repeat(32);
        assert_eq!(
            fields,
            [
                ("consent_id", "consent-1"),
                ("consumer", "be.example.gemeente"),
                ("purposes", "a,b"),
                ("data_types", "y@1,z@1"),
                ("valid_until", "20"),
                ("pseudonym_epoch", "2026"),
                ("subject_pseudonym", pseudonym.as_str()),
            ]
        );
    }

    #[test]
    fn the_canonical_form_is_key_fields_then_other_fields_as_entry_strings() {
        let record = GovernanceRecord::purpose_registered(&Purpose {
            code: PurposeCode::parse("demo").unwrap(),
            description: "Té".to_owned(),
            registered_at: 7,
        });
        let mut expected = Vec::new();
        for text in ["purpose", "demo", "description", "Té", "registered_at", "7"] {
            expected.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
            expected.extend_from_slice(text.as_bytes());
        }
        assert_eq!(record.canonical_form(), expected);
        let mut changed = record.clone();
        changed.other_fields[0].1 = "Te".to_owned();
        assert_ne!(
            changed.record_digest(),
            record.record_digest(),
            "the free text is in the digest"
        );
    }

    #[test]
    fn an_overlong_text_is_cut_at_a_character_boundary_as_in_entries() {
        let long = "é".repeat(40_000);
        let record = GovernanceRecord::purpose_registered(&Purpose {
            code: PurposeCode::parse("demo").unwrap(),
            description: long,
            registered_at: 7,
        });
        let form = record.canonical_form();
        // "purpose", "demo", "description", then the cut description: 32,767 two-byte
        // characters.
        let offset = (2 + 7) + (2 + 4) + (2 + 11);
        assert_eq!(&form[offset..offset + 2], &65_534_u16.to_be_bytes());
    }
}
