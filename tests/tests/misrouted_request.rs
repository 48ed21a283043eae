//! A route that points a data type at an adapter that does not serve it: the adapter answers
//! `UNIMPLEMENTED` (not `NOT_FOUND`, which means "no record of this subject"), the source is
//! never asked, the consumer gets `UNAVAILABLE` naming the misconfigured route, and the ledger
//! records the transfer as misrouted, not as a subject the register does not know.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, PROVIDER, TestExchange, backend_test, default_authorization,
    person_request,
};
use kruispunt_proto::v1 as proto;

/// A data type of the catalog that the civil registry does not serve.
const ADDRESS_DATA_TYPE: &str = "adres.Adres@1";

backend_test!(
    a_request_routed_to_an_adapter_that_does_not_serve_its_data_type_is_ledgered_as_misrouted
);
async fn a_request_routed_to_an_adapter_that_does_not_serve_its_data_type_is_ledgered_as_misrouted(
    backend: Backend,
) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    operator
        .set_route(proto::SetRouteRequest {
            route: Some(proto::Route {
                signed_answers_required: false,
                data_type: ADDRESS_DATA_TYPE.to_owned(),
                provider: PROVIDER.to_owned(),
                endpoint: format!("https://127.0.0.1:{}", exchange.adapter_address.port()),
            }),
        })
        .await
        .unwrap();
    operator
        .grant_authorization(proto::GrantAuthorizationRequest {
            data_type: ADDRESS_DATA_TYPE.to_owned(),
            ..default_authorization()
        })
        .await
        .unwrap();

    let mut request = person_request("be.insz", &exchange.known_subject(0));
    request.data_type = ADDRESS_DATA_TYPE.to_owned();
    let status = exchange
        .consumer()
        .await
        .fetch(request)
        .await
        .expect_err("the civil registry does not serve addresses");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("misconfigured"),
        "{}",
        status.message()
    );
    assert_eq!(
        exchange.adapter_calls(),
        0,
        "the adapter refuses before its source is asked"
    );

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    let entry = &rows[0].entry;
    assert_eq!(entry.outcome, Outcome::RefusedMisrouted);
    assert_eq!(entry.consumer, CONSUMER);
    assert_eq!(entry.provider, PROVIDER);
    assert_eq!(entry.data_type, ADDRESS_DATA_TYPE);
    assert_eq!(entry.payload_sha256, None);

    // The same adapter still answers for the data type it serves, and a subject it does not
    // know is still "not found", not "misrouted".
    let unknown = (1..=998)
        .map(|serial| kruispunt_adapter::subject::insz_from_parts((1999, 12, 31), serial))
        .find(|insz| exchange.population.person(insz).is_none())
        .unwrap();
    let status = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &unknown))
        .await
        .expect_err("an unknown person");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows[1].entry.outcome, Outcome::RefusedSubjectNotFound);
}
