//! A consent revoked between two requests: the first is delivered, the very next is refused.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, TestExchange, backend_test, consent_from, insz, now, person_request,
};
use kruispunt_proto::v1 as proto;

backend_test!(revocation_takes_effect_for_the_very_next_request);
async fn revocation_takes_effect_for_the_very_next_request(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_consent = true)
        .start()
        .await;
    let subject = exchange.known_subject(0);
    let mut portal = exchange.portal().await;
    let consent = portal
        .grant_consent(consent_from(&subject, now() + 3_600))
        .await
        .unwrap()
        .into_inner();
    let mut consumer = exchange.consumer().await;
    let mut request = person_request("be.insz", &subject);
    request.consent_id = consent.id.clone();
    consumer
        .fetch(request.clone())
        .await
        .expect("consent in force");

    let revoked = portal
        .revoke_consent(proto::RevokeConsentRequest {
            id: consent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(revoked.revoked_at, 0);
    let status = consumer.fetch(request).await.expect_err("revoked");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(status.message().contains("revoked"), "{}", status.message());

    let listed = portal
        .list_consents(proto::ListConsentsRequest {
            subject: insz(&subject),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.consents.len(), 1);
    assert_eq!(listed.consents[0].revoked_at, revoked.revoked_at);

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[0].entry.outcome, Outcome::Delivered);
    assert_eq!(rows[1].entry.outcome, Outcome::RefusedConsentRevoked);
    assert!(rows.iter().all(|row| row.entry.consent_id == consent.id));

    // A consumer cannot record consents for itself.
    let mut consumer_as_portal = kruispunt_proto::v1::consent_client::ConsentClient::new(
        exchange.channel_as(CONSUMER).await,
    );
    let status = consumer_as_portal
        .grant_consent(consent_from(&subject, now() + 3_600))
        .await
        .expect_err("only portals and operators record consent");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
}
