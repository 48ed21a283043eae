//! Tampering with any stored ledger row is detected by `kruispunt ledger verify`, which names the
//! index or checkpoint: a changed byte, a deleted row, two reordered rows, a replaced checkpoint, a
//! consistent rewrite of an entry and its recorded hash, a truncated tail. Runs the real binary
//! against a real SQLite ledger, directly and through an exported bundle.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::time::Duration;

use kruispunt_broker::ledger::{Ledger, load_or_create_signing_key};
use kruispunt_broker::store::Database;
use kruispunt_transparency::{
    Checkpoint, LedgerEntry, NoteSigner, Outcome, leaf_hash, sign_checkpoint,
};
use sqlx::Row;

mod ledger_cli;
use ledger_cli::{verifier_key, verify_database_and_bundle};

const ORIGIN: &str = "tamper.test/ledger";
const ENTRIES_PER_BURST: usize = 40;
const BURSTS: usize = 3;

fn sample_entry(number: usize) -> LedgerEntry {
    LedgerEntry {
        leaf_index: 0,
        recorded_at_micros: 1_800_000_000_000_000 + i64::try_from(number).unwrap(),
        consumer: "be.test.consumer".to_owned(),
        provider: "be.test.provider".to_owned(),
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        purpose: "tamper-test".to_owned(),
        legal_basis: "test".to_owned(),
        legal_basis_ref: String::new(),
        consent_id: String::new(),
        subject_pseudonym: [u8::try_from(number % 251).unwrap(); 32],
        // Refused under the rules before any rule change (this ledger records none): honest
        // under the verifier's replay, so only the tampering is reported.
        payload_sha256: None,
        rules_version: 0,
        pseudonym_epoch: 0,
        transfer_id: [0; 16],
        request_digest: None,
        case_reference_digest: None,
        source_payload_sha256: None,
        answer_signature: None,
        legacy_request_id: String::new(),
        outcome: Outcome::RefusedNoAuthorization,
        refusal_reason: "no authorization".to_owned(),
    }
}

/// Builds a ledger of BURSTS × ENTRIES_PER_BURST entries with a signed checkpoint after each
/// burst; returns its directory.
async fn build_ledger(directory: &Path) {
    let database = Database::open(&database_url(directory)).await.unwrap();
    let signer = load_or_create_signing_key(&directory.join("ledger-signing.key"), ORIGIN).unwrap();
    let ledger = Ledger::start(&database, 64, signer).await.unwrap();
    let mut number = 0;
    for _ in 0..BURSTS {
        let appends = (0..ENTRIES_PER_BURST).map(|_| {
            number += 1;
            let ledger = ledger.clone();
            let entry = sample_entry(number);
            tokio::spawn(async move { ledger.append(entry).await.unwrap() })
        });
        for append in appends.collect::<Vec<_>>() {
            append.await.unwrap();
        }
        let size = ledger.durable_size().await.unwrap();
        wait_for_checkpoint(&ledger, size).await;
    }
}

async fn wait_for_checkpoint(ledger: &Ledger, size: u64) {
    for _ in 0..100 {
        let latest = ledger.reader().latest_checkpoint().await.unwrap();
        if latest.is_some_and(|checkpoint| checkpoint.tree_size == size) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no checkpoint at size {size}");
}

fn database_url(directory: &Path) -> String {
    format!("sqlite://{}", directory.join("ledger.db").display())
}

fn copy_ledger(from: &Path, to: &Path) {
    for name in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let source = from.join(name);
        if source.exists() {
            std::fs::copy(&source, to.join(name)).unwrap();
        }
    }
}

/// Runs `verify` on the database and on an exported bundle; both must agree.
fn verify(directory: &Path, key: &str) -> (i32, String) {
    verify_database_and_bundle(&database_url(directory), directory, key)
}

async fn tamper(directory: &Path, statements: &[(&str, Vec<Vec<u8>>)]) {
    let pool = sqlx::SqlitePool::connect(&database_url(directory))
        .await
        .unwrap();
    // An attacker with database access removes the append-only triggers first.
    for trigger in [
        "ledger_entries_no_update",
        "ledger_entries_no_delete",
        "ledger_checkpoints_no_update",
        "ledger_checkpoints_no_delete",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {trigger}")))
            .execute(&pool)
            .await
            .unwrap();
    }
    for (statement, binds) in statements {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()));
        for bind in binds {
            query = query.bind(bind.clone());
        }
        query.execute(&pool).await.unwrap();
    }
    pool.close().await;
}

