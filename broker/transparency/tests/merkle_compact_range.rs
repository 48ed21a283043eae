//! Tests of `merkle::compact_range`: the nodes each append completes, roots at every size,
//! rebuilding from parts or stored hashes, and the refusal to grow past `u64::MAX` leaves.

mod support;

use std::collections::HashMap;

use kruispunt_transparency::merkle::{
    CompactRange, CompactRangeError, node_hash, root_from_leaf_hashes, root_from_subtree_hashes,
    root_nodes,
};
use proptest::prelude::*;
use support::{
    generated_leaves, hex_hash, rfc6962_vectors, store_from_appends, vector_leaf_hashes,
    vector_roots,
};

#[test]
fn complete_subtree_hashes_match_the_vectors() {
    let vectors = rfc6962_vectors();
    let leaves = vector_leaf_hashes(&vectors);
    let levels = vectors["complete_subtree_hashes_hex"]["levels"]
        .as_array()
        .expect("levels array");
    assert_eq!(levels.len(), 4);
    let (store, _) = store_from_appends(&leaves);
    let mut node_count = 0;
    for (level, hashes) in levels.iter().enumerate() {
        for (index, expected) in hashes.as_array().expect("level array").iter().enumerate() {
            let expected = hex_hash(expected);
            let width = 1usize << level;
            let by_recursion = root_from_leaf_hashes(&leaves[index * width..(index + 1) * width]);
            assert_eq!(by_recursion, expected, "level {level} index {index}");
            assert_eq!(
                store.get(&(level as u8, index as u64)),
                Some(&expected),
                "appended node level {level} index {index}"
            );
            node_count += 1;
        }
    }
    // Appending 8 leaves completes exactly these 15 nodes and nothing else.
    assert_eq!(node_count, 15);
    assert_eq!(store.len(), 15);
    // Spot-check node_hash against the vector directly.
    assert_eq!(
        node_hash(&leaves[0], &leaves[1]),
        hex_hash(&levels[1][0]),
        "node_hash(leaf 0, leaf 1)"
    );
}

#[test]
fn roots_for_sizes_0_to_8_match_the_vectors() {
    let vectors = rfc6962_vectors();
    let leaves = vector_leaf_hashes(&vectors);
    let roots = vector_roots(&vectors);
    let (store, _) = store_from_appends(&leaves);
    let mut range = CompactRange::new();
    for (size, expected_root) in roots.iter().enumerate() {
        assert_eq!(
            root_from_leaf_hashes(&leaves[..size]),
            *expected_root,
            "size {size}"
        );
        assert_eq!(range.size(), size as u64);
        assert_eq!(range.root(), *expected_root, "compact range size {size}");
        assert_eq!(
            root_from_subtree_hashes(&store, size as u64).expect("stored"),
            *expected_root,
            "stored nodes size {size}"
        );
        let rebuilt = CompactRange::from_parts(range.size(), range.frontier().to_vec())
            .expect("frontier length matches");
        assert_eq!(rebuilt.root(), *expected_root);
        assert_eq!(
            CompactRange::from_subtree_hashes(&store, size as u64).expect("stored"),
            range
        );
        if let Some(leaf) = leaves.get(size) {
            range.append(*leaf).expect("the tree is not full");
        }
    }
}

#[test]
fn compact_range_rejects_a_frontier_of_the_wrong_length() {
    assert_eq!(
        CompactRange::from_parts(3, vec![[0u8; 32]]),
        Err(CompactRangeError::FrontierLengthMismatch {
            tree_size: 3,
            expected: 2,
            actual: 1
        })
    );
    assert!(CompactRange::from_parts(0, Vec::new()).is_ok());
}

#[test]
fn compact_range_refuses_to_grow_past_u64_max() {
    let mut full =
        CompactRange::from_parts(u64::MAX, vec![[7u8; 32]; 64]).expect("64 frontier hashes");
    let before = full.clone();
    assert_eq!(full.append([1u8; 32]), Err(CompactRangeError::TreeFull));
    // A refused append changes nothing, and keeps being refused.
    assert_eq!(full, before);
    assert_eq!(full.append([2u8; 32]), Err(CompactRangeError::TreeFull));
    assert_eq!(full.size(), u64::MAX);
}

proptest! {
    // Quadratic in the size (a recursive root per prefix): fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn compact_range_root_equals_the_recursive_root_at_every_size(
        tree_size in 0u64..=300,
        seed in any::<u64>(),
        earlier_sizes in prop::collection::vec(any::<prop::sample::Index>(), 8),
    ) {
        let leaves = generated_leaves(seed, tree_size);
        let mut range = CompactRange::new();
        let mut store = HashMap::new();
        for (count, leaf) in leaves.iter().enumerate() {
            prop_assert_eq!(range.root(), root_from_leaf_hashes(&leaves[..count]));
            let created = range.append(*leaf).expect("the tree is not full");
            prop_assert_eq!(created[0], (0u8, count as u64, *leaf));
            prop_assert_eq!(created.len(), 1 + (count as u64).trailing_ones() as usize);
            for (level, index, hash) in created {
                // Every new node is the hash of its perfect subtree.
                let width = 1usize << level;
                let first = index as usize * width;
                prop_assert_eq!(hash, root_from_leaf_hashes(&leaves[first..first + width]));
                store.insert((level, index), hash);
            }
        }
        prop_assert_eq!(range.size(), tree_size);
        prop_assert_eq!(range.root(), root_from_leaf_hashes(&leaves));
        prop_assert_eq!(range.frontier().len(), tree_size.count_ones() as usize);
        prop_assert_eq!(range.frontier_positions(), root_nodes(tree_size));
        let rebuilt = CompactRange::from_parts(tree_size, range.frontier().to_vec()).expect("valid");
        prop_assert_eq!(&rebuilt, &range);
        prop_assert_eq!(CompactRange::from_subtree_hashes(&store, tree_size).expect("stored"), range);
        prop_assert_eq!(root_from_subtree_hashes(&store, tree_size).expect("stored"), root_from_leaf_hashes(&leaves));
        // Roots of earlier sizes are reachable from the stored nodes.
        for earlier in earlier_sizes.iter().map(|sample| sample.index(tree_size as usize + 1) as u64) {
            prop_assert_eq!(
                root_from_subtree_hashes(&store, earlier).expect("stored"),
                root_from_leaf_hashes(&leaves[..earlier as usize])
            );
        }
    }
}
