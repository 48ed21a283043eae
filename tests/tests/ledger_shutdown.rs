//! Shutting the ledger down under load loses nothing and leaves nothing running: every append
//! that returned a receipt is in the database, found by a fresh reader, and the ledger verifies
//! with a last checkpoint covering it all; every append in flight is answered (a receipt, or
//! `WriterStopped` once the shutdown began), none hangs; appends after it fail with
//! `WriterStopped`; and once it returns, no connection of the ledger's is left on the database.
//! Then the same through a whole broker: stopping the server stops the broker with it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kruispunt_broker::ledger::sources::{LedgerSource, verify_source};
use kruispunt_broker::ledger::{
    Ledger, LedgerError, LedgerReader, Receipt, load_or_create_signing_key,
};
use kruispunt_broker::store::Database;
use kruispunt_e2e::{
    Backend, PERSON_DATA_TYPE, PURPOSE, TestDatabase, TestExchange,
    assert_nothing_holds_the_database, backend_test, insz,
};
use kruispunt_proto::v1 as proto;
use kruispunt_transparency::NoteVerifier;
use kruispunt_transparency::{LedgerEntry, Outcome};

/// Concurrent appenders; each appends until the ledger refuses.
const APPENDERS: usize = 48;
/// Receipts to wait for before shutting down (so the shutdown meets a busy writer).
const RECEIPTS_BEFORE_SHUTDOWN: usize = 300;

fn entry(appender: usize, number: usize) -> LedgerEntry {
    LedgerEntry {
        leaf_index: 0,
        recorded_at_micros: 1_800_000_000_000_000,
        consumer: "be.test.consumer".to_owned(),
        provider: "be.test.provider".to_owned(),
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        purpose: "shutdown-test".to_owned(),
        legal_basis: "test".to_owned(),
        legal_basis_ref: String::new(),
        consent_id: String::new(),
        subject_pseudonym: [u8::try_from(appender).unwrap(); 32],
        // Refused under the rules before any rule change (this ledger records none), so the
        // verifier's replay of the rules in force has nothing to object to.
        payload_sha256: None,
        rules_version: 0,
        pseudonym_epoch: 0,
        transfer_id: {
            let mut id = [0; 16];
            id[..8].copy_from_slice(&(appender as u64).to_be_bytes());
            id[8..].copy_from_slice(&(number as u64).to_be_bytes());
            id
        },
        request_digest: None,
        case_reference_digest: None,
        source_payload_sha256: None,
        answer_signature: None,
        legacy_request_id: String::new(),
        outcome: Outcome::RefusedNoAuthorization,
        refusal_reason: "no authorization".to_owned(),
    }
}

