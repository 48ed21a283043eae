//! The subject access log is exact at every moment: entries not yet in the background subject
//! index are found in the ledger's tail, and once indexed they are found there, never twice.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kruispunt_e2e::{Backend, PORTAL, TestExchange, backend_test, insz, person_request};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use sqlx::Row;

async fn logged_indices(exchange: &TestExchange, subject: &str) -> Vec<u64> {
    let mut portal = AuditClient::new(exchange.channel_as(PORTAL).await);
    let page = portal
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: insz(subject),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    page.transfers.iter().map(|record| record.index).collect()
}

async fn indexed_through(exchange: &TestExchange) -> i64 {
    let pool = exchange.database_pool().await;
    let value = sqlx::query("SELECT indexed_through FROM ledger_subject_index_state")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("indexed_through");
    pool.close().await;
    value
}

backend_test!(the_log_is_exact_before_and_after_background_indexing);
async fn the_log_is_exact_before_and_after_background_indexing(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.checkpoint_covering(0).await;
    // The fixture's rule changes are the first entries; they name no subject.
    let rules = u64::try_from(exchange.governance_entries().await.len()).unwrap();
    let at = |transfers: &[u64]| -> Vec<u64> {
        transfers.iter().map(|transfer| rules + transfer).collect()
    };
    let mut consumer = exchange.consumer().await;
    let (watched, other) = (exchange.known_subject(0), exchange.known_subject(1));
    for subject in [&watched, &other, &watched] {
        consumer
            .fetch(person_request("be.insz", subject))
            .await
            .unwrap();
    }
    assert_eq!(logged_indices(&exchange, &watched).await, at(&[2, 0]));

    // Wait until the background indexer has caught up, then ask again.
    for _ in 0..100 {
        if indexed_through(&exchange).await == i64::try_from(rules + 3).unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        indexed_through(&exchange).await,
        i64::try_from(rules + 3).unwrap(),
        "the indexer caught up, past the rule changes too"
    );
    assert_eq!(logged_indices(&exchange, &watched).await, at(&[2, 0]));

    // Indexed and tail entries together.
    consumer
        .fetch(person_request("be.insz", &watched))
        .await
        .unwrap();
    assert_eq!(logged_indices(&exchange, &watched).await, at(&[3, 2, 0]));
    assert_eq!(logged_indices(&exchange, &other).await, at(&[1]));
}
