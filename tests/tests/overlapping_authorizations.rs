//! Overlapping authorizations for the same consumer × data type × purpose: the newest deliberation
//! in force wins (its fields, its legal basis); revoking it falls back to the older one.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, LEGAL_BASIS, PURPOSE, TestExchange, backend_test, default_authorization,
    person_request,
};
use kruispunt_proto::v1 as proto;

backend_test!(the_newest_authorization_in_force_decides);
async fn the_newest_authorization_in_force_decides(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    let narrower = operator
        .grant_authorization(proto::GrantAuthorizationRequest {
            legal_basis: "Besluit van 2026, art. 3 (names only)".to_owned(),
            allowed_fields: vec!["/achternaam".to_owned()],
            ..default_authorization()
        })
        .await
        .unwrap()
        .into_inner();
    let mut consumer = exchange.consumer().await;
    let subject = exchange.known_subject(0);

    let payload = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    let first = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<String> = payload(&first.payload_json)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        vec!["@context", "@type", "achternaam"],
        "the newer, narrower one applies"
    );

    operator
        .revoke_authorization(proto::RevokeAuthorizationRequest { id: narrower.id })
        .await
        .unwrap();
    let second = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        &payload(&second.payload_json),
        exchange.population.person(&subject).unwrap(),
        "the older, whole-record authorization applies again"
    );

    let rows = exchange.ledger_rows().await;
    assert_eq!(
        rows[0].entry.legal_basis,
        "Besluit van 2026, art. 3 (names only)"
    );
    assert_eq!(rows[1].entry.legal_basis, LEGAL_BASIS);
    assert!(
        rows.iter()
            .all(|row| row.entry.consumer == CONSUMER && row.entry.purpose == PURPOSE)
    );
}
