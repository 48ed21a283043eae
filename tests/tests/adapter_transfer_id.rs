//! The adapter's side of signed answers, called straight (as the broker's hop does, with the
//! broker's certificate): a signing SDK adapter answers a `request_id` of 32 hex digits with a
//! signature over that transfer id, by the key of the certificate it presents; it refuses any
//! other `request_id` with `INVALID_ARGUMENT` before its source is asked, since it could not say
//! which transfer it answered. An adapter with signing turned off answers whatever the
//! `request_id`, unsigned.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::AnswerSigning;
use kruispunt_adapter::answer_signature::verify_answer_signature;
use kruispunt_e2e::{
    BROKER, Backend, CONSUMER, PERSON_DATA_TYPE, PROVIDER, PURPOSE, TestExchange, backend_test,
    insz,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::adapter_client::AdapterClient;
use kruispunt_transparency::answer::ECDSA_P256_SHA256;
use kruispunt_transparency::{AnswerStatement, payload_digest};

fn adapter_request(subject: &str, request_id: &str) -> proto::AdapterFetchRequest {
    proto::AdapterFetchRequest {
        data_type: PERSON_DATA_TYPE.to_owned(),
        subject: insz(subject),
        purpose: PURPOSE.to_owned(),
        request_id: request_id.to_owned(),
        consumer: CONSUMER.to_owned(),
    }
}

backend_test!(a_signing_adapter_signs_the_transfer_id_it_receives_and_refuses_anything_else);
async fn a_signing_adapter_signs_the_transfer_id_it_receives_and_refuses_anything_else(
    backend: Backend,
) {
    let exchange = TestExchange::start(backend).await;
    let subject = exchange.known_subject(0);
    let mut adapter = AdapterClient::new(exchange.adapter_channel_as(BROKER).await);

    let transfer_id = [0x5a_u8; 16];
    let answer = adapter
        .fetch(adapter_request(
            &subject,
            "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
        ))
        .await
        .unwrap()
        .into_inner();
    let signature = answer.signature.expect("the SDK signs by default");
    assert_eq!(signature.algorithm, ECDSA_P256_SHA256);
    let statement = AnswerStatement {
        data_type: PERSON_DATA_TYPE.to_owned(),
        transfer_id,
        payload_sha256: payload_digest(&answer.payload_json),
        signed_at_micros: signature.signed_at_micros,
    };
    assert_eq!(
        verify_answer_signature(
            &statement,
            &signature.algorithm,
            &signature.signature,
            &exchange.adapter_certificate_der(PROVIDER)
        ),
        Ok(())
    );
    assert_eq!(exchange.adapter_calls(), 1);

    for malformed in [
        "",
        "test-request",
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
    ] {
        let status = adapter
            .fetch(adapter_request(&subject, malformed))
            .await
            .expect_err("a request id that is not a transfer id");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains("request_id"),
            "{}",
            status.message()
        );
    }
    assert_eq!(exchange.adapter_calls(), 1, "the source was not asked");
}

backend_test!(an_adapter_with_signing_off_answers_unsigned_whatever_the_request_id);
async fn an_adapter_with_signing_off_answers_unsigned_whatever_the_request_id(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .answer_signing(AnswerSigning::Off)
        .start()
        .await;
    let subject = exchange.known_subject(0);
    let mut adapter = AdapterClient::new(exchange.adapter_channel_as(BROKER).await);
    for request_id in ["test-request", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"] {
        let answer = adapter
            .fetch(adapter_request(&subject, request_id))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.signature, None);
        assert!(!answer.payload_json.is_empty());
    }
}
