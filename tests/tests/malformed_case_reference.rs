//! A malformed case reference (or an over-long request id) is refused with INVALID_ARGUMENT at
//! step 2: no adapter call, no ledger entry, and the message never quotes the reference. A
//! well-formed one passes.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, person_request};
use kruispunt_proto::v1 as proto;

backend_test!(malformed_case_references_are_refused_at_step_2_and_nothing_is_written);
async fn malformed_case_references_are_refused_at_step_2_and_nothing_is_written(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut consumer = exchange.consumer().await;
    let subject = exchange.known_subject(0);
    let too_long = format!("Z{}", "9".repeat(128));
    let cases = [
        ("", "2026/42", "kind is required"),
        ("dossier", "", "reference is required"),
        ("dossier", "  ", "reference is required"),
        ("Dossier", "2026/42", "kind must start"),
        ("dos sier", "2026/42", "kind must start"),
        ("_dossier", "2026/42", "kind must start"),
        (
            "abcdefghijklmnopqrstuvwxyz0123456",
            "2026/42",
            "kind is longer than 32",
        ),
        ("dossier", too_long.as_str(), "longer than 128"),
        ("dossier", "2026/\n42", "control characters"),
        ("dossier", "2026/\u{7}42", "control characters"),
    ];
    for (kind, reference, expected) in cases {
        let mut request = person_request("be.insz", &subject);
        request.case_reference = Some(proto::CaseReference {
            kind: kind.to_owned(),
            reference: reference.to_owned(),
        });
        let status = consumer
            .fetch(request)
            .await
            .expect_err("a malformed case reference");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{kind:?} {reference:?}"
        );
        assert!(
            status.message().contains(expected),
            "{kind:?} {reference:?}: {}",
            status.message()
        );
        if reference.trim().len() > 3 {
            assert!(
                !status.message().contains(reference),
                "the message must not quote the reference"
            );
        }
    }
    let mut long_request_id = person_request("be.insz", &subject);
    long_request_id.request_id = "r".repeat(129);
    let status = consumer.fetch(long_request_id).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("request_id"),
        "{}",
        status.message()
    );

    assert_eq!(exchange.adapter_calls(), 0);
    assert!(exchange.ledger_rows().await.is_empty());

    // The same request with a well-formed case reference passes, and is recorded.
    let mut request = person_request("be.insz", &subject);
    request.case_reference = Some(proto::CaseReference {
        kind: "dossier".to_owned(),
        reference: "2026/42 – bijlage".to_owned(),
    });
    consumer.fetch(request).await.unwrap();
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].entry.case_reference_digest.is_some());
}
