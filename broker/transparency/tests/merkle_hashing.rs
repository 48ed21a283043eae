//! Tests of `merkle::hashing`: the vector file itself, the empty root and RFC 6962 leaf hashes,
//! against transparency-dev/merkle's published vectors.

mod support;

use kruispunt_transparency::merkle::{
    CompactRange, Hash, empty_root, leaf_hash, root_from_leaf_hashes,
};
use support::{hex_bytes, rfc6962_vectors, vector_entries, vector_leaf_hashes, vector_roots};

#[test]
fn vector_file_has_the_documented_counts() {
    let vectors = rfc6962_vectors();
    assert_eq!(vector_entries(&vectors, "leaves_hex").len(), 8);
    assert_eq!(vector_entries(&vectors, "leaf_hashes_hex").len(), 8);
    assert_eq!(vector_entries(&vectors, "roots").len(), 9);
    assert_eq!(vector_entries(&vectors, "inclusion").len(), 8);
    assert_eq!(vector_entries(&vectors, "consistency").len(), 6);
    assert_eq!(vector_entries(&vectors, "inclusion_must_fail").len(), 92);
    assert_eq!(vector_entries(&vectors, "consistency_must_fail").len(), 92);
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    let vectors = rfc6962_vectors();
    assert_eq!(empty_root(), vector_roots(&vectors)[0]);
    assert_eq!(root_from_leaf_hashes(&[]), empty_root());
    assert_eq!(CompactRange::new().root(), empty_root());
}

#[test]
fn leaf_inputs_hash_to_the_vector_leaf_hashes() {
    let vectors = rfc6962_vectors();
    let computed: Vec<Hash> = vector_entries(&vectors, "leaves_hex")
        .iter()
        .map(|input| leaf_hash(&hex_bytes(input)))
        .collect();
    assert_eq!(computed, vector_leaf_hashes(&vectors));
}
