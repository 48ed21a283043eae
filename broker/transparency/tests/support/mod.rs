//! Test support shared by this crate's test files: the published vectors in `tests/vectors/`
//! (embedded with `include_str!`, see `tests/vectors/SOURCES.md`) and the helpers that build a
//! log's stored subtree hashes and proofs from them.
//!
//! Each test file uses a part of this module, so unused items are allowed here.

#![allow(dead_code)]

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_transparency::merkle::{
    CompactRange, Hash, SubtreePosition, assemble, consistency_proof_nodes, hash_from_slice,
    inclusion_proof_nodes, leaf_hash,
};
use serde_json::Value;

pub mod ledgers;

/// transparency-dev/merkle's RFC 6962 vectors, converted to hex.
pub const RFC6962_VECTORS_JSON: &str = include_str!("../vectors/rfc6962.json");

/// The C2SP tlog-checkpoint example signed note, byte-exact.
pub const CHECKPOINT_EXAMPLE: &str = include_str!("../vectors/checkpoint-example.txt");

/// Verifiable signed notes with their verifier keys.
pub const SIGNED_NOTES_JSON: &str = include_str!("../vectors/signed-notes.json");

// ---------------------------------------------------------------------------
// RFC 6962 vectors
// ---------------------------------------------------------------------------

pub fn rfc6962_vectors() -> Value {
    serde_json::from_str(RFC6962_VECTORS_JSON).expect("rfc6962.json is JSON")
}

pub fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("valid hex")
}

pub fn hex_hash(value: &Value) -> Hash {
    hash_from_slice(&hex_bytes(value), "vector hash").expect("32-byte hash")
}

pub fn hex_byte_list(value: &Value) -> Vec<Vec<u8>> {
    value
        .as_array()
        .expect("array of hex strings")
        .iter()
        .map(hex_bytes)
        .collect()
}

pub fn vector_entries<'a>(vectors: &'a Value, key: &str) -> &'a [Value] {
    vectors[key]
        .as_array()
        .unwrap_or_else(|| panic!("vectors have no array {key:?}"))
}

pub fn unsigned_field(entry: &Value, name: &str) -> u64 {
    entry[name]
        .as_u64()
        .unwrap_or_else(|| panic!("entry field {name:?} is not a u64: {entry}"))
}

pub fn vector_leaf_hashes(vectors: &Value) -> Vec<Hash> {
    vector_entries(vectors, "leaf_hashes_hex")
        .iter()
        .map(hex_hash)
        .collect()
}

pub fn vector_roots(vectors: &Value) -> Vec<Hash> {
    vector_entries(vectors, "roots")
        .iter()
        .enumerate()
        .map(|(size, entry)| {
            assert_eq!(unsigned_field(entry, "size"), size as u64);
            hex_hash(&entry["root_hex"])
        })
        .collect()
}

/// Builds the subtree-hash store a log would have persisted after appending
/// `leaves` one by one.
pub fn store_from_appends(leaves: &[Hash]) -> (HashMap<SubtreePosition, Hash>, CompactRange) {
    let mut store = HashMap::new();
    let mut range = CompactRange::new();
    for leaf in leaves {
        for (level, index, hash) in range.append(*leaf).expect("the tree is not full") {
            let previous = store.insert((level, index), hash);
            assert!(
                previous.is_none(),
                "node ({level},{index}) emitted twice by append"
            );
        }
    }
    (store, range)
}

pub fn assembled_inclusion_proof(
    store: &HashMap<SubtreePosition, Hash>,
    leaf_index: u64,
    tree_size: u64,
) -> Vec<Hash> {
    let recipes = inclusion_proof_nodes(leaf_index, tree_size).expect("valid request");
    assemble(&recipes, |level, index| store.get(&(level, index)).copied())
        .expect("all needed nodes are stored")
}

pub fn assembled_consistency_proof(
    store: &HashMap<SubtreePosition, Hash>,
    old_size: u64,
    new_size: u64,
) -> Vec<Hash> {
    let recipes = consistency_proof_nodes(old_size, new_size).expect("valid request");
    assemble(&recipes, |level, index| store.get(&(level, index)).copied())
        .expect("all needed nodes are stored")
}

/// Distinct leaf hashes for a tree, varied by `seed`.
pub fn generated_leaves(seed: u64, count: u64) -> Vec<Hash> {
    (0..count)
        .map(|index| leaf_hash(&[seed.to_be_bytes(), index.to_be_bytes()].concat()))
        .collect()
}

// ---------------------------------------------------------------------------
// Signed notes
// ---------------------------------------------------------------------------

pub struct NoteExample {
    pub verifier_key: String,
    /// As published: no newline after the signature line.
    pub signed_note: String,
}

/// The example of `signed-notes.json` signed by `key_name`.
pub fn note_example(key_name: &str) -> NoteExample {
    let examples: Value =
        serde_json::from_str(SIGNED_NOTES_JSON).expect("signed-notes.json is JSON");
    let example = examples["examples"]
        .as_array()
        .expect("an examples array")
        .iter()
        .find(|example| example["key_name"] == key_name)
        .unwrap_or_else(|| panic!("no signed-note example by {key_name}"));
    let field = |name: &str| {
        example[name]
            .as_str()
            .unwrap_or_else(|| panic!("example {key_name} has no string {name:?}"))
            .to_owned()
    };
    NoteExample {
        verifier_key: field("verifier_key"),
        signed_note: format!("{}\n{}", field("note_text"), field("signature_line")),
    }
}

/// Replaces the signature of the (only) signature line by `transform(decoded)`.
pub fn with_transformed_signature(note: &str, transform: impl Fn(&mut Vec<u8>)) -> String {
    let (body, signature_line) = note.rsplit_once('\n').expect("note has lines");
    let (prefix, encoded) = signature_line.rsplit_once(' ').expect("signature line");
    let mut decoded = BASE64.decode(encoded).expect("base64 signature");
    transform(&mut decoded);
    format!("{body}\n{prefix} {}", BASE64.encode(decoded))
}
