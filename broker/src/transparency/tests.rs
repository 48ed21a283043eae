//! Tests of the transparency-log core against published vectors and
//! properties.
//!
//! The vectors are read at run time from the shared folder
//! (`$KRUISPUNT_SHARED_DIR`, else `<broker crate>/../../shared`):
//! `vectors/rfc6962.json` (transparency-dev/merkle), `vectors/SOURCES.md`
//! (which quotes two verifiable signed notes with their verifier keys) and
//! `vectors/checkpoint-example.txt` (C2SP tlog-checkpoint example).

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use serde_json::Value;

use super::checkpoint::{
    Checkpoint, CheckpointError, sign_checkpoint, verify_checkpoint, verify_checkpoint_with_origin,
};
use super::merkle::{
    CompactRange, CompactRangeError, Hash, ProofError, SubtreePosition, SubtreeProofError,
    assemble, consistency_proof_from_leaves, consistency_proof_from_subtree_hashes,
    consistency_proof_length, consistency_proof_nodes, empty_root, hash_from_slice,
    inclusion_proof_from_leaves, inclusion_proof_from_subtree_hashes, inclusion_proof_length,
    inclusion_proof_nodes, leaf_hash, node_hash, required_subtrees, root_from_leaf_hashes,
    root_from_subtree_hashes, root_nodes, verify_consistency, verify_consistency_bytes,
    verify_inclusion, verify_inclusion_bytes,
};
use super::note::{
    MAX_SIGNATURES_PER_NOTE, NoteError, NoteSigner, NoteVerifier, key_id, parse_note,
};

// ---------------------------------------------------------------------------
// Loading the shared vectors
// ---------------------------------------------------------------------------

fn shared_dir() -> PathBuf {
    match std::env::var_os("KRUISPUNT_SHARED_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    }
}

fn read_shared_vector_file(name: &str) -> String {
    let path = shared_dir().join("vectors").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} (set KRUISPUNT_SHARED_DIR to the shared folder): {error}",
            path.display()
        )
    })
}

fn rfc6962_vectors() -> Value {
    serde_json::from_str(&read_shared_vector_file("rfc6962.json")).expect("rfc6962.json is JSON")
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("valid hex")
}

fn hex_hash(value: &Value) -> Hash {
    hash_from_slice(&hex_bytes(value), "vector hash").expect("32-byte hash")
}

fn hex_byte_list(value: &Value) -> Vec<Vec<u8>> {
    value
        .as_array()
        .expect("array of hex strings")
        .iter()
        .map(hex_bytes)
        .collect()
}

fn vector_entries<'a>(vectors: &'a Value, key: &str) -> &'a [Value] {
    vectors[key]
        .as_array()
        .unwrap_or_else(|| panic!("vectors have no array {key:?}"))
}

fn unsigned_field(entry: &Value, name: &str) -> u64 {
    entry[name]
        .as_u64()
        .unwrap_or_else(|| panic!("entry field {name:?} is not a u64: {entry}"))
}

fn vector_leaf_hashes(vectors: &Value) -> Vec<Hash> {
    vector_entries(vectors, "leaf_hashes_hex")
        .iter()
        .map(hex_hash)
        .collect()
}

fn vector_roots(vectors: &Value) -> Vec<Hash> {
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
fn store_from_appends(leaves: &[Hash]) -> (HashMap<SubtreePosition, Hash>, CompactRange) {
    let mut store = HashMap::new();
    let mut range = CompactRange::new();
    for leaf in leaves {
        for (level, index, hash) in range.append(*leaf) {
            let previous = store.insert((level, index), hash);
            assert!(
                previous.is_none(),
                "node ({level},{index}) emitted twice by append"
            );
        }
    }
    (store, range)
}

fn assembled_inclusion_proof(
    store: &HashMap<SubtreePosition, Hash>,
    leaf_index: u64,
    tree_size: u64,
) -> Vec<Hash> {
    let recipes = inclusion_proof_nodes(leaf_index, tree_size).expect("valid request");
    assemble(&recipes, |level, index| store.get(&(level, index)).copied())
        .expect("all needed nodes are stored")
}

fn assembled_consistency_proof(
    store: &HashMap<SubtreePosition, Hash>,
    old_size: u64,
    new_size: u64,
) -> Vec<Hash> {
    let recipes = consistency_proof_nodes(old_size, new_size).expect("valid request");
    assemble(&recipes, |level, index| store.get(&(level, index)).copied())
        .expect("all needed nodes are stored")
}

// ---------------------------------------------------------------------------
// RFC 6962 vectors
// ---------------------------------------------------------------------------

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
            range.append(*leaf);
        }
    }
}

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
    assert_eq!(full.try_append([1u8; 32]), Err(CompactRangeError::TreeFull));
    assert!(full.append([1u8; 32]).is_empty());
    assert_eq!(full.size(), u64::MAX);
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

