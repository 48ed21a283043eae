//! A consent that expires: in force before its end, refused after it.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kruispunt_e2e::{
    Backend, Outcome, TestExchange, backend_test, consent_from, now, person_request,
};

backend_test!(an_expired_consent_is_refused);
async fn an_expired_consent_is_refused(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_consent = true)
        .start()
        .await;
    let subject = exchange.known_subject(0);
    let consent = exchange
        .portal()
        .await
        .grant_consent(consent_from(&subject, now() + 2))
        .await
        .unwrap()
        .into_inner();
    let mut consumer = exchange.consumer().await;
    let mut request = person_request("be.insz", &subject);
    request.consent_id = consent.id.clone();
    consumer
        .fetch(request.clone())
        .await
        .expect("before expiry");
    while now() < consent.valid_until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = consumer.fetch(request).await.expect_err("after expiry");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(status.message().contains("expired"), "{}", status.message());
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[1].entry.outcome, Outcome::RefusedConsentExpired);
    assert_eq!(rows[1].entry.consent_id, consent.id);

    // Consents cannot be granted already expired.
    let status = exchange
        .portal()
        .await
        .grant_consent(consent_from(&subject, now() - 1))
        .await
        .expect_err("in the past");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}
