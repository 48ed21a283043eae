//! The checkpointer: signs a C2SP tlog-checkpoint of the ledger's durable head at least once a
//! second while the ledger grows, and keeps every one.
//!
//! The signing key is an Ed25519 key generated at first start and kept in an owner-only file
//! (never in the database); its public half is published in the signed-note verifier-key format
//! (`kruispunt ledger key`).

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;

use super::sequencing::to_sql_index;
use super::{LedgerError, TreeHead};
use crate::error_chain::ErrorChain;
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
    pub(super) async fn run(mut self) {
        loop {
            let head = *self.head.borrow_and_update();
            if self.last_size != Some(head.size) {
                match self.sign_and_store(head).await {
                    Ok(()) => self.last_size = Some(head.size),
                    Err(error) => {
                        tracing::error!(error = %ErrorChain(&error), "storing a checkpoint failed")
                    }
                }
            }
            tokio::time::sleep(CHECKPOINT_INTERVAL).await;
            if self.head.changed().await.is_err() {
                return;
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
