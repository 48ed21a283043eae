//! A ledger whose every entry and checkpoint is validly signed, but which holds a delivered
//! transfer no authorization stands behind (what a dishonest operator with the signing key could
//! write): `kruispunt ledger verify` replays the rule changes, exits 1 and names the forged
//! entry's index. The same ledger without the forged transfer verifies (exit 0) and the report
//! counts what the replay checked. Runs the real binary on a bundle file in the format
//! `ledger/sources.rs` reads, with the verifier key in a file as `--key @FILE` takes it.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_broker::ledger::sources::BUNDLE_FORMAT;
use kruispunt_transparency::{
    Checkpoint, CompactRange, GovernanceChange, GovernanceEntry, LedgerEntry, LedgerRecord,
    NoteSigner, Outcome, leaf_hash, sign_checkpoint,
};

mod ledger_cli;
use ledger_cli::{kruispunt, printed};

const ORIGIN: &str = "forged.test/ledger";
const CONSUMER: &str = "be.example.gemeente";
const PROVIDER: &str = "be.example.civil-registry";
const DATA_TYPE: &str = "persoon.GeregistreerdPersoon@1";
/// 2026-01-01T00:00:00Z.
const START_SECONDS: i64 = 1_767_225_600;

/// Entries as a broker appends them: indices in order, rule changes numbered from 1.
#[derive(Default)]
struct Ledger {
    entries: Vec<Vec<u8>>,
    sequence: u64,
}

impl Ledger {
    fn next_index(&self) -> u64 {
        self.entries.len() as u64
    }

    fn micros(&self) -> i64 {
        (START_SECONDS + i64::try_from(self.next_index()).unwrap()) * 1_000_000
    }

    fn rule_change(&mut self, change: GovernanceChange, key_fields: &[(&str, &str)]) {
        self.sequence += 1;
        let entry = GovernanceEntry {
            leaf_index: self.next_index(),
            recorded_at_micros: self.micros(),
            sequence: self.sequence,
            actor: "kruispunt.operator".to_owned(),
            change,
            key_fields: key_fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            record_digest: [u8::try_from(self.sequence).unwrap(); 32],
        };
        self.entries.push(LedgerRecord::Governance(entry).encode());
    }

    /// A delivered transfer for `purpose`, decided under the newest rules.
    fn delivered(&mut self, purpose: &str) -> u64 {
        let index = self.next_index();
        let entry = LedgerEntry {
            leaf_index: index,
            recorded_at_micros: self.micros(),
            consumer: CONSUMER.to_owned(),
            provider: PROVIDER.to_owned(),
            data_type: DATA_TYPE.to_owned(),
            purpose: purpose.to_owned(),
            legal_basis: "Decreet".to_owned(),
            legal_basis_ref: String::new(),
            consent_id: String::new(),
            rules_version: self.sequence,
            pseudonym_epoch: 2026,
            subject_pseudonym: [u8::try_from(index).unwrap(); 32],
            payload_sha256: Some([0x22; 32]),
            transfer_id: [u8::try_from(index).unwrap() + 1; 16],
            request_digest: None,
            case_reference_digest: None,
            source_payload_sha256: Some([0x66; 32]),
            answer_signature: None,
            outcome: Outcome::Delivered,
            refusal_reason: String::new(),
            legacy_request_id: String::new(),
        };
        self.entries.push(LedgerRecord::Transfer(entry).encode());
        index
    }

