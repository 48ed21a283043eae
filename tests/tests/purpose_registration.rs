//! The operator registers purposes (a code and a description), lists them, and then grants
//! authorizations that name them; consumers quote the code. A code is registered once
//! (ALREADY_EXISTS after that, the first description kept), must have the form of a code, and
//! only an operator registers one.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, PURPOSE, PURPOSE_DESCRIPTION, TestExchange, backend_test,
    default_authorization, now, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::registry_client::RegistryClient;

const CODE: &str = "leefloon.toekenning_2025";
const DESCRIPTION: &str = "Toekenning van het leefloon (OCMW)";

fn register(code: &str, description: &str) -> proto::RegisterPurposeRequest {
    proto::RegisterPurposeRequest {
        code: code.to_owned(),
        description: description.to_owned(),
    }
}

backend_test!(a_registered_purpose_can_be_granted_and_fetched);
async fn a_registered_purpose_can_be_granted_and_fetched(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    let before = now();
    let purpose = operator
        .register_purpose(register(CODE, DESCRIPTION))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(purpose.code, CODE);
    assert_eq!(purpose.description, DESCRIPTION);
    assert!(purpose.registered_at >= before && purpose.registered_at <= now());

    let listed = operator
        .list_purposes(proto::ListPurposesRequest {})
        .await
        .unwrap()
        .into_inner()
        .purposes;
    assert_eq!(
        listed
            .iter()
            .map(|purpose| (purpose.code.as_str(), purpose.description.as_str()))
            .collect::<Vec<_>>(),
        [(CODE, DESCRIPTION), (PURPOSE, PURPOSE_DESCRIPTION)],
        "by code"
    );

    let mut grant = default_authorization();
    grant.purpose = CODE.to_owned();
    let authorization = operator
        .grant_authorization(grant)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(authorization.purpose, CODE);
    let mut request = person_request("be.insz", &exchange.known_subject(0));
    request.purpose = CODE.to_owned();
    exchange.consumer().await.fetch(request).await.unwrap();
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.outcome, Outcome::Delivered);
    assert_eq!(rows[0].entry.purpose, CODE);
    assert_eq!(rows[0].entry.consumer, CONSUMER);
}

backend_test!(a_code_is_registered_once);
async fn a_code_is_registered_once(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    let status = operator
        .register_purpose(register(PURPOSE, "Something else"))
        .await
        .expect_err("the fixture registered it");
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    assert!(
        status.message().contains(&format!("purpose {PURPOSE}")),
        "{}",
        status.message()
    );
    let listed = operator
        .list_purposes(proto::ListPurposesRequest {})
        .await
        .unwrap()
        .into_inner()
        .purposes;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].description, PURPOSE_DESCRIPTION,
        "the first is kept"
    );
}

backend_test!(malformed_codes_and_descriptions_are_refused);
async fn malformed_codes_and_descriptions_are_refused(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    let too_long = "a".repeat(65);
    for (code, description, expected) in [
        ("", DESCRIPTION, "code is required"),
        (too_long.as_str(), DESCRIPTION, "code is longer than 64"),
        ("Leefloon", DESCRIPTION, "code must start with"),
        ("-leefloon", DESCRIPTION, "code must start with"),
        ("leef loon", DESCRIPTION, "code may hold only"),
        ("leefloon/2025", DESCRIPTION, "code may hold only"),
        ("l\u{e9}efloon", DESCRIPTION, "code may hold only"),
        ("leefloon", "", "description is required"),
        ("leefloon", "two\nlines", "description contains control"),
        (
            "leefloon",
            &"x".repeat(501),
            "description is longer than 500",
        ),
    ] {
        let status = operator
            .register_purpose(register(code, description))
            .await
            .expect_err(code);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{code:?}");
        assert!(
            status.message().contains(expected),
            "{code:?}: {}",
            status.message()
        );
    }
    // The longest code is fine.
    operator
        .register_purpose(register(&"a".repeat(64), DESCRIPTION))
        .await
        .unwrap();

    let mut consumer_as_operator = RegistryClient::new(exchange.channel_as(CONSUMER).await);
    let status = consumer_as_operator
        .register_purpose(register("self-made", DESCRIPTION))
        .await
        .expect_err("only operators register purposes");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(
        operator
            .list_purposes(proto::ListPurposesRequest {})
            .await
            .unwrap()
            .into_inner()
            .purposes
            .len(),
        2
    );
}
