//! Tests of `merkle::proof_construction`: proofs assembled from stored subtree hashes equal the
//! RFC 9162 recursion and verify, the node lists are as expected, and invalid requests and
//! missing nodes are reported.

mod support;

use std::collections::HashMap;

use kruispunt_transparency::merkle::{
    Hash, ProofError, SubtreePosition, SubtreeProofError, assemble, consistency_proof_from_leaves,
    consistency_proof_length, consistency_proof_nodes, inclusion_proof_from_leaves,
    inclusion_proof_from_subtree_hashes, inclusion_proof_length, inclusion_proof_nodes, leaf_hash,
    required_subtrees, root_from_leaf_hashes, root_nodes, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use support::{
    assembled_consistency_proof, assembled_inclusion_proof, generated_leaves, rfc6962_vectors,
    store_from_appends, vector_leaf_hashes, vector_roots,
};

fn size_and_index() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..=300, any::<u64>()).prop_flat_map(|(size, seed)| (Just(size), 0..size, Just(seed)))
}

fn old_and_new_size() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..=300, any::<u64>())
        .prop_flat_map(|(new_size, seed)| (1..=new_size, Just(new_size), Just(seed)))
}

#[test]
fn every_proof_of_the_8_leaf_tree_is_generated_consistently_and_verifies() {
    let vectors = rfc6962_vectors();
    let leaves = vector_leaf_hashes(&vectors);
    let roots = vector_roots(&vectors);
    let (store, _) = store_from_appends(&leaves);
    for new_size in 1..=8u64 {
        let new_root = roots[new_size as usize];
        for leaf_index in 0..new_size {
            let proof = inclusion_proof_from_leaves(&leaves, leaf_index, new_size).expect("valid");
            assert_eq!(
                assembled_inclusion_proof(&store, leaf_index, new_size),
                proof
            );
            assert_eq!(
                inclusion_proof_length(leaf_index, new_size).expect("valid"),
                proof.len()
            );
            verify_inclusion(
                leaf_index,
                new_size,
                &leaves[leaf_index as usize],
                &proof,
                &new_root,
            )
            .expect("generated inclusion proof verifies");
        }
        for old_size in 1..=new_size {
            let proof = consistency_proof_from_leaves(&leaves, old_size, new_size).expect("valid");
            assert_eq!(
                assembled_consistency_proof(&store, old_size, new_size),
                proof
            );
            verify_consistency(
                old_size,
                new_size,
                &roots[old_size as usize],
                &new_root,
                &proof,
            )
            .expect("generated consistency proof verifies");
        }
    }
}

#[test]
fn proof_requests_outside_the_tree_are_rejected() {
    let leaves: Vec<Hash> = (0u8..4).map(|byte| leaf_hash(&[byte])).collect();
    assert_eq!(
        inclusion_proof_nodes(4, 4),
        Err(ProofError::LeafIndexOutOfRange {
            leaf_index: 4,
            tree_size: 4
        })
    );
    assert!(inclusion_proof_nodes(0, 0).is_err());
    assert!(inclusion_proof_from_leaves(&leaves, 0, 5).is_err());
    assert_eq!(consistency_proof_nodes(0, 3), Err(ProofError::EmptyOldTree));
    assert_eq!(consistency_proof_nodes(0, 0), Err(ProofError::EmptyOldTree));
    assert_eq!(
        consistency_proof_nodes(3, 2),
        Err(ProofError::OldSizeLargerThanNewSize {
            old_size: 3,
            new_size: 2
        })
    );
    assert_eq!(consistency_proof_nodes(3, 3), Ok(Vec::new()));
    assert_eq!(consistency_proof_length(3, 3), Ok(0));
    assert!(consistency_proof_from_leaves(&leaves, 2, 5).is_err());
    // Missing stored nodes are reported, not papered over.
    let empty_store: HashMap<SubtreePosition, Hash> = HashMap::new();
    assert!(matches!(
        inclusion_proof_from_subtree_hashes(&empty_store, 0, 4),
        Err(SubtreeProofError::Storage(
            ProofError::MissingSubtreeHash { .. }
        ))
    ));
    assert!(matches!(
        inclusion_proof_from_subtree_hashes(&empty_store, 9, 4),
        Err(SubtreeProofError::Proof(
            ProofError::LeafIndexOutOfRange { .. }
        ))
    ));
    let recipes = inclusion_proof_nodes(0, 4).expect("valid");
    assert_eq!(
        assemble(&recipes, |_, _| None),
        Err(ProofError::MissingSubtreeHash { level: 0, index: 1 })
    );
}

#[test]
fn proof_node_lists_for_a_7_leaf_tree_are_as_expected() {
    // Tree of 7: leaf 6's siblings are MTH(4..6) = (1,2) and MTH(0..4) = (2,0).
    let recipes = inclusion_proof_nodes(6, 7).expect("valid");
    let positions: Vec<Vec<SubtreePosition>> = recipes
        .iter()
        .map(|recipe| recipe.subtrees().to_vec())
        .collect();
    assert_eq!(positions, vec![vec![(1, 2)], vec![(2, 0)]]);
    // Leaf 0 of 7: leaf 1, MTH(2..4), MTH(4..7) = fold of (1,2) and (0,6).
    let recipes = inclusion_proof_nodes(0, 7).expect("valid");
    let positions: Vec<Vec<SubtreePosition>> = recipes
        .iter()
        .map(|recipe| recipe.subtrees().to_vec())
        .collect();
    assert_eq!(
        positions,
        vec![vec![(0, 1)], vec![(1, 1)], vec![(1, 2), (0, 6)]]
    );
    assert_eq!(
        required_subtrees(&recipes),
        vec![(0, 1), (0, 6), (1, 1), (1, 2)]
    );
    assert_eq!(root_nodes(7), vec![(2, 0), (1, 2), (0, 6)]);
    assert_eq!(root_nodes(0), Vec::<SubtreePosition>::new());
}

