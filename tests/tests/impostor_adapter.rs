//! The broker pins the provider's identity on the broker → adapter hop: an adapter whose
//! certificate (from the right CA) names another agency gets no request.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, Outcome, TestExchange, backend_test, person_request};

backend_test!(an_adapter_with_another_agencys_certificate_is_not_trusted);
async fn an_adapter_with_another_agencys_certificate_is_not_trusted(backend: Backend) {
    let population = kruispunt_civil_registry::SyntheticCivilRegistry::generate(
        kruispunt_e2e::POPULATION_SEED,
        kruispunt_e2e::POPULATION,
    );
    let exchange = TestExchange::builder(backend)
        .start_with(
            kruispunt_civil_registry::CivilRegistry::new(&population),
            "be.test.impostor",
        )
        .await;
    let mut consumer = exchange.consumer().await;
    let status = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .expect_err("an impostor adapter must not answer");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(
        exchange.adapter_calls(),
        0,
        "the impostor never sees the request"
    );
    assert_eq!(
        exchange.ledger_rows().await[0].entry.outcome,
        Outcome::RefusedProviderUnavailable
    );
}
