//! An authorized consumer fetches a person: the payload validates against the published schema,
//! receipts count up, and each receipt matches a durable ledger row that holds no personal data.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{
    Backend, CONSUMER, Outcome, PROVIDER, PURPOSE, TestExchange, backend_test, person_request,
    person_schema,
};
use sha2::{Digest, Sha256};

backend_test!(an_authorized_fetch_delivers_a_valid_payload_with_a_durable_receipt);
async fn an_authorized_fetch_delivers_a_valid_payload_with_a_durable_receipt(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut consumer = exchange.consumer().await;
    let schema = person_schema();

    let mut receipts = Vec::new();
    for position in 0..3 {
        let subject = exchange.known_subject(position);
        let response = consumer
            .fetch(person_request("be.insz", &subject))
            .await
            .expect("an authorized fetch succeeds")
            .into_inner();
        assert_eq!(response.provider, PROVIDER);
        let payload: serde_json::Value = serde_json::from_slice(&response.payload_json).unwrap();
        assert!(
            schema.is_valid(&payload),
            "payload must validate against the schema"
        );
        let expected = exchange.population.person(&subject).unwrap();
        assert_eq!(&payload, expected, "the payload is the registry's record");
        receipts.push((
            response.receipt.expect("a receipt"),
            response.payload_json,
            subject,
        ));
    }
    let indices: Vec<u64> = receipts
        .iter()
        .map(|(receipt, _, _)| receipt.index)
        .collect();
    // The fixture's rule changes (route, purpose, authorization) come first in the ledger.
    let rules = u64::try_from(exchange.governance_entries().await.len()).unwrap();
    assert_eq!(
        indices,
        vec![rules, rules + 1, rules + 2],
        "receipt indices count up after the rule changes"
    );

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 3);
    for ((receipt, payload, subject), row) in receipts.iter().zip(&rows) {
        assert_eq!(row.index, receipt.index);
        assert_eq!(row.leaf_hash, receipt.leaf_hash);
        let mut leaf_input = vec![0_u8];
        leaf_input.extend_from_slice(&row.entry_bytes);
        assert_eq!(
            row.leaf_hash,
            Sha256::digest(&leaf_input).to_vec(),
            "RFC 6962 leaf hash"
        );
        assert_eq!(row.entry.outcome, Outcome::Delivered);
        assert_eq!(row.entry.consumer, CONSUMER);
        assert_eq!(row.entry.provider, PROVIDER);
        assert_eq!(row.entry.purpose, PURPOSE);
        assert!(!row.entry.legal_basis.is_empty());
        assert_eq!(
            row.entry.payload_sha256.map(|digest| digest.to_vec()),
            Some(Sha256::digest(payload).to_vec()),
            "the ledger holds the digest of exactly what was sent"
        );
        let entry_text = String::from_utf8_lossy(&row.entry_bytes);
        assert!(
            !entry_text.contains(subject.as_str()),
            "no national register number in the ledger"
        );
    }
    assert_ne!(
        rows[0].entry.subject_pseudonym,
        rows[1].entry.subject_pseudonym
    );
}
