//! A provider adapter that cannot be reached: UNAVAILABLE, recorded.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, Outcome, TestExchange, backend_test, person_request};

backend_test!(an_unreachable_adapter_is_unavailable_and_recorded);
async fn an_unreachable_adapter_is_unavailable_and_recorded(backend: Backend) {
    // A port that was free a moment ago and has nobody listening now.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let exchange = TestExchange::builder(backend)
        .route_to(format!("https://127.0.0.1:{closed_port}"))
        .start()
        .await;
    let mut consumer = exchange.consumer().await;
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("the adapter is down");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        status.message().contains("unavailable"),
        "{}",
        status.message()
    );
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedProviderUnavailable);
}
