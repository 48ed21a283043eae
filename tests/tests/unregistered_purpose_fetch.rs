//! A purpose is a registered code, checked at step 2 (the request's shape): a fetch quoting
//! anything else is refused with INVALID_ARGUMENT before any authorization is looked up, so it
//! calls no adapter and writes no ledger entry, even where an old authorization names that very
//! text. The registered codes are held in memory, so a code registered through another node
//! (straight into the shared database here) applies within the index refresh interval.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kruispunt_broker::registry_index::REFRESH_INTERVAL;
use kruispunt_e2e::{
    Backend, CONSUMER, PERSON_DATA_TYPE, TestExchange, backend_test, person_request,
};

/// Records an authorization for `purpose` straight in the database, as a broker from before
/// purposes were registered codes could have done.
async fn authorize_unregistered_purpose(exchange: &TestExchange, purpose: &str) {
    let pool = exchange.database_pool().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO authorizations (consumer, data_type, purpose, legal_basis, legal_basis_ref,
                                     valid_from, allowed_fields, requires_consent,
                                     requires_subject_registration)
         VALUES ('{CONSUMER}', '{PERSON_DATA_TYPE}', '{purpose}', 'old grant', '', 0, '[\"\"]', 0, 0)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

backend_test!(a_fetch_for_an_unregistered_purpose_is_refused_at_step_2);
async fn a_fetch_for_an_unregistered_purpose_is_refused_at_step_2(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    authorize_unregistered_purpose(&exchange, "direct-marketing").await;
    authorize_unregistered_purpose(&exchange, "Direct Marketing").await;
    // Any registry change through this node reloads the index, old authorizations included.
    exchange.register_purpose("another-purpose").await;
    let mut consumer = exchange.consumer().await;
    for purpose in [
        "direct-marketing",
        "Direct Marketing",
        "",
        "social-benefits ",
    ] {
        let mut request = person_request("be.insz", &exchange.known_subject(0));
        request.purpose = purpose.to_owned();
        let status = consumer.fetch(request).await.expect_err(purpose);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{purpose:?}");
        assert!(status.message().contains("purpose"), "{}", status.message());
        if !purpose.trim().is_empty() {
            assert_eq!(
                status.message(),
                "purpose is not a registered purpose code",
                "the caller's text is not quoted back"
            );
        }
    }
    assert_eq!(exchange.adapter_calls(), 0, "no adapter is called");
    assert!(exchange.ledger_rows().await.is_empty(), "no ledger entry");

    // The registered purpose still goes through.
    consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .unwrap();
    assert_eq!(exchange.adapter_calls(), 1);
    assert_eq!(exchange.ledger_rows().await.len(), 1);
}

backend_test!(a_purpose_registered_through_another_node_applies_within_the_refresh_interval);
async fn a_purpose_registered_through_another_node_applies_within_the_refresh_interval(
    backend: Backend,
) {
    let exchange = TestExchange::start(backend).await;
    let pool = exchange.database_pool().await;
    sqlx::query(
        "INSERT INTO purposes (code, description, registered_at)
         VALUES ('registered-elsewhere', 'Registered through another node', 1800000000)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let registered = Instant::now();
    let mut consumer = exchange.consumer().await;
    loop {
        let mut request = person_request("be.insz", &exchange.known_subject(0));
        request.purpose = "registered-elsewhere".to_owned();
        let status = consumer
            .fetch(request)
            .await
            .expect_err("nobody is authorized");
        if status.code() == tonic::Code::PermissionDenied {
            // Step 2 passed; step 3 finds no authorization for it.
            break;
        }
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            registered.elapsed() < REFRESH_INTERVAL + Duration::from_secs(1),
            "the purpose was still unknown {:?} after it was registered",
            registered.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(exchange.adapter_calls(), 0);
}
