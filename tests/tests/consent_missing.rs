//! When the authorization demands consent, a request without a consent in force that covers this
//! subject, agency, purpose and data type is refused, and the refusal is recorded with the quoted
//! consent id.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, PERSON_DATA_TYPE, PURPOSE, TestExchange, backend_test, insz, now,
    person_request,
};
use kruispunt_proto::v1 as proto;

backend_test!(requests_without_a_covering_consent_are_refused);
async fn requests_without_a_covering_consent_are_refused(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_consent = true)
        .start()
        .await;
    let subject = exchange.known_subject(0);
    let mut consumer = exchange.consumer().await;

    let status = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("no consent id");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("quotes no consent_id"),
        "{}",
        status.message()
    );

    // A consent given by another subject does not cover this one.
    let other_subjects_consent = exchange
        .portal()
        .await
        .grant_consent(proto::GrantConsentRequest {
            subject: insz(&exchange.known_subject(1)),
            consumer: CONSUMER.to_owned(),
            purposes: vec![PURPOSE.to_owned()],
            data_types: vec![PERSON_DATA_TYPE.to_owned()],
            valid_until: now() + 3_600,
        })
        .await
        .unwrap()
        .into_inner();
    let mut request = person_request("be.insz", &subject);
    request.consent_id = other_subjects_consent.id.clone();
    let status = consumer
        .fetch(request)
        .await
        .expect_err("another subject's consent");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("no consent with this id covers"),
        "{}",
        status.message()
    );

    let mut request = person_request("be.insz", &subject);
    request.consent_id = "consent-does-not-exist".to_owned();
    consumer.fetch(request).await.expect_err("unknown consent");
    assert_eq!(exchange.adapter_calls(), 0);

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|row| row.entry.outcome == Outcome::RefusedConsentMissing)
    );
    // A consent id is recorded only when the authorization relied on that consent: one that
    // does not cover the request, or does not exist, is the caller's text.
    assert!(rows.iter().all(|row| row.entry.consent_id.is_empty()));
    assert!(
        rows.iter()
            .all(|row| row.entry.purpose == PURPOSE && !row.entry.legal_basis.is_empty())
    );
}
