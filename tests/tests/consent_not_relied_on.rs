//! A consent id quoted where the authorization demands no consent is not recorded: the ledger
//! keeps a consent id only when the transfer relied on that consent, never a caller's text.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, Outcome, TestExchange, backend_test, person_request};

backend_test!(a_consent_id_the_authorization_did_not_rely_on_is_not_recorded);
async fn a_consent_id_the_authorization_did_not_rely_on_is_not_recorded(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut request = person_request("be.insz", &exchange.known_subject(0));
    request.consent_id = "free text a caller typed".to_owned();
    exchange.consumer().await.fetch(request).await.unwrap();

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.outcome, Outcome::Delivered);
    assert_eq!(rows[0].entry.consent_id, "");
    let caller_text = b"free text a caller typed";
    assert!(
        !rows[0]
            .entry_bytes
            .windows(caller_text.len())
            .any(|window| window == caller_text),
        "the caller's text is nowhere in the entry"
    );
}
