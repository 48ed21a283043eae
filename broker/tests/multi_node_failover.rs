//! Two broker nodes on one PostgreSQL database, under concurrent load from consumers connected
//! to both. The node holding the sequencer lock is killed with SIGKILL mid-load; the other node
//! takes the lock and carries on. Afterwards every receipt either node gave is in one tree:
//! each inclusion proof verifies against the newest signed checkpoint, consistency proofs link
//! every pair of checkpoints, and `kruispunt ledger verify` passes.
//!
//! Needs `KRUISPUNT_TEST_POSTGRES_URL` (CI sets it); without it the test says it was skipped.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use kruispunt_broker::ledger::SEQUENCER_APPLICATION_NAME;
use kruispunt_broker::testing::{Backend, PostgresTestDatabase};
use sqlx::Connection as _;
use support::{BrokerProcess, Deployment, free_port};

const CONSUMERS: usize = 16;

/// The process id of the node whose sequencer session holds the advisory lock, if any.
async fn sequencer_pid(database_url: &str) -> Option<u32> {
    let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
           AND a.application_name LIKE $1",
    )
    .bind(format!("{SEQUENCER_APPLICATION_NAME}-%"))
    .fetch_optional(&mut connection)
    .await
    .unwrap();
    let _ = connection.close().await;
    holder?
        .strip_prefix(&format!("{SEQUENCER_APPLICATION_NAME}-"))?
        .parse()
        .ok()
}

async fn wait_for_sequencer(database_url: &str, among: &[u32]) -> u32 {
    for _ in 0..200 {
        if let Some(pid) = sequencer_pid(database_url).await
            && among.contains(&pid)
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("none of the nodes {among:?} became the sequencer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_node_takes_over_when_the_sequencer_is_killed() {
    let Some(Backend::Postgres { base_url }) =
        Backend::postgres_or_skip("multi_node_failover (two nodes need PostgreSQL)")
    else {
        return;
    };
    let database = PostgresTestDatabase::create(&base_url).await.unwrap();
    let deployment = Deployment::start().await;
    let ports = [free_port(), free_port()];
    let mut nodes = Vec::new();
    for (number, port) in ports.iter().enumerate() {
        let config = deployment.node_config(&format!("node-{number}"), *port, &database.url);
        nodes.push(BrokerProcess::start(&config));
        deployment.wait_until_serving(*port).await;
    }
    deployment.register(ports[0]).await;

    let load = deployment.start_load(&ports, CONSUMERS).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let pids: Vec<u32> = nodes.iter().map(BrokerProcess::pid).collect();
    let sequencer = wait_for_sequencer(&database.url, &pids).await;
    let victim = pids.iter().position(|pid| *pid == sequencer).unwrap();
    let survivor = 1 - victim;
    let before_kill = load.receipt_count();
    assert!(
        before_kill > 50,
        "load before the kill: {before_kill} receipts"
    );

    nodes[victim].kill();
    let killed_at = Instant::now();
    let new_sequencer = wait_for_sequencer(&database.url, &[pids[survivor]]).await;
    let takeover = killed_at.elapsed();
    assert_eq!(new_sequencer, pids[survivor]);
    // The survivor keeps answering (each answer waits for sequencing, so this is the new
    // sequencer at work).
    let resumed = loop {
        if load.receipt_count() > before_kill + 200 {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "the survivor did not carry on\n{}",
            deployment.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("sequencer lock taken over in {takeover:?}; 200 more receipts by {resumed:?}");
    assert!(
        takeover < Duration::from_secs(5),
        "takeover took {takeover:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let (receipts, failures) = load.stop().await;
    assert!(
        failures > 0,
        "the consumers of the killed node must have felt it"
    );
    deployment.audit(ports[survivor], &receipts).await;
}
