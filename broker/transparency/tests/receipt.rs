//! Tests of `receipt`: a receipt from a ledger built in memory verifies against an inclusion
//! proof and a signed checkpoint, and every kind of damage (to the entry, the index, the leaf
//! hash, the proof, the checkpoint, its signature or origin) is refused with its own reason.

use kruispunt_transparency::{
    Checkpoint, CheckpointError, CompactRange, Hash, LedgerEntry, NoteSigner, Outcome,
    ReceiptError, TransferReceipt, inclusion_proof_from_leaves, leaf_hash, sign_checkpoint,
    verify_receipt,
};

const ORIGIN: &str = "kruispunt.example/ledger";

fn entry(index: u64) -> LedgerEntry {
    LedgerEntry {
        leaf_index: index,
        recorded_at_micros: 1_700_000_000_000_000 + index as i64,
        consumer: format!("be.test.consumer-{}", index % 2),
        provider: "be.test.provider".to_owned(),
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        purpose: "test".to_owned(),
        legal_basis: "Wet".to_owned(),
        legal_basis_ref: String::new(),
        consent_id: String::new(),
        subject_pseudonym: [index as u8; 32],
        payload_sha256: Some([0x22; 32]),
        rules_version: 0,
        pseudonym_epoch: 0,
        transfer_id: [0; 16],
        request_digest: None,
        case_reference_digest: None,
        source_payload_sha256: None,
        answer_signature: None,
        legacy_request_id: String::new(),
        outcome: Outcome::Delivered,
        refusal_reason: String::new(),
    }
}

/// A log of `size` entries: each entry's receipt, every leaf hash, and the signed checkpoint
/// of the whole log.
struct Log {
    receipts: Vec<TransferReceipt>,
    leaves: Vec<Hash>,
    signer: NoteSigner,
    signed_checkpoint: String,
}

fn log(size: u64) -> Log {
    let receipts: Vec<TransferReceipt> = (0..size)
        .map(|index| TransferReceipt::for_sequenced_entry(ORIGIN, &entry(index)))
        .collect();
    let leaves: Vec<Hash> = receipts.iter().map(|receipt| receipt.leaf_hash).collect();
    let signer = NoteSigner::generate(ORIGIN).expect("a key");
    let signed_checkpoint = checkpoint_of(&signer, ORIGIN, &leaves);
    Log {
        receipts,
        leaves,
        signer,
        signed_checkpoint,
    }
}

fn checkpoint_of(signer: &NoteSigner, origin: &str, leaves: &[Hash]) -> String {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.append(*leaf).expect("the tree is not full");
    }
    sign_checkpoint(
        signer,
        &Checkpoint::new(origin, leaves.len() as u64, range.root()),
    )
    .expect("signs")
}

impl Log {
    fn proof(&self, index: u64) -> Vec<Hash> {
        inclusion_proof_from_leaves(&self.leaves, index, self.leaves.len() as u64).expect("proof")
    }

    fn verify(&self, receipt: &TransferReceipt, proof: &[Hash]) -> Result<(), ReceiptError> {
        verify_receipt(
            receipt,
            proof,
            &self.signed_checkpoint,
            &self.signer.verifier(),
        )
        .map(|_| ())
    }
}

#[test]
fn every_receipt_of_a_log_verifies_and_yields_its_entry_and_checkpoint() {
    let log = log(13);
    for (index, receipt) in log.receipts.iter().enumerate() {
        let verified = verify_receipt(
            receipt,
            &log.proof(index as u64),
            &log.signed_checkpoint,
            &log.signer.verifier(),
        )
        .expect("verifies");
        assert_eq!(verified.entry, entry(index as u64));
        assert_eq!(verified.checkpoint.tree_size, 13);
        assert_eq!(verified.checkpoint.origin, ORIGIN);
    }
}

#[test]
fn the_receipt_of_a_sequenced_entry_is_its_encoding_and_leaf_hash() {
    let receipt = TransferReceipt::for_sequenced_entry(ORIGIN, &entry(5));
    assert_eq!(receipt.entry, entry(5).encode());
    assert_eq!(receipt.leaf_hash, leaf_hash(&entry(5).encode()));
    assert_eq!(receipt.leaf_index, 5);
    assert_eq!(receipt.origin, ORIGIN);
}

#[test]
fn a_changed_entry_byte_is_refused() {
    let log = log(8);
    let mut receipt = log.receipts[3].clone();
    // The last byte of `recorded at` (version, kind, 8 bytes of index, then 8 of time): the
    // entry still decodes, to another time, so the leaf hash check is what catches it.
    receipt.entry[17] ^= 0x01;
    assert!(LedgerEntry::decode(&receipt.entry).is_ok());
    assert!(matches!(
        log.verify(&receipt, &log.proof(3)),
        Err(ReceiptError::LeafHashMismatch)
    ));
}

