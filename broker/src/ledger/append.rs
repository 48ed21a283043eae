//! What reaches the ledger's group commit, on either backend: a transfer's entry and where to
//! send the receipt once the entry is durable (or the error if it could not be made so), or a
//! request to drain the governance outbox now (a rule change just committed waits for its entry).

use tokio::sync::oneshot;

use super::{LedgerError, Receipt};
use kruispunt_transparency::LedgerEntry;

/// Where an append's outcome goes.
pub(super) type Reply = oneshot::Sender<Result<Receipt, LedgerError>>;

/// Where the outcome of a drain goes: `Ok` once every outbox row committed before the drain was
/// asked for is in the tree.
pub(super) type DrainReply = oneshot::Sender<Result<(), LedgerError>>;

/// One job for the group commit.
// Transfers, the large variant, are nearly every job: boxing them would cost an allocation per
// transfer to save space in the rare drain request.
#[allow(clippy::large_enum_variant)]
pub(super) enum AppendJob {
    /// One transfer's entry, waiting for the group commit.
    Transfer {
        /// The entry (its leaf index is assigned by the writer).
        entry: LedgerEntry,
        /// Where its receipt goes.
        reply: Reply,
    },
    /// Drain `governance_outbox` in the next batch even if no transfer is waiting (SQLite: wakes
    /// an idle writer). Every batch drains the outbox anyway; this only makes one happen.
    DrainGovernanceOutbox {
        /// Answered once the batch committed (or failed).
        reply: DrainReply,
    },
}
