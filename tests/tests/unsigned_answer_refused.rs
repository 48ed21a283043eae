//! An adapter that does not sign (the SDK with signing turned off, as adapters built before
//! signed answers): on a route that requires signed answers its answer is refused, ledgered as
//! `refused.unsigned_answer` with the digest of what it sent, and the payload never reaches the
//! consumer. Once the operator sets the route without the requirement, the same adapter's answer
//! is delivered, with no signature recorded or passed on.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::AnswerSigning;
use kruispunt_e2e::{
    Backend, Outcome, PERSON_DATA_TYPE, PROVIDER, TestExchange, backend_test, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_transparency::payload_digest;

backend_test!(
    an_unsigned_answer_is_refused_where_the_route_requires_signatures_and_delivered_elsewhere
);
async fn an_unsigned_answer_is_refused_where_the_route_requires_signatures_and_delivered_elsewhere(
    backend: Backend,
) {
    let exchange = TestExchange::builder(backend)
        .answer_signing(AnswerSigning::Off)
        .signed_answers_required(true)
        .start()
        .await;
    let mut operator = exchange.operator().await;
    let routes = operator
        .list_routes(proto::ListRoutesRequest {})
        .await
        .unwrap()
        .into_inner()
        .routes;
    assert_eq!(routes.len(), 1);
    assert!(routes[0].signed_answers_required, "the listing shows it");

    let subject = exchange.known_subject(0);
    let source_payload = serde_json::to_vec(exchange.population.person(&subject).unwrap()).unwrap();
    let status = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("an unsigned answer on a route requiring signatures");
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    assert!(
        status.message().contains("did not sign"),
        "{}",
        status.message()
    );
    assert!(
        !status.message().contains(&subject),
        "no subject in the message"
    );
    assert!(
        status.metadata().get_bin("kruispunt-receipt-bin").is_some(),
        "the refusal is recorded and carries its receipt"
    );
    assert_eq!(exchange.adapter_calls(), 1, "the adapter was asked");

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    let refused = &rows[0].entry;
    assert_eq!(refused.outcome, Outcome::RefusedUnsignedAnswer);
    assert_eq!(refused.provider, PROVIDER);
    assert_eq!(refused.payload_sha256, None, "nothing was delivered");
    assert_eq!(
        refused.source_payload_sha256,
        Some(payload_digest(&source_payload)),
        "what the source sent is recorded as its digest"
    );
    assert_eq!(refused.answer_signature, None);
    assert!(refused.refusal_reason.contains("did not sign"));

    // The same adapter, on a route that does not require signatures.
    operator
        .set_route(proto::SetRouteRequest {
            route: Some(proto::Route {
                data_type: PERSON_DATA_TYPE.to_owned(),
                provider: PROVIDER.to_owned(),
                endpoint: format!("https://127.0.0.1:{}", exchange.adapter_address.port()),
                signed_answers_required: false,
            }),
        })
        .await
        .unwrap();
    let routes = operator
        .list_routes(proto::ListRoutesRequest {})
        .await
        .unwrap()
        .into_inner()
        .routes;
    assert!(!routes[0].signed_answers_required);
    let response = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &subject))
        .await
        .expect("an unsigned answer where signatures are not required")
        .into_inner();
    assert_eq!(response.payload_json, source_payload);
    assert_eq!(response.source_signature, None);
    assert!(response.source_certificate_der.is_empty());
    assert_eq!(
        response.source_payload_sha256,
        payload_digest(&source_payload).to_vec()
    );

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 2);
    let delivered = &rows[1].entry;
    assert_eq!(delivered.outcome, Outcome::Delivered);
    assert_eq!(delivered.answer_signature, None, "no signature recorded");
    assert_eq!(
        delivered.source_payload_sha256,
        Some(payload_digest(&source_payload))
    );
    assert_eq!(response.transfer_id, delivered.transfer_id.to_vec());
}
