//! An adapter whose payload breaks the data type's schema: the payload is never passed on, the
//! consumer gets INTERNAL naming the violated pointers and keywords (not the values), and the
//! refusal is recorded.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kruispunt_e2e::{
    Backend, FixedSource, Outcome, PROVIDER, TestExchange, backend_test, person_request,
};
use serde_json::json;

backend_test!(a_payload_that_breaks_the_schema_is_refused_and_recorded);
async fn a_payload_that_breaks_the_schema_is_refused_and_recorded(backend: Backend) {
    let exchange = TestExchange::start(backend.clone()).await;
    let mut record = exchange
        .population
        .person(&exchange.known_subject(0))
        .unwrap()
        .clone();
    // A missing required field and a second value where one is allowed.
    record.as_object_mut().unwrap().remove("achternaam");
    record["geslacht"] = json!([
        "http://publications.europa.eu/resource/authority/human-sex/MALE",
        "x"
    ]);
    let secret_name = record["voornaam"][0].as_str().unwrap().to_owned();
    drop(exchange);

    let exchange = TestExchange::builder(backend)
        .start_with(
            FixedSource {
                payload: serde_json::to_vec(&record).unwrap(),
                delay: Duration::ZERO,
            },
            PROVIDER,
        )
        .await;
    let mut consumer = exchange.consumer().await;
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("an invalid payload never leaves the broker");
    assert_eq!(status.code(), tonic::Code::Internal);
    let message = status.message();
    assert!(message.contains("does not conform"), "{message}");
    assert!(message.contains("(required)"), "{message}");
    assert!(message.contains("/geslacht"), "{message}");
    assert!(
        !message.contains(&secret_name),
        "no payload values in the message"
    );
    assert_eq!(exchange.adapter_calls(), 1);

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.outcome, Outcome::RefusedInvalidPayload);
    assert_eq!(rows[0].entry.payload_sha256, None, "nothing was sent");
    assert!(!rows[0].entry.refusal_reason.contains(&secret_name));
}

backend_test!(a_payload_that_is_not_json_is_refused);
async fn a_payload_that_is_not_json_is_refused(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .start_with(
            FixedSource {
                payload: b"{not json".to_vec(),
                delay: Duration::ZERO,
            },
            PROVIDER,
        )
        .await;
    let mut consumer = exchange.consumer().await;
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("not JSON");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(status.message().contains("(json)"), "{}", status.message());
    assert_eq!(
        exchange.ledger_rows().await[0].entry.outcome,
        Outcome::RefusedInvalidPayload
    );
}
