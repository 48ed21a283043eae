//! A certificate from another CA, even one naming a real agency with the right role, is refused
//! with UNAUTHENTICATED.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki};
use kruispunt_e2e::{Backend, CONSUMER, TestExchange, backend_test, person_request};
use tonic::transport::Identity;

backend_test!(a_certificate_from_another_ca_is_unauthenticated);
async fn a_certificate_from_another_ca_is_unauthenticated(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let other_pki = DevelopmentPki::at(exchange.directory.path().join("other-pki"));
    other_pki.init().unwrap();
    let forged = other_pki
        .issue(&CertificateRequest::local(
            AgencyId::parse(CONSUMER).unwrap(),
            vec![Role::Consumer],
        ))
        .unwrap();
    let identity = Identity::from_pem(
        std::fs::read(&forged.cert).unwrap(),
        std::fs::read(&forged.key).unwrap(),
    );
    let mut impostor = kruispunt_proto::v1::exchange_client::ExchangeClient::new(
        exchange.channel_with(Some(identity)).await,
    );
    let status = impostor
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("a foreign certificate gets nothing");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(
        status.message().contains("not accepted"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 0);
    assert!(exchange.ledger_rows().await.is_empty());
}
