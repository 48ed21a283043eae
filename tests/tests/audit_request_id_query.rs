//! An auditor who knows a consumer's request id finds its transfers with
//! `QueryTransfers { agency, request_id }`, although entries keep only keyed digests of request
//! ids: the broker computes the digest under every epoch secret still present and matches, so
//! transfers in two epochs are found, another consumer's transfer with the same request id is
//! not, pages follow each other, and once an epoch's secret is deleted its transfers cannot be
//! found by request id any more.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kruispunt_broker::pipeline::TransferClock;
use kruispunt_broker::pseudonym_epochs::EPOCH_SECRETS_FOLDER;
use kruispunt_e2e::{
    AUDITOR, Backend, CONSUMER, OTHER_CONSUMER, TestExchange, backend_test, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use tonic::transport::Channel;

/// 2026-12-31T23:59:59Z and 2027-01-01T00:00:01Z, in Unix microseconds.
const LAST_SECOND_OF_2026: i64 = 1_798_761_599_000_000;
const FIRST_SECONDS_OF_2027: i64 = 1_798_761_601_000_000;

async fn found(
    audit: &mut AuditClient<Channel>,
    agency: &str,
    request_id: &str,
    page_size: u32,
    page_token: &str,
) -> (Vec<u64>, String) {
    let page = audit
        .query_transfers(proto::QueryTransfersRequest {
            agency: agency.to_owned(),
            request_id: request_id.to_owned(),
            page_size,
            page_token: page_token.to_owned(),
            ..proto::QueryTransfersRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        page.transfers.iter().map(|record| record.index).collect(),
        page.next_page_token,
    )
}

async fn fetch(consumer: &mut ExchangeClient<Channel>, subject: &str, request_id: &str) {
    let mut request = person_request("be.insz", subject);
    request.request_id = request_id.to_owned();
    // Delivered or refused, the transfer is recorded either way.
    let _ = consumer.fetch(request).await;
}

backend_test!(a_request_id_finds_its_transfers_in_every_epoch_whose_secret_is_present);
async fn a_request_id_finds_its_transfers_in_every_epoch_whose_secret_is_present(backend: Backend) {
    let clock = Arc::new(AtomicI64::new(LAST_SECOND_OF_2026));
    let reading = clock.clone();
    let exchange = TestExchange::builder(backend)
        .clock(TransferClock::from_fn(move || {
            reading.load(Ordering::SeqCst)
        }))
        .start()
        .await;
    let subject = exchange.known_subject(0);
    let mut consumer = exchange.consumer().await;
    let mut other_consumer = ExchangeClient::new(exchange.channel_as(OTHER_CONSUMER).await);

    fetch(&mut consumer, &subject, "dossier-a").await; // 0
    fetch(&mut consumer, &subject, "dossier-b").await; // 1
    fetch(&mut other_consumer, &subject, "dossier-a").await; // 2 (refused: no authorization)
    clock.store(FIRST_SECONDS_OF_2027, Ordering::SeqCst);
    fetch(&mut consumer, &subject, "dossier-a").await; // 3
    fetch(&mut consumer, &subject, "").await; // 4
    let rows = exchange.ledger_rows().await;
    // Transfer k's ledger index (the rule changes of the setup come first).
    let index_of =
        |transfers: &[usize]| -> Vec<u64> { transfers.iter().map(|&k| rows[k].index).collect() };
    exchange.checkpoint_covering(rows[4].index + 1).await;

    let mut audit = AuditClient::new(exchange.channel_as(AUDITOR).await);
    assert_eq!(
        found(&mut audit, CONSUMER, "dossier-a", 0, "").await,
        (index_of(&[3, 0]), String::new())
    );
    assert_eq!(
        found(&mut audit, CONSUMER, "dossier-b", 0, "").await.0,
        index_of(&[1])
    );
    assert_eq!(
        found(&mut audit, OTHER_CONSUMER, "dossier-a", 0, "")
            .await
            .0,
        index_of(&[2])
    );
    assert!(
        found(&mut audit, CONSUMER, "dossier-c", 0, "")
            .await
            .0
            .is_empty()
    );

    // Paged one at a time.
    let (first, token) = found(&mut audit, CONSUMER, "dossier-a", 1, "").await;
    assert_eq!(first, index_of(&[3]));
    assert_eq!(token, rows[3].index.to_string());
    let (second, token) = found(&mut audit, CONSUMER, "dossier-a", 1, &token).await;
    assert_eq!((second, token), (index_of(&[0]), String::new()));

    // Without the consumer, the digest cannot be computed.
    let status = audit
        .query_transfers(proto::QueryTransfersRequest {
            request_id: "dossier-a".to_owned(),
            ..proto::QueryTransfersRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("agency"), "{}", status.message());
    let status = audit
        .query_transfers(proto::QueryTransfersRequest {
            agency: CONSUMER.to_owned(),
            request_id: "dossier\n-a".to_owned(),
            ..proto::QueryTransfersRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // 2026's secret deleted: its transfers are not found by request id any more.
    std::fs::remove_file(
        exchange
            .data_dir()
            .join(EPOCH_SECRETS_FOLDER)
            .join("2026.secret"),
    )
    .unwrap();
    assert_eq!(
        found(&mut audit, CONSUMER, "dossier-a", 0, "").await.0,
        index_of(&[3])
    );
    assert!(
        found(&mut audit, CONSUMER, "dossier-b", 0, "")
            .await
            .0
            .is_empty()
    );
}