// ---------------------------------------------------------------------------
// Signed notes
// ---------------------------------------------------------------------------

/// The indented code blocks of the "Verifiable signed-note examples" section
/// of SOURCES.md (7-space indent: a 4-space code block inside a list item).
fn signed_note_example_blocks() -> Vec<String> {
    const CODE_INDENT: &str = "       ";
    let sources = read_shared_vector_file("SOURCES.md");
    let section = sources
        .split("## Verifiable signed-note examples")
        .nth(1)
        .expect("SOURCES.md has the signed-note examples section");
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut pending_blank_lines = 0;
    for line in section.lines() {
        if let Some(code) = line.strip_prefix(CODE_INDENT) {
            if !current.is_empty() {
                current.extend(std::iter::repeat_n("", pending_blank_lines));
            }
            pending_blank_lines = 0;
            current.push(code);
        } else if line.trim().is_empty() {
            pending_blank_lines += 1;
        } else {
            if !current.is_empty() {
                blocks.push(current.join("\n"));
                current.clear();
            }
            pending_blank_lines = 0;
        }
    }
    if !current.is_empty() {
        blocks.push(current.join("\n"));
    }
    blocks
}

struct NoteExample {
    verifier_key: String,
    /// As quoted: no newline after the signature line.
    signed_note: String,
}

fn note_example(key_name: &str) -> NoteExample {
    let blocks = signed_note_example_blocks();
    let verifier_key = blocks
        .iter()
        .find(|block| block.starts_with(&format!("{key_name}+")))
        .unwrap_or_else(|| panic!("no verifier key for {key_name} in SOURCES.md"))
        .clone();
    let signed_note = blocks
        .iter()
        .find(|block| block.contains(&format!("\n\u{2014} {key_name} ")))
        .unwrap_or_else(|| panic!("no signed note by {key_name} in SOURCES.md"))
        .clone();
    NoteExample {
        verifier_key,
        signed_note,
    }
}

/// Replaces the signature of the (only) signature line by `transform(decoded)`.
fn with_transformed_signature(note: &str, transform: impl Fn(&mut Vec<u8>)) -> String {
    let (body, signature_line) = note.rsplit_once('\n').expect("note has lines");
    let (prefix, encoded) = signature_line.rsplit_once(' ').expect("signature line");
    let mut decoded = BASE64.decode(encoded).expect("base64 signature");
    transform(&mut decoded);
    format!("{body}\n{prefix} {}", BASE64.encode(decoded))
}

#[test]
fn c2sp_example_note_verifies() {
    let example = note_example("example.com/foo");
    let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
    assert_eq!(verifier.name(), "example.com/foo");
    assert_eq!(verifier.key_id(), 0x530d903a);
    assert_eq!(verifier.verifier_key_string(), example.verifier_key);
    assert!(!example.signed_note.ends_with('\n'));
    let verified = verifier
        .verify(&example.signed_note)
        .expect("signature verifies");
    assert_eq!(verified.text, "This is an example message.\n");
    assert_eq!(verified.verified_signature.key_id, 0x530d903a);
    assert!(verified.other_signatures.is_empty());
    // The canonical form, with the final newline, verifies too.
    let canonical = format!("{}\n", example.signed_note);
    assert_eq!(
        verifier.verify(&canonical).expect("verifies").into_text(),
        "This is an example message.\n"
    );
}

