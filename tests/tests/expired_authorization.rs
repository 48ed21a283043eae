//! An authorization only counts within its validity period: one that ended is refused, and one
//! that ends between two requests stops the second.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kruispunt_e2e::{
    Backend, LEGAL_BASIS, Outcome, TestExchange, backend_test, now, person_request,
};

backend_test!(an_authorization_that_ended_is_refused);
async fn an_authorization_that_ended_is_refused(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| {
            grant.valid_from = now() - 3_600;
            grant.valid_until = now() - 60;
        })
        .start()
        .await;
    let status = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("expired");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("no authorization in force"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 0);
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedNoAuthorization);
}

backend_test!(an_authorization_ending_between_two_requests_stops_the_second);
async fn an_authorization_ending_between_two_requests_stops_the_second(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.valid_until = now() + 2)
        .start()
        .await;
    let mut consumer = exchange.consumer().await;
    consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect("still in force");
    while now() < exchange_end(&exchange).await {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("ended");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[0].entry.outcome, Outcome::Delivered);
    assert_eq!(rows[0].entry.legal_basis, LEGAL_BASIS);
    assert_eq!(rows[1].entry.outcome, Outcome::RefusedNoAuthorization);
    assert_eq!(
        rows[1].entry.legal_basis, "",
        "no authorization was relied on"
    );
}

async fn exchange_end(exchange: &TestExchange) -> i64 {
    let list = exchange
        .operator()
        .await
        .list_authorizations(kruispunt_proto::v1::ListAuthorizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    list.authorizations[0].valid_until
}
