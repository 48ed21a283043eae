//! RFC 6962 §2.1 hashing: the [`Hash`](type@Hash) type, domain-separated leaf
//! and interior node hashes, the root of the empty tree, and the Merkle Tree
//! Hash of a list of leaf hashes.

use sha2::{Digest, Sha256};

use super::ProofError;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Length in bytes of a [`Hash`](type@Hash).
pub const HASH_LENGTH: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
pub const LEAF_HASH_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
pub const NODE_HASH_PREFIX: u8 = 0x01;

/// Returns the RFC 6962 leaf hash `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_HASH_PREFIX]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// Returns the RFC 6962 interior node hash `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_HASH_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Returns the root hash of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Converts an untrusted byte string into a [`Hash`](type@Hash), checking its length.
///
/// `role` names the input in the error (for example `"root hash"`).
pub fn hash_from_slice(bytes: &[u8], role: &'static str) -> Result<Hash, ProofError> {
    Hash::try_from(bytes).map_err(|_| ProofError::WrongHashLength {
        role,
        length: bytes.len(),
    })
}

/// Returns the Merkle Tree Hash (RFC 6962 §2.1) of the given leaf hashes.
///
/// The empty list hashes to [`empty_root`]; a list of `n > 1` leaves is split
/// at the largest power of two strictly smaller than `n`.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let split = largest_power_of_two_below_usize(leaves.len());
            let (left, right) = leaves.split_at(split);
            node_hash(&root_from_leaf_hashes(left), &root_from_leaf_hashes(right))
        }
    }
}

/// Largest power of two strictly smaller than `count`; `count` must be >= 2.
pub(crate) fn largest_power_of_two_below(count: u64) -> u64 {
    1u64 << (u64::BITS - 1 - (count - 1).leading_zeros())
}

/// Largest power of two strictly smaller than `count`; `count` must be >= 2.
pub(crate) fn largest_power_of_two_below_usize(count: usize) -> usize {
    1usize << (usize::BITS - 1 - (count - 1).leading_zeros())
}
