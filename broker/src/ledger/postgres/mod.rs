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

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::TreeHead;
use super::append::AppendJob;
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