proptest! {
    #[test]
    fn stored_node_inclusion_proofs_match_the_rfc_recursion_and_verify(
        (tree_size, leaf_index, seed) in size_and_index(),
        other_index_offset in 1u64..300,
        flip_position in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
    ) {
        let leaves = generated_leaves(seed, tree_size);
        // Only nodes complete at `tree_size` exist in the store.
        let (store, range) = store_from_appends(&leaves);
        let root = root_from_leaf_hashes(&leaves);
        prop_assert_eq!(range.root(), root);

        let recipes = inclusion_proof_nodes(leaf_index, tree_size).expect("valid");
        for position in required_subtrees(&recipes) {
            prop_assert!(store.contains_key(&position), "needed node {:?} not stored", position);
        }
        let assembled = assemble(&recipes, |level, index| store.get(&(level, index)).copied())
            .expect("stored");
        let reference = inclusion_proof_from_leaves(&leaves, leaf_index, tree_size).expect("valid");
        prop_assert_eq!(&assembled, &reference);
        prop_assert_eq!(
            inclusion_proof_length(leaf_index, tree_size).expect("valid"),
            reference.len()
        );
        let leaf = leaves[leaf_index as usize];
        prop_assert_eq!(verify_inclusion(leaf_index, tree_size, &leaf, &assembled, &root), Ok(()));

        // The proof does not prove another leaf, at this or another index.
        let other_index = (leaf_index + other_index_offset) % tree_size;
        if other_index != leaf_index {
            let other_leaf = leaves[other_index as usize];
            prop_assert!(verify_inclusion(leaf_index, tree_size, &other_leaf, &assembled, &root).is_err());
            prop_assert!(verify_inclusion(other_index, tree_size, &other_leaf, &assembled, &root).is_err());
        }
        prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf_hash(b"absent"), &assembled, &root).is_err());

        // One flipped bit anywhere (proof element, or root for an empty proof) fails.
        if assembled.is_empty() {
            let mut wrong_root = root;
            wrong_root[flip_position.index(32)] ^= 1 << flip_bit;
            prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf, &assembled, &wrong_root).is_err());
        } else {
            let mut tampered = assembled.clone();
            let byte = flip_position.index(tampered.len() * 32);
            tampered[byte / 32][byte % 32] ^= 1 << flip_bit;
            prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf, &tampered, &root).is_err());
            // Dropping or adding a hash fails too.
            prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf, &assembled[1..], &root).is_err());
        }
        let mut longer = assembled.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf, &longer, &root).is_err());
    }

    #[test]
    fn stored_node_consistency_proofs_match_the_rfc_recursion_and_verify(
        (old_size, new_size, seed) in old_and_new_size(),
        flip_position in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
    ) {
        let leaves = generated_leaves(seed, new_size);
        let (store, _) = store_from_appends(&leaves);
        let old_root = root_from_leaf_hashes(&leaves[..old_size as usize]);
        let new_root = root_from_leaf_hashes(&leaves);

        let recipes = consistency_proof_nodes(old_size, new_size).expect("valid");
        for position in required_subtrees(&recipes) {
            prop_assert!(store.contains_key(&position), "needed node {:?} not stored", position);
        }
        let assembled = assemble(&recipes, |level, index| store.get(&(level, index)).copied())
            .expect("stored");
        let reference = consistency_proof_from_leaves(&leaves, old_size, new_size).expect("valid");
        prop_assert_eq!(&assembled, &reference);
        prop_assert_eq!(
            consistency_proof_length(old_size, new_size).expect("valid"),
            reference.len()
        );
        prop_assert_eq!(
            verify_consistency(old_size, new_size, &old_root, &new_root, &assembled),
            Ok(())
        );

        let mut wrong_old_root = old_root;
        wrong_old_root[flip_position.index(32)] ^= 1 << flip_bit;
        prop_assert!(verify_consistency(old_size, new_size, &wrong_old_root, &new_root, &assembled).is_err());
        let mut wrong_new_root = new_root;
        wrong_new_root[flip_position.index(32)] ^= 1 << flip_bit;
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &wrong_new_root, &assembled).is_err());
        if !assembled.is_empty() {
            let mut tampered = assembled.clone();
            let byte = flip_position.index(tampered.len() * 32);
            tampered[byte / 32][byte % 32] ^= 1 << flip_bit;
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &tampered).is_err());
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &assembled[1..]).is_err());
        }
        let mut longer = assembled.clone();
        longer.push(new_root);
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &longer).is_err());
        // The proof does not fit other sizes.
        if old_size + 1 < new_size {
            let shifted_old_root = root_from_leaf_hashes(&leaves[..old_size as usize + 1]);
            prop_assert!(verify_consistency(old_size + 1, new_size, &shifted_old_root, &new_root, &assembled).is_err());
        }
    }
}
