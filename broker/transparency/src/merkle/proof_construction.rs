//! Proof construction: which perfect subtrees an inclusion proof, a
//! consistency proof or a root is made of ([`NodeRecipe`]), folding stored
//! subtree hashes into proofs ([`assemble`], [`SubtreeHashes`]), and the
//! in-memory provers that follow the RFC 9162 recursion literally.
//!
//! See the [`merkle`](super) module documentation for how stored subtree
//! hashes make every proof `O(log n)` reads.

use std::collections::{BTreeMap, HashMap};

use thiserror::Error;

use super::ProofError;
use super::hashing::{
    Hash, empty_root, largest_power_of_two_below, largest_power_of_two_below_usize, node_hash,
    root_from_leaf_hashes,
};

/// Position of a perfect subtree: `(level, index)`.
///
/// Level 0 index `i` is leaf `i`; level `L` index `i` covers the leaves
/// `[i * 2^L, (i + 1) * 2^L)`.
pub type SubtreePosition = (u8, u64);

/// A [`ProofError`] or a failure of the subtree-hash storage, returned by the
/// provers that read a [`SubtreeHashes`] implementation.
#[derive(Debug, Error)]
pub enum SubtreeProofError<StorageError> {
    /// The request itself is invalid (for example a leaf index out of range).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Reading a stored subtree hash failed.
    #[error("reading a stored subtree hash failed: {0}")]
    Storage(StorageError),
}

/// Read access to stored perfect-subtree hashes.
///
/// `subtree_hash(0, i)` is leaf hash `i`; `subtree_hash(level, index)` is the
/// hash of the perfect subtree over the leaves
/// `[index * 2^level, (index + 1) * 2^level)`.
pub trait SubtreeHashes {
    /// The storage's error type (for example "row not found" or an I/O error).
    type Error;

    /// Returns the hash of the perfect subtree at `(level, index)`.
    fn subtree_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl SubtreeHashes for HashMap<SubtreePosition, Hash> {
    type Error = ProofError;

    fn subtree_hash(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.get(&(level, index))
            .copied()
            .ok_or(ProofError::MissingSubtreeHash { level, index })
    }
}

impl SubtreeHashes for BTreeMap<SubtreePosition, Hash> {
    type Error = ProofError;

    fn subtree_hash(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.get(&(level, index))
            .copied()
            .ok_or(ProofError::MissingSubtreeHash { level, index })
    }
}

/// Splits the leaf range `[begin, end)` into perfect subtrees, largest first.
///
/// `begin` must be a multiple of the largest power of two not exceeding
/// `end - begin` (true for every range that appears in RFC 6962 proofs), so
/// that the right-to-left fold of the parts equals the range's Merkle Tree
/// Hash.
fn perfect_subtrees_of_aligned_range(begin: u64, end: u64) -> Vec<SubtreePosition> {
    let mut subtrees = Vec::new();
    let mut position = begin;
    let mut remaining = end.saturating_sub(begin);
    while remaining != 0 {
        let level = u64::BITS - 1 - remaining.leading_zeros();
        let width = 1u64 << level;
        // `level` is below 64, so it fits in a u8.
        subtrees.push((level as u8, position >> level));
        position += width;
        remaining -= width;
    }
    subtrees
}

/// One element of a proof (or a root), described as the perfect subtrees
/// whose hashes combine into it.
///
/// The subtrees are listed left to right, largest first; the element's hash
/// is their right-to-left fold: the last subtree's hash, then
/// `node_hash(previous, accumulated)` for each earlier one. A recipe of one
/// subtree is simply that subtree's stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecipe {
    subtrees: Vec<SubtreePosition>,
}

impl NodeRecipe {
    fn for_aligned_range(begin: u64, end: u64) -> Self {
        NodeRecipe {
            subtrees: perfect_subtrees_of_aligned_range(begin, end),
        }
    }

    /// The perfect subtrees `(level, index)` this element is made of, left to
    /// right.
    pub fn subtrees(&self) -> &[SubtreePosition] {
        &self.subtrees
    }

    /// Computes the element's hash, reading each subtree hash through
    /// `lookup`; the first lookup error is returned.
    pub fn try_compute<LookupError>(
        &self,
        mut lookup: impl FnMut(u8, u64) -> Result<Hash, LookupError>,
    ) -> Result<Hash, LookupError> {
        let mut accumulated: Option<Hash> = None;
        for &(level, index) in self.subtrees.iter().rev() {
            let subtree = lookup(level, index)?;
            accumulated = Some(match accumulated {
                None => subtree,
                Some(right) => node_hash(&subtree, &right),
            });
        }
        Ok(accumulated.unwrap_or_else(empty_root))
    }
}