#[test]
fn go_checksum_database_tree_head_verifies_and_is_a_checkpoint() {
    let example = note_example("sum.golang.org");
    let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
    assert_eq!(verifier.key_id(), 0x033de0ae);
    let verified = verifier
        .verify(&example.signed_note)
        .expect("signature verifies");
    let checkpoint = Checkpoint::parse(&verified.text).expect("body is a checkpoint");
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.tree_size, 31_700_353);
    assert_eq!(
        BASE64.encode(checkpoint.root_hash),
        "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs="
    );
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_note_text(), verified.text);
    assert_eq!(
        verify_checkpoint(&verifier, &example.signed_note).expect("verifies"),
        checkpoint
    );
    assert_eq!(
        verify_checkpoint_with_origin(&verifier, "go.sum database tree", &example.signed_note)
            .expect("origin matches"),
        checkpoint
    );
    assert!(matches!(
        verify_checkpoint_with_origin(&verifier, "sum.golang.org", &example.signed_note),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn a_one_bit_change_in_the_text_breaks_the_signature() {
    for key_name in ["example.com/foo", "sum.golang.org"] {
        let example = note_example(key_name);
        let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
        let text_length = example.signed_note.find("\n\n").expect("blank line") + 1;
        for position in 0..text_length {
            let mut bytes = example.signed_note.clone().into_bytes();
            // Flipping the lowest bit keeps ASCII text valid UTF-8.
            bytes[position] ^= 0x01;
            let tampered = String::from_utf8(bytes).expect("still UTF-8");
            assert!(
                verifier.verify(&tampered).is_err(),
                "{key_name}: flipped bit at byte {position} still verifies"
            );
        }
    }
}

#[test]
fn a_one_bit_change_in_the_signature_breaks_it() {
    for key_name in ["example.com/foo", "sum.golang.org"] {
        let example = note_example(key_name);
        let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
        // Bytes 0..4 are the key ID, 4..68 the Ed25519 signature: flip one
        // bit in every signature byte, varying which bit.
        for byte in 4..68 {
            let tampered = with_transformed_signature(&example.signed_note, |signature| {
                signature[byte] ^= 1 << (byte % 8);
            });
            let name = verifier.name().to_owned();
            assert!(
                matches!(
                    verifier.verify(&tampered),
                    Err(NoteError::InvalidSignature { name: ref n, .. }) if *n == name
                ),
                "{key_name}: flipped bit in signature byte {byte} not reported as invalid"
            );
        }
        // A changed key ID makes the line belong to an unknown key.
        let other_key_id = with_transformed_signature(&example.signed_note, |signature| {
            signature[0] ^= 0x80;
        });
        assert!(matches!(
            verifier.verify(&other_key_id),
            Err(NoteError::NoSignatureByKey { .. })
        ));
    }
}

#[test]
fn a_wrong_key_does_not_verify_a_note() {
    let foo = note_example("example.com/foo");
    let golang = note_example("sum.golang.org");
    let golang_verifier = NoteVerifier::from_verifier_key(&golang.verifier_key).expect("valid");
    assert!(matches!(
        golang_verifier.verify(&foo.signed_note),
        Err(NoteError::NoSignatureByKey { .. })
    ));
    // Same name, different key (and so different key ID): unknown key.
    let impostor = NoteSigner::generate("example.com/foo").expect("key generation");
    assert!(matches!(
        impostor.verifier().verify(&foo.signed_note),
        Err(NoteError::NoSignatureByKey { .. })
    ));
    // Same name and key ID but a different public key: the signature fails.
    let foo_verifier = NoteVerifier::from_verifier_key(&foo.verifier_key).expect("valid");
    let forged = impostor
        .sign("This is an example message.\n")
        .expect("signs");
    let forged = with_transformed_signature(forged.trim_end_matches('\n'), |signature| {
        signature[..4].copy_from_slice(&0x530d903a_u32.to_be_bytes());
    });
    assert!(matches!(
        foo_verifier.verify(&forged),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A failing signature by the trusted key rejects the whole note, even if
    // another line by the same key verifies.
    let forged_line = forged.rsplit_once('\n').expect("lines").1;
    let both = format!("{}\n{forged_line}\n", foo.signed_note);
    assert!(matches!(
        foo_verifier.verify(&both),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn checkpoint_example_parses_but_has_no_known_key() {
    let signed = read_shared_vector_file("checkpoint-example.txt");
    let parsed = parse_note(&signed).expect("well-formed signed note");
    let checkpoint = Checkpoint::parse(&parsed.text).expect("valid checkpoint");
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.tree_size, 20_852_163);
    assert_eq!(
        BASE64.encode(checkpoint.root_hash),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_note_text(), parsed.text);
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].key_name, "example.com/behind-the-sofa");
    assert_eq!(parsed.signatures[0].key_id, 0x033de0ae);
    assert_eq!(parsed.signatures[0].signature.len(), 64);
    let someone = NoteSigner::generate("example.com/behind-the-sofa").expect("key generation");
    assert!(matches!(
        verify_checkpoint(&someone.verifier(), &signed),
        Err(CheckpointError::Note(NoteError::NoSignatureByKey { .. }))
    ));
}

#[test]
fn generated_keys_sign_and_verify_round_trip() {
    let signer = NoteSigner::generate("kruispunt.example/ledger").expect("key generation");
    let note = signer.sign("hello\nworld\n").expect("signs");
    assert!(note.starts_with("hello\nworld\n\n\u{2014} kruispunt.example/ledger "));
    assert!(note.ends_with('\n'));
    let verifier = NoteVerifier::from_verifier_key(&signer.verifier_key_string()).expect("valid");
    assert_eq!(verifier, signer.verifier());
    assert_eq!(verifier.key_id(), signer.key_id());
    assert_eq!(
        signer.key_id(),
        key_id(signer.name(), 0x01, &signer.public_key_bytes())
    );
    assert_eq!(
        verifier.verify(&note).expect("verifies").text,
        "hello\nworld\n"
    );
    // The secret key round-trips and signs identically (Ed25519 is deterministic).
    let restored = NoteSigner::from_secret_bytes("kruispunt.example/ledger", signer.secret_bytes())
        .expect("valid");
    assert_eq!(restored.sign("hello\nworld\n").expect("signs"), note);
    // Debug output does not leak the secret key.
    let debug = format!("{signer:?}");
    assert!(debug.contains("redacted"));
    assert!(!debug.contains(&format!("{:?}", signer.secret_bytes())));
    // Texts containing empty lines are fine: the last blank line separates.
    let with_blank_line = signer.sign("a\n\nb\n").expect("signs");
    assert_eq!(
        verifier.verify(&with_blank_line).expect("verifies").text,
        "a\n\nb\n"
    );
    // Two generated keys differ.
    let other = NoteSigner::generate("kruispunt.example/ledger").expect("key generation");
    assert_ne!(other.public_key_bytes(), signer.public_key_bytes());
}

#[test]
fn unknown_signatures_are_ignored_and_returned() {
    let log = NoteSigner::from_secret_bytes("log.example", [1u8; 32]).expect("valid");
    let witness = NoteSigner::from_secret_bytes("witness.example", [2u8; 32]).expect("valid");
    let text = "log.example\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let note = format!(
        "{}{}",
        log.sign(text).expect("signs"),
        witness.signature_line(text).expect("signs")
    );
    let verified = log
        .verifier()
        .verify(&note)
        .expect("log signature verifies");
    assert_eq!(verified.other_signatures.len(), 1);
    assert_eq!(verified.other_signatures[0].key_name, "witness.example");
    let by_witness = witness.verifier().verify(&note).expect("witness verifies");
    assert_eq!(by_witness.verified_signature.key_name, "witness.example");
}

#[test]
fn invalid_key_names_are_rejected() {
    for name in [
        "",
        "a+b",
        "a b",
        "tab\tname",
        "no\u{a0}break",
        "line\nbreak",
    ] {
        assert_eq!(
            NoteSigner::from_secret_bytes(name, [3u8; 32]).map(|signer| signer.key_id()),
            Err(NoteError::InvalidKeyName(name.to_owned())),
            "{name:?}"
        );
    }
    assert!(NoteVerifier::from_public_key("a b", [0u8; 32]).is_err());
}

#[test]
fn malformed_verifier_keys_are_rejected() {
    let signer = NoteSigner::from_secret_bytes("example.org", [4u8; 32]).expect("valid");
    let good = signer.verifier_key_string();
    let (name_and_id, key_data) = good.rsplit_once('+').expect("three parts");
    let key_id_hex = &name_and_id["example.org+".len()..];
    let cases = [
        "example.org".to_owned(),
        "example.org+1234".to_owned(),
        format!("example.org+{key_id_hex}"),
        format!("example.org+zzzzzzzz+{key_data}"),
        format!("example.org+0{key_id_hex}+{key_data}"),
        format!("example.org+00000000+{key_data}"),
        format!("other.org+{key_id_hex}+{key_data}"),
        format!("example.org+{key_id_hex}+{key_data}x"),
        format!("example.org+{key_id_hex}+"),
        format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x02u8][..], &signer.public_key_bytes()].concat())
        ),
        format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x01u8][..], &signer.public_key_bytes()[..31]].concat())
        ),
        format!("exa mple.org+{key_id_hex}+{key_data}"),
    ];
    for case in &cases {
        assert!(
            NoteVerifier::from_verifier_key(case).is_err(),
            "accepted malformed verifier key {case:?}"
        );
    }
    assert!(NoteVerifier::from_verifier_key(&good).is_ok());
    assert_eq!(
        NoteVerifier::from_verifier_key(&format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x02u8][..], &signer.public_key_bytes()].concat())
        )),
        Err(NoteError::UnsupportedSignatureType(0x02))
    );
}