    /// The rules a ledger records when it begins: the agencies, the purpose, the route and one
    /// authorization (id 1) of the consumer for the data type and `demo`.
    fn with_rules() -> Self {
        let mut ledger = Self::default();
        ledger.rule_change(GovernanceChange::AgencyRegistered, &[("agency", CONSUMER)]);
        ledger.rule_change(GovernanceChange::AgencyRegistered, &[("agency", PROVIDER)]);
        ledger.rule_change(GovernanceChange::PurposeRegistered, &[("purpose", "demo")]);
        ledger.rule_change(
            GovernanceChange::RouteSet,
            &[
                ("data_type", DATA_TYPE),
                ("provider", PROVIDER),
                ("endpoint", "https://civil-registry.example:9443"),
                ("signed_answers_required", "false"),
            ],
        );
        let valid_from = START_SECONDS.to_string();
        ledger.rule_change(
            GovernanceChange::AuthorizationGranted,
            &[
                ("authorization_id", "1"),
                ("consumer", CONSUMER),
                ("data_type", DATA_TYPE),
                ("purpose", "demo"),
                ("valid_from", &valid_from),
                ("valid_until", ""),
                ("requires_consent", "false"),
                ("requires_subject_registration", "false"),
            ],
        );
        ledger
    }

    /// Writes the ledger as a bundle with checkpoints signed by `signer` at half and at its
    /// whole size.
    fn write_bundle(&self, signer: &NoteSigner, path: &Path) {
        let size = self.next_index();
        let checkpoints: Vec<String> = [size / 2, size]
            .iter()
            .map(|&tree_size| {
                let mut range = CompactRange::new();
                for entry in &self.entries[..usize::try_from(tree_size).unwrap()] {
                    range.append(leaf_hash(entry)).unwrap();
                }
                sign_checkpoint(signer, &Checkpoint::new(ORIGIN, tree_size, range.root())).unwrap()
            })
            .collect();
        let mut lines = vec![serde_json::json!({
            "format": BUNDLE_FORMAT,
            "version": 1,
            "origin": ORIGIN,
            "entries": size,
            "checkpoints": checkpoints.len(),
        })];
        lines.extend(
            checkpoints
                .iter()
                .map(|note| serde_json::json!({ "checkpoint": note })),
        );
        lines.extend(self.entries.iter().enumerate().map(|(index, entry)| {
            serde_json::json!({
                "index": index,
                "leaf_hash": hex::encode(leaf_hash(entry)),
                "entry": BASE64.encode(entry),
            })
        }));
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        std::fs::write(path, text).unwrap();
    }
}

/// `kruispunt ledger verify --key @<key file> --bundle <bundle>`: exit code and report.
fn verify_bundle(directory: &Path, bundle: &str) -> (i32, String) {
    let key_file = directory.join("ledger.pub");
    let bundle = directory.join(bundle);
    let output = kruispunt(&[
        "ledger",
        "verify",
        "--key",
        &format!("@{}", key_file.display()),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    (output.status.code().unwrap(), printed(&output))
}

#[test]
fn a_signed_ledger_with_a_forged_delivered_transfer_fails_naming_its_index() {
    let directory = tempfile::tempdir().unwrap();
    let signer = NoteSigner::from_secret_bytes(ORIGIN, [0x5a; 32]).unwrap();
    std::fs::write(
        directory.path().join("ledger.pub"),
        format!("{}\n", signer.verifier_key_string()),
    )
    .unwrap();

    let mut honest = Ledger::with_rules();
    let mut forged = Ledger::with_rules();
    for ledger in [&mut honest, &mut forged] {
        ledger.delivered("demo");
        ledger.delivered("demo");
    }
    // A purpose the consumer was never authorized for, delivered anyway.
    let forged_index = forged.delivered("fraud-detection");
    for ledger in [&mut honest, &mut forged] {
        ledger.delivered("demo");
    }
    honest.write_bundle(&signer, &directory.path().join("honest.bundle"));
    forged.write_bundle(&signer, &directory.path().join("forged.bundle"));

    let (code, report) = verify_bundle(directory.path(), "forged.bundle");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAILED"), "{report}");
    assert!(
        report.contains(&format!(
            "entry {forged_index}, a delivered transfer, had no authorization"
        )),
        "{report}"
    );

    let (code, report) = verify_bundle(directory.path(), "honest.bundle");
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("ledger verified: 8 entries"), "{report}");
    assert!(report.contains("5 governance entries"), "{report}");
    assert!(report.contains("3 delivered transfers checked"), "{report}");
}