/// Flattens recipes into the sorted, deduplicated list of `(level, index)`
/// subtree hashes they need: the set to fetch in one storage query.
pub fn required_subtrees(recipes: &[NodeRecipe]) -> Vec<SubtreePosition> {
    let mut positions: Vec<SubtreePosition> = recipes
        .iter()
        .flat_map(|recipe| recipe.subtrees.iter().copied())
        .collect();
    positions.sort_unstable();
    positions.dedup();
    positions
}

/// Builds proof hashes from recipes and fetched subtree hashes.
///
/// `lookup(level, index)` returns the stored hash or `None`; a missing hash
/// yields [`ProofError::MissingSubtreeHash`].
pub fn assemble(
    recipes: &[NodeRecipe],
    lookup: impl Fn(u8, u64) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    recipes
        .iter()
        .map(|recipe| {
            recipe.try_compute(|level, index| {
                lookup(level, index).ok_or(ProofError::MissingSubtreeHash { level, index })
            })
        })
        .collect()
}

/// The perfect subtrees `(level, index)` whose right-to-left fold is the root
/// of a tree of `tree_size` leaves, largest first (one per one bit of
/// `tree_size`). Empty for the empty tree, whose root is [`empty_root`].
///
/// These are also the frontier of a [`CompactRange`](super::CompactRange) of that size.
pub fn root_nodes(tree_size: u64) -> Vec<SubtreePosition> {
    perfect_subtrees_of_aligned_range(0, tree_size)
}

/// The recipe of the root of a tree of `tree_size` leaves (see [`root_nodes`]).
pub fn root_recipe(tree_size: u64) -> NodeRecipe {
    NodeRecipe::for_aligned_range(0, tree_size)
}

/// Lists, leaf to root, the elements of the inclusion proof of leaf
/// `leaf_index` in a tree of `tree_size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof_nodes(
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<NodeRecipe>, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let mut siblings_root_first = Vec::new();
    let (mut start, mut end) = (0u64, tree_size);
    while end - start > 1 {
        let middle = start + largest_power_of_two_below(end - start);
        if leaf_index < middle {
            siblings_root_first.push(NodeRecipe::for_aligned_range(middle, end));
            end = middle;
        } else {
            siblings_root_first.push(NodeRecipe::for_aligned_range(start, middle));
            start = middle;
        }
    }
    siblings_root_first.reverse();
    Ok(siblings_root_first)
}

/// Number of hashes in the inclusion proof of `leaf_index` in a tree of
/// `tree_size` leaves.
pub fn inclusion_proof_length(leaf_index: u64, tree_size: u64) -> Result<usize, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    // Levels below the point where the paths to the leaf and to the last leaf
    // diverge always have a sibling; above it, only where the leaf's path turns
    // right does one exist.
    let inner = u64::BITS - (leaf_index ^ (tree_size - 1)).leading_zeros();
    let border = leaf_index.checked_shr(inner).unwrap_or(0).count_ones();
    Ok((inner + border) as usize)
}

/// Checks the size policy shared by consistency proving and verifying.
pub(crate) fn check_consistency_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size > new_size {
        return Err(ProofError::OldSizeLargerThanNewSize { old_size, new_size });
    }
    Ok(())
}

/// Lists the elements of the consistency proof between a tree of `old_size`
/// leaves and a tree of `new_size` leaves (RFC 9162 §2.1.4.1), in proof order.
///
/// Equal sizes give an empty proof; `old_size == 0` and `old_size > new_size`
/// are rejected.
pub fn consistency_proof_nodes(
    old_size: u64,
    new_size: u64,
) -> Result<Vec<NodeRecipe>, ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return Ok(Vec::new());
    }
    // Walk SUBPROOF(m, D[start:end], old_is_left_subtree) from the root down.
    let mut siblings_root_first = Vec::new();
    let mut old_tree_subtree = None;
    let (mut start, mut end) = (0u64, new_size);
    let mut old_is_left_subtree = true;
    loop {
        if old_size == end {
            if !old_is_left_subtree {
                old_tree_subtree = Some(NodeRecipe::for_aligned_range(start, end));
            }
            break;
        }
        let middle = start + largest_power_of_two_below(end - start);
        if old_size <= middle {
            siblings_root_first.push(NodeRecipe::for_aligned_range(middle, end));
            end = middle;
        } else {
            siblings_root_first.push(NodeRecipe::for_aligned_range(start, middle));
            start = middle;
            old_is_left_subtree = false;
        }
    }
    let mut proof: Vec<NodeRecipe> = old_tree_subtree.into_iter().collect();
    proof.extend(siblings_root_first.into_iter().rev());
    Ok(proof)
}

/// Number of hashes in the consistency proof from `old_size` to `new_size`.
pub fn consistency_proof_length(old_size: u64, new_size: u64) -> Result<usize, ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return Ok(0);
    }
    // Cheap: only counts the walk's steps, allocating O(log n) small vectors.
    Ok(consistency_proof_nodes(old_size, new_size)?.len())
}

