//! A caller without a client certificate is refused with UNAUTHENTICATED before anything runs.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, person_request};

backend_test!(a_caller_without_a_certificate_is_unauthenticated);
async fn a_caller_without_a_certificate_is_unauthenticated(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut anonymous = kruispunt_proto::v1::exchange_client::ExchangeClient::new(
        exchange.channel_with(None).await,
    );
    let status = anonymous
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("no certificate, no data");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(
        status.message().contains("no client certificate"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 0);
    assert!(exchange.ledger_rows().await.is_empty(), "nothing changes");
}
