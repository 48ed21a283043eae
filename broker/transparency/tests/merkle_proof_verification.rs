//! Tests of `merkle::proof_verification`: every valid vector verifies (and equals the generated
//! proof where the vector tree allows), every must-fail probe is rejected, and the equal-size
//! policy.

mod support;

use kruispunt_transparency::merkle::{
    Hash, ProofError, consistency_proof_from_leaves, consistency_proof_from_subtree_hashes,
    empty_root, hash_from_slice, inclusion_proof_from_leaves, inclusion_proof_from_subtree_hashes,
    leaf_hash, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};
use support::{
    assembled_consistency_proof, assembled_inclusion_proof, hex_byte_list, hex_bytes,
    rfc6962_vectors, store_from_appends, unsigned_field, vector_entries, vector_leaf_hashes,
    vector_roots,
};

#[test]
fn valid_inclusion_vectors_verify_and_match_generated_proofs() {
    let vectors = rfc6962_vectors();
    let leaves = vector_leaf_hashes(&vectors);
    let (store, _) = store_from_appends(&leaves);
    let entries = vector_entries(&vectors, "inclusion");
    let mut compared_with_generated = 0;
    for entry in entries {
        let leaf_index = unsigned_field(entry, "leaf_index");
        let tree_size = unsigned_field(entry, "tree_size");
        let leaf = hex_bytes(&entry["leaf_hash_hex"]);
        let root = hex_bytes(&entry["root_hex"]);
        let proof = hex_byte_list(&entry["proof_hex"]);
        let description = format!("{} ({leaf_index}/{tree_size})", entry["desc"]);
        verify_inclusion_bytes(leaf_index, tree_size, &leaf, &proof, &root)
            .unwrap_or_else(|error| panic!("{description}: {error}"));
        let typed_proof: Vec<Hash> = proof
            .iter()
            .map(|element| hash_from_slice(element, "proof hash").expect("32 bytes"))
            .collect();
        let leaf = hash_from_slice(&leaf, "leaf").expect("32 bytes");
        let root = hash_from_slice(&root, "root").expect("32 bytes");
        verify_inclusion(leaf_index, tree_size, &leaf, &typed_proof, &root)
            .unwrap_or_else(|error| panic!("{description}: {error}"));
        // Generated proofs must equal the published ones for the vector tree.
        let in_vector_tree = tree_size <= 8 && leaves.get(leaf_index as usize) == Some(&leaf);
        if in_vector_tree {
            assert_eq!(
                inclusion_proof_from_leaves(&leaves, leaf_index, tree_size).expect("valid"),
                typed_proof,
                "{description}: from leaves"
            );
            assert_eq!(
                assembled_inclusion_proof(&store, leaf_index, tree_size),
                typed_proof,
                "{description}: assembled"
            );
            assert_eq!(
                inclusion_proof_from_subtree_hashes(&store, leaf_index, tree_size).expect("stored"),
                typed_proof,
                "{description}: from subtree hashes"
            );
            compared_with_generated += 1;
        }
    }
    assert_eq!(entries.len(), 8);
    // All but the single-entry vector (whose leaf is not in the 8-leaf tree).
    assert_eq!(compared_with_generated, 7);
}

