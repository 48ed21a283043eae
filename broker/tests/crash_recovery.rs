//! Crash safety: consumers run concurrent fetches while the broker process is killed with
//! SIGKILL several times and restarted, on SQLite and on PostgreSQL. Afterwards every receipt
//! any consumer got is in the ledger, its inclusion proof verifies against the newest signed
//! checkpoint, every pair of checkpoints is consistent, and `kruispunt ledger verify` (over the
//! Audit API) passes.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::time::Duration;

use kruispunt_broker::testing::{Backend, TestDatabase};
use support::{BrokerProcess, Deployment, free_port};

const CONSUMERS: usize = 16;
const KILLS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    no_acknowledged_transfer_is_lost_across_sigkills(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(backend) = Backend::postgres_or_skip("crash_recovery::postgres") {
        no_acknowledged_transfer_is_lost_across_sigkills(backend).await;
    }
}

async fn no_acknowledged_transfer_is_lost_across_sigkills(backend: Backend) {
    let deployment = Deployment::start().await;
    let database = TestDatabase::create(&backend, deployment.directory.path())
        .await
        .unwrap();
    let database_url = database.url.clone();
    let port = free_port();
    let config = deployment.node_config("broker", port, &database_url);
    let mut broker = BrokerProcess::start(&config);
    deployment.wait_until_serving(port).await;
    deployment.register(port).await;

    let load = deployment.start_load(&[port], CONSUMERS).await;
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(600 + 150 * kill as u64)).await;
        broker.kill();
        broker = BrokerProcess::start(&config);
        deployment.wait_until_serving(port).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (receipts, failures) = load.stop().await;
    assert!(
        receipts.len() > 100,
        "the load must have run: {} receipts",
        receipts.len()
    );
    assert!(failures > 0, "the kills must have been felt");

    deployment.audit(port, &receipts).await;
    broker.kill();
}
