//! Tests of `ledger_verification`, the verifier's pure core, on a ledger built in memory: an
//! intact ledger verifies, and each kind of damage is named at the entry or checkpoint it hits.
//! The ledger mixes every entry kind and format version, as real ledgers do, and is honest under
//! the rules it records (the replay itself is tested in `governance_replay.rs`).

mod support;

use kruispunt_transparency::{
    ChangeKind, ChangePublishedEntry, FetchedConsistencyProofs, Hash, LedgerEntry, LedgerRecord,
    LedgerVerification, NoteSigner, NoticeDeliveredEntry, RecordedEntry, VerificationFailure,
    consistency_proof_from_leaves, leaf_hash,
};
use support::ledgers::{
    DATA_TYPE, Grant, LedgerBuilder, ORIGIN, PROVIDER, StoredBytes, legacy_transfer_bytes,
    signed_checkpoints,
};

/// A ledger of `count` entries of every kind and format version, honest under the rules it
/// records: a transfer as the version 1 broker wrote it, one as the version 2 broker did, then
/// in turn a rule change (an authorization granted), a published change, a delivered notice
/// and a delivered transfer of today's format under the authorizations granted so far.
fn ledger(count: u64) -> Vec<StoredBytes> {
    let mut ledger = LedgerBuilder::new();
    while ledger.next_index() < count {
        let index = ledger.next_index();
        match index {
            0 => ledger.legacy_transfer(1, "test"),
            1 => ledger.legacy_transfer(2, "test"),
            _ => match (index - 2) % 4 {
                0 => ledger.grant(&Grant::new(ledger.rules_version() + 1, "test")),
                1 => ledger.push_bytes(
                    LedgerRecord::ChangePublished(ChangePublishedEntry {
                        leaf_index: index,
                        recorded_at_micros: ledger.next_micros(),
                        provider: PROVIDER.to_owned(),
                        data_type: DATA_TYPE.to_owned(),
                        pseudonym_epoch: 2026,
                        subject_pseudonym: [index as u8; 32],
                        change_kind: ChangeKind::Updated,
                        occurred_at_micros: ledger.next_micros() - 1,
                        event_id_digest: [8; 32],
                    })
                    .encode(),
                ),
                2 => ledger.push_bytes(
                    LedgerRecord::NoticeDelivered(NoticeDeliveredEntry {
                        leaf_index: index,
                        recorded_at_micros: ledger.next_micros(),
                        consumer: support::ledgers::CONSUMER.to_owned(),
                        provider: PROVIDER.to_owned(),
                        data_type: DATA_TYPE.to_owned(),
                        pseudonym_epoch: 2026,
                        subject_pseudonym: [index as u8 - 1; 32],
                        change_kind: ChangeKind::Updated,
                        cursor: index,
                        publication_index: index - 1,
                        event_id_digest: [8; 32],
                    })
                    .encode(),
                ),
                _ => ledger.transfer("test", |_| {}),
            },
        };
    }
    ledger.entries().to_vec()
}

/// Feeds every entry, at the index it is listed at, then finishes with proofs from the rebuilt
/// tree; the number of entries verified.
fn verify(
    signer: &NoteSigner,
    notes: &[String],
    entries: &[StoredBytes],
) -> Result<u64, VerificationFailure> {
    support::ledgers::verify(signer, notes, entries).map(|summary| summary.entries)
}

/// The transfer of the documented version 1 and 2 vectors (`docs/ledger.md`), and their bytes.
const VECTOR_V1_DELIVERED: &str = "0100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f00035765740000000011111111111111111111111111111111111111111111111111111111111111110122222222222222222222222222222222222222222222222222222222222222220003722d31000964656c6976657265640000";
const VECTOR_V2_MISROUTED: &str = "020100000000000000070006474846204000001362652e6578616d706c652e67656d65656e7465001962652e6578616d706c652e636976696c2d7265676973747279001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031000464656d6f0003576574000000001111111111111111111111111111111111111111111111111111111111111111000003722d310011726566757365642e6d6973726f7574656400096d6973726f75746564";

#[test]
fn the_legacy_encoder_of_these_tests_writes_the_documented_version_1_and_2_bytes() {
    for vector in [VECTOR_V1_DELIVERED, VECTOR_V2_MISROUTED] {
        let bytes = hex::decode(vector).expect("hex");
        let entry = LedgerEntry::decode(&bytes).expect("the vector decodes");
        assert_eq!(
            legacy_transfer_bytes(bytes[0], &entry, &entry.legacy_request_id),
            bytes
        );
        let (version, _) = LedgerRecord::decode_with_format_version(&bytes).expect("decodes");
        assert_eq!(version, bytes[0]);
    }
}