/// Builds an inclusion proof by reading stored subtree hashes
/// (`O(log n)` reads).
pub fn inclusion_proof_from_subtree_hashes<Store: SubtreeHashes + ?Sized>(
    store: &Store,
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, SubtreeProofError<Store::Error>> {
    let recipes = inclusion_proof_nodes(leaf_index, tree_size)?;
    compute_recipes(store, &recipes)
}

/// Builds a consistency proof by reading stored subtree hashes
/// (`O(log n)` reads).
pub fn consistency_proof_from_subtree_hashes<Store: SubtreeHashes + ?Sized>(
    store: &Store,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, SubtreeProofError<Store::Error>> {
    let recipes = consistency_proof_nodes(old_size, new_size)?;
    compute_recipes(store, &recipes)
}

/// Computes the root of a tree of `tree_size` leaves from stored subtree
/// hashes (at most 64 reads).
pub fn root_from_subtree_hashes<Store: SubtreeHashes + ?Sized>(
    store: &Store,
    tree_size: u64,
) -> Result<Hash, Store::Error> {
    root_recipe(tree_size).try_compute(|level, index| store.subtree_hash(level, index))
}

fn compute_recipes<Store: SubtreeHashes + ?Sized>(
    store: &Store,
    recipes: &[NodeRecipe],
) -> Result<Vec<Hash>, SubtreeProofError<Store::Error>> {
    recipes
        .iter()
        .map(|recipe| {
            recipe
                .try_compute(|level, index| store.subtree_hash(level, index))
                .map_err(SubtreeProofError::Storage)
        })
        .collect()
}

/// Returns the first `tree_size` leaves, or an error if there are fewer.
fn leaf_prefix(leaves: &[Hash], tree_size: u64) -> Result<&[Hash], ProofError> {
    usize::try_from(tree_size)
        .ok()
        .and_then(|size| leaves.get(..size))
        .ok_or(ProofError::NotEnoughLeaves {
            tree_size,
            available: leaves.len(),
        })
}

/// Builds the inclusion proof of `leaf_index` in the tree made of the first
/// `tree_size` of `leaves`, following RFC 9162 §2.1.3.1 literally.
///
/// Costs `O(n)` hashing: meant for tests and offline verifiers.
pub fn inclusion_proof_from_leaves(
    leaves: &[Hash],
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    let tree = leaf_prefix(leaves, tree_size)?;
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    // leaf_index < tree_size <= leaves.len(), so it fits in usize.
    let leaf_position =
        usize::try_from(leaf_index).map_err(|_| ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        })?;
    let mut proof = Vec::new();
    inclusion_path(leaf_position, tree, &mut proof);
    Ok(proof)
}

/// RFC 9162 PATH(m, D[n]); appends the proof, leaf side first.
fn inclusion_path(leaf_position: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let split = largest_power_of_two_below_usize(leaves.len());
    let (left, right) = leaves.split_at(split);
    if leaf_position < split {
        inclusion_path(leaf_position, left, proof);
        proof.push(root_from_leaf_hashes(right));
    } else {
        inclusion_path(leaf_position - split, right, proof);
        proof.push(root_from_leaf_hashes(left));
    }
}

/// Builds the consistency proof from the first `old_size` to the first
/// `new_size` of `leaves`, following RFC 9162 §2.1.4.1 literally.
///
/// Same size policy as [`consistency_proof_nodes`]. Costs `O(n)` hashing:
/// meant for tests and offline verifiers.
pub fn consistency_proof_from_leaves(
    leaves: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    let new_tree = leaf_prefix(leaves, new_size)?;
    let old_leaf_count = leaf_prefix(leaves, old_size)?.len();
    let mut proof = Vec::new();
    consistency_subproof(old_leaf_count, new_tree, true, &mut proof);
    Ok(proof)
}

/// RFC 9162 SUBPROOF(m, D[n], b); appends the proof in order.
fn consistency_subproof(
    old_leaf_count: usize,
    leaves: &[Hash],
    old_is_left_subtree: bool,
    proof: &mut Vec<Hash>,
) {
    if old_leaf_count == leaves.len() {
        if !old_is_left_subtree {
            proof.push(root_from_leaf_hashes(leaves));
        }
        return;
    }
    let split = largest_power_of_two_below_usize(leaves.len());
    let (left, right) = leaves.split_at(split);
    if old_leaf_count <= split {
        consistency_subproof(old_leaf_count, left, old_is_left_subtree, proof);
        proof.push(root_from_leaf_hashes(right));
    } else {
        consistency_subproof(old_leaf_count - split, right, false, proof);
        proof.push(root_from_leaf_hashes(left));
    }
}