#[test]
fn malformed_notes_are_rejected() {
    let signer = NoteSigner::from_secret_bytes("example.org", [5u8; 32]).expect("valid");
    let verifier = signer.verifier();
    assert_eq!(
        signer.sign("no final newline"),
        Err(NoteError::TextMissingFinalNewline)
    );
    assert_eq!(
        signer.sign("carriage\r\n"),
        Err(NoteError::ForbiddenControlCharacter(0x0d))
    );
    let good = signer.sign("text\n").expect("signs");
    let signature_line = good.strip_prefix("text\n\n").expect("layout");
    let signature_line = signature_line.trim_end_matches('\n');

    let no_blank_line = format!("text\n{signature_line}\n");
    assert_eq!(
        verifier.verify(&no_blank_line),
        Err(NoteError::MissingSignatureSeparator)
    );
    assert_eq!(verifier.verify("text\n\n"), Err(NoteError::NoSignatures));
    let no_dash = format!("text\n\n{}", signature_line.replacen('\u{2014}', "-", 1));
    assert!(matches!(
        verifier.verify(&no_dash),
        Err(NoteError::MalformedSignatureLine { line_number: 1 })
    ));
    let bad_base64 = format!("{}!\n", good.trim_end_matches('\n'));
    assert!(matches!(
        verifier.verify(&bad_base64),
        Err(NoteError::InvalidSignatureEncoding { line_number: 1 })
    ));
    let too_short = "text\n\n\u{2014} example.org AAAA\n";
    assert!(matches!(
        verifier.verify(too_short),
        Err(NoteError::InvalidSignatureEncoding { line_number: 1 })
    ));
    let bad_name = format!(
        "text\n\n\u{2014} exam+ple.org {}\n",
        BASE64.encode([0u8; 68])
    );
    assert!(matches!(
        verifier.verify(&bad_name),
        Err(NoteError::MalformedSignatureLine { .. })
    ));
    let tab = good.replacen("text", "te\txt", 1);
    assert_eq!(
        verifier.verify(&tab),
        Err(NoteError::ForbiddenControlCharacter(0x09))
    );
    let trailing_blank_line = format!("{good}\n");
    assert_eq!(
        verifier.verify(&trailing_blank_line),
        Err(NoteError::NoSignatures)
    );
    let unknown_line = format!("\u{2014} other.example {}\n", BASE64.encode([9u8; 68]));
    let crowded = format!("{good}{}", unknown_line.repeat(MAX_SIGNATURES_PER_NOTE));
    assert_eq!(verifier.verify(&crowded), Err(NoteError::TooManySignatures));
    let sixteen = format!("{good}{}", unknown_line.repeat(15));
    assert!(
        verifier.verify(&sixteen).is_ok(),
        "16 signatures must be accepted"
    );
}

