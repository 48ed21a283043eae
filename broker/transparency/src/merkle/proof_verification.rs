//! Proof verification: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency), with the reference implementation's policy: proofs with
//! missing or extra hashes are rejected, a consistency proof from an empty
//! tree (old size 0) is rejected, even from 0 to 0, and equal sizes need an
//! empty proof and equal roots. The `_bytes` variants take untrusted byte
//! strings and check hash lengths first.

use super::ProofError;
use super::hashing::{Hash, hash_from_slice, node_hash};
use super::proof_construction::{
    check_consistency_sizes, consistency_proof_length, inclusion_proof_length,
};

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
