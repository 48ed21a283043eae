//! `kruispunt-transparency` checked against an implementation we did not write: Cloudflare's
//! `tlog_tiles` (RFC 6962 hashing, stored hashes, record and tree proofs, C2SP tlog-checkpoint
//! texts) and `signed_note` (C2SP signed notes with Ed25519 keys), both ports of Go's
//! `golang.org/x/mod/sumdb` packages, from crates.io, used as dev-dependencies only.
//!
//! Our own tests check published vectors, which cover a few small trees and a handful of notes.
//! These property tests compare the two implementations on random input instead, so a mistake
//! that both the vectors and our reading of the RFC share would still show up as a disagreement:
//!
//! * trees of 0 to 2,000 random leaves: the same leaf hashes, and the same root at every size
//!   (our `CompactRange` and stored-subtree root against `tlog_tiles::tree_hash` over its own
//!   stored hashes, and our recursive root of the leaves at the final size);
//! * inclusion proofs at random sizes and indices: ours (from stored subtree hashes, as the
//!   ledger builds them, and from the leaves) equal theirs (`prove_record`), ours verify with
//!   `check_record` and theirs with our `verify_inclusion`;
//! * consistency proofs between random sizes: the same, with `prove_tree` and `check_tree`;
//! * checkpoints and signed notes: their checkpoint text equals ours for the same origin, size
//!   and root; a checkpoint we sign verifies with their verifier built from our verifier key
//!   string and parses as the same checkpoint; one they sign, with a key they generate, verifies
//!   with ours built from their verifier key string; the same Ed25519 secret gives the same key
//!   ID, verifier key and signed note byte for byte (Ed25519 signatures are deterministic);
//! * refusals, both ways: a proof with one flipped byte, a signature with one flipped bit, a
//!   checkpoint whose tree size was altered after signing, a verifier holding another key, and
//!   a consistency proof from the empty tree (both refuse old size 0).
//!
//! Nothing is left out: both crates build with this toolchain and offer every operation
//! compared here. `tlog_tiles` 0.2 has no signed-checkpoint type of its own (its `Checkpoint`
//! is the note text only), so a signed checkpoint on their side is their `Checkpoint` text
//! signed as a `signed_note::Note`, and verified as a note then parsed as a `Checkpoint`.

mod support;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_transparency::checkpoint::{
    Checkpoint, sign_checkpoint, verify_checkpoint_with_origin,
};
use kruispunt_transparency::merkle::{
    CompactRange, Hash, SubtreePosition, consistency_proof_from_leaves,
    consistency_proof_from_subtree_hashes, empty_root, inclusion_proof_from_leaves,
    inclusion_proof_from_subtree_hashes, leaf_hash, root_from_leaf_hashes,
    root_from_subtree_hashes, verify_consistency, verify_inclusion,
};
use kruispunt_transparency::note::{
    ED25519_SIGNATURE_TYPE, NoteError, NoteSigner, NoteVerifier, key_id,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use support::store_from_appends;
use tlog_tiles::{HashReader, RecordProof, TreeProof};

/// Trees up to this many leaves (exclusive).
const MAXIMUM_LEAF_COUNT: usize = 2_000;

/// Random leaf data: entries of 0 to 47 bytes, as many as `leaf_counts` allows.
fn leaf_data(leaf_counts: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), leaf_counts)
}

/// A log name usable both as a checkpoint origin and as a note key name.
fn log_name() -> impl Strategy<Value = String> {
    "[a-z0-9.-]{1,24}(/[A-Za-z0-9_.-]{1,16}){0,2}"
}

/// The hashes `tlog_tiles` stores for a log, at the dense indices of its `stored_hash_index`.
struct TheirStoredHashes(Vec<tlog_tiles::Hash>);

impl HashReader for TheirStoredHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|position| self.0.get(position).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// The same entries appended to both logs.
struct BothLogs {
    /// Our leaf hashes, in order.
    our_leaves: Vec<Hash>,
    /// Our stored perfect-subtree hashes, as `CompactRange::append` emits them.
    our_subtrees: HashMap<SubtreePosition, Hash>,
    /// Their stored hashes, as `tlog_tiles::stored_hashes` emits them.
    their_hashes: TheirStoredHashes,
}