// ---------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------

#[test]
fn checkpoints_sign_verify_and_round_trip_with_extensions() {
    let signer = NoteSigner::from_secret_bytes("kruispunt.example/ledger", [6u8; 32]).expect("ok");
    let mut checkpoint = Checkpoint::new("kruispunt.example/ledger", 0, empty_root());
    checkpoint.extensions = vec!["extension one".to_owned(), "two".to_owned()];
    let text = checkpoint.to_note_text();
    assert_eq!(
        text,
        "kruispunt.example/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension one\ntwo\n"
    );
    assert_eq!(Checkpoint::parse(&text), Ok(checkpoint.clone()));
    let signed = sign_checkpoint(&signer, &checkpoint).expect("signs");
    assert_eq!(
        verify_checkpoint(&signer.verifier(), &signed),
        Ok(checkpoint.clone())
    );
    let other = NoteSigner::from_secret_bytes("kruispunt.example/ledger", [7u8; 32]).expect("ok");
    assert!(verify_checkpoint(&other.verifier(), &signed).is_err());

    let invalid = Checkpoint::new("", 1, empty_root());
    assert_eq!(
        sign_checkpoint(&signer, &invalid),
        Err(CheckpointError::EmptyOrigin)
    );
    let mut invalid = Checkpoint::new("two\nlines", 1, empty_root());
    assert!(sign_checkpoint(&signer, &invalid).is_err());
    invalid.origin = "fine".to_owned();
    invalid.extensions = vec![String::new()];
    assert_eq!(
        sign_checkpoint(&signer, &invalid),
        Err(CheckpointError::EmptyExtensionLine(1))
    );
}

