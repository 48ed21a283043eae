//! Realistic ledgers built in memory for the verifier's tests: a [`LedgerBuilder`] appends
//! entries as a broker would (leaf indices in order, governance sequences consecutive, rule
//! changes with the key fields `docs/ledger.md` documents, transfers of today's format or, through
//! [`legacy_transfer_bytes`], as brokers of format versions 1 and 2 wrote them), then signs
//! checkpoints over them with a [`NoteSigner`] and runs the verifier.

use kruispunt_transparency::{
    Checkpoint, CompactRange, GovernanceChange, GovernanceEntry, Hash, LedgerEntry, LedgerRecord,
    LedgerVerification, NoteSigner, Outcome, RecordedEntry, VerificationFailure,
    VerificationSummary, leaf_hash, sign_checkpoint,
};

/// The origin of the test ledgers' checkpoints.
pub const ORIGIN: &str = "kruispunt.example/ledger";
/// 2026-01-01T00:00:00Z in Unix seconds: the test ledgers start here.
pub const START_SECONDS: i64 = 1_767_225_600;
/// The consumer of the test transfers.
pub const CONSUMER: &str = "be.example.gemeente";
/// The provider of the test transfers.
pub const PROVIDER: &str = "be.example.civil-registry";
/// The data type of the test transfers.
pub const DATA_TYPE: &str = "persoon.GeregistreerdPersoon@1";
/// The operator, the actor of most rule changes.
pub const OPERATOR: &str = "kruispunt.operator";

/// An entry's canonical bytes and the leaf hash recorded beside them.
#[derive(Clone)]
pub struct StoredBytes {
    /// The entry bytes.
    pub entry: Vec<u8>,
    /// The leaf hash recorded when it was written.
    pub leaf_hash: Hash,
}

impl StoredBytes {
    /// Bytes as written, with their true leaf hash.
    pub fn new(entry: Vec<u8>) -> Self {
        let leaf_hash = leaf_hash(&entry);
        Self { entry, leaf_hash }
    }
}

/// A transfer as a broker of format version 1 or 2 wrote it: the header (no kind byte in
/// version 1), fields 4 to 10, the subject pseudonym, the payload digest, the consumer's request
/// id as text, the outcome and the refusal reason.
pub fn legacy_transfer_bytes(version: u8, entry: &LedgerEntry, request_id: &str) -> Vec<u8> {
    assert!(version == 1 || version == 2, "a legacy format version");
    let mut bytes = vec![version];
    if version == 2 {
        bytes.push(1);
    }
    bytes.extend_from_slice(&entry.leaf_index.to_be_bytes());
    bytes.extend_from_slice(&entry.recorded_at_micros.to_be_bytes());
    let string = |bytes: &mut Vec<u8>, text: &str| {
        bytes.extend_from_slice(&u16::try_from(text.len()).expect("short text").to_be_bytes());
        bytes.extend_from_slice(text.as_bytes());
    };
    for text in [
        &entry.consumer,
        &entry.provider,
        &entry.data_type,
        &entry.purpose,
        &entry.legal_basis,
        &entry.legal_basis_ref,
        &entry.consent_id,
    ] {
        string(&mut bytes, text);
    }
    bytes.extend_from_slice(&entry.subject_pseudonym);
    match entry.payload_sha256 {
        Some(digest) => {
            bytes.push(1);
            bytes.extend_from_slice(&digest);
        }
        None => bytes.push(0),
    }
    string(&mut bytes, request_id);
    string(&mut bytes, entry.outcome.as_str());
    string(&mut bytes, &entry.refusal_reason);
    bytes
}

/// Lower-case hex of a pseudonym, as key fields carry it.
pub fn pseudonym_hex(pseudonym: &Hash) -> String {
    hex::encode(pseudonym)
}

/// The terms of an `authorization.granted` change, with the test defaults.
#[derive(Clone)]
pub struct Grant {
    pub authorization_id: u64,
    pub consumer: String,
    pub data_type: String,
    pub purpose: String,
    pub valid_from: String,
    pub valid_until: String,
    pub requires_consent: bool,
    pub requires_subject_registration: bool,
}

impl Grant {
    /// Authorization `id` for the test consumer and data type, for `purpose`, valid from the
    /// start of the ledger, open-ended, requiring nothing more.
    pub fn new(authorization_id: u64, purpose: &str) -> Self {
        Self {
            authorization_id,
            consumer: CONSUMER.to_owned(),
            data_type: DATA_TYPE.to_owned(),
            purpose: purpose.to_owned(),
            valid_from: START_SECONDS.to_string(),
            valid_until: String::new(),
            requires_consent: false,
            requires_subject_registration: false,
        }
    }

