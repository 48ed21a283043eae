//! The adapter receives the broker's own transfer id, never the consumer's text: the request id
//! it sees is the 32 lower-case hex digits of the transfer id the ledger entry records, and
//! neither the consumer's request id nor its case reference reaches it. The ledger keeps those
//! only as keyed digests under the transfer's pseudonym epoch secret, and the Audit API shows
//! the transfer id and the digests.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use kruispunt_adapter::{AuthenticSource, ServedDataType, SourceError, SourceRequest};
use kruispunt_broker::pseudonym_epochs::{EPOCH_SECRETS_FOLDER, PseudonymRotation};
use kruispunt_civil_registry::{CivilRegistry, SyntheticCivilRegistry};
use kruispunt_e2e::{
    AUDITOR, Backend, CONSUMER, POPULATION, POPULATION_SEED, PROVIDER, TestExchange, backend_test,
    person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_transparency::{Outcome, SubjectPseudonymizer};

/// The civil registry, keeping every request it was sent.
struct CapturingSource {
    inner: CivilRegistry,
    seen: Arc<Mutex<Vec<SourceRequest>>>,
}

impl AuthenticSource for CapturingSource {
    fn data_types(&self) -> Vec<ServedDataType> {
        self.inner.data_types()
    }

    async fn fetch(&self, request: SourceRequest) -> Result<Vec<u8>, SourceError> {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.fetch(request).await
    }
}

const CONSUMER_REQUEST_ID: &str = "gemeente-aanvraag-4711";
const CASE_KIND: &str = "dossier";
const CASE_REFERENCE: &str = "SOC/2026/000042-Janssens";

backend_test!(the_adapter_sees_the_recorded_transfer_id_and_none_of_the_consumers_text);
async fn the_adapter_sees_the_recorded_transfer_id_and_none_of_the_consumers_text(
    backend: Backend,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let population = SyntheticCivilRegistry::generate(POPULATION_SEED, POPULATION);
    let source = CapturingSource {
        inner: CivilRegistry::new(&population),
        seen: seen.clone(),
    };
    let exchange = TestExchange::builder(backend)
        .start_with(source, PROVIDER)
        .await;
    let mut consumer = exchange.consumer().await;
    let subject = exchange.known_subject(0);

    let mut with_case = person_request("be.insz", &subject);
    with_case.request_id = CONSUMER_REQUEST_ID.to_owned();
    with_case.case_reference = Some(proto::CaseReference {
        kind: CASE_KIND.to_owned(),
        reference: CASE_REFERENCE.to_owned(),
    });
    consumer.fetch(with_case).await.unwrap();
    // The same request id again, without a case: another transfer, another transfer id.
    let mut again = person_request("be.insz", &subject);
    again.request_id = CONSUMER_REQUEST_ID.to_owned();
    consumer.fetch(again).await.unwrap();

    let rows = exchange.ledger_rows().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(seen.len(), 2);
    assert_ne!(rows[0].entry.transfer_id, rows[1].entry.transfer_id);
    for (row, request) in rows.iter().zip(&seen) {
        let entry = &row.entry;
        assert_eq!(entry.outcome, Outcome::Delivered);
        assert_ne!(entry.transfer_id, [0; 16], "a transfer id was drawn");
        assert_eq!(request.request_id, hex(&entry.transfer_id));
        assert_eq!(request.request_id.len(), 32);
        assert!(
            request
                .request_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{}",
            request.request_id
        );
        let everything_the_adapter_got = format!("{request:?}");
        for consumer_text in [CONSUMER_REQUEST_ID, "4711", CASE_REFERENCE, "Janssens"] {
            assert!(
                !everything_the_adapter_got.contains(consumer_text),
                "the adapter got {consumer_text:?}: {everything_the_adapter_got}"
            );
        }
        // Nor does the ledger hold the text; only its keyed digests.
        for consumer_text in [CONSUMER_REQUEST_ID, CASE_REFERENCE, "Janssens", CASE_KIND] {
            assert!(
                !contains(&row.entry_bytes, consumer_text.as_bytes()),
                "entry {} holds {consumer_text:?}",
                row.index
            );
        }
        assert!(entry.legacy_request_id.is_empty());
    }

    // The digests are keyed by the secret of the epoch current at recorded_at.
    let epoch = PseudonymRotation::Yearly.epoch_at(rows[0].entry.recorded_at_micros);
    assert_eq!(rows[0].entry.pseudonym_epoch, epoch);
    let secret: [u8; 32] = std::fs::read(
        exchange
            .data_dir()
            .join(EPOCH_SECRETS_FOLDER)
            .join(format!("{epoch}.secret")),
    )
    .unwrap()
    .try_into()
    .unwrap();
    let keyed = SubjectPseudonymizer::new(secret);
    let request_digest = keyed.request_digest(CONSUMER, CONSUMER_REQUEST_ID);
    let case_digest = keyed.case_reference_digest(CONSUMER, CASE_KIND, CASE_REFERENCE);
    assert_eq!(rows[0].entry.request_digest, Some(request_digest));
    assert_eq!(rows[0].entry.case_reference_digest, Some(case_digest));
    assert_eq!(rows[1].entry.request_digest, Some(request_digest));
    assert_eq!(rows[1].entry.case_reference_digest, None);
    assert_eq!(
        rows[0].entry.subject_pseudonym,
        keyed.pseudonym("be.insz", &subject)
    );

    // The Audit API shows the same.
    exchange.checkpoint_covering(2).await;
    let mut audit = AuditClient::new(exchange.channel_as(AUDITOR).await);
    let page = audit
        .query_transfers(proto::QueryTransfersRequest {
            agency: CONSUMER.to_owned(),
            ..proto::QueryTransfersRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.transfers.len(), 2);
    // Newest first.
    let (newest, oldest) = (&page.transfers[0], &page.transfers[1]);
    assert_eq!(oldest.transfer_id, rows[0].entry.transfer_id.to_vec());
    assert_eq!(newest.transfer_id, rows[1].entry.transfer_id.to_vec());
    assert_eq!(oldest.request_digest, request_digest.to_vec());
    assert_eq!(oldest.case_reference_digest, case_digest.to_vec());
    assert!(newest.case_reference_digest.is_empty());
    assert_eq!(oldest.pseudonym_epoch, epoch);
    assert!(
        oldest.request_id.is_empty(),
        "version 3 entries keep no text"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
