//! A ledger written before entries had kinds (format version 1, `fixtures/ledger-v1/`) is opened by
//! today's broker, which appends entries in today's format: the old entries keep their bytes and
//! leaf hashes, the new ones carry their version and kind, and `kruispunt ledger verify` accepts
//! the whole mixed ledger, from the database and from an exported bundle. The same database,
//! written before purposes were registered codes, comes out of the upgrade with the purposes its
//! authorizations name registered, where they are valid codes, and with the free-text capacities
//! of its persons repertory replaced by the code `unspecified` (the registrations stay in force).

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::time::Duration;

use kruispunt_broker::ledger::{Ledger, load_or_create_signing_key};
use kruispunt_broker::registry_index::RegistryIndex;
use kruispunt_broker::store::Database;
use kruispunt_transparency::{LedgerEntry, Outcome};
use sqlx::Row;

mod ledger_cli;
use ledger_cli::{verifier_key, verify_database_and_bundle};

/// The origin the fixture's checkpoints were signed for.
const ORIGIN: &str = "kruispunt.example/ledger";
/// Entries in the fixture.
const OLD_ENTRIES: u64 = 5;
/// Entries appended by today's broker.
const NEW_ENTRIES: u64 = 12;

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ledger-v1"
    ))
}

fn new_entry(number: u64) -> LedgerEntry {
    LedgerEntry {
        leaf_index: 0,
        recorded_at_micros: 1_900_000_000_000_000 + i64::try_from(number).unwrap(),
        consumer: "be.example.gemeente-lokeren".to_owned(),
        provider: "be.example.civil-registry".to_owned(),
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        purpose: "demo".to_owned(),
        legal_basis: "Demo".to_owned(),
        legal_basis_ref: String::new(),
        consent_id: String::new(),
        subject_pseudonym: [u8::try_from(number).unwrap(); 32],
        payload_sha256: None,
        rules_version: 0,
        pseudonym_epoch: 0,
        transfer_id: [u8::try_from(number % 200).unwrap() + 1; 16],
        request_digest: None,
        case_reference_digest: None,
        source_payload_sha256: None,
        answer_signature: None,
        legacy_request_id: String::new(),
        // Refusals, among them one only later formats can carry: the ledger records no rule
        // changes, so a delivered transfer would have no authorization behind it (the replay of
        // the rules in force is tested in ledger_forged_transfer.rs and kruispunt-transparency).
        outcome: if number.is_multiple_of(3) {
            Outcome::RefusedMisrouted
        } else {
            Outcome::RefusedNoAuthorization
        },
        refusal_reason: String::new(),
    }
}

async fn stored_entries(url: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT entry, leaf_hash FROM ledger_entries ORDER BY leaf_index")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|row| (row.get("entry"), row.get("leaf_hash")))
        .collect()
}

