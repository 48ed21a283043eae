//! A ledger that cannot be written: the transfer fails closed (UNAVAILABLE, no payload), nothing
//! of it is written, and the writer keeps refusing cleanly instead of wedging.
//!
//! SQLite only: the test blocks the writer by putting a row where its next entry must go, which
//! on SQLite makes the group commit itself fail (on PostgreSQL the sequencer would retry the
//! queue instead, and the transfer would wait out the sequencing timeout).

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, person_request};

#[tokio::test]
async fn a_transfer_the_ledger_cannot_record_is_not_delivered() {
    let exchange = TestExchange::start(Backend::Sqlite).await;
    let mut consumer = exchange.consumer().await;
    let subject = exchange.known_subject(0);
    let first = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .unwrap()
        .into_inner();
    // The fixture's rule changes come first.
    let rules = i64::try_from(exchange.governance_entries().await.len()).unwrap();
    assert_eq!(i64::try_from(first.receipt.unwrap().index).unwrap(), rules);

    // Someone with database access occupies the index where the next entry must go.
    let taken = rules + 1;
    let pool = exchange.database_pool().await;
    sqlx::query(
        "INSERT INTO ledger_entries (leaf_index, leaf_hash, entry, recorded_at, consumer, provider, data_type, purpose, outcome, subject_pseudonym) \
         VALUES ($1, x'00', x'00', 0, 'x', 'x', 'x', 'x', 'x', x'00')",
    )
    .bind(taken)
    .execute(&pool)
    .await
    .unwrap();

    let calls_before = exchange.adapter_calls();
    let status = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("the ledger cannot record the transfer");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("audit ledger") && status.message().contains("not delivered"),
        "{}",
        status.message()
    );
    // The adapter answered; the broker kept its payload.
    assert_eq!(exchange.adapter_calls(), calls_before + 1);
    assert!(!status.message().contains(&subject), "{}", status.message());

    // Nothing of the failed batch was written (its tree nodes neither): the only rows are the
    // rule changes', the first transfer's and the foreign one, untouched.
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT leaf_index, leaf_hash FROM ledger_entries ORDER BY leaf_index")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), usize::try_from(taken + 1).unwrap());
    assert_eq!(rows.last().unwrap(), &(taken, vec![0]));
    let nodes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_nodes")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Every complete subtree of the tree of the entries before the foreign row.
    let complete_subtrees: i64 = (0..63).map(|level| taken >> level).sum();
    assert_eq!(
        nodes, complete_subtrees,
        "only the tree before the failed batch"
    );
    pool.close().await;

    // The writer is still running: it refuses each batch while the index is taken, with a typed
    // error, and does not wedge or stop.
    let again = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("the index is still taken");
    assert_eq!(again.code(), tonic::Code::Unavailable);
    assert!(
        again.message().contains("audit ledger"),
        "{}",
        again.message()
    );
}
