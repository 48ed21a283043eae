//! Malformed and checksum-invalid subject identifiers are refused with INVALID_ARGUMENT before any
//! lookup: no registry, adapter or ledger work happens, and the message never echoes the number.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, person_request};

backend_test!(malformed_and_checksum_invalid_identifiers_are_refused_before_any_lookup);
async fn malformed_and_checksum_invalid_identifiers_are_refused_before_any_lookup(
    backend: Backend,
) {
    let exchange = TestExchange::start(backend).await;
    let mut consumer = exchange.consumer().await;
    let valid = exchange.known_subject(0);
    let mut wrong_check = valid.clone();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });

    let cases = [
        ("be.insz", valid[..10].to_owned(), "11 digits"),
        ("be.insz", format!("{valid}1"), "11 digits"),
        (
            "be.insz",
            format!("{}.{}", &valid[..6], &valid[7..]),
            "digit",
        ),
        ("be.insz", wrong_check.clone(), "check"),
        ("be.insz", String::new(), "11 digits"),
        ("be.rrn", valid.clone(), "scheme"),
        ("be.kbo", "0316381038".to_owned(), "check"),
    ];
    for (scheme, id, expected) in cases {
        let status = consumer
            .fetch(person_request(scheme, &id))
            .await
            .expect_err("malformed subject");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{scheme} {id}");
        assert!(
            status.message().to_lowercase().contains(expected),
            "{scheme} {id}: {}",
            status.message()
        );
        if !id.is_empty() {
            assert!(
                !status.message().contains(&id),
                "the message must not echo the identifier"
            );
        }
    }
    let mut no_subject = person_request("be.insz", &valid);
    no_subject.subject = None;
    let status = consumer.fetch(no_subject).await.expect_err("no subject");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    assert_eq!(exchange.adapter_calls(), 0);
    assert!(exchange.ledger_rows().await.is_empty());
}
