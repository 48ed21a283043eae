//! The ledger on PostgreSQL (any number of broker nodes sharing one database).
//!
//! - [`queue`]: each node's group commit into `ledger_queue`, and the receipt poller that
//!   answers a transfer once its entry is sequenced;
//! - [`sequencer`]: the advisory-lock election and the sequencing loop of the one node that
//!   moves queued entries into the tree.
//!
//! [`start`] starts all three tasks. [`PostgresTasks::finish_appends`] is the first half of the
//! ledger's shutdown: the queue writer ends once its job senders are gone and every queued job is
//! in the queue (or refused), then the poller ends once every waiting transfer is answered
//! (sequenced, or refused after the sequencing timeout). The sequencer keeps sequencing
//! meanwhile and stops on the ledger's stop signal, raised after that.

mod queue;
mod sequencer;

pub use sequencer::{ELECTION_INTERVAL, SEQUENCER_APPLICATION_NAME};

/// How often a rule change waiting for its entry looks for it.
const GOVERNANCE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Waits until the rule change numbered `sequence` is in `ledger_entries`, at most as long as
/// a transfer waits for its entry ([`queue::SEQUENCING_TIMEOUT`]), after waking the sequencer,
/// which drains the outbox in its next batch.
pub(super) async fn await_governance_entry(
    reader: &LedgerReader,
    sequence: u64,
) -> Result<(), LedgerError> {
    let started = std::time::Instant::now();
    // Wake the sequencer now rather than at its next idle poll; a lost notification only costs
    // that poll.
    if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
        .bind(queue::QUEUED_CHANNEL)
        .execute(reader.pool())
        .await
    {
        tracing::debug!(error = %ErrorChain(&error), "cannot notify the ledger sequencer");
    }
    loop {
        if reader.has_governance_entry(sequence).await? {
            return Ok(());
        }
        if started.elapsed() > queue::SEQUENCING_TIMEOUT {
            return Err(LedgerError::NotSequenced {
                waited: queue::SEQUENCING_TIMEOUT,
            });
        }
        tokio::time::sleep(GOVERNANCE_POLL).await;
    }
}

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::append::AppendJob;
use super::{LedgerError, LedgerReader, TreeHead};
use crate::error_chain::ErrorChain;
use crate::shutdown::{StopSignal, StopSwitch};

/// The node's queue writer and receipt poller, to stop in that order.
pub(super) struct PostgresTasks {
    queue_writer: JoinHandle<()>,
    receipt_poller: JoinHandle<()>,
    stop_receipt_poller: StopSwitch,
}

/// Starts the queue writer on `jobs`, the receipt poller, and this node's sequencer candidate
/// (returned apart: it stops on `stop`).
pub(super) fn start(
    pool: &AnyPool,
    url: &str,
    max_batch: usize,
    head: watch::Sender<TreeHead>,
    jobs: mpsc::Receiver<AppendJob>,
    stop: StopSignal,
) -> (PostgresTasks, JoinHandle<()>) {
    let waiting = Arc::new(queue::Waiting::default());
    let node = format!(
        "{}-{:08x}",
        std::process::id(),
        rand_core::RngCore::next_u32(&mut rand_core::OsRng)
    );
    let queue_writer = queue::QueueWriter {
        pool: pool.clone(),
        max_batch,
        node,
        waiting: waiting.clone(),
    };
    let poller = queue::ReceiptPoller {
        pool: pool.clone(),
        url: url.to_owned(),
        waiting,
    };
    let sequencer = sequencer::Sequencer {
        url: url.to_owned(),
        max_batch,
        head,
    };
    let stop_receipt_poller = StopSwitch::new();
    let tasks = PostgresTasks {
        queue_writer: tokio::spawn(queue_writer.run(jobs)),
        receipt_poller: tokio::spawn(poller.run(stop_receipt_poller.signal())),
        stop_receipt_poller,
    };
    (tasks, tokio::spawn(sequencer.run(stop)))
}

impl PostgresTasks {
    /// Waits for the queue writer (its senders must be gone), then tells the poller to stop
    /// once no transfer waits, and waits for it.
    pub(super) async fn finish_appends(self) {
        if let Err(error) = self.queue_writer.await {
            tracing::error!(error = %ErrorChain(&error), "the ledger queue writer failed");
        }
        self.stop_receipt_poller.raise();
        if let Err(error) = self.receipt_poller.await {
            tracing::error!(error = %ErrorChain(&error), "the ledger receipt poller failed");
        }
    }
}
