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

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Length in bytes of a [`Hash`](type@Hash).
pub const HASH_LENGTH: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
pub const LEAF_HASH_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
pub const NODE_HASH_PREFIX: u8 = 0x01;

/// Position of a perfect subtree: `(level, index)`.
///
/// Level 0 index `i` is leaf `i`; level `L` index `i` covers the leaves
/// `[i * 2^L, (i + 1) * 2^L)`.
pub type SubtreePosition = (u8, u64);

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
fn largest_power_of_two_below(count: u64) -> u64 {
    1u64 << (u64::BITS - 1 - (count - 1).leading_zeros())
}

/// Largest power of two strictly smaller than `count`; `count` must be >= 2.
fn largest_power_of_two_below_usize(count: usize) -> usize {
    1usize << (usize::BITS - 1 - (count - 1).leading_zeros())
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
/// These are also the frontier of a [`CompactRange`] of that size.
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
fn check_consistency_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
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

/// Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2,
/// steps 1 to 4), after checking the proof has exactly the required length.
pub fn root_from_inclusion_proof(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let expected = inclusion_proof_length(leaf_index, tree_size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let mut first_node = leaf_index;
    let mut second_node = tree_size - 1;
    let mut computed = *leaf_hash;
    for sibling in proof {
        if second_node == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                actual: proof.len(),
            });
        }
        if first_node & 1 == 1 || first_node == second_node {
            computed = node_hash(sibling, &computed);
            if first_node & 1 == 0 {
                while first_node & 1 == 0 && first_node != 0 {
                    first_node >>= 1;
                    second_node >>= 1;
                }
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        first_node >>= 1;
        second_node >>= 1;
    }
    if second_node != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    Ok(computed)
}

/// Verifies that `leaf_hash` is leaf `leaf_index` of the tree of `tree_size`
/// leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// [`verify_inclusion`] for untrusted byte strings: every hash must be
/// exactly 32 bytes.
pub fn verify_inclusion_bytes<ProofElement: AsRef<[u8]>>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8],
    proof: &[ProofElement],
    root: &[u8],
) -> Result<(), ProofError> {
    let leaf_hash = hash_from_slice(leaf_hash, "leaf hash")?;
    let root = hash_from_slice(root, "root hash")?;
    let proof = proof
        .iter()
        .map(|element| hash_from_slice(element.as_ref(), "proof hash"))
        .collect::<Result<Vec<Hash>, ProofError>>()?;
    verify_inclusion(leaf_index, tree_size, &leaf_hash, &proof, &root)
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`
/// (RFC 9162 §2.1.4.2).
///
/// Policy: `old_size == 0` is rejected (even `0 → 0`), `old_size > new_size`
/// is rejected, equal sizes need an empty proof and equal roots, and a proof
/// with missing or extra hashes is rejected.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return verify_equal_size_consistency(old_size, old_root, new_root, proof.len());
    }
    let expected = consistency_proof_length(old_size, new_size)?;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: when the old tree is a perfect left subtree, its root is the
    // (implicit) first element of the path.
    let old_root_prefix = old_size.is_power_of_two().then_some(old_root);
    let mut path = old_root_prefix.into_iter().chain(proof.iter());
    let Some(first) = path.next() else {
        return Err(wrong_length);
    };
    let mut first_node = old_size - 1;
    let mut second_node = new_size - 1;
    while first_node & 1 == 1 {
        first_node >>= 1;
        second_node >>= 1;
    }
    let mut old_computed = *first;
    let mut new_computed = *first;
    for element in path {
        if second_node == 0 {
            return Err(wrong_length);
        }
        if first_node & 1 == 1 || first_node == second_node {
            old_computed = node_hash(element, &old_computed);
            new_computed = node_hash(element, &new_computed);
            if first_node & 1 == 0 {
                while first_node & 1 == 0 && first_node != 0 {
                    first_node >>= 1;
                    second_node >>= 1;
                }
            }
        } else {
            new_computed = node_hash(&new_computed, element);
        }
        first_node >>= 1;
        second_node >>= 1;
    }
    if second_node != 0 {
        return Err(wrong_length);
    }
    if old_computed != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if new_computed != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

fn verify_equal_size_consistency(
    tree_size: u64,
    old_root: &[u8],
    new_root: &[u8],
    proof_length: usize,
) -> Result<(), ProofError> {
    if proof_length != 0 {
        return Err(ProofError::WrongProofLength {
            expected: 0,
            actual: proof_length,
        });
    }
    if old_root != new_root {
        return Err(ProofError::EqualSizeRootsDiffer { tree_size });
    }
    Ok(())
}

/// [`verify_consistency`] for untrusted byte strings.
///
/// Every proof hash and, for different sizes, both roots must be exactly
/// 32 bytes. For equal sizes (`old_size == new_size > 0`) the roots are only
/// compared byte for byte, without a length check, as the reference
/// implementation does (its test vectors use short placeholder roots there);
/// nothing is proven about such a root beyond equality.
pub fn verify_consistency_bytes<ProofElement: AsRef<[u8]>>(
    old_size: u64,
    new_size: u64,
    old_root: &[u8],
    new_root: &[u8],
    proof: &[ProofElement],
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return verify_equal_size_consistency(old_size, old_root, new_root, proof.len());
    }
    let old_root = hash_from_slice(old_root, "old root hash")?;
    let new_root = hash_from_slice(new_root, "new root hash")?;
    let proof = proof
        .iter()
        .map(|element| hash_from_slice(element.as_ref(), "proof hash"))
        .collect::<Result<Vec<Hash>, ProofError>>()?;
    verify_consistency(old_size, new_size, &old_root, &new_root, &proof)
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
    /// A tree cannot hold more than `u64::MAX` leaves; at that size `append`
    /// changes nothing and returns an empty list (use
    /// [`try_append`](CompactRange::try_append) to get an error instead).
    pub fn append(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        self.try_append(leaf).unwrap_or_default()
    }

    /// Like [`append`](CompactRange::append), but fails with
    /// [`CompactRangeError::TreeFull`] when the tree holds `u64::MAX` leaves.
    pub fn try_append(&mut self, leaf: Hash) -> Result<Vec<(u8, u64, Hash)>, CompactRangeError> {
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