#[test]
fn an_intact_ledger_verifies_with_rebuilt_and_with_fetched_proofs() {
    let signer = NoteSigner::from_secret_bytes(ORIGIN, [1u8; 32]).expect("valid");
    let entries = ledger(13);
    let notes = signed_checkpoints(&signer, &entries, &[0, 1, 5, 8, 13]);
    assert_eq!(verify(&signer, &notes, &entries), Ok(13));

    let mut verification =
        LedgerVerification::from_signed_notes(&signer.verifier(), &notes).expect("signed");
    for (index, stored) in entries.iter().enumerate() {
        verification
            .push_entry(RecordedEntry {
                leaf_index: index as u64,
                entry: &stored.entry,
                recorded_leaf_hash: stored.leaf_hash,
            })
            .expect("intact entry");
    }
    let pairs = verification.consistency_pairs();
    assert_eq!(pairs, vec![(1, 5), (5, 8), (8, 13)]);
    let leaves: Vec<Hash> = entries.iter().map(|stored| stored.leaf_hash).collect();
    let mut fetched = FetchedConsistencyProofs::default();
    for (old_size, new_size) in pairs {
        let proof = consistency_proof_from_leaves(&leaves, old_size, new_size).expect("valid");
        fetched.proofs.insert((old_size, new_size), proof);
    }
    let summary = verification.finish(Some(&mut fetched)).expect("consistent");
    assert_eq!(summary.entries, 13);
    assert_eq!(summary.checkpoints, 5);
    assert_eq!(summary.newest_checkpoint_size, 13);
    assert_eq!(summary.rules.governance_entries, 3);
    assert_eq!(summary.rules.transfers_checked, 2);
    assert_eq!(summary.rules.transfers_before_rules, 2);
}

#[test]
fn each_kind_of_damage_is_named_where_it_is() {
    let signer = NoteSigner::from_secret_bytes(ORIGIN, [2u8; 32]).expect("valid");
    let notes = signed_checkpoints(&signer, &ledger(10), &[4, 10]);

    // A changed byte: the entry no longer hashes to its recorded leaf hash.
    let mut altered = ledger(10);
    let last = altered[6].entry.len() - 1;
    altered[6].entry[last] ^= 0x01;
    assert_eq!(
        verify(&signer, &notes, &altered),
        Err(VerificationFailure::EntryAltered { index: 6 })
    );

    // Rewritten together with its hash: caught by the signed root of the next checkpoint.
    let mut rewritten = ledger(10);
    rewritten[6].entry[last] ^= 0x01;
    rewritten[6].leaf_hash = leaf_hash(&rewritten[6].entry);
    assert_eq!(
        verify(&signer, &notes, &rewritten),
        Err(VerificationFailure::CheckpointRootMismatch {
            tree_size: 10,
            first_suspect: 4,
        })
    );

    // Two entries swapped: each encodes its own index.
    let mut swapped = ledger(10);
    swapped.swap(2, 3);
    assert_eq!(
        verify(&signer, &notes, &swapped),
        Err(VerificationFailure::EntryMisplaced {
            index: 2,
            encoded_index: 3,
        })
    );

    // Not an entry at all.
    let mut undecodable = ledger(10);
    undecodable[1].entry.push(0);
    undecodable[1].leaf_hash = leaf_hash(&undecodable[1].entry);
    assert!(matches!(
        verify(&signer, &notes, &undecodable),
        Err(VerificationFailure::EntryUndecodable { index: 1, .. })
    ));

    // Entries missing at the end: the last checkpoint commits to more than exist.
    assert_eq!(
        verify(&signer, &notes, &ledger(10)[..7]),
        Err(VerificationFailure::CheckpointBeyondEntries {
            tree_size: 10,
            entries: 7,
        })
    );

    // A checkpoint signed by another key.
    let other = NoteSigner::from_secret_bytes(ORIGIN, [3u8; 32]).expect("valid");
    let mut foreign = notes.clone();
    foreign.push(signed_checkpoints(&other, &ledger(10), &[10]).remove(0));
    assert!(matches!(
        verify(&signer, &foreign, &ledger(10)),
        Err(VerificationFailure::CheckpointSignature { position: 2, .. })
    ));
}

#[test]
fn an_entry_out_of_sequence_is_reported_missing() {
    let signer = NoteSigner::from_secret_bytes(ORIGIN, [4u8; 32]).expect("valid");
    let entries = ledger(3);
    let notes = signed_checkpoints(&signer, &entries, &[3]);
    let mut verification =
        LedgerVerification::from_signed_notes(&signer.verifier(), &notes).expect("signed");
    let record = |index: usize| RecordedEntry {
        leaf_index: index as u64,
        entry: &entries[index].entry,
        recorded_leaf_hash: entries[index].leaf_hash,
    };
    verification.push_entry(record(0)).expect("first entry");
    assert_eq!(
        verification.push_entry(record(2)),
        Err(VerificationFailure::EntryMissing { index: 1 })
    );
}
