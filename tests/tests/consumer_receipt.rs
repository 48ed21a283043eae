//! A consumer checks its receipts itself: the `Fetch` receipt (and a refusal's, in the status
//! trailer) carries the stored entry bytes and the log's origin; the consumer reads the inclusion
//! proof of its own entry and a signed checkpoint from the Audit API and verifies offline with
//! `kruispunt_transparency`. The proof of another consumer's entry and of an index that does not
//! exist are refused alike; the auditor still reads every proof.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_broker::api::RECEIPT_TRAILER;
use kruispunt_e2e::{
    AUDITOR, Backend, CONSUMER, OTHER_CONSUMER, Outcome, TestExchange, backend_test, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_transparency::{
    Hash, LedgerEntry, NoteVerifier, TransferReceipt, leaf_hash, payload_digest, verify_receipt,
};
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

/// The receipt in its domain form, refusing one whose hashes are not 32 bytes.
fn transfer_receipt(receipt: &proto::AuditReceipt) -> TransferReceipt {
    TransferReceipt {
        origin: receipt.origin.clone(),
        leaf_index: receipt.index,
        leaf_hash: receipt.leaf_hash.as_slice().try_into().unwrap(),
        entry: receipt.entry.clone(),
    }
}

fn hashes(bytes: &[Vec<u8>]) -> Vec<Hash> {
    bytes
        .iter()
        .map(|hash| hash.as_slice().try_into().unwrap())
        .collect()
}

/// Asks `audit` (as whoever it is) for the inclusion proof of the receipt's entry in the
/// checkpoint it also asks for, and verifies the receipt offline against them.
async fn check_receipt_through(
    audit: &mut AuditClient<Channel>,
    receipt: &proto::AuditReceipt,
    verifier: &NoteVerifier,
) -> LedgerEntry {
    let checkpoint = audit
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .expect("checkpoints are readable")
        .into_inner();
    let proof = audit
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            index: receipt.index,
            tree_size: checkpoint.tree_size,
        })
        .await
        .expect("the inclusion proof of the caller's own entry is readable")
        .into_inner();
    assert_eq!(proof.leaf_hash, receipt.leaf_hash);
    assert_eq!(proof.tree_size, checkpoint.tree_size);
    verify_receipt(
        &transfer_receipt(receipt),
        &hashes(&proof.hashes),
        &checkpoint.signed_note,
        verifier,
    )
    .expect("the receipt is in the signed log")
    .entry
}

