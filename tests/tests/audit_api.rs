//! The Audit API: transfer queries with filters and paging (newest first), the subject access
//! log for a portal, and proofs that each returned record is in the signed ledger.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    AUDITOR, Backend, CONSUMER, PORTAL, PURPOSE, TestExchange, backend_test, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_transparency::{
    Hash, NoteVerifier, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion,
};
use tonic::transport::Channel;

fn hashes(bytes: &[Vec<u8>]) -> Vec<Hash> {
    bytes
        .iter()
        .map(|hash| hash.as_slice().try_into().unwrap())
        .collect()
}

/// Checks a page's checkpoint signature and every record's inclusion proof.
fn check_page(page: &proto::TransferPage) {
    let checkpoint = page.checkpoint.as_ref().unwrap();
    let verifier = NoteVerifier::from_verifier_key(&checkpoint.verifier_key).unwrap();
    let signed = verify_checkpoint(&verifier, &checkpoint.signed_note).unwrap();
    for record in &page.transfers {
        assert_eq!(record.leaf_hash, leaf_hash(&record.entry).to_vec());
        assert!(!record.awaiting_checkpoint);
        let leaf: Hash = record.leaf_hash.as_slice().try_into().unwrap();
        verify_inclusion(
            record.index,
            signed.tree_size,
            &leaf,
            &hashes(&record.inclusion_proof),
            &signed.root_hash,
        )
        .unwrap();
    }
}

async fn all_pages(
    audit: &mut AuditClient<Channel>,
    request: proto::QueryTransfersRequest,
) -> Vec<proto::TransferRecord> {
    let mut records = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit
            .query_transfers(proto::QueryTransfersRequest {
                page_token: token.clone(),
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        check_page(&page);
        records.extend(page.transfers);
        if page.next_page_token.is_empty() {
            return records;
        }
        token = page.next_page_token;
    }
}

backend_test!(auditors_query_and_portals_see_a_subjects_access_log_with_proofs);
async fn auditors_query_and_portals_see_a_subjects_access_log_with_proofs(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.register_purpose("curiosity").await;
    // The rule changes so far (the fixture's and the purpose) are the ledger's first entries.
    let rules = u64::try_from(exchange.governance_entries().await.len()).unwrap();
    let mut consumer = exchange.consumer().await;
    let watched = exchange.known_subject(3);
    // 7 delivered (3 about the watched subject), 2 refused (one about the watched subject).
    let mut first = None;
    for (number, position) in [0, 3, 1, 3, 2, 4, 3].into_iter().enumerate() {
        if number == 4 {
            // Only the rules and four transfers exist now, so this checkpoint is at that size
            // exactly.
            first = Some(exchange.checkpoint_covering(rules + 4).await);
        }
        consumer
            .fetch(person_request("be.insz", &exchange.known_subject(position)))
            .await
            .unwrap();
    }
    let first = first.unwrap();
    for position in [3, 5] {
        let mut request = person_request("be.insz", &exchange.known_subject(position));
        request.purpose = "curiosity".to_owned();
        consumer.fetch(request).await.unwrap_err();
    }
    exchange.checkpoint_covering(rules + 9).await;

    let mut audit = AuditClient::new(exchange.channel_as(AUDITOR).await);
    let delivered = all_pages(
        &mut audit,
        proto::QueryTransfersRequest {
            agency: CONSUMER.to_owned(),
            outcome: "delivered".to_owned(),
            page_size: 3,
            ..Default::default()
        },
    )
    .await;
    let indices: Vec<u64> = delivered.iter().map(|record| record.index).collect();
    assert_eq!(
        indices,
        [6, 5, 4, 3, 2, 1, 0].map(|transfer| rules + transfer),
        "newest first, across pages of 3 (transfers only, not the rule changes before them)"
    );
    assert!(
        delivered
            .iter()
            .all(|record| record.purpose == PURPOSE && !record.legal_basis.is_empty())
    );

    let refused = all_pages(
        &mut audit,
        proto::QueryTransfersRequest {
            purpose: "curiosity".to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(refused.len(), 2);
    assert!(
        refused
            .iter()
            .all(|record| record.outcome == "refused.no_authorization")
    );

    let status = audit
        .query_transfers(proto::QueryTransfersRequest {
            outcome: "maybe".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // The citizen's portal: exactly the four transfers about the watched subject.
    let mut portal = AuditClient::new(exchange.channel_as(PORTAL).await);
    let log = portal
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: Some(proto::Subject {
                scheme: "be.insz".to_owned(),
                id: watched.clone(),
            }),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    check_page(&log);
    let who: Vec<(&str, &str, &str)> = log
        .transfers
        .iter()
        .map(|record| {
            (
                record.consumer.as_str(),
                record.purpose.as_str(),
                record.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        who,
        vec![
            (CONSUMER, "curiosity", "refused.no_authorization"),
            (CONSUMER, PURPOSE, "delivered"),
            (CONSUMER, PURPOSE, "delivered"),
            (CONSUMER, PURPOSE, "delivered"),
        ]
    );
    // A portal is not an auditor, and an auditor is not a portal.
    assert_eq!(
        portal
            .query_transfers(proto::QueryTransfersRequest::default())
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );
    let malformed = portal
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: Some(proto::Subject {
                scheme: "be.insz".to_owned(),
                id: "12345".to_owned(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);

    // Consistency between the two checkpoints, from the server, verified here.
    let newest = exchange.checkpoint_covering(rules + 9).await;
    let verifier = NoteVerifier::from_verifier_key(&newest.verifier_key).unwrap();
    let old = verify_checkpoint(&verifier, &first.signed_note).unwrap();
    let new = verify_checkpoint(&verifier, &newest.signed_note).unwrap();
    assert_eq!((old.tree_size, new.tree_size), (rules + 4, rules + 9));
    {
        let proof = audit
            .get_consistency_proof(proto::GetConsistencyProofRequest {
                old_size: old.tree_size,
                new_size: new.tree_size,
            })
            .await
            .unwrap()
            .into_inner();
        verify_consistency(
            old.tree_size,
            new.tree_size,
            &old.root_hash,
            &new.root_hash,
            &hashes(&proof.hashes),
        )
        .unwrap();
    }
    let beyond = audit
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            index: 0,
            tree_size: 1_000,
        })
        .await
        .unwrap_err();
    assert_eq!(beyond.code(), tonic::Code::OutOfRange);
}
