//! A revoked agency gets nothing: its valid certificate is refused with UNAUTHENTICATED from the
//! very next request, and a revoked provider is never routed to.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, PROVIDER, TestExchange, backend_test, person_request,
};
use kruispunt_proto::v1 as proto;

backend_test!(a_revoked_consumer_is_refused_from_the_next_request_on);
async fn a_revoked_consumer_is_refused_from_the_next_request_on(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    operator
        .register_agency(proto::RegisterAgencyRequest {
            id: CONSUMER.to_owned(),
            display_name: "Testgemeente".to_owned(),
        })
        .await
        .unwrap();
    let mut consumer = exchange.consumer().await;
    consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect("a member");

    let revoked = operator
        .revoke_agency(proto::RevokeAgencyRequest {
            id: CONSUMER.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(revoked.revoked_at, 0);
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("revoked");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(
        status.message().contains("is revoked"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 1);
    assert_eq!(
        exchange.ledger_rows().await.len(),
        1,
        "a refusal at step 1 is not a transfer"
    );

    let status = operator
        .revoke_agency(proto::RevokeAgencyRequest {
            id: "be.test.never-registered".to_owned(),
        })
        .await
        .expect_err("unknown agency");
    assert_eq!(status.code(), tonic::Code::NotFound);
}

backend_test!(a_revoked_provider_is_not_routed_to);
async fn a_revoked_provider_is_not_routed_to(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    operator
        .register_agency(proto::RegisterAgencyRequest {
            id: PROVIDER.to_owned(),
            display_name: "Rijksregister (test)".to_owned(),
        })
        .await
        .unwrap();
    operator
        .revoke_agency(proto::RevokeAgencyRequest {
            id: PROVIDER.to_owned(),
        })
        .await
        .unwrap();
    let status = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("no revoked provider answers");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        status.message().contains("membership is revoked"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 0);
    assert_eq!(
        exchange.ledger_rows().await[0].entry.outcome,
        Outcome::RefusedProviderUnavailable
    );
}