#[test]
fn checkpoint_parsing_is_strict() {
    let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    assert!(Checkpoint::parse(&format!("origin\n0\n{root}\n")).is_ok());
    assert_eq!(
        Checkpoint::parse(&format!("origin\n18446744073709551615\n{root}\n"))
            .expect("u64::MAX")
            .tree_size,
        u64::MAX
    );
    let cases: Vec<(String, CheckpointError)> = vec![
        (
            format!("origin\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        (
            "origin\n1\n".to_owned(),
            CheckpointError::MissingLine("root hash"),
        ),
        (
            "origin\n".to_owned(),
            CheckpointError::MissingLine("tree size"),
        ),
        (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
        (
            format!("origin\n01\n{root}\n"),
            CheckpointError::InvalidTreeSize("01".to_owned()),
        ),
        (
            format!("origin\n00\n{root}\n"),
            CheckpointError::InvalidTreeSize("00".to_owned()),
        ),
        (
            format!("origin\n+1\n{root}\n"),
            CheckpointError::InvalidTreeSize("+1".to_owned()),
        ),
        (
            format!("origin\n-1\n{root}\n"),
            CheckpointError::InvalidTreeSize("-1".to_owned()),
        ),
        (
            format!("origin\n 1\n{root}\n"),
            CheckpointError::InvalidTreeSize(" 1".to_owned()),
        ),
        (
            format!("origin\n\n{root}\n"),
            CheckpointError::InvalidTreeSize(String::new()),
        ),
        (
            format!("origin\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidTreeSize("18446744073709551616".to_owned()),
        ),
        (
            "origin\n1\nnot base64!\n".to_owned(),
            CheckpointError::InvalidRootHashEncoding,
        ),
        (
            format!("origin\n1\n{}\n", root.trim_end_matches('=')),
            CheckpointError::InvalidRootHashEncoding,
        ),
        (
            format!("origin\n1\n{}\n", BASE64.encode([0u8; 31])),
            CheckpointError::WrongRootHashLength(31),
        ),
        (
            format!("origin\n1\n{}\n", BASE64.encode([0u8; 33])),
            CheckpointError::WrongRootHashLength(33),
        ),
        (
            format!("origin\n1\n{root}\n\n"),
            CheckpointError::EmptyExtensionLine(1),
        ),
        (
            format!("origin\n1\n{root}\next\n\n"),
            CheckpointError::EmptyExtensionLine(2),
        ),
        (
            format!("ori\rgin\n1\n{root}\n"),
            CheckpointError::ForbiddenCharacter("origin"),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(expected), "{text:?}");
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Distinct leaf hashes for a tree, varied by `seed`.
fn generated_leaves(seed: u64, count: u64) -> Vec<Hash> {
    (0..count)
        .map(|index| leaf_hash(&[seed.to_be_bytes(), index.to_be_bytes()].concat()))
        .collect()
}

fn size_and_index() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..=300, any::<u64>()).prop_flat_map(|(size, seed)| (Just(size), 0..size, Just(seed)))
}

fn old_and_new_size() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..=300, any::<u64>())
        .prop_flat_map(|(new_size, seed)| (1..=new_size, Just(new_size), Just(seed)))
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

    #[test]
    fn checkpoints_round_trip_through_text_and_signature(
        origin in "[a-z0-9./-]{1,40}",
        tree_size in any::<u64>(),
        root_hash in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,20}", 0..3),
    ) {
        let checkpoint = Checkpoint { origin, tree_size, root_hash, extensions };
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_note_text()), Ok(checkpoint.clone()));
        let signer = NoteSigner::from_secret_bytes("prop.example", [8u8; 32]).expect("valid");
        let signed = sign_checkpoint(&signer, &checkpoint).expect("signs");
        prop_assert_eq!(verify_checkpoint(&signer.verifier(), &signed), Ok(checkpoint));
    }
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
            let created = range.append(*leaf);
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
