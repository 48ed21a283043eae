//! A request message that is not valid protobuf is the caller's fault: every service of the
//! broker (and the adapter SDK's server) refuses it with INVALID_ARGUMENT, rule
//! `step2.undecodable_message`, never INTERNAL; nothing reaches the pipeline or the ledger.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::raw_grpc::call_with_raw_message;
use kruispunt_e2e::{
    AUDITOR, BROKER, Backend, CONSUMER, OPERATOR, PORTAL, TestExchange, backend_test,
};
use kruispunt_proto::refusal_rule::{REFUSAL_RULE_METADATA, UNDECODABLE_MESSAGE};

/// A varint that never ends: no protobuf message decodes from it.
const GARBAGE: [u8; 12] = [0xff; 12];

backend_test!(undecodable_messages_are_invalid_arguments_on_every_service);
async fn undecodable_messages_are_invalid_arguments_on_every_service(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let governance_entries_before = exchange.governance_entries().await.len();

    let calls = [
        (CONSUMER, "/kruispunt.v1.Exchange/Fetch"),
        (OPERATOR, "/kruispunt.v1.Registry/GrantAuthorization"),
        (OPERATOR, "/kruispunt.v1.Registry/RegisterAgency"),
        (PORTAL, "/kruispunt.v1.Consent/GrantConsent"),
        (AUDITOR, "/kruispunt.v1.Audit/GetEntries"),
    ];
    for (agency, method) in calls {
        let status =
            call_with_raw_message(exchange.channel_as(agency).await, method, GARBAGE.to_vec())
                .await
                .expect_err("garbage is refused");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{method}: {status:?}"
        );
        assert_eq!(
            status
                .metadata()
                .get(REFUSAL_RULE_METADATA)
                .unwrap()
                .to_str()
                .unwrap(),
            UNDECODABLE_MESSAGE,
            "{method}"
        );
        assert!(
            status.message().contains("not a valid protobuf encoding"),
            "{method}: {}",
            status.message()
        );
    }

    let status = call_with_raw_message(
        exchange.adapter_channel_as(BROKER).await,
        "/kruispunt.v1.Adapter/Fetch",
        GARBAGE.to_vec(),
    )
    .await
    .expect_err("the adapter refuses garbage too");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(exchange.adapter_calls(), 0, "the source was never asked");

    assert!(exchange.ledger_rows().await.is_empty(), "no transfer entry");
    assert_eq!(
        exchange.governance_entries().await.len(),
        governance_entries_before,
        "no rule change either"
    );
}