#[test]
fn every_inclusion_must_fail_probe_is_rejected() {
    let vectors = rfc6962_vectors();
    let entries = vector_entries(&vectors, "inclusion_must_fail");
    let mut accepted = Vec::new();
    let mut rejected = 0;
    for entry in entries {
        let result = verify_inclusion_bytes(
            unsigned_field(entry, "leaf_index"),
            unsigned_field(entry, "tree_size"),
            &hex_bytes(&entry["leaf_hash_hex"]),
            &hex_byte_list(&entry["proof_hex"]),
            &hex_bytes(&entry["root_hex"]),
        );
        match result {
            Ok(()) => accepted.push(format!("{} ({})", entry["desc"], entry["source_file"])),
            Err(_) => rejected += 1,
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted must-fail probes: {accepted:#?}"
    );
    assert_eq!(rejected, 92);
}

#[test]
fn valid_consistency_vectors_verify_and_match_generated_proofs() {
    let vectors = rfc6962_vectors();
    let leaves = vector_leaf_hashes(&vectors);
    let roots = vector_roots(&vectors);
    let (store, _) = store_from_appends(&leaves);
    let entries = vector_entries(&vectors, "consistency");
    let mut compared_with_generated = 0;
    for entry in entries {
        let old_size = unsigned_field(entry, "size1");
        let new_size = unsigned_field(entry, "size2");
        let old_root = hex_bytes(&entry["root1_hex"]);
        let new_root = hex_bytes(&entry["root2_hex"]);
        let proof = hex_byte_list(&entry["proof_hex"]);
        let description = format!("{} ({old_size}/{new_size})", entry["desc"]);
        verify_consistency_bytes(old_size, new_size, &old_root, &new_root, &proof)
            .unwrap_or_else(|error| panic!("{description}: {error}"));
        let roots_are_vector_roots = new_size <= 8
            && roots.get(old_size as usize).map(|root| root.as_slice()) == Some(&old_root[..])
            && roots.get(new_size as usize).map(|root| root.as_slice()) == Some(&new_root[..]);
        if roots_are_vector_roots {
            let typed_proof: Vec<Hash> = proof
                .iter()
                .map(|element| hash_from_slice(element, "proof hash").expect("32 bytes"))
                .collect();
            verify_consistency(
                old_size,
                new_size,
                &roots[old_size as usize],
                &roots[new_size as usize],
                &typed_proof,
            )
            .unwrap_or_else(|error| panic!("{description}: {error}"));
            assert_eq!(
                consistency_proof_from_leaves(&leaves, old_size, new_size).expect("valid"),
                typed_proof,
                "{description}: from leaves"
            );
            assert_eq!(
                assembled_consistency_proof(&store, old_size, new_size),
                typed_proof,
                "{description}: assembled"
            );
            assert_eq!(
                consistency_proof_from_subtree_hashes(&store, old_size, new_size).expect("stored"),
                typed_proof,
                "{description}: from subtree hashes"
            );
            compared_with_generated += 1;
        }
    }
    assert_eq!(entries.len(), 6);
    // All but the entry with placeholder roots ("don't care").
    assert_eq!(compared_with_generated, 5);
}

#[test]
fn every_consistency_must_fail_probe_is_rejected() {
    let vectors = rfc6962_vectors();
    let entries = vector_entries(&vectors, "consistency_must_fail");
    let mut accepted = Vec::new();
    let mut rejected = 0;
    for entry in entries {
        let result = verify_consistency_bytes(
            unsigned_field(entry, "size1"),
            unsigned_field(entry, "size2"),
            &hex_bytes(&entry["root1_hex"]),
            &hex_bytes(&entry["root2_hex"]),
            &hex_byte_list(&entry["proof_hex"]),
        );
        match result {
            Ok(()) => accepted.push(format!("{} ({})", entry["desc"], entry["source_file"])),
            Err(_) => rejected += 1,
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted must-fail probes: {accepted:#?}"
    );
    assert_eq!(rejected, 92);
}

#[test]
fn equal_size_consistency_needs_an_empty_proof_and_equal_roots() {
    let root = leaf_hash(b"x");
    let other = leaf_hash(b"y");
    assert_eq!(verify_consistency(5, 5, &root, &root, &[]), Ok(()));
    assert_eq!(
        verify_consistency(5, 5, &root, &other, &[]),
        Err(ProofError::EqualSizeRootsDiffer { tree_size: 5 })
    );
    assert_eq!(
        verify_consistency(5, 5, &root, &root, &[root]),
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1
        })
    );
    assert_eq!(
        verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
        Err(ProofError::EmptyOldTree)
    );
}
