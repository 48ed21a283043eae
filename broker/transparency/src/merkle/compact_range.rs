//! The compact range: the right frontier of a Merkle tree, all a log writer
//! needs to append leaves, compute roots and learn which perfect-subtree nodes
//! each append completes.

use thiserror::Error;

use super::hashing::{Hash, empty_root, node_hash};
use super::proof_construction::{SubtreeHashes, SubtreePosition, root_nodes};

/// Why a [`CompactRange`] could not be built or extended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CompactRangeError {
    /// The number of frontier hashes does not match the tree size.
    #[error(
        "a tree of size {tree_size} has {expected} frontier subtrees, but {actual} hashes were given"
    )]
    FrontierLengthMismatch {
        /// The tree size.
        tree_size: u64,
        /// The number of frontier hashes that size needs (its number of one bits).
        expected: usize,
        /// The number of frontier hashes supplied.
        actual: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full: it already holds u64::MAX leaves")]
    TreeFull,
}

/// The right frontier ("compact range") of a Merkle tree: the hashes of the
/// perfect subtrees that make up the tree of `size` leaves, largest first
/// (positions given by [`root_nodes`]).
///
/// It is all a log writer needs to append leaves and compute roots; each
/// [`append`](CompactRange::append) reports the perfect-subtree nodes it
/// completes so they can be stored for proofs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    frontier: Vec<Hash>,
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        CompactRange::default()
    }

    /// Rebuilds a compact range from a tree size and its frontier hashes,
    /// which must be the hashes at [`root_nodes(size)`](root_nodes), in that
    /// order (one per one bit of `size`).
    pub fn from_parts(size: u64, frontier: Vec<Hash>) -> Result<Self, CompactRangeError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(CompactRangeError::FrontierLengthMismatch {
                tree_size: size,
                expected,
                actual: frontier.len(),
            });
        }
        Ok(CompactRange { size, frontier })
    }

    /// Rebuilds the compact range of a tree of `size` leaves from stored
    /// subtree hashes (at most 64 reads).
    pub fn from_subtree_hashes<Store: SubtreeHashes + ?Sized>(
        store: &Store,
        size: u64,
    ) -> Result<Self, Store::Error> {
        let frontier = root_nodes(size)
            .into_iter()
            .map(|(level, index)| store.subtree_hash(level, index))
            .collect::<Result<Vec<Hash>, Store::Error>>()?;
        Ok(CompactRange { size, frontier })
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, largest subtree first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The `(level, index)` positions of the frontier hashes.
    pub fn frontier_positions(&self) -> Vec<SubtreePosition> {
        root_nodes(self.size)
    }

    /// The root hash of the tree ([`empty_root`] when empty).
    pub fn root(&self) -> Hash {
        let mut hashes = self.frontier.iter().rev();
        let Some(&smallest) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(smallest, |right, left| node_hash(left, &right))
    }

    /// Appends one leaf hash and returns every perfect-subtree node this
    /// append completes, as `(level, index, hash)`, starting with the leaf
    /// itself at level 0.
    ///
    /// A tree cannot hold more than `u64::MAX` leaves: at that size `append`
    /// fails with [`CompactRangeError::TreeFull`] and changes nothing.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(u8, u64, Hash)>, CompactRangeError> {
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(CompactRangeError::TreeFull)?;
        let mut index = self.size;
        let mut level: u8 = 0;
        let mut hash = leaf;
        let mut created = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        created.push((level, index, hash));
        // Each trailing one bit of the old size is a perfect subtree that the
        // new leaf's subtree now completes.
        while index & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            created.push((level, index, hash));
        }
        self.frontier.push(hash);
        self.size = new_size;
        Ok(created)
    }
}