async fn stored_entry(directory: &Path, index: i64) -> Vec<u8> {
    let pool = sqlx::SqlitePool::connect(&database_url(directory))
        .await
        .unwrap();
    let row = sqlx::query("SELECT entry FROM ledger_entries WHERE leaf_index = ?")
        .bind(index)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.get("entry")
}

/// Changes one byte inside the purpose text, so the entry still decodes.
fn with_changed_byte(mut entry: Vec<u8>) -> Vec<u8> {
    let position = entry
        .windows(b"tamper-test".len())
        .position(|window| window == b"tamper-test")
        .unwrap();
    entry[position] = b'T';
    entry
}

#[tokio::test]
async fn every_kind_of_tampering_is_detected_and_located() {
    let original = tempfile::tempdir().unwrap();
    build_ledger(original.path()).await;
    let key = verifier_key(original.path(), ORIGIN);
    let total = BURSTS * ENTRIES_PER_BURST;

    // Untouched: verifies.
    let (code, output) = verify(original.path(), &key);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains(&format!("ledger verified: {total} entries")),
        "{output}"
    );

    let case = |name: &str| {
        let directory = original.path().join(name);
        std::fs::create_dir(&directory).unwrap();
        copy_ledger(original.path(), &directory);
        directory
    };

    // One byte of one entry.
    let directory = case("changed-byte");
    let changed = with_changed_byte(stored_entry(&directory, 57).await);
    tamper(
        &directory,
        &[(
            "UPDATE ledger_entries SET entry = ? WHERE leaf_index = 57",
            vec![changed],
        )],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("entry 57 was altered"), "{output}");

    // A deleted row.
    let directory = case("deleted-row");
    tamper(
        &directory,
        &[("DELETE FROM ledger_entries WHERE leaf_index = 33", vec![])],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("entry 33 is missing"), "{output}");

    // Two rows reordered (whole rows swapped, recorded hashes included).
    let directory = case("reordered-rows");
    tamper(
        &directory,
        &[
            (
                "UPDATE ledger_entries SET leaf_index = -1 WHERE leaf_index = 12",
                vec![],
            ),
            (
                "UPDATE ledger_entries SET leaf_index = 12 WHERE leaf_index = 90",
                vec![],
            ),
            (
                "UPDATE ledger_entries SET leaf_index = 90 WHERE leaf_index = -1",
                vec![],
            ),
        ],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("entry 12 was written as entry 90"),
        "{output}"
    );

    // A stored checkpoint replaced by one signed with another key.
    let directory = case("replaced-checkpoint");
    let forger = NoteSigner::generate(ORIGIN).unwrap();
    let forged = sign_checkpoint(&forger, &Checkpoint::new(ORIGIN, 80, [9; 32])).unwrap();
    tamper(
        &directory,
        &[(
            "UPDATE ledger_checkpoints SET signed_note = ? WHERE tree_size = 80",
            vec![forged.into_bytes()],
        )],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("not validly signed"), "{output}");

    // An entry rewritten together with its recorded leaf hash: caught by the signed roots.
    let directory = case("consistent-rewrite");
    let changed = with_changed_byte(stored_entry(&directory, 45).await);
    let new_leaf = leaf_hash(&changed).to_vec();
    tamper(
        &directory,
        &[(
            "UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE leaf_index = 45",
            vec![changed, new_leaf],
        )],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("checkpoint of size 80 does not match the entries: an entry in [40, 80)"),
        "{output}"
    );

    // The newest entries cut off.
    let directory = case("truncated");
    tamper(
        &directory,
        &[("DELETE FROM ledger_entries WHERE leaf_index >= 100", vec![])],
    )
    .await;
    let (code, output) = verify(&directory, &key);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(
            "checkpoint of size 120 commits to entries that are missing: only 100 entries exist"
        ),
        "{output}"
    );

    // A key other than the broker's: nothing verifies.
    let stranger = NoteSigner::generate(ORIGIN).unwrap().verifier_key_string();
    let (code, output) = verify(original.path(), &stranger);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("not validly signed"), "{output}");
}