    /// The documented key fields, in order.
    pub fn key_fields(&self) -> Vec<(String, String)> {
        fields(&[
            ("authorization_id", &self.authorization_id.to_string()),
            ("consumer", &self.consumer),
            ("data_type", &self.data_type),
            ("purpose", &self.purpose),
            ("valid_from", &self.valid_from),
            ("valid_until", &self.valid_until),
            ("requires_consent", &self.requires_consent.to_string()),
            (
                "requires_subject_registration",
                &self.requires_subject_registration.to_string(),
            ),
        ])
    }
}

/// (name, value) pairs as owned key fields.
pub fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// A ledger being written, entry by entry.
pub struct LedgerBuilder {
    entries: Vec<StoredBytes>,
    sequence: u64,
}

impl Default for LedgerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LedgerBuilder {
    /// An empty ledger.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            sequence: 0,
        }
    }

    /// The index the next entry gets.
    pub fn next_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The sequence of the newest rule change (0 before the first): what a transfer decided now
    /// records as its rules version.
    pub fn rules_version(&self) -> u64 {
        self.sequence
    }

    /// The time of the next entry: one second per entry from the start.
    pub fn next_micros(&self) -> i64 {
        (START_SECONDS + self.next_index() as i64) * 1_000_000
    }

    /// The entries written so far.
    pub fn entries(&self) -> &[StoredBytes] {
        &self.entries
    }

    /// Appends bytes as they are; returns their index.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) -> u64 {
        self.entries.push(StoredBytes::new(bytes));
        self.next_index() - 1
    }

    /// Appends a rule change with the next sequence; returns its index.
    pub fn governance(
        &mut self,
        change: GovernanceChange,
        key_fields: Vec<(String, String)>,
    ) -> u64 {
        let sequence = self.sequence + 1;
        self.governance_with_sequence(sequence, change, key_fields)
    }

    /// Appends a rule change carrying `sequence`, whatever is due; returns its index.
    pub fn governance_with_sequence(
        &mut self,
        sequence: u64,
        change: GovernanceChange,
        key_fields: Vec<(String, String)>,
    ) -> u64 {
        let entry = GovernanceEntry {
            leaf_index: self.next_index(),
            recorded_at_micros: self.next_micros(),
            sequence,
            actor: OPERATOR.to_owned(),
            change,
            key_fields,
            record_digest: [sequence as u8; 32],
        };
        self.sequence = self.sequence.max(sequence);
        self.push_bytes(LedgerRecord::Governance(entry).encode())
    }

    pub fn register_agency(&mut self, agency: &str) -> u64 {
        self.governance(
            GovernanceChange::AgencyRegistered,
            fields(&[("agency", agency)]),
        )
    }

    pub fn revoke_agency(&mut self, agency: &str) -> u64 {
        self.governance(
            GovernanceChange::AgencyRevoked,
            fields(&[("agency", agency)]),
        )
    }

    pub fn register_purpose(&mut self, purpose: &str) -> u64 {
        self.governance(
            GovernanceChange::PurposeRegistered,
            fields(&[("purpose", purpose)]),
        )
    }

    pub fn set_route(&mut self) -> u64 {
        self.governance(
            GovernanceChange::RouteSet,
            fields(&[
                ("data_type", DATA_TYPE),
                ("provider", PROVIDER),
                ("endpoint", "https://civil-registry.example:9443"),
                ("signed_answers_required", "false"),
            ]),
        )
    }

    pub fn grant(&mut self, grant: &Grant) -> u64 {
        self.governance(GovernanceChange::AuthorizationGranted, grant.key_fields())
    }

    pub fn revoke_authorization(&mut self, grant: &Grant) -> u64 {
        self.governance(
            GovernanceChange::AuthorizationRevoked,
            fields(&[
                ("authorization_id", &grant.authorization_id.to_string()),
                ("consumer", &grant.consumer),
                ("data_type", &grant.data_type),
                ("purpose", &grant.purpose),
            ]),
        )
    }

    /// Consent `consent_id` of `pseudonym` (under `epoch`) to the test consumer for `purpose` and
    /// the test data type, valid until `valid_until` (Unix seconds).
    pub fn grant_consent(
        &mut self,
        consent_id: &str,
        purpose: &str,
        epoch: u32,
        pseudonym: &Hash,
        valid_until: i64,
    ) -> u64 {
        let purposes = format!("{purpose},zz-other-purpose");
        self.governance(
            GovernanceChange::ConsentGranted,
            fields(&[
                ("consent_id", consent_id),
                ("consumer", CONSUMER),
                ("purposes", &purposes),
                ("data_types", DATA_TYPE),
                ("valid_until", &valid_until.to_string()),
                ("pseudonym_epoch", &epoch.to_string()),
                ("subject_pseudonym", &pseudonym_hex(pseudonym)),
            ]),
        )
    }

    pub fn revoke_consent(&mut self, consent_id: &str) -> u64 {
        self.governance(
            GovernanceChange::ConsentRevoked,
            fields(&[("consent_id", consent_id), ("consumer", CONSUMER)]),
        )
    }

    pub fn register_subject(&mut self, epoch: u32, pseudonym: &Hash) -> u64 {
        self.governance(
            GovernanceChange::SubjectRegistered,
            fields(&[
                ("consumer", CONSUMER),
                ("pseudonym_epoch", &epoch.to_string()),
                ("subject_pseudonym", &pseudonym_hex(pseudonym)),
                ("valid_from", &START_SECONDS.to_string()),
                ("valid_until", ""),
            ]),
        )
    }

    pub fn unregister_subject(&mut self, epoch: u32, pseudonym: &Hash) -> u64 {
        self.governance(
            GovernanceChange::SubjectUnregistered,
            fields(&[
                ("consumer", CONSUMER),
                ("pseudonym_epoch", &epoch.to_string()),
                ("subject_pseudonym", &pseudonym_hex(pseudonym)),
            ]),
        )
    }

    /// A transfer decided now (rules version: the newest change), for `purpose`, delivered;
    /// `adjust` changes what the test needs. Returns its index.
    pub fn transfer(&mut self, purpose: &str, adjust: impl FnOnce(&mut LedgerEntry)) -> u64 {
        let mut entry = transfer_entry(self.next_index(), self.next_micros(), purpose);
        entry.rules_version = self.rules_version();
        adjust(&mut entry);
        self.push_bytes(LedgerRecord::Transfer(entry).encode())
    }

    /// A transfer as a broker of format `version` (1 or 2) wrote it, delivered for `purpose`.
    pub fn legacy_transfer(&mut self, version: u8, purpose: &str) -> u64 {
        let mut entry = transfer_entry(self.next_index(), self.next_micros(), purpose);
        entry.rules_version = 0;
        entry.pseudonym_epoch = 0;
        let request_id = format!("r-{}", self.next_index());
        self.push_bytes(legacy_transfer_bytes(version, &entry, &request_id))
    }

    /// Signs checkpoints at `sizes` over the entries written.
    pub fn signed_checkpoints(&self, signer: &NoteSigner, sizes: &[u64]) -> Vec<String> {
        signed_checkpoints(signer, &self.entries, sizes)
    }

    /// Signs a checkpoint at a third, two thirds and the whole of the ledger, and verifies it.
    pub fn verify(&self) -> Result<VerificationSummary, VerificationFailure> {
        let signer = NoteSigner::from_secret_bytes(ORIGIN, [9; 32]).expect("a valid key");
        let size = self.next_index();
        let notes = self.signed_checkpoints(&signer, &[size / 3, 2 * size / 3, size]);
        verify(&signer, &notes, &self.entries)
    }
}

