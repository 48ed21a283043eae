//! A request message larger than `limits.max_request_bytes` is RESOURCE_EXHAUSTED, rule
//! `step2.oversized_message`, as gRPC conventions say (tonic alone answers OUT_OF_RANGE), on
//! every service of the broker and on the adapter SDK's server; one at the limit is read, and
//! nothing of an oversized one reaches the pipeline or the ledger.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_broker::config::Limits;
use kruispunt_e2e::raw_grpc::call_with_raw_message;
use kruispunt_e2e::{
    AUDITOR, BROKER, Backend, CONSUMER, OPERATOR, PORTAL, TestExchange, backend_test,
};
use kruispunt_proto::refusal_rule::{OVERSIZED_MESSAGE, REFUSAL_RULE_METADATA};

/// An unknown field 15 (length-delimited) of `length` bytes in all: valid protobuf, which every
/// request message decodes (ignoring the field), so only its size can refuse it.
fn message_of(length: usize) -> Vec<u8> {
    // Tag (1 byte) and a 3-byte varint length, then the field's bytes.
    let field_bytes = length - 4;
    let mut message = vec![(15 << 3) | 2];
    let mut remaining = u32::try_from(field_bytes).unwrap();
    for _ in 0..3 {
        let mut byte = u8::try_from(remaining & 0x7f).unwrap();
        remaining >>= 7;
        if message.len() < 3 {
            byte |= 0x80;
        }
        message.push(byte);
    }
    message.extend(std::iter::repeat_n(b'x', field_bytes));
    assert_eq!(message.len(), length);
    message
}

backend_test!(oversized_messages_are_resource_exhausted_on_every_service);
async fn oversized_messages_are_resource_exhausted_on_every_service(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let governance_entries_before = exchange.governance_entries().await.len();
    let limit = Limits::default().max_request_bytes;

    let calls = [
        (CONSUMER, "/kruispunt.v1.Exchange/Fetch"),
        (OPERATOR, "/kruispunt.v1.Registry/GrantAuthorization"),
        (PORTAL, "/kruispunt.v1.Consent/GrantConsent"),
        (AUDITOR, "/kruispunt.v1.Audit/GetEntries"),
    ];
    for (agency, method) in calls {
        let status = call_with_raw_message(
            exchange.channel_as(agency).await,
            method,
            message_of(limit + 1),
        )
        .await
        .expect_err("one byte over the limit is refused");
        assert_eq!(
            status.code(),
            tonic::Code::ResourceExhausted,
            "{method}: {status:?}"
        );
        assert_eq!(
            status
                .metadata()
                .get(REFUSAL_RULE_METADATA)
                .unwrap()
                .to_str()
                .unwrap(),
            OVERSIZED_MESSAGE,
            "{method}"
        );

        // At the limit the message is read: the service answers (or refuses the empty request
        // for what it says, not for its size).
        if let Err(status) =
            call_with_raw_message(exchange.channel_as(agency).await, method, message_of(limit))
                .await
        {
            assert_ne!(
                status.code(),
                tonic::Code::ResourceExhausted,
                "{method}: a message at the limit is read: {status:?}"
            );
        }
    }

    let status = call_with_raw_message(
        exchange.adapter_channel_as(BROKER).await,
        "/kruispunt.v1.Adapter/Fetch",
        message_of(4 * 1024 * 1024 + 1),
    )
    .await
    .expect_err("the adapter refuses an oversized message too");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(exchange.adapter_calls(), 0, "the source was never asked");

    assert!(exchange.ledger_rows().await.is_empty(), "no transfer entry");
    assert_eq!(
        exchange.governance_entries().await.len(),
        governance_entries_before,
        "no rule change either"
    );
}
