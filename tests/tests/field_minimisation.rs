//! Minimisation: a consumer allowed only name and birth date gets exactly those, the ledger
//! records the digest of exactly what was sent, and malformed field lists are refused at grant.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, default_authorization, person_request};
use serde_json::json;
use sha2::{Digest, Sha256};

backend_test!(a_consumer_allowed_name_and_birth_date_gets_exactly_those);
async fn a_consumer_allowed_name_and_birth_date_gets_exactly_those(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| {
            grant.allowed_fields = vec![
                "/voornaam".to_owned(),
                "/achternaam".to_owned(),
                "/heeftGeboorte/datum".to_owned(),
            ];
        })
        .start()
        .await;
    let subject = exchange.known_subject(1);
    let response = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &subject))
        .await
        .unwrap()
        .into_inner();
    let payload: serde_json::Value = serde_json::from_slice(&response.payload_json).unwrap();
    let record = exchange.population.person(&subject).unwrap();
    let mut birth = json!({"datum": record["heeftGeboorte"]["datum"]});
    if let Some(kind) = record["heeftGeboorte"].get("@type") {
        birth["@type"] = kind.clone();
    }
    assert_eq!(
        payload,
        json!({
            "@context": record["@context"],
            "@type": record["@type"],
            "voornaam": record["voornaam"],
            "achternaam": record["achternaam"],
            "heeftGeboorte": birth,
        })
    );
    let rows = exchange.ledger_rows().await;
    assert_eq!(
        rows[0].entry.payload_sha256.map(|digest| digest.to_vec()),
        Some(Sha256::digest(&response.payload_json).to_vec()),
        "the ledger holds the digest of the minimised payload, which is what left"
    );
}

backend_test!(malformed_field_lists_are_refused_at_grant_time);
async fn malformed_field_lists_are_refused_at_grant_time(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .without_authorization()
        .start()
        .await;
    let mut operator = exchange.operator().await;
    for fields in [vec![], vec!["voornaam".to_owned()], vec!["/a~9".to_owned()]] {
        let status = operator
            .grant_authorization(kruispunt_proto::v1::GrantAuthorizationRequest {
                allowed_fields: fields.clone(),
                ..default_authorization()
            })
            .await
            .expect_err("malformed field list");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{fields:?}");
    }
    let listed = operator
        .list_authorizations(kruispunt_proto::v1::ListAuthorizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.authorizations.is_empty(), "nothing was stored");
}