#[tokio::test]
async fn a_version_1_ledger_upgraded_in_place_verifies_with_todays_entries() {
    let directory = tempfile::tempdir().unwrap();
    for name in ["ledger.db", "ledger-signing.key", "ledger-pseudonym.secret"] {
        std::fs::copy(fixture().join(name), directory.path().join(name)).unwrap();
    }
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    let before = stored_entries(&url).await;
    assert_eq!(before.len() as u64, OLD_ENTRIES);
    assert!(
        before.iter().all(|(entry, _)| entry[0] == 1),
        "the fixture holds version 1 entries only"
    );

    let database = Database::open(&url).await.unwrap();
    let signer =
        load_or_create_signing_key(&directory.path().join("ledger-signing.key"), ORIGIN).unwrap();
    let ledger = Ledger::start(&database, 64, signer).await.unwrap();
    for number in 0..NEW_ENTRIES {
        let receipt = ledger.append(new_entry(number)).await.unwrap();
        assert_eq!(receipt.index, OLD_ENTRIES + number);
    }
    let size = OLD_ENTRIES + NEW_ENTRIES;
    let mut signed = false;
    for _ in 0..100 {
        let latest = ledger.reader().latest_checkpoint().await.unwrap();
        if latest.is_some_and(|checkpoint| checkpoint.tree_size == size) {
            signed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(signed, "no checkpoint at size {size}");
    drop(ledger);
    drop(database);

    let after = stored_entries(&url).await;
    assert_eq!(after.len() as u64, size);
    assert_eq!(
        after[..before.len()],
        before[..],
        "old entries keep their bytes and hashes"
    );
    for (bytes, _) in &after[before.len()..] {
        assert_eq!(bytes[0], 3, "today's entries carry format version 3");
        let decoded = LedgerEntry::decode(bytes).unwrap();
        assert_ne!(decoded.transfer_id, [0; 16]);
    }
    for (bytes, _) in &before {
        let decoded = LedgerEntry::decode(bytes).unwrap();
        assert_eq!(decoded.consumer, "be.example.gemeente-lokeren");
    }

    let key = verifier_key(directory.path(), ORIGIN);
    let (code, report) = verify_database_and_bundle(&url, directory.path(), &key);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains(&format!("{size} entries")), "{report}");
}

#[tokio::test]
async fn the_upgrade_registers_the_purposes_old_authorizations_name_if_they_are_codes() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture().join("ledger.db"),
        directory.path().join("ledger.db"),
    )
    .unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    // Old brokers took any text as a purpose: add one that is no code to the copy (the fixture
    // itself names `demo` and `school-enrolment`, both valid codes).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO authorizations (consumer, data_type, purpose, legal_basis, legal_basis_ref,
                                     valid_from, allowed_fields, requires_consent,
                                     requires_subject_registration)
         VALUES ('be.example.gemeente-lokeren', 'persoon.GeregistreerdPersoon@1',
                 'Sociale Dienst (oud)', 'test', '', 0, '[\"\"]', 0, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let database = Database::open(&url).await.unwrap();
    let purposes = database.registry().purposes().await.unwrap();
    let codes: Vec<&str> = purposes
        .iter()
        .map(|purpose| purpose.code.as_str())
        .collect();
    assert_eq!(codes, ["demo", "school-enrolment"]);
    assert!(
        purposes.iter().all(
            |purpose| purpose.description.starts_with("registered by the upgrade")
                && purpose.registered_at > 1_700_000_000
        ),
        "{purposes:?}"
    );
    let index = RegistryIndex::load(database.registry()).await.unwrap();
    assert!(index.is_registered_purpose("demo"));
    assert!(!index.is_registered_purpose("Sociale Dienst (oud)"));
    assert_eq!(
        index.authorizations_without_registered_purpose(),
        1,
        "the authorization under an invalid purpose stays, unusable"
    );
    assert_eq!(
        database
            .registry()
            .authorizations(None)
            .await
            .unwrap()
            .len(),
        3
    );
    database.close().await;
}

#[tokio::test]
async fn the_upgrade_replaces_free_text_capacities_and_keeps_the_registrations() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture().join("ledger.db"),
        directory.path().join("ledger.db"),
    )
    .unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    // Old brokers took any text as a capacity: add registrations under free text and under a
    // code to the copy (the fixture has none).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for (pseudonym, capacity) in [
        (1_u8, "Jozefien Vandenbroucke-Pieters, Kerkstraat 17"),
        (2, "Beneficiary"),
        (3, "beneficiary"),
    ] {
        sqlx::query(
            "INSERT INTO subject_registrations (consumer, subject_pseudonym, capacity, valid_from,
                                                registered_at)
             VALUES ('be.example.gemeente-lokeren', $1, $2, 0, 0)",
        )
        .bind(vec![pseudonym; 32])
        .bind(capacity)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let database = Database::open(&url).await.unwrap();
    let repertory = database.repertory();
    for pseudonym in [1_u8, 2, 3] {
        assert!(
            repertory
                .is_registered("be.example.gemeente-lokeren", &[pseudonym; 32], 1)
                .await
                .unwrap(),
            "registration {pseudonym} stays in force"
        );
    }
    database.close().await;
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let capacities: Vec<String> =
        sqlx::query("SELECT capacity FROM subject_registrations ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("capacity"))
            .collect();
    assert_eq!(capacities, ["unspecified", "unspecified", "beneficiary"]);
    pool.close().await;
    // The text is gone from the files too (database and WAL), not only from the table.
    for entry in std::fs::read_dir(directory.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(8).any(|window| window == b"Jozefien"),
            "the free-text capacity is still in {}",
            path.display()
        );
    }
}
