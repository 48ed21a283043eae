//! A consumer checks its own receipt: the `Fetch` answer carries the ledger entry's exact bytes,
//! which hash to the receipt's leaf hash and decode to the transfer; with the inclusion proof and
//! a signed checkpoint the consumer may fetch for its own entries, it verifies offline, with the
//! transparency crate and the log's key alone, that the transfer is in the log. The proof of
//! another consumer's entry, and of an index that does not exist, are refused alike.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_broker::pki::CertificateRequest;
use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, TestExchange, backend_test, default_authorization, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_transparency::{
    LedgerEntry, NoteVerifier, leaf_hash, verify_checkpoint, verify_inclusion,
};
use tonic::transport::Identity;

const OTHER_CONSUMER: &str = "be.test.other-consumer";

backend_test!(a_consumer_verifies_its_receipt_offline_and_sees_no_other_entry);
async fn a_consumer_verifies_its_receipt_offline_and_sees_no_other_entry(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let issued = exchange
        .pki
        .issue(&CertificateRequest::local(
            AgencyId::parse(OTHER_CONSUMER).unwrap(),
            vec![Role::Consumer],
        ))
        .unwrap();
    let other_channel = exchange
        .channel_with(Some(Identity::from_pem(
            std::fs::read(&issued.cert).unwrap(),
            std::fs::read(&issued.key).unwrap(),
        )))
        .await;
    exchange
        .operator()
        .await
        .grant_authorization(proto::GrantAuthorizationRequest {
            consumer: OTHER_CONSUMER.to_owned(),
            ..default_authorization()
        })
        .await
        .unwrap();
    let others_receipt = ExchangeClient::new(other_channel.clone())
        .fetch(person_request("be.insz", &exchange.known_subject(1)))
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();

    let answer = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .unwrap()
        .into_inner();
    let receipt = answer.receipt.unwrap();
    assert_eq!(leaf_hash(&receipt.entry).to_vec(), receipt.leaf_hash);
    let entry = LedgerEntry::decode(&receipt.entry).unwrap();
    assert_eq!(entry.leaf_index, receipt.index);
    assert_eq!(entry.consumer, CONSUMER);
    assert_eq!(entry.outcome, Outcome::Delivered);
    let stored = exchange.ledger_rows().await;
    assert_eq!(
        stored[usize::try_from(receipt.index).unwrap()].entry_bytes,
        receipt.entry,
        "the receipt carries the stored bytes"
    );

    // Later, offline: a proof and a checkpoint, checked with the log's key alone.
    exchange.checkpoint_covering(receipt.index + 1).await;
    let mut audit = AuditClient::new(exchange.channel_as(CONSUMER).await);
    let checkpoint = audit
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let proof = audit
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            index: receipt.index,
            tree_size: checkpoint.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    let verifier = NoteVerifier::from_verifier_key(&checkpoint.verifier_key).unwrap();
    let signed = verify_checkpoint(&verifier, &checkpoint.signed_note).unwrap();
    assert_eq!(signed.tree_size, checkpoint.tree_size);
    let hashes: Vec<[u8; 32]> = proof
        .hashes
        .iter()
        .map(|hash| hash.as_slice().try_into().unwrap())
        .collect();
    verify_inclusion(
        receipt.index,
        signed.tree_size,
        &leaf_hash(&receipt.entry),
        &hashes,
        &signed.root_hash,
    )
    .unwrap();

    // Another consumer's entry, and one that does not exist: the same refusal.
    for index in [others_receipt.index, checkpoint.tree_size + 1_000] {
        let status = audit
            .get_inclusion_proof(proto::GetInclusionProofRequest {
                index,
                tree_size: 0,
            })
            .await
            .expect_err("not the consumer's entry");
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        assert_eq!(
            status.message(),
            format!("entry {index} is not one of your transfers")
        );
    }
    // The auditor still sees every entry.
    let mut auditor = AuditClient::new(exchange.channel_as(kruispunt_e2e::AUDITOR).await);
    auditor
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            index: others_receipt.index,
            tree_size: 0,
        })
        .await
        .unwrap();
    // And the other consumer its own.
    AuditClient::new(other_channel)
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            index: others_receipt.index,
            tree_size: 0,
        })
        .await
        .unwrap();
}
