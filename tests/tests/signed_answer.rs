//! What the authentic source said, provably: the SDK adapter signs its answer with its
//! certificate key, over the broker's transfer id and the digest of the payload it sent; the
//! broker checks it against the certificate the adapter presented and records it in the
//! transfer's entry; the consumer gets the same signature, the source's payload digest, the
//! transfer id and the certificate, and checks the statement itself, offline. Each transfer
//! has its own random id. With minimisation, the consumer's payload differs from what the
//! source signed, and the signature still holds over the source's digest.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::answer_signature::{certificate_sha256, verify_answer_signature};
use kruispunt_e2e::{Backend, Outcome, PROVIDER, TestExchange, backend_test, person_request};
use kruispunt_proto::v1 as proto;
use kruispunt_transparency::answer::ECDSA_P256_SHA256;
use kruispunt_transparency::{AnswerStatement, LedgerEntry, payload_digest};

backend_test!(a_delivered_answer_carries_the_sources_signature_in_its_entry_and_its_response);
async fn a_delivered_answer_carries_the_sources_signature_in_its_entry_and_its_response(
    backend: Backend,
) {
    let exchange = TestExchange::builder(backend)
        .signed_answers_required(true)
        .start()
        .await;
    let adapter_certificate = exchange.adapter_certificate_der(PROVIDER);
    let mut consumer = exchange.consumer().await;
    let before = now_micros();
    let mut responses = Vec::new();
    for position in 0..2 {
        let response = consumer
            .fetch(person_request("be.insz", &exchange.known_subject(position)))
            .await
            .expect("a signed answer on a route that requires one is delivered")
            .into_inner();
        responses.push(response);
    }
    let after = now_micros();

    let rows = exchange.ledger_rows().await;
    assert_eq!(rows.len(), 2);
    for (row, response) in rows.iter().zip(&responses) {
        let entry = &row.entry;
        assert_eq!(entry.outcome, Outcome::Delivered);
        // The whole record was allowed: the source's payload is the consumer's.
        let payload_sha256 = payload_digest(&response.payload_json);
        assert_eq!(entry.payload_sha256, Some(payload_sha256));
        assert_eq!(entry.source_payload_sha256, Some(payload_sha256));
        let signature = entry
            .answer_signature
            .as_ref()
            .expect("the entry records the source's signature");
        assert_eq!(signature.algorithm, ECDSA_P256_SHA256);
        assert_eq!(
            signature.certificate_sha256,
            certificate_sha256(&adapter_certificate),
            "the entry names the adapter's own certificate"
        );
        assert!(
            (before..=after).contains(&signature.signed_at_micros),
            "signed during the request"
        );
        // The test's own check, with the SDK's verifier, against the adapter's certificate
        // (read from the PKI, not from the broker).
        let statement = AnswerStatement {
            data_type: entry.data_type.clone(),
            transfer_id: entry.transfer_id,
            payload_sha256,
            signed_at_micros: signature.signed_at_micros,
        };
        assert_eq!(
            verify_answer_signature(
                &statement,
                &signature.algorithm,
                &signature.signature,
                &adapter_certificate
            ),
            Ok(())
        );

        // The consumer's response carries the same, and is checkable from itself alone.
        let source_signature = response
            .source_signature
            .as_ref()
            .expect("the response carries the source's signature");
        assert_eq!(
            source_signature.signed_at_micros,
            signature.signed_at_micros
        );
        assert_eq!(source_signature.algorithm, signature.algorithm);
        assert_eq!(source_signature.signature, signature.signature);
        assert_eq!(response.source_payload_sha256, payload_sha256.to_vec());
        assert_eq!(response.transfer_id, entry.transfer_id.to_vec());
        assert_eq!(response.source_certificate_der, adapter_certificate);
        let from_response = AnswerStatement {
            data_type: person_request("be.insz", "").data_type,
            transfer_id: response.transfer_id.clone().try_into().unwrap(),
            payload_sha256: response.source_payload_sha256.clone().try_into().unwrap(),
            signed_at_micros: source_signature.signed_at_micros,
        };
        assert_eq!(
            verify_answer_signature(
                &from_response,
                &source_signature.algorithm,
                &source_signature.signature,
                &response.source_certificate_der
            ),
            Ok(())
        );
        // The receipt's entry bytes hold the same signature.
        let receipt = response.receipt.as_ref().unwrap();
        let receipt_entry = LedgerEntry::decode(&receipt.entry).unwrap();
        assert_eq!(receipt_entry.answer_signature, entry.answer_signature);
        assert_eq!(receipt_entry.transfer_id, entry.transfer_id);
    }
    assert_ne!(
        rows[0].entry.transfer_id, rows[1].entry.transfer_id,
        "every transfer has its own id"
    );
    assert_ne!(rows[0].entry.transfer_id, [0; 16]);
}

backend_test!(a_minimised_answer_carries_the_signature_over_what_the_source_sent);
async fn a_minimised_answer_carries_the_signature_over_what_the_source_sent(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| {
            grant.allowed_fields = vec!["/voornaam".to_owned(), "/achternaam".to_owned()];
        })
        .start()
        .await;
    let adapter_certificate = exchange.adapter_certificate_der(PROVIDER);
    let subject = exchange.known_subject(0);
    let response: proto::FetchResponse = exchange
        .consumer()
        .await
        .fetch(person_request("be.insz", &subject))
        .await
        .unwrap()
        .into_inner();
    let source_payload = serde_json::to_vec(exchange.population.person(&subject).unwrap()).unwrap();

    let rows = exchange.ledger_rows().await;
    let entry = &rows[0].entry;
    assert_eq!(entry.outcome, Outcome::Delivered);
    assert_eq!(
        entry.payload_sha256,
        Some(payload_digest(&response.payload_json))
    );
    assert_ne!(
        entry.source_payload_sha256, entry.payload_sha256,
        "minimisation withheld fields"
    );
    assert_eq!(
        response.source_payload_sha256,
        entry.source_payload_sha256.unwrap().to_vec()
    );
    let signature = response.source_signature.unwrap();
    let statement = AnswerStatement {
        data_type: entry.data_type.clone(),
        transfer_id: entry.transfer_id,
        payload_sha256: entry.source_payload_sha256.unwrap(),
        signed_at_micros: signature.signed_at_micros,
    };
    assert_eq!(
        verify_answer_signature(
            &statement,
            &signature.algorithm,
            &signature.signature,
            &adapter_certificate
        ),
        Ok(())
    );
    // Over the minimised payload it does not hold: the source never said that.
    let minimised = AnswerStatement {
        payload_sha256: payload_digest(&response.payload_json),
        ..statement.clone()
    };
    assert!(
        verify_answer_signature(
            &minimised,
            &signature.algorithm,
            &signature.signature,
            &adapter_certificate
        )
        .is_err()
    );
    // The source's digest is the digest of the record the civil registry holds, if it encodes
    // it as serde_json does (it does: the example registry serves serde_json bytes).
    assert_eq!(
        entry.source_payload_sha256,
        Some(payload_digest(&source_payload)),
        "the source payload digest is of the payload as the source sent it"
    );
}

fn now_micros() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}
