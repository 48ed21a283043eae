//! The auditor's signed checkpoint commits to the RFC 6962 root over exactly the stored entries.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, person_request};
use sha2::{Digest, Sha256};

/// An independent, naive RFC 6962 Merkle tree hash.
fn merkle_root(leaves: &[Vec<u8>]) -> Vec<u8> {
    match leaves.len() {
        0 => Sha256::digest([]).to_vec(),
        1 => leaves[0].clone(),
        n => {
            let split = n.next_power_of_two() / 2;
            let mut input = vec![1_u8];
            input.extend(merkle_root(&leaves[..split]));
            input.extend(merkle_root(&leaves[split..]));
            Sha256::digest(&input).to_vec()
        }
    }
}

backend_test!(the_checkpoint_root_covers_every_entry);
async fn the_checkpoint_root_covers_every_entry(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.register_purpose("unauthorized").await;
    let mut consumer = exchange.consumer().await;
    for position in 0..5 {
        let mut request = person_request("be.insz", &exchange.known_subject(position));
        if position == 3 {
            request.purpose = "unauthorized".to_owned();
        }
        let _ = consumer.fetch(request).await;
    }
    // The rule changes (the fixture's and the purpose) and the five transfers.
    let size = exchange.ledger_size().await;
    assert_eq!(size, 5 + 4);
    let checkpoint = exchange.checkpoint_covering(size).await;
    assert_eq!(checkpoint.tree_size, size);
    let leaves = exchange.ledger_leaf_hashes().await;
    assert_eq!(checkpoint.root_hash, merkle_root(&leaves));
}
