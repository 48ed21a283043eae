//! Every RPC checks the role it needs, from the certificate alone.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, CONSUMER, OPERATOR, TestExchange, backend_test, person_request};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;

backend_test!(each_service_requires_its_role);
async fn each_service_requires_its_role(backend: Backend) {
    let exchange = TestExchange::start(backend).await;

    let mut consumer_as_operator = RegistryClient::new(exchange.channel_as(CONSUMER).await);
    let status = consumer_as_operator
        .grant_authorization(proto::GrantAuthorizationRequest {
            consumer: CONSUMER.to_owned(),
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            purpose: "anything".to_owned(),
            legal_basis: "self-granted".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("a consumer cannot grant itself authorizations");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("operator role"),
        "{}",
        status.message()
    );

    let mut operator_as_consumer = ExchangeClient::new(exchange.channel_as(OPERATOR).await);
    let status = operator_as_consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("an operator cannot fetch data");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);

    let mut consumer_as_auditor = AuditClient::new(exchange.channel_as(CONSUMER).await);
    let status = consumer_as_auditor
        .get_entries(proto::GetEntriesRequest {
            start_index: 0,
            count: 0,
        })
        .await
        .expect_err("a consumer is no auditor (it may read checkpoints, not entries)");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);

    let checkpoint = exchange.checkpoint_covering(0).await;
    assert_eq!(
        checkpoint.durable_size,
        u64::try_from(exchange.governance_entries().await.len()).unwrap(),
        "no request reached the pipeline: the ledger holds the fixture's rule changes only"
    );
    assert!(exchange.ledger_rows().await.is_empty());
}
