//! A provider adapter slower than the deadline: DEADLINE_EXCEEDED, in about the deadline, recorded.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kruispunt_e2e::{
    Backend, FixedSource, Outcome, PROVIDER, TestExchange, backend_test, person_request,
};

backend_test!(an_adapter_past_its_deadline_is_cut_off_and_recorded);
async fn an_adapter_past_its_deadline_is_cut_off_and_recorded(backend: Backend) {
    let deadline = Duration::from_millis(300);
    let exchange = TestExchange::builder(backend)
        .adapter_deadline(deadline)
        .start_with(
            FixedSource {
                payload: b"{}".to_vec(),
                delay: Duration::from_secs(5),
            },
            PROVIDER,
        )
        .await;
    let mut consumer = exchange.consumer().await;
    let started = Instant::now();
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("too slow");
    let waited = started.elapsed();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    assert!(status.message().contains("300 ms"), "{}", status.message());
    assert!(waited >= deadline, "{waited:?}");
    assert!(
        waited < Duration::from_secs(3),
        "the broker must not wait for the adapter: {waited:?}"
    );
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedProviderDeadline);
}