impl BothLogs {
    fn append_all(entries: &[Vec<u8>]) -> BothLogs {
        let our_leaves: Vec<Hash> = entries.iter().map(|entry| leaf_hash(entry)).collect();
        let (our_subtrees, _) = store_from_appends(&our_leaves);
        let mut their_hashes = TheirStoredHashes(Vec::new());
        for (index, entry) in entries.iter().enumerate() {
            let new_hashes = tlog_tiles::stored_hashes(index as u64, entry, &their_hashes)
                .expect("their log reads back its own stored hashes");
            their_hashes.0.extend(new_hashes);
        }
        BothLogs {
            our_leaves,
            our_subtrees,
            their_hashes,
        }
    }

    fn size(&self) -> u64 {
        self.our_leaves.len() as u64
    }

    fn our_root(&self, tree_size: u64) -> Hash {
        root_from_subtree_hashes(&self.our_subtrees, tree_size).expect("all nodes are stored")
    }

    fn their_root(&self, tree_size: u64) -> Hash {
        tlog_tiles::tree_hash(tree_size, &self.their_hashes)
            .expect("their log has the nodes")
            .0
    }
}

fn theirs(hash: &Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(*hash)
}

fn their_proof(proof: &[Hash]) -> Vec<tlog_tiles::Hash> {
    proof.iter().map(theirs).collect()
}

fn our_proof(proof: &[tlog_tiles::Hash]) -> Vec<Hash> {
    proof.iter().map(|hash| hash.0).collect()
}

/// `proof` with one byte of one element XORed with a non-zero `mask`.
fn with_flipped_byte(proof: &[Hash], element: Index, byte: Index, mask: u8) -> Vec<Hash> {
    let mut changed = proof.to_vec();
    let element = element.index(changed.len());
    changed[element][byte.index(32)] ^= mask.max(1);
    changed
}

/// Their signer key string, `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || secret)`, for an
/// Ed25519 secret; the key ID comes from their `key_id` and the public key from ed25519-dalek.
fn their_signer_from_secret(name: &str, secret: [u8; 32]) -> StandardSigner {
    let public_key = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key();
    let key_id = signed_note::key_id(
        name,
        &[&[ED25519_SIGNATURE_TYPE][..], public_key.as_bytes()].concat(),
    );
    let encoded_secret = BASE64.encode([&[ED25519_SIGNATURE_TYPE][..], &secret[..]].concat());
    StandardSigner::new(&format!("PRIVATE+KEY+{name}+{key_id:08x}+{encoded_secret}"))
        .expect("a well-formed signer key")
}

/// Signs `text` with their implementation and returns the signed note.
fn their_signed_note(signer: &StandardSigner, text: &str) -> String {
    let mut note = Note::new(text.as_bytes(), &[]).expect("a valid note text");
    note.add_sigs(&[signer]).expect("their signer signs");
    String::from_utf8(note.to_bytes()).expect("notes are UTF-8")
}

/// Verifies `signed_note` with their implementation, trusting only `verifier_key`, and returns
/// the verified text.
fn their_verification(verifier_key: &str, signed_note: &str) -> Result<String, String> {
    let verifier = StandardVerifier::new(verifier_key).map_err(|error| error.to_string())?;
    let note = Note::from_bytes(signed_note.as_bytes()).map_err(|error| error.to_string())?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|error| error.to_string())?;
    Ok(String::from_utf8(note.text().to_vec()).expect("notes are UTF-8"))
}

/// Flips one bit of the signature on the last signature line of `signed_note`.
fn with_flipped_signature_bit(signed_note: &str, bit: Index) -> String {
    let body = signed_note.strip_suffix('\n').unwrap_or(signed_note);
    let (text_and_blank_line, signature_line) = body.rsplit_once('\n').expect("a signature line");
    let (prefix, encoded) = signature_line.rsplit_once(' ').expect("name and signature");
    let mut decoded = BASE64.decode(encoded).expect("base64 signature");
    // Skip the four key ID bytes: a changed key ID is a different key, not a bad signature.
    let signature_bits = (decoded.len() - 4) * 8;
    let bit = bit.index(signature_bits);
    decoded[4 + bit / 8] ^= 1 << (bit % 8);
    format!(
        "{text_and_blank_line}\n{prefix} {}\n",
        BASE64.encode(decoded)
    )
}

