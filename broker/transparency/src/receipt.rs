//! Transfer receipts a consumer checks itself, offline and later.
//!
//! A `Fetch` answer (and a refusal's status) carries a [`TransferReceipt`]: the ledger's origin,
//! the entry's leaf index, its RFC 6962 leaf hash and the exact entry bytes that hash covers.
//! With an inclusion proof for that index and a signed checkpoint of the same log (both from the
//! Audit API, at any later time) and the log's verifier key (obtained out of band),
//! [`verify_receipt`] decides whether the transfer is in the signed log, with nothing else
//! trusted: the entry decodes and names its index, the leaf hash is the entry's, the
//! checkpoint's signature and origin verify, and the proof leads from the leaf to the
//! checkpoint's root.

use crate::checkpoint::{Checkpoint, CheckpointError, verify_checkpoint_with_origin};
use crate::ledger_entry::{EntryDecodeError, LedgerEntry};
use crate::merkle::{Hash, ProofError, leaf_hash, verify_inclusion};
use crate::note::NoteVerifier;

/// What a consumer keeps of one transfer: where its entry sits in which log, and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceipt {
    /// The origin line of the log the entry is in (the first line of its checkpoints).
    pub origin: String,
    /// The entry's 0-based position in the log.
    pub leaf_index: u64,
    /// The entry's RFC 6962 leaf hash, `SHA-256(0x00 ‖ entry)`.
    pub leaf_hash: Hash,
    /// The canonical entry bytes (`LedgerEntry::encode`, documented in `docs/ledger.md`).
    pub entry: Vec<u8>,
}

impl TransferReceipt {
    /// The receipt of `entry`, once the log at `origin` gave it its index: encodes the entry
    /// with that index, which yields exactly the bytes the log stored.
    pub fn for_sequenced_entry(origin: &str, entry: &LedgerEntry) -> Self {
        let bytes = entry.encode();
        TransferReceipt {
            origin: origin.to_owned(),
            leaf_index: entry.leaf_index,
            leaf_hash: leaf_hash(&bytes),
            entry: bytes,
        }
    }
}

/// A receipt that verified: the decoded entry and the checkpoint it is included in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The transfer as recorded.
    pub entry: LedgerEntry,
    /// The signed checkpoint whose tree includes it.
    pub checkpoint: Checkpoint,
}

/// Why a receipt is not (or not yet) shown to be in the signed log.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The entry bytes are not a ledger entry.
    #[error("the receipt's entry does not decode")]
    EntryUndecodable(#[source] EntryDecodeError),
    /// The entry names another position than the receipt.
    #[error("the receipt names index {receipt_index}, but its entry names index {entry_index}")]
    IndexMismatch {
        /// The index the receipt states.
        receipt_index: u64,
        /// The index inside the entry bytes.
        entry_index: u64,
    },
    /// The leaf hash is not the hash of the entry bytes.
    #[error("the receipt's leaf hash is not the RFC 6962 leaf hash of its entry")]
    LeafHashMismatch,
    /// The checkpoint's signature, format or origin does not verify.
    #[error("the checkpoint does not verify")]
    Checkpoint(#[source] CheckpointError),
    /// The checkpoint is older than the entry: ask for a newer one.
    #[error("the checkpoint's tree (size {tree_size}) does not reach index {leaf_index} yet")]
    NotYetInCheckpoint {
        /// The receipt's index.
        leaf_index: u64,
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// The inclusion proof does not lead from the leaf to the checkpoint's root.
    #[error("the inclusion proof does not verify against the checkpoint's root")]
    Inclusion(#[source] ProofError),
}

/// Checks that `receipt` is in the log whose checkpoint `signed_checkpoint_note` is signed by
/// `verifier`, using `inclusion_proof` (the RFC 9162 audit path, leaf side first, for the
/// receipt's index in the checkpoint's tree size). Pure: nothing is fetched or trusted but the
/// verifier key.
pub fn verify_receipt(
    receipt: &TransferReceipt,
    inclusion_proof: &[Hash],
    signed_checkpoint_note: &str,
    verifier: &NoteVerifier,
) -> Result<VerifiedReceipt, ReceiptError> {
    let entry = LedgerEntry::decode(&receipt.entry).map_err(ReceiptError::EntryUndecodable)?;
    if entry.leaf_index != receipt.leaf_index {
        return Err(ReceiptError::IndexMismatch {
            receipt_index: receipt.leaf_index,
            entry_index: entry.leaf_index,
        });
    }
    if leaf_hash(&receipt.entry) != receipt.leaf_hash {
        return Err(ReceiptError::LeafHashMismatch);
    }
    let checkpoint =
        verify_checkpoint_with_origin(verifier, &receipt.origin, signed_checkpoint_note)
            .map_err(ReceiptError::Checkpoint)?;
    if receipt.leaf_index >= checkpoint.tree_size {
        return Err(ReceiptError::NotYetInCheckpoint {
            leaf_index: receipt.leaf_index,
            tree_size: checkpoint.tree_size,
        });
    }
    verify_inclusion(
        receipt.leaf_index,
        checkpoint.tree_size,
        &receipt.leaf_hash,
        inclusion_proof,
        &checkpoint.root_hash,
    )
    .map_err(ReceiptError::Inclusion)?;
    Ok(VerifiedReceipt { entry, checkpoint })
}