backend_test!(shutdown_under_load_answers_every_append_and_leaves_nothing_running);
async fn shutdown_under_load_answers_every_append_and_leaves_nothing_running(backend: Backend) {
    let directory = tempfile::tempdir().unwrap();
    let test_database = TestDatabase::create(&backend, directory.path())
        .await
        .unwrap();
    let database = Database::open(&test_database.url).await.unwrap();
    let signer =
        load_or_create_signing_key(&directory.path().join("key"), "shutdown.test/ledger").unwrap();
    let verifier_key = signer.verifier_key_string();
    let ledger = Ledger::start(&database, 16, signer).await.unwrap();

    let receipts_so_far = Arc::new(AtomicUsize::new(0));
    let appenders: Vec<_> = (0..APPENDERS)
        .map(|appender| {
            let (ledger, receipts_so_far) = (ledger.clone(), receipts_so_far.clone());
            tokio::spawn(async move {
                let mut receipts: Vec<Receipt> = Vec::new();
                loop {
                    match ledger.append(entry(appender, receipts.len())).await {
                        Ok(receipt) => {
                            receipts.push(receipt);
                            receipts_so_far.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(error) => return (receipts, error),
                    }
                }
            })
        })
        .collect();
    while receipts_so_far.load(Ordering::SeqCst) < RECEIPTS_BEFORE_SHUTDOWN {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(60), ledger.shutdown())
        .await
        .expect("the ledger shut down");

    // Every appender was answered: receipts, then the refusal once the shutdown began.
    let mut receipts = Vec::new();
    for appender in appenders {
        let (appended, error) = tokio::time::timeout(Duration::from_secs(5), appender)
            .await
            .expect("no append is left hanging after the shutdown")
            .unwrap();
        assert!(
            matches!(error, LedgerError::WriterStopped),
            "an append in flight at shutdown is refused only because the writer stopped: {error}"
        );
        receipts.extend(appended);
    }
    assert!(receipts.len() >= RECEIPTS_BEFORE_SHUTDOWN);
    assert!(matches!(
        ledger.append(entry(0, usize::MAX)).await,
        Err(LedgerError::WriterStopped)
    ));
    database.close().await;
    // Nothing of the ledger holds the database: the SQLite writer thread has closed its
    // connection, no PostgreSQL task (queue writer, poller, sequencer, listeners) is connected.
    assert_nothing_holds_the_database(&test_database.url).await;

    // A fresh reader finds every receipt, and nothing else.
    let fresh = Database::open(&test_database.url).await.unwrap();
    let reader = LedgerReader::for_database(&fresh);
    let stored = reader
        .entries(0, u32::try_from(receipts.len() + 10).unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        receipts.len(),
        "every entry in the tree was answered with a receipt"
    );
    for receipt in &receipts {
        let found = &stored[usize::try_from(receipt.index).unwrap()];
        assert_eq!(found.leaf_index, receipt.index);
        assert_eq!(
            found.leaf_hash, receipt.leaf_hash,
            "receipt {}",
            receipt.index
        );
    }
    // The ledger verifies, and its last checkpoint (signed at shutdown) covers every entry.
    let verifier = NoteVerifier::from_verifier_key(&verifier_key).unwrap();
    let summary = verify_source(&mut LedgerSource::Database(reader), &verifier)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.entries, u64::try_from(receipts.len()).unwrap());
    assert_eq!(
        summary.newest_checkpoint_size, summary.entries,
        "the checkpoint signed at shutdown covers every entry"
    );
    fresh.close().await;
}

backend_test!(stopping_the_server_stops_the_broker_and_keeps_every_receipt);
async fn stopping_the_server_stops_the_broker_and_keeps_every_receipt(backend: Backend) {
    let mut exchange = TestExchange::start(backend).await;
    let subject = exchange.known_subject(0);
    let fetch = |request_id: String| proto::FetchRequest {
        data_type: PERSON_DATA_TYPE.to_owned(),
        subject: insz(&subject),
        purpose: PURPOSE.to_owned(),
        request_id,
        consent_id: String::new(),
        case_reference: None,
    };
    let mut consumer = exchange.consumer().await;
    let first = consumer
        .fetch(fetch("before".to_owned()))
        .await
        .unwrap()
        .into_inner();
    // Requests in flight when the server is told to stop: it drains them, then stops the broker.
    let in_flight: Vec<_> = (0..16)
        .map(|number| {
            let mut consumer = consumer.clone();
            let request = fetch(format!("in-flight-{number}"));
            tokio::spawn(async move { consumer.fetch(request).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    exchange.stop_broker(Duration::from_secs(60)).await;
    let mut receipts = vec![first.receipt.unwrap()];
    for request in in_flight {
        if let Ok(response) = request.await.unwrap() {
            receipts.push(response.into_inner().receipt.unwrap());
        }
    }
    // The broker's ledger, refreshes and database pool are gone: nothing holds the database.
    assert_nothing_holds_the_database(&exchange.database_url).await;
    let rows = exchange.ledger_leaf_hashes().await;
    for receipt in &receipts {
        let leaf_hash = &rows[usize::try_from(receipt.index).unwrap()];
        assert_eq!(leaf_hash, &receipt.leaf_hash, "receipt {}", receipt.index);
    }
    let pool = exchange.database_pool().await;
    let newest: i64 = sqlx::query_scalar("SELECT MAX(tree_size) FROM ledger_checkpoints")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(
        usize::try_from(newest).unwrap(),
        rows.len(),
        "the broker signed a checkpoint of its whole ledger when it stopped"
    );
}
