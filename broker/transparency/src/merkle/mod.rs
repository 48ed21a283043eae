//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and the compact range.
//!
//! # Hashing
//!
//! * leaf hash: `SHA-256(0x00 || entry)` ([`leaf_hash`]),
//! * interior node hash: `SHA-256(0x01 || left || right)` ([`node_hash`]),
//! * root of the empty tree: `SHA-256("")` ([`empty_root`]),
//! * the Merkle Tree Hash of `n > 1` leaves splits them at `k`, the largest
//!   power of two strictly smaller than `n` ([`root_from_leaf_hashes`]).
//!
//! # Stored subtree hashes
//!
//! A log stores the hash of every *perfect* (complete) subtree it has built,
//! addressed by `(level, index)`: level 0 index `i` is leaf hash `i`, level `L`
//! index `i` is the hash of the perfect subtree over leaves
//! `[i * 2^L, (i + 1) * 2^L)`. Those nodes never change once the last of their
//! leaves is appended, so they can be written once, by [`CompactRange::append`],
//! which returns every node an append completes.
//!
//! Every element of an inclusion or consistency proof, and every root, is the
//! Merkle Tree Hash of a range of leaves that starts on a suitably aligned
//! boundary. Such a range is the concatenation of a few perfect subtrees, from
//! the largest (leftmost) to the smallest (rightmost), and its hash is the
//! right-to-left fold `node_hash(P0, node_hash(P1, ... node_hash(Pn-1, Pn)))`
//! of their hashes, exactly as RFC 6962 hashes the incomplete right edge of a
//! tree. A [`NodeRecipe`] lists those perfect subtrees for one proof element.
//!
//! So a proof costs `O(log n)` reads and no rebuild:
//!
//! 1. [`inclusion_proof_nodes`] / [`consistency_proof_nodes`] / [`root_nodes`]
//!    compute, without any I/O, which `(level, index)` nodes are needed
//!    ([`required_subtrees`] flattens and deduplicates them for one query);
//! 2. the caller fetches those hashes (for example in one SQL query);
//! 3. [`assemble`] folds them into the proof.
//!
//! Synchronous storage can instead implement [`SubtreeHashes`] and call
//! [`inclusion_proof_from_subtree_hashes`],
//! [`consistency_proof_from_subtree_hashes`] or [`root_from_subtree_hashes`].
//!
//! # Verification
//!
//! [`verify_inclusion`] and [`verify_consistency`] implement the algorithms of
//! RFC 9162 §2.1.3.2 and §2.1.4.2, plus the policy of the reference
//! implementation (transparency-dev/merkle): proofs with missing or extra
//! hashes are rejected, a consistency proof from an empty tree (old size 0) is
//! rejected, even from 0 to 0, and equal sizes need an empty proof and equal
//! roots. [`verify_inclusion_bytes`] and [`verify_consistency_bytes`] accept
//! untrusted byte strings (for example decoded from JSON) and check hash
//! lengths first.
//!
//! [`inclusion_proof_from_leaves`] and [`consistency_proof_from_leaves`] are
//! simple in-memory provers that follow the RFC recursion literally; they serve
//! tests and offline verifiers that hold all leaf hashes.
//!
//! # Modules
//!
//! The split follows the reference implementation's layout:
//!
//! * [`hashing`]: the [`Hash`](type@Hash) type, leaf and node hashes, the
//!   Merkle Tree Hash of a list of leaf hashes;
//! * [`proof_construction`]: which stored subtrees a proof or a root needs,
//!   assembling proofs from them, and the in-memory provers;
//! * [`proof_verification`]: checking inclusion and consistency proofs;
//! * [`compact_range`]: the right frontier a log writer appends to.
//!
//! [`ProofError`] is shared by all of them. Every public item is also
//! available at this module's level.

pub mod compact_range;
pub mod hashing;
pub mod proof_construction;
pub mod proof_verification;

use thiserror::Error;

pub use compact_range::{CompactRange, CompactRangeError};
pub use hashing::{
    HASH_LENGTH, Hash, LEAF_HASH_PREFIX, NODE_HASH_PREFIX, empty_root, hash_from_slice, leaf_hash,
    node_hash, root_from_leaf_hashes,
};
pub use proof_construction::{
    NodeRecipe, SubtreeHashes, SubtreePosition, SubtreeProofError, assemble,
    consistency_proof_from_leaves, consistency_proof_from_subtree_hashes, consistency_proof_length,
    consistency_proof_nodes, inclusion_proof_from_leaves, inclusion_proof_from_subtree_hashes,
    inclusion_proof_length, inclusion_proof_nodes, required_subtrees, root_from_subtree_hashes,
    root_nodes, root_recipe,
};
pub use proof_verification::{
    root_from_inclusion_proof, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};

/// Why a proof could not be generated, assembled or verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not smaller than the tree size.
    #[error("leaf index {leaf_index} is outside a tree of size {tree_size}")]
    LeafIndexOutOfRange {
        /// The requested leaf index.
        leaf_index: u64,
        /// The tree size the leaf should be part of.
        tree_size: u64,
    },
    /// A consistency proof from an empty tree was requested or presented.
    ///
    /// Every tree is consistent with the empty tree, so such a proof proves
    /// nothing; like the reference implementation we reject it, even 0 → 0.
    #[error("consistency proofs from an empty tree (old size 0) are meaningless and rejected")]
    EmptyOldTree,
    /// The old tree is larger than the new tree.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeLargerThanNewSize {
        /// The old (first) tree size.
        old_size: u64,
        /// The new (second) tree size.
        new_size: u64,
    },
    /// The proof has more or fewer hashes than the sizes require.
    #[error("the proof has {actual} hashes, but {expected} are required")]
    WrongProofLength {
        /// The number of hashes the tree sizes require.
        expected: usize,
        /// The number of hashes supplied.
        actual: usize,
    },
    /// A hash given as bytes is not 32 bytes long.
    #[error("the {role} is {length} bytes long, a hash must be 32 bytes")]
    WrongHashLength {
        /// Which input had the wrong length (for example "leaf hash").
        role: &'static str,
        /// Its actual length in bytes.
        length: usize,
    },
    /// The inclusion proof does not lead to the expected root hash.
    #[error("the inclusion proof does not lead to the expected root hash")]
    RootMismatch,
    /// The consistency proof does not reproduce the old root hash.
    #[error("the consistency proof does not reproduce the old root hash")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root hash.
    #[error("the consistency proof does not reproduce the new root hash")]
    NewRootMismatch,
    /// Two trees of the same size have different roots.
    #[error("two trees of size {tree_size} have different root hashes")]
    EqualSizeRootsDiffer {
        /// The common tree size.
        tree_size: u64,
    },
    /// An in-memory prover was asked about more leaves than it was given.
    #[error("tree size {tree_size} exceeds the {available} leaf hashes supplied")]
    NotEnoughLeaves {
        /// The requested tree size.
        tree_size: u64,
        /// The number of leaf hashes supplied.
        available: usize,
    },
    /// A subtree hash needed to assemble a proof was not supplied.
    #[error("the subtree hash at level {level}, index {index} was not supplied")]
    MissingSubtreeHash {
        /// Level of the missing perfect subtree.
        level: u8,
        /// Index of the missing perfect subtree within its level.
        index: u64,
    },
}
