//! The ledger on SQLite (one broker node): [`writer`], the group-commit thread with its own
//! synchronous rusqlite connection, the only writer of the ledger entries and tree.
//!
//! [`start`] opens that connection on the file behind the pool and starts the thread; the
//! thread ends once every sender of its jobs is gone and it has answered every job still
//! queued then. [`join`] waits for that, connection closed, without blocking the runtime.

mod writer;

use std::thread::JoinHandle;

use sqlx::AnyPool;
use tokio::sync::{mpsc, watch};

use super::append::AppendJob;
use super::{LedgerError, TreeHead};
use kruispunt_transparency::CompactRange;

/// Starts the writer on the database file behind `pool`, after the tree `range`.
pub(super) async fn start(
    pool: &AnyPool,
    range: CompactRange,
    max_batch: usize,
    head: watch::Sender<TreeHead>,
    jobs: mpsc::Receiver<AppendJob>,
) -> Result<JoinHandle<()>, LedgerError> {
    let file = writer::sqlite_file(pool).await?;
    Ok(writer::Writer::open(&file, range, max_batch, head)?.spawn(jobs)?)
}

/// Waits for the writer thread to end (it ends once its job senders are gone).
pub(super) async fn join(thread: JoinHandle<()>) {
    let joined = tokio::task::spawn_blocking(move || thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        tracing::error!("the ledger writer thread panicked");
    }
}
