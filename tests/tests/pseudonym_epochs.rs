//! Pseudonym epochs: transfers are keyed by the secret of the epoch current at their
//! `recorded_at`, the subject access log finds a subject under every epoch secret still
//! present, and deleting an epoch's secret unlinks that epoch's entries from the person while
//! `kruispunt ledger verify` still passes. Consents stay keyed by the secret from before epochs
//! (epoch 0), so a consent given before a rotation is relied on after it.
//!
//! The broker runs on a test clock ([`Broker::start_with_clock`]) that crosses New Year.
//!
//! [`Broker::start_with_clock`]: kruispunt_broker::broker::Broker::start_with_clock

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kruispunt_broker::pipeline::TransferClock;
use kruispunt_broker::pseudonym_epochs::EPOCH_SECRETS_FOLDER;
use kruispunt_e2e::{
    AUDITOR, Backend, Outcome, PORTAL, TestExchange, backend_test, consent_from, insz,
    kruispunt_binary, now, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_transparency::SubjectPseudonymizer;
use tokio::process::Command;

/// 2026-12-31T23:59:59Z and 2027-01-01T00:00:01Z, in Unix microseconds.
const LAST_SECOND_OF_2026: i64 = 1_798_761_599_000_000;
const FIRST_SECONDS_OF_2027: i64 = 1_798_761_601_000_000;

async fn logged_indices(exchange: &TestExchange, subject: &str) -> Vec<u64> {
    let mut portal = AuditClient::new(exchange.channel_as(PORTAL).await);
    let page = portal
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: insz(subject),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    page.transfers.iter().map(|record| record.index).collect()
}

fn epoch_secret(exchange: &TestExchange, epoch: u32) -> std::path::PathBuf {
    exchange
        .data_dir()
        .join(EPOCH_SECRETS_FOLDER)
        .join(format!("{epoch}.secret"))
}

fn pseudonymizer_of(exchange: &TestExchange, epoch: u32) -> SubjectPseudonymizer {
    let secret: [u8; 32] = std::fs::read(epoch_secret(exchange, epoch))
        .unwrap()
        .try_into()
        .unwrap();
    SubjectPseudonymizer::new(secret)
}

/// Runs `kruispunt ledger verify` against the running broker's Audit API, as an auditor (a
/// child process awaited without blocking the test's runtime, which also runs the broker).
async fn ledger_verify(exchange: &TestExchange) -> std::process::Output {
    let key = Command::new(kruispunt_binary())
        .args(["ledger", "key", "--data-dir"])
        .arg(exchange.data_dir())
        .output()
        .await
        .unwrap();
    assert!(key.status.success(), "{key:?}");
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let pki = exchange.directory.path().join("pki");
    Command::new(kruispunt_binary())
        .args(["ledger", "verify", "--key", &key, "--broker"])
        .arg(exchange.broker_endpoint())
        .arg("--ca-cert")
        .arg(pki.join("ca.pem"))
        .arg("--cert")
        .arg(pki.join(format!("{AUDITOR}.pem")))
        .arg("--key-file")
        .arg(pki.join(format!("{AUDITOR}-key.pem")))
        .output()
        .await
        .unwrap()
}

backend_test!(epochs_rotate_at_new_year_and_a_deleted_epoch_secret_unlinks_its_entries);
async fn epochs_rotate_at_new_year_and_a_deleted_epoch_secret_unlinks_its_entries(
    backend: Backend,
) {
    let clock = Arc::new(AtomicI64::new(LAST_SECOND_OF_2026));
    let reading = clock.clone();
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_consent = true)
        .clock(TransferClock::from_fn(move || {
            reading.load(Ordering::SeqCst)
        }))
        .start()
        .await;
    let (watched, other) = (exchange.known_subject(0), exchange.known_subject(1));
    // Given before the rotation, keyed by epoch 0, relied on in both epochs.
    let consent = exchange
        .portal()
        .await
        .grant_consent(consent_from(&watched, now() + 90 * 24 * 3_600))
        .await
        .unwrap()
        .into_inner();
    let mut consumer = exchange.consumer().await;
    let request = |subject: &str| {
        let mut request = person_request("be.insz", subject);
        request.consent_id = consent.id.clone();
        request
    };

    // 0, 1: the watched subject in 2026 (delivered), the other (no consent of its own).
    consumer.fetch(request(&watched)).await.unwrap();
    consumer.fetch(request(&other)).await.unwrap_err();
    clock.store(FIRST_SECONDS_OF_2027, Ordering::SeqCst);
    // 2, 3: the watched subject in 2027, twice.
    consumer.fetch(request(&watched)).await.unwrap();
    consumer.fetch(request(&watched)).await.unwrap();

    let rows = exchange.ledger_rows().await;
    // Transfer k's ledger index (the rule changes of the setup come first).
    let index_of =
        |transfers: &[usize]| -> Vec<u64> { transfers.iter().map(|&k| rows[k].index).collect() };
    let epochs: Vec<u32> = rows.iter().map(|row| row.entry.pseudonym_epoch).collect();
    assert_eq!(epochs, vec![2026, 2026, 2027, 2027]);
    let outcomes: Vec<Outcome> = rows.iter().map(|row| row.entry.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Delivered,
            Outcome::RefusedConsentMissing,
            Outcome::Delivered,
            Outcome::Delivered
        ]
    );
    assert_eq!(rows[0].entry.recorded_at_micros, LAST_SECOND_OF_2026);
    assert_eq!(rows[2].entry.recorded_at_micros, FIRST_SECONDS_OF_2027);
    let (keyed_2026, keyed_2027) = (
        pseudonymizer_of(&exchange, 2026),
        pseudonymizer_of(&exchange, 2027),
    );
    let in_2026 = keyed_2026.pseudonym("be.insz", &watched);
    let in_2027 = keyed_2027.pseudonym("be.insz", &watched);
    assert_ne!(in_2026, in_2027, "each epoch has its own secret");
    assert_eq!(rows[0].entry.subject_pseudonym, in_2026);
    assert_eq!(rows[2].entry.subject_pseudonym, in_2027);
    assert_eq!(rows[3].entry.subject_pseudonym, in_2027);
    assert_eq!(
        rows[1].entry.subject_pseudonym,
        keyed_2026.pseudonym("be.insz", &other)
    );
    assert_eq!(
        rows[2].entry.request_digest,
        Some(keyed_2027.request_digest(kruispunt_e2e::CONSUMER, "test-request"))
    );

    // The subject access log finds the subject in both epochs, and nobody else's entries.
    exchange.checkpoint_covering(rows[3].index + 1).await;
    assert_eq!(
        logged_indices(&exchange, &watched).await,
        index_of(&[3, 2, 0])
    );
    assert_eq!(logged_indices(&exchange, &other).await, index_of(&[1]));

    // Deleting 2026's secret unlinks 2026's entries from every person, at once.
    std::fs::remove_file(epoch_secret(&exchange, 2026)).unwrap();
    assert_eq!(logged_indices(&exchange, &watched).await, index_of(&[3, 2]));
    assert!(logged_indices(&exchange, &other).await.is_empty());
    // The entries themselves are untouched, and the ledger verifies.
    assert_eq!(exchange.ledger_rows().await.len(), 4);
    let verified = ledger_verify(&exchange).await;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(verified.status.code(), Some(0), "{output}");
    assert!(output.contains("ledger verified"), "{output}");

    // The consent, keyed by epoch 0, still covers the subject in 2027.
    consumer.fetch(request(&watched)).await.unwrap();
    let rows = exchange.ledger_rows().await;
    assert_eq!(
        logged_indices(&exchange, &watched).await,
        [4, 3, 2].map(|k| rows[k].index).to_vec()
    );
}
