//! Deny by default: an agency without an authorization in force for consumer × data type ×
//! purpose is refused with PERMISSION_DENIED, the adapter is never called, and the refusal is a
//! ledger entry.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, CONSUMER, Outcome, TestExchange, backend_test, person_request};

backend_test!(an_agency_without_an_authorization_is_refused_and_recorded);
async fn an_agency_without_an_authorization_is_refused_and_recorded(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .without_authorization()
        .start()
        .await;
    let mut consumer = exchange.consumer().await;
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("no authorization, no data");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("no authorization in force"),
        "{}",
        status.message()
    );
    assert!(status.message().contains(CONSUMER));
    assert_eq!(exchange.adapter_calls(), 0, "the provider is never asked");

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1, "the refusal is recorded");
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedNoAuthorization);
    assert_eq!(rows[0].entry.payload_sha256, None);
    assert!(rows[0].entry.legal_basis.is_empty());
}

backend_test!(an_authorization_for_another_purpose_does_not_count);
async fn an_authorization_for_another_purpose_does_not_count(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.register_purpose("direct-marketing").await;
    let mut consumer = exchange.consumer().await;
    let mut request = person_request("be.insz", &exchange.known_subject(0));
    request.purpose = "direct-marketing".to_owned();
    let status = consumer.fetch(request).await.expect_err("wrong purpose");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(exchange.adapter_calls(), 0);
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedNoAuthorization);
    assert_eq!(rows[0].entry.purpose, "direct-marketing");
}