/// A delivered transfer of the test consumer, provider and data type at `index`, under epoch
/// 2026, with a pseudonym derived from the index.
pub fn transfer_entry(index: u64, recorded_at_micros: i64, purpose: &str) -> LedgerEntry {
    LedgerEntry {
        leaf_index: index,
        recorded_at_micros,
        consumer: CONSUMER.to_owned(),
        provider: PROVIDER.to_owned(),
        data_type: DATA_TYPE.to_owned(),
        purpose: purpose.to_owned(),
        legal_basis: "Decreet".to_owned(),
        legal_basis_ref: String::new(),
        consent_id: String::new(),
        rules_version: 0,
        pseudonym_epoch: 2026,
        subject_pseudonym: [index as u8; 32],
        payload_sha256: Some([0x22; 32]),
        transfer_id: [index as u8 + 1; 16],
        request_digest: Some([0x55; 32]),
        case_reference_digest: None,
        source_payload_sha256: Some([0x66; 32]),
        answer_signature: None,
        outcome: Outcome::Delivered,
        refusal_reason: String::new(),
        legacy_request_id: String::new(),
    }
}

/// Checkpoints signed by `signer` at `sizes` over `entries`.
pub fn signed_checkpoints(
    signer: &NoteSigner,
    entries: &[StoredBytes],
    sizes: &[u64],
) -> Vec<String> {
    sizes
        .iter()
        .map(|&size| {
            let mut range = CompactRange::new();
            for stored in &entries[..size as usize] {
                range
                    .append(stored.leaf_hash)
                    .expect("the tree is not full");
            }
            sign_checkpoint(signer, &Checkpoint::new(ORIGIN, size, range.root())).expect("signs")
        })
        .collect()
}

/// Feeds every entry, at the index it is listed at, then finishes with proofs from the rebuilt
/// tree.
pub fn verify(
    signer: &NoteSigner,
    notes: &[String],
    entries: &[StoredBytes],
) -> Result<VerificationSummary, VerificationFailure> {
    let mut verification = LedgerVerification::from_signed_notes(&signer.verifier(), notes)?;
    for (index, stored) in entries.iter().enumerate() {
        verification.push_entry(RecordedEntry {
            leaf_index: index as u64,
            entry: &stored.entry,
            recorded_leaf_hash: stored.leaf_hash,
        })?;
    }
    verification.finish(None)
}
