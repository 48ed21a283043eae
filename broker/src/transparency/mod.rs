//! Transparency-log core: everything an auditor needs to check the audit
//! ledger, with no database, network or gRPC types, so it can be reused on
//! its own (for example by the offline ledger verifier).
//!
//! * [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and
//!   consistency proofs (generation from stored perfect-subtree hashes or
//!   from leaves, and verification), and the [`CompactRange`] a log writer
//!   appends to.
//! * [`note`]: C2SP signed notes with Ed25519 keys ([`NoteSigner`],
//!   [`NoteVerifier`]).
//! * [`checkpoint`]: C2SP tlog-checkpoints, the signed tree heads
//!   ([`Checkpoint`], [`sign_checkpoint`], [`verify_checkpoint`]).
//!
//! Specifications: RFC 6962 §2.1, RFC 9162 §2.1, <https://c2sp.org/signed-note>,
//! <https://c2sp.org/tlog-checkpoint>.

pub mod checkpoint;
pub mod merkle;
pub mod note;

#[cfg(test)]
mod tests;

pub use checkpoint::{
    Checkpoint, CheckpointError, sign_checkpoint, verify_checkpoint, verify_checkpoint_with_origin,
};
pub use merkle::{
    CompactRange, CompactRangeError, Hash, NodeRecipe, ProofError, SubtreeHashes, SubtreePosition,
    SubtreeProofError, assemble, consistency_proof_from_leaves,
    consistency_proof_from_subtree_hashes, consistency_proof_nodes, empty_root,
    inclusion_proof_from_leaves, inclusion_proof_from_subtree_hashes, inclusion_proof_nodes,
    leaf_hash, node_hash, required_subtrees, root_from_leaf_hashes, root_from_subtree_hashes,
    root_nodes, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};
pub use note::{
    NoteError, NoteSignature, NoteSigner, NoteVerifier, ParsedNote, VerifiedNote, parse_note,
};
