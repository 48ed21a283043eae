//! Property tests: for random tree sizes, every inclusion and consistency proof the ledger's
//! storage gives verifies with the independent verifier, against roots computed independently
//! from the leaves; and a proof for the wrong leaf or with a flipped bit does not.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::OnceLock;

use kruispunt_broker::ledger::{Ledger, LedgerReader, load_or_create_signing_key};
use kruispunt_broker::store::Database;
use kruispunt_transparency::{
    Hash, LedgerEntry, Outcome, root_from_leaf_hashes, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const LEDGER_SIZE: u64 = 1_100;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    reader: LedgerReader,
    leaves: Vec<Hash>,
    _directory: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let (reader, leaves) = runtime.block_on(async {
            let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
            let database = Database::open(&url).await.unwrap();
            let signer =
                load_or_create_signing_key(&directory.path().join("key"), "proofs.test/ledger")
                    .unwrap();
            let ledger = Ledger::start(&database, 37, signer).await.unwrap();
            // Concurrent appends, so group commits of varying sizes build the tree.
            let tasks: Vec<_> = (0..LEDGER_SIZE)
                .map(|number| {
                    let ledger = ledger.clone();
                    tokio::spawn(async move {
                        ledger
                            .append(LedgerEntry {
                                leaf_index: 0,
                                recorded_at_micros: i64::try_from(number).unwrap(),
                                consumer: "be.test.consumer".to_owned(),
                                provider: String::new(),
                                data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
                                purpose: "proofs".to_owned(),
                                legal_basis: String::new(),
                                legal_basis_ref: String::new(),
                                consent_id: String::new(),
                                subject_pseudonym: [0; 32],
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
                                refusal_reason: "test".to_owned(),
                            })
                            .await
                            .unwrap()
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let reader = LedgerReader::for_database(&database);
            let entries = reader.entries(0, 2_000).await.unwrap();
            assert_eq!(entries.len() as u64, LEDGER_SIZE);
            let leaves = entries.iter().map(|entry| entry.leaf_hash).collect();
            (reader, leaves)
        });
        Fixture {
            runtime,
            reader,
            leaves,
            _directory: directory,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn inclusion_proofs_from_storage_verify(size in 1..=LEDGER_SIZE, seed in any::<u64>(), bit in 0..256_usize) {
        let fixture = fixture();
        let index = seed % size;
        let root = root_from_leaf_hashes(&fixture.leaves[..usize::try_from(size).unwrap()]);
        let leaf = fixture.leaves[usize::try_from(index).unwrap()];
        let proof = fixture.runtime.block_on(fixture.reader.inclusion_proof(index, size)).unwrap();
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(verify_inclusion(other, size, &leaf, &proof, &root).is_err());
            let mut damaged = proof.clone();
            let position = bit / 8 % damaged.len().max(1);
            if let Some(hash) = damaged.get_mut(position) {
                hash[bit % 32] ^= 1 << (bit % 8);
                prop_assert!(verify_inclusion(index, size, &leaf, &damaged, &root).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_from_storage_verify(new_size in 1..=LEDGER_SIZE, seed in any::<u64>()) {
        let fixture = fixture();
        let old_size = 1 + seed % new_size;
        let leaves = &fixture.leaves;
        let old_root = root_from_leaf_hashes(&leaves[..usize::try_from(old_size).unwrap()]);
        let new_root = root_from_leaf_hashes(&leaves[..usize::try_from(new_size).unwrap()]);
        let proof = fixture.runtime.block_on(fixture.reader.consistency_proof(old_size, new_size)).unwrap();
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof).is_ok());
        if old_size < new_size {
            let mut wrong_old = old_root;
            wrong_old[0] ^= 1;
            prop_assert!(verify_consistency(old_size, new_size, &wrong_old, &new_root, &proof).is_err());
        }
    }
}

#[test]
fn proofs_beyond_the_tree_are_refused() {
    let fixture = fixture();
    let reader = &fixture.reader;
    assert!(
        fixture
            .runtime
            .block_on(reader.inclusion_proof(LEDGER_SIZE, LEDGER_SIZE))
            .is_err()
    );
    assert!(
        fixture
            .runtime
            .block_on(reader.consistency_proof(0, 10))
            .is_err()
    );
    assert!(
        fixture
            .runtime
            .block_on(reader.consistency_proof(11, 10))
            .is_err()
    );
}