backend_test!(a_consumer_checks_its_own_receipts_and_sees_no_other_entry);
async fn a_consumer_checks_its_own_receipts_and_sees_no_other_entry(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut consumer = exchange.consumer().await;
    let mut other_consumer = ExchangeClient::new(exchange.channel_as(OTHER_CONSUMER).await);
    let subject = exchange.known_subject(0);

    // Delivered: the receipt is in the answer.
    let response = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect("an authorized fetch succeeds")
        .into_inner();
    let delivered = response.receipt.expect("a receipt");
    // After the fixture's rule changes.
    let rules = u64::try_from(exchange.governance_entries().await.len()).unwrap();
    assert_eq!(delivered.index, rules);
    assert_eq!(delivered.leaf_hash, leaf_hash(&delivered.entry).to_vec());
    let entry = LedgerEntry::decode(&delivered.entry).unwrap();
    assert_eq!(entry.leaf_index, delivered.index);
    assert_eq!(entry.consumer, CONSUMER);
    assert_eq!(entry.outcome, Outcome::Delivered);
    assert_eq!(
        entry.payload_sha256,
        Some(payload_digest(&response.payload_json))
    );
    assert!(!delivered.origin.is_empty());

    // Refused (the other consumer has no authorization): the receipt is in the status trailer.
    let refusal = other_consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("no authorization");
    assert_eq!(refusal.code(), Code::PermissionDenied);
    let trailer = refusal
        .metadata()
        .get_bin(RECEIPT_TRAILER)
        .expect("a recorded refusal carries its receipt")
        .to_bytes()
        .unwrap();
    let refused = proto::AuditReceipt::decode(trailer.as_ref()).unwrap();
    assert_eq!(refused.index, rules + 1);
    assert_eq!(refused.origin, delivered.origin);
    assert_eq!(refused.leaf_hash, leaf_hash(&refused.entry).to_vec());
    let refused_entry = LedgerEntry::decode(&refused.entry).unwrap();
    assert_eq!(refused_entry.consumer, OTHER_CONSUMER);
    assert_eq!(refused_entry.outcome, Outcome::RefusedNoAuthorization);

    // Both receipts are exactly the stored rows.
    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 2);
    for (receipt, row) in [&delivered, &refused].into_iter().zip(&rows) {
        assert_eq!(row.index, receipt.index);
        assert_eq!(row.entry_bytes, receipt.entry, "the stored entry bytes");
        assert_eq!(row.leaf_hash, receipt.leaf_hash);
    }

    // The verifier key comes from elsewhere than the consumer's own calls (here: the auditor).
    let signed = exchange.checkpoint_covering(rules + 2).await;
    assert_eq!(signed.origin, delivered.origin);
    let verifier = NoteVerifier::from_verifier_key(&signed.verifier_key).unwrap();

    // Each consumer checks its own receipt offline, from what the Audit API gives it.
    let mut consumer_audit = AuditClient::new(exchange.channel_as(CONSUMER).await);
    let mut other_consumer_audit = AuditClient::new(exchange.channel_as(OTHER_CONSUMER).await);
    let checked = check_receipt_through(&mut consumer_audit, &delivered, &verifier).await;
    assert_eq!(checked, entry);
    let checked = check_receipt_through(&mut other_consumer_audit, &refused, &verifier).await;
    assert_eq!(checked, refused_entry);

    // A consistency proof reveals no entry: open to consumers.
    consumer_audit
        .get_consistency_proof(proto::GetConsistencyProofRequest {
            old_size: 1,
            new_size: 2,
        })
        .await
        .expect("a consumer reads consistency proofs");

    // Another consumer's entry and an index that does not exist: the same refusal.
    let proof_of = |index| proto::GetInclusionProofRequest {
        index,
        tree_size: 0,
    };
    let of_another_consumer = consumer_audit
        .get_inclusion_proof(proof_of(refused.index))
        .await
        .expect_err("not the consumer's entry");
    let of_no_entry = consumer_audit
        .get_inclusion_proof(proof_of(1_000))
        .await
        .expect_err("no such entry");
    let of_the_last_possible_index = consumer_audit
        .get_inclusion_proof(proof_of(u64::MAX))
        .await
        .expect_err("no such entry");
    // A rule change (index 0: the fixture's route) is nobody's own entry either.
    let of_a_rule_change = consumer_audit
        .get_inclusion_proof(proof_of(0))
        .await
        .expect_err("a rule change is not the consumer's entry");
    for refusal in [
        &of_another_consumer,
        &of_no_entry,
        &of_the_last_possible_index,
        &of_a_rule_change,
    ] {
        assert_eq!(refusal.code(), Code::PermissionDenied);
    }
    assert_eq!(
        of_a_rule_change.message().replace('0', "N"),
        of_no_entry.message().replace("1000", "N"),
        "a rule change's index is refused like a missing one"
    );
    assert_eq!(
        of_another_consumer
            .message()
            .replace(&refused.index.to_string(), "N"),
        of_no_entry.message().replace("1000", "N"),
        "the refusals differ in the index asked for only"
    );
    let of_the_delivered_entry = other_consumer_audit
        .get_inclusion_proof(proof_of(delivered.index))
        .await
        .expect_err("not the other consumer's entry");
    assert_eq!(of_the_delivered_entry.code(), Code::PermissionDenied);

    // The auditor reads both proofs and checks both receipts.
    let mut auditor_audit = AuditClient::new(exchange.channel_as(AUDITOR).await);
    for receipt in [&delivered, &refused] {
        check_receipt_through(&mut auditor_audit, receipt, &verifier).await;
    }
    let auditor_of_no_entry = auditor_audit
        .get_inclusion_proof(proof_of(1_000))
        .await
        .expect_err("no such entry");
    assert_ne!(
        auditor_of_no_entry.code(),
        Code::PermissionDenied,
        "the auditor is told what is wrong"
    );
}
