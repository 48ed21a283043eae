//! The checkpointer: signs a C2SP tlog-checkpoint of the ledger's durable head at least once a
//! second while the ledger grows, and keeps every one.
//!
//! The signing key is an Ed25519 key generated at first start and kept in an owner-only file
//! (never in the database); its public half is published in the signed-note verifier-key format
//! (`kruispunt ledger key`).
//!
//! At shutdown, once the writers have stopped, it signs the final tree head if no checkpoint
//! covers it yet, so a stopped ledger ends with a checkpoint of everything it holds.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;

use super::sequencing::to_sql_index;
use super::{LedgerError, TreeHead};
use crate::error_chain::ErrorChain;
use crate::shutdown::StopSignal;
use kruispunt_transparency::{Checkpoint, NoteSigner, sign_checkpoint};

/// Checkpoints are at most this far apart while the ledger grows.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Reads the signing key at `path`, or generates one there (0600). Its name is the ledger's
/// origin.
pub fn load_or_create_signing_key(path: &Path, origin: &str) -> Result<NoteSigner, LedgerError> {
    let secret = super::load_or_create_secret(path)?;
    NoteSigner::from_secret_bytes(origin, secret).map_err(|error| LedgerError::Secret {
        path: path.display().to_string(),
        detail: error.to_string(),
    })
}

pub(super) struct Checkpointer {
    pub(super) pool: AnyPool,
    pub(super) signer: NoteSigner,
    pub(super) head: watch::Receiver<TreeHead>,
    pub(super) last_size: Option<u64>,
}

impl Checkpointer {
    /// Signs while the head grows, at most every [`CHECKPOINT_INTERVAL`], until `stop` is
    /// raised (once every append is answered) or the head's writer is gone; then waits for that
    /// writer to end and signs the final head if it grew since the last checkpoint.
    pub(super) async fn run(mut self, mut stop: StopSignal) {
        loop {
            let head = *self.head.borrow_and_update();
            self.sign_if_grown(head).await;
            tokio::select! {
                () = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
                () = stop.raised() => break,
            }
            tokio::select! {
                changed = self.head.changed() => if changed.is_err() { break },
                () = stop.raised() => break,
            }
        }
        // The head's writer (the SQLite thread, the PostgreSQL sequencer) stops at shutdown
        // too, after its last commit: the head it leaves is the final one.
        while self.head.changed().await.is_ok() {}
        let head = *self.head.borrow();
        self.sign_if_grown(head).await;
    }

    async fn sign_if_grown(&mut self, head: TreeHead) {
        if self.last_size != Some(head.size) {
            match self.sign_and_store(head).await {
                Ok(()) => self.last_size = Some(head.size),
                Err(error) => {
                    tracing::error!(error = %ErrorChain(&error), "storing a checkpoint failed")
                }
            }
        }
    }

    async fn sign_and_store(&self, head: TreeHead) -> Result<(), LedgerError> {
        let checkpoint = Checkpoint::new(self.signer.name(), head.size, head.root);
        let note = sign_checkpoint(&self.signer, &checkpoint)
            .map_err(|error| LedgerError::Inconsistent(error.to_string()))?;
        sqlx::query(
            "INSERT INTO ledger_checkpoints (tree_size, root_hash, signed_note, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(to_sql_index(head.size))
        .bind(head.root.as_slice())
        .bind(note)
        .bind(time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
