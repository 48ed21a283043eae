//! What a transfer hands to the ledger's group commit, on either backend: its entry, and where
//! to send the receipt once the entry is durable (or the error if it could not be made so).

use tokio::sync::oneshot;

use super::{LedgerError, Receipt};
use kruispunt_transparency::LedgerEntry;

/// Where an append's outcome goes.
pub(super) type Reply = oneshot::Sender<Result<Receipt, LedgerError>>;

/// One entry waiting for the group commit.
pub(super) struct AppendJob {
    pub(super) entry: LedgerEntry,
    pub(super) reply: Reply,
}
