//! Tests of `ledger_verification`, the verifier's pure core, on a ledger built in memory: an
//! intact ledger verifies, and each kind of damage is named at the entry or checkpoint it hits.
//! The ledger mixes every entry kind and both format versions, as real ledgers do.

use kruispunt_transparency::{
    ChangeKind, ChangePublishedEntry, Checkpoint, CompactRange, FetchedConsistencyProofs,
    GovernanceChange, GovernanceEntry, Hash, LedgerEntry, LedgerRecord, LedgerVerification,
    NoteSigner, NoticeDeliveredEntry, Outcome, RecordedEntry, VerificationFailure,
    consistency_proof_from_leaves, leaf_hash, sign_checkpoint,
};

const ORIGIN: &str = "kruispunt.example/ledger";

/// An entry's canonical bytes and the leaf hash recorded beside them.
struct StoredBytes {
    entry: Vec<u8>,
    leaf_hash: Hash,
}

/// A ledger of `count` entries of every kind and both format versions in turn: transfers in
/// today's format and in version 1 (as ledgers written before kinds hold them), rule changes,
/// published changes and delivered notices.
fn ledger(count: u64) -> Vec<StoredBytes> {
    (0..count)
        .map(|index| {
            let recorded_at_micros = 1_700_000_000_000_000 + index as i64;
            let pseudonym = [index as u8; 32];
            let record = match index % 5 {
                1 => LedgerRecord::Governance(GovernanceEntry {
                    leaf_index: index,
                    recorded_at_micros,
                    sequence: index / 5 + 1,
                    actor: "kruispunt.operator".to_owned(),
                    change: GovernanceChange::AuthorizationGranted,
                    key_fields: vec![("authorization_id".to_owned(), index.to_string())],
                    record_digest: [7; 32],
                }),
                2 => LedgerRecord::ChangePublished(ChangePublishedEntry {
                    leaf_index: index,
                    recorded_at_micros,
                    provider: "be.test.provider".to_owned(),
                    data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
                    pseudonym_epoch: 0,
                    subject_pseudonym: pseudonym,
                    change_kind: ChangeKind::Updated,
                    occurred_at_micros: recorded_at_micros - 1,
                    event_id_digest: [8; 32],
                }),
                3 => LedgerRecord::NoticeDelivered(NoticeDeliveredEntry {
                    leaf_index: index,
                    recorded_at_micros,
                    consumer: "be.test.consumer".to_owned(),
                    provider: "be.test.provider".to_owned(),
                    data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
                    pseudonym_epoch: 0,
                    subject_pseudonym: pseudonym,
                    change_kind: ChangeKind::Updated,
                    cursor: index,
                    publication_index: index - 1,
                    event_id_digest: [8; 32],
                }),
                _ => LedgerRecord::Transfer(LedgerEntry {
                    leaf_index: index,
                    recorded_at_micros,
                    consumer: "be.test.consumer".to_owned(),
                    provider: "be.test.provider".to_owned(),
                    data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
                    purpose: "test".to_owned(),
                    legal_basis: String::new(),
                    legal_basis_ref: String::new(),
                    consent_id: String::new(),
                    subject_pseudonym: pseudonym,
                    payload_sha256: None,
                    rules_version: 0,
                    pseudonym_epoch: 0,
                    transfer_id: [0; 16],
                    request_digest: None,
                    case_reference_digest: None,
                    source_payload_sha256: None,
                    answer_signature: None,
                    legacy_request_id: String::new(),
                    outcome: Outcome::RefusedNoAuthorization,
                    refusal_reason: "no authorization".to_owned(),
                }),
            };
            let mut entry = record.encode();
            if index % 5 == 4 {
                // The same transfer as the version 1 broker wrote it: no kind byte.
                entry.remove(1);
                entry[0] = 1;
            }
            let leaf_hash = leaf_hash(&entry);
            StoredBytes { entry, leaf_hash }
        })
        .collect()
}

fn signed_checkpoints(signer: &NoteSigner, entries: &[StoredBytes], sizes: &[u64]) -> Vec<String> {
    sizes
        .iter()
        .map(|&size| {
            let mut range = CompactRange::new();
            for stored in &entries[..size as usize] {
                range
                    .append(stored.leaf_hash)
                    .expect("the tree is not full");
            }
            sign_checkpoint(signer, &Checkpoint::new(ORIGIN, size, range.root())).expect("signs")
        })
        .collect()
}

/// Feeds every entry, at the index it is listed at, then finishes with proofs from the rebuilt
/// tree.
fn verify(
    signer: &NoteSigner,
    notes: &[String],
    entries: &[StoredBytes],
) -> Result<u64, VerificationFailure> {
    let mut verification = LedgerVerification::from_signed_notes(&signer.verifier(), notes)?;
    for (index, stored) in entries.iter().enumerate() {
        verification.push_entry(RecordedEntry {
            leaf_index: index as u64,
            entry: &stored.entry,
            recorded_leaf_hash: stored.leaf_hash,
        })?;
    }
    Ok(verification.finish(None)?.entries)
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