#[test]
fn entry_bytes_that_do_not_decode_are_refused() {
    let log = log(4);
    let mut receipt = log.receipts[1].clone();
    receipt.entry.push(0);
    receipt.leaf_hash = leaf_hash(&receipt.entry);
    assert!(matches!(
        log.verify(&receipt, &log.proof(1)),
        Err(ReceiptError::EntryUndecodable(_))
    ));
}

#[test]
fn a_receipt_naming_another_index_than_its_entry_is_refused() {
    let log = log(8);
    let mut receipt = log.receipts[2].clone();
    receipt.leaf_index = 3;
    assert!(matches!(
        log.verify(&receipt, &log.proof(3)),
        Err(ReceiptError::IndexMismatch {
            receipt_index: 3,
            entry_index: 2
        })
    ));
}

#[test]
fn a_leaf_hash_that_is_not_the_entrys_is_refused() {
    let log = log(8);
    let mut receipt = log.receipts[2].clone();
    receipt.leaf_hash = log.leaves[3];
    assert!(matches!(
        log.verify(&receipt, &log.proof(2)),
        Err(ReceiptError::LeafHashMismatch)
    ));
}

#[test]
fn the_proof_of_another_index_or_a_damaged_proof_is_refused() {
    let log = log(11);
    let receipt = &log.receipts[6];
    assert!(matches!(
        log.verify(receipt, &log.proof(7)),
        Err(ReceiptError::Inclusion(_))
    ));
    let mut damaged = log.proof(6);
    damaged[1][0] ^= 0x80;
    assert!(matches!(
        log.verify(receipt, &damaged),
        Err(ReceiptError::Inclusion(_))
    ));
    let mut shortened = log.proof(6);
    shortened.pop();
    assert!(matches!(
        log.verify(receipt, &shortened),
        Err(ReceiptError::Inclusion(_))
    ));
}

#[test]
fn an_entry_of_another_log_with_the_same_shape_is_refused() {
    let log = log(8);
    // A log holding other bytes at index 4: its receipt and proof are consistent in themselves,
    // but lead to another root than the signed checkpoint's.
    let mut other_entry = entry(4);
    other_entry.purpose = "another purpose".to_owned();
    let mut other_leaves = log.leaves.clone();
    let other_receipt = TransferReceipt::for_sequenced_entry(ORIGIN, &other_entry);
    other_leaves[4] = other_receipt.leaf_hash;
    let other_proof = inclusion_proof_from_leaves(&other_leaves, 4, 8).expect("proof");
    assert!(matches!(
        log.verify(&other_receipt, &other_proof),
        Err(ReceiptError::Inclusion(_))
    ));
}

#[test]
fn a_checkpoint_older_than_the_entry_is_not_yet_enough() {
    let log = log(8);
    let older = checkpoint_of(&log.signer, ORIGIN, &log.leaves[..5]);
    assert!(matches!(
        verify_receipt(&log.receipts[6], &[], &older, &log.signer.verifier()),
        Err(ReceiptError::NotYetInCheckpoint {
            leaf_index: 6,
            tree_size: 5
        })
    ));
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let log = log(8);
    let impostor = NoteSigner::generate(ORIGIN).expect("a key");
    let forged = checkpoint_of(&impostor, ORIGIN, &log.leaves);
    assert!(matches!(
        verify_receipt(
            &log.receipts[2],
            &log.proof(2),
            &forged,
            &log.signer.verifier()
        ),
        Err(ReceiptError::Checkpoint(_))
    ));
}

#[test]
fn a_checkpoint_of_another_origin_is_refused() {
    let log = log(8);
    let other_origin = checkpoint_of(&log.signer, "kruispunt.example/other", &log.leaves);
    assert!(matches!(
        verify_receipt(
            &log.receipts[2],
            &log.proof(2),
            &other_origin,
            &log.signer.verifier()
        ),
        Err(ReceiptError::Checkpoint(
            CheckpointError::OriginMismatch { .. }
        ))
    ));
}

#[test]
fn a_tampered_checkpoint_note_is_refused() {
    let log = log(8);
    let tampered = log.signed_checkpoint.replacen("\n8\n", "\n9\n", 1);
    assert_ne!(tampered, log.signed_checkpoint);
    assert!(matches!(
        verify_receipt(
            &log.receipts[2],
            &log.proof(2),
            &tampered,
            &log.signer.verifier()
        ),
        Err(ReceiptError::Checkpoint(_))
    ));
}