#[test]
fn both_refuse_a_consistency_proof_from_the_empty_tree() {
    let entries: Vec<Vec<u8>> = (0u8..5).map(|entry| vec![entry]).collect();
    let logs = BothLogs::append_all(&entries);
    for new_size in [0, 1, logs.size()] {
        assert!(
            consistency_proof_from_subtree_hashes(&logs.our_subtrees, 0, new_size).is_err(),
            "we refuse to prove 0 → {new_size}"
        );
        assert!(
            tlog_tiles::prove_tree(new_size, 0, &logs.their_hashes).is_err(),
            "they refuse to prove 0 → {new_size}"
        );
        let new_root = logs.our_root(new_size);
        assert!(verify_consistency(0, new_size, &empty_root(), &new_root, &[]).is_err());
        assert!(
            tlog_tiles::check_tree(
                &Vec::new(),
                new_size,
                theirs(&new_root),
                0,
                tlog_tiles::EMPTY_HASH
            )
            .is_err()
        );
    }
    assert_eq!(empty_root(), tlog_tiles::EMPTY_HASH.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn same_leaf_hashes_and_the_same_root_at_every_size(
        entries in leaf_data(0..MAXIMUM_LEAF_COUNT),
    ) {
        let logs = BothLogs::append_all(&entries);
        for (entry, our_leaf) in entries.iter().zip(&logs.our_leaves) {
            prop_assert_eq!(*our_leaf, tlog_tiles::record_hash(entry).0);
        }
        let mut range = CompactRange::new();
        for tree_size in 0..=logs.size() {
            let their_root = logs.their_root(tree_size);
            prop_assert_eq!(range.root(), their_root, "compact range, size {}", tree_size);
            prop_assert_eq!(logs.our_root(tree_size), their_root, "stored subtrees, size {}", tree_size);
            if let Some(leaf) = logs.our_leaves.get(tree_size as usize) {
                range.append(*leaf).expect("the tree is not full");
            }
        }
        prop_assert_eq!(root_from_leaf_hashes(&logs.our_leaves), logs.their_root(logs.size()));
    }

    #[test]
    fn inclusion_proofs_are_equal_and_verify_both_ways(
        entries in leaf_data(1..MAXIMUM_LEAF_COUNT),
        picks in prop::collection::vec((any::<Index>(), any::<Index>(), any::<Index>(), any::<Index>(), any::<u8>()), 1..24),
    ) {
        let logs = BothLogs::append_all(&entries);
        for (size_pick, index_pick, element_pick, byte_pick, mask) in picks {
            let tree_size = size_pick.index(entries.len()) as u64 + 1;
            let leaf_index = index_pick.index(tree_size as usize) as u64;
            let leaf = logs.our_leaves[leaf_index as usize];
            let root = logs.our_root(tree_size);
            prop_assert_eq!(root, logs.their_root(tree_size));

            let ours = inclusion_proof_from_subtree_hashes(&logs.our_subtrees, leaf_index, tree_size)
                .expect("all nodes are stored");
            let ours_from_leaves = inclusion_proof_from_leaves(&logs.our_leaves, leaf_index, tree_size)
                .expect("a valid request");
            let their_record_proof: RecordProof = tlog_tiles::prove_record(tree_size, leaf_index, &logs.their_hashes)
                .expect("their log proves the record");
            prop_assert_eq!(&ours, &our_proof(&their_record_proof), "leaf {} of {}", leaf_index, tree_size);
            prop_assert_eq!(&ours, &ours_from_leaves);

            // Ours verifies with theirs, theirs with ours.
            let checked = tlog_tiles::check_record(&their_proof(&ours), tree_size, theirs(&root), leaf_index, theirs(&leaf));
            prop_assert!(checked.is_ok(), "their check of our proof: {:?}", checked);
            prop_assert_eq!(
                verify_inclusion(leaf_index, tree_size, &leaf, &our_proof(&their_record_proof), &root),
                Ok(())
            );

            // A flipped byte in the proof, or in the root when the proof is empty (a tree of
            // one leaf), is refused by both.
            let (proof, root) = if ours.is_empty() {
                let mut changed_root = root;
                changed_root[byte_pick.index(32)] ^= mask.max(1);
                (ours.clone(), changed_root)
            } else {
                (with_flipped_byte(&ours, element_pick, byte_pick, mask), root)
            };
            prop_assert!(verify_inclusion(leaf_index, tree_size, &leaf, &proof, &root).is_err());
            prop_assert!(
                tlog_tiles::check_record(&their_proof(&proof), tree_size, theirs(&root), leaf_index, theirs(&leaf)).is_err()
            );
        }
    }

    #[test]
    fn consistency_proofs_are_equal_and_verify_both_ways(
        entries in leaf_data(1..MAXIMUM_LEAF_COUNT),
        picks in prop::collection::vec((any::<Index>(), any::<Index>(), any::<Index>(), any::<Index>(), any::<u8>()), 1..24),
    ) {
        let logs = BothLogs::append_all(&entries);
        for (new_pick, old_pick, element_pick, byte_pick, mask) in picks {
            let new_size = new_pick.index(entries.len()) as u64 + 1;
            let old_size = old_pick.index(new_size as usize) as u64 + 1;
            let old_root = logs.our_root(old_size);
            let new_root = logs.our_root(new_size);

            let ours = consistency_proof_from_subtree_hashes(&logs.our_subtrees, old_size, new_size)
                .expect("all nodes are stored");
            let ours_from_leaves = consistency_proof_from_leaves(&logs.our_leaves, old_size, new_size)
                .expect("a valid request");
            let their_tree_proof: TreeProof = tlog_tiles::prove_tree(new_size, old_size, &logs.their_hashes)
                .expect("their log proves the tree");
            prop_assert_eq!(&ours, &our_proof(&their_tree_proof), "{} → {}", old_size, new_size);
            prop_assert_eq!(&ours, &ours_from_leaves);

            let checked = tlog_tiles::check_tree(&their_proof(&ours), new_size, theirs(&new_root), old_size, theirs(&old_root));
            prop_assert!(checked.is_ok(), "their check of our proof: {:?}", checked);
            prop_assert_eq!(
                verify_consistency(old_size, new_size, &old_root, &new_root, &our_proof(&their_tree_proof)),
                Ok(())
            );

            // A flipped byte in the proof, or in the new root when the proof is empty (equal
            // sizes), is refused by both.
            let (proof, new_root) = if ours.is_empty() {
                let mut changed_root = new_root;
                changed_root[byte_pick.index(32)] ^= mask.max(1);
                (ours.clone(), changed_root)
            } else {
                (with_flipped_byte(&ours, element_pick, byte_pick, mask), new_root)
            };
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof).is_err());
            prop_assert!(
                tlog_tiles::check_tree(&their_proof(&proof), new_size, theirs(&new_root), old_size, theirs(&old_root)).is_err()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn checkpoint_texts_are_equal(origin in log_name(), tree_size in any::<u64>(), root in any::<[u8; 32]>()) {
        let ours = Checkpoint::new(origin.clone(), tree_size, root);
        let theirs = tlog_tiles::Checkpoint::new(&origin, tree_size, tlog_tiles::Hash(root), "")
            .expect("a valid checkpoint");
        prop_assert_eq!(ours.to_note_text().into_bytes(), theirs.to_bytes());
        let parsed_by_them = tlog_tiles::Checkpoint::from_bytes(ours.to_note_text().as_bytes())
            .expect("they parse our text");
        prop_assert_eq!(parsed_by_them, theirs);
    }

    #[test]
    fn a_checkpoint_we_sign_verifies_with_their_verifier(
        origin in log_name(),
        tree_size in any::<u64>(),
        root in any::<[u8; 32]>(),
        secret in any::<[u8; 32]>(),
        other_secret in any::<[u8; 32]>(),
        bit in any::<Index>(),
    ) {
        prop_assume!(secret != other_secret);
        let signer = NoteSigner::from_secret_bytes(origin.clone(), secret).expect("a valid name");
        let signed = sign_checkpoint(&signer, &Checkpoint::new(origin.clone(), tree_size, root))
            .expect("a valid checkpoint");

        let text = their_verification(&signer.verifier_key_string(), &signed)
            .expect("their verifier accepts our checkpoint");
        let checkpoint = tlog_tiles::Checkpoint::from_bytes(text.as_bytes()).expect("their parser accepts it");
        prop_assert_eq!(checkpoint.origin(), origin.as_str());
        prop_assert_eq!(checkpoint.size(), tree_size);
        prop_assert_eq!(checkpoint.hash().0, root);

        // Refused by both: another key of the same name, a flipped signature bit, and a tree
        // size altered after signing.
        let other_key = NoteSigner::from_secret_bytes(origin.clone(), other_secret).expect("a valid name");
        prop_assert!(their_verification(&other_key.verifier_key_string(), &signed).is_err());
        prop_assert!(other_key.verifier().verify(&signed).is_err());
        let flipped = with_flipped_signature_bit(&signed, bit);
        prop_assert!(their_verification(&signer.verifier_key_string(), &flipped).is_err());
        let outcome = signer.verifier().verify(&flipped);
        prop_assert!(
            matches!(outcome, Err(NoteError::InvalidSignature { .. })),
            "{:?}",
            outcome
        );
        let altered = signed.replacen(&format!("\n{tree_size}\n"), &format!("\n{}\n", tree_size ^ 1), 1);
        prop_assert_ne!(&altered, &signed);
        prop_assert!(their_verification(&signer.verifier_key_string(), &altered).is_err());
        prop_assert!(verify_checkpoint_with_origin(&signer.verifier(), &origin, &altered).is_err());
    }

    #[test]
    fn a_checkpoint_they_sign_verifies_with_our_verifier(
        origin in log_name(),
        tree_size in any::<u64>(),
        root in any::<[u8; 32]>(),
        key_seed in any::<[u8; 32]>(),
        other_secret in any::<[u8; 32]>(),
        bit in any::<Index>(),
    ) {
        // Their key generation, from a seeded generator so that a failing case replays.
        let (signer_key, verifier_key) = signed_note::generate_key(&mut ChaCha20Rng::from_seed(key_seed), &origin);
        let their_signer = StandardSigner::new(&signer_key).expect("their generated key");
        let their_text = tlog_tiles::Checkpoint::new(&origin, tree_size, tlog_tiles::Hash(root), "")
            .expect("a valid checkpoint")
            .to_bytes();
        let signed = their_signed_note(&their_signer, std::str::from_utf8(&their_text).expect("UTF-8"));

        let our_verifier = NoteVerifier::from_verifier_key(&verifier_key).expect("we parse their verifier key");
        prop_assert_eq!(our_verifier.verifier_key_string(), verifier_key.clone());
        let checkpoint = verify_checkpoint_with_origin(&our_verifier, &origin, &signed)
            .expect("our verifier accepts their checkpoint");
        prop_assert_eq!(checkpoint, Checkpoint::new(origin.clone(), tree_size, root));

        // Refused by both: another key of the same name, a flipped signature bit, and a tree
        // size altered after signing.
        let other_key = NoteSigner::from_secret_bytes(origin.clone(), other_secret).expect("a valid name");
        prop_assume!(other_key.verifier_key_string() != verifier_key);
        let outcome = other_key.verifier().verify(&signed);
        prop_assert!(
            matches!(outcome, Err(NoteError::NoSignatureByKey { .. })),
            "{:?}",
            outcome
        );
        prop_assert!(their_verification(&other_key.verifier_key_string(), &signed).is_err());
        let flipped = with_flipped_signature_bit(&signed, bit);
        let outcome = our_verifier.verify(&flipped);
        prop_assert!(
            matches!(outcome, Err(NoteError::InvalidSignature { .. })),
            "{:?}",
            outcome
        );
        prop_assert!(their_verification(&verifier_key, &flipped).is_err());
        let altered = signed.replacen(&format!("\n{tree_size}\n"), &format!("\n{}\n", tree_size ^ 1), 1);
        prop_assert_ne!(&altered, &signed);
        prop_assert!(verify_checkpoint_with_origin(&our_verifier, &origin, &altered).is_err());
        prop_assert!(their_verification(&verifier_key, &altered).is_err());
    }

    #[test]
    fn the_same_secret_gives_the_same_key_and_the_same_signed_note(
        name in log_name(),
        secret in any::<[u8; 32]>(),
        lines in prop::collection::vec("[ -~\u{a0}-\u{17f}\u{2014}]{0,60}", 1..6),
    ) {
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        let ours = NoteSigner::from_secret_bytes(name.clone(), secret).expect("a valid name");
        let theirs = their_signer_from_secret(&name, secret);
        let public_key = ours.public_key_bytes();
        prop_assert_eq!(
            ours.key_id(),
            signed_note::key_id(&name, &[&[ED25519_SIGNATURE_TYPE][..], &public_key[..]].concat())
        );
        prop_assert_eq!(ours.key_id(), key_id(&name, ED25519_SIGNATURE_TYPE, &public_key));
        let their_verifier_key = signed_note::new_ed25519_verifier_key(
            &name,
            &ed25519_dalek::VerifyingKey::from_bytes(&public_key).expect("a valid public key"),
        );
        prop_assert_eq!(ours.verifier_key_string(), their_verifier_key.clone());

        let our_note = ours.sign(&text).expect("a valid note text");
        let their_note = their_signed_note(&theirs, &text);
        prop_assert_eq!(&our_note, &their_note);
        prop_assert_eq!(their_verification(&their_verifier_key, &our_note), Ok(text.clone()));
        prop_assert_eq!(ours.verifier().verify(&their_note).expect("ours accepts theirs").into_text(), text);
    }
}
