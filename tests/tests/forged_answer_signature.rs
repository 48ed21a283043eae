//! An adapter whose answer's signature does not hold is refused, whatever the route says:
//! `refused.invalid_signature` in the ledger, no signature recorded, the payload never passed
//! on. The adapter here is the SDK's own `AdapterService` (signing with its certificate key)
//! behind a wrapper that forges, in turn: a signature by another agency's key over the right
//! statement; the right key over another transfer's statement (a replayed signature); the
//! right signature with the payload changed after signing; an algorithm token nobody supports.
//! Between forgeries an honest answer is delivered, so each refusal is the forgery's doing.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use kruispunt_adapter::AdapterService;
use kruispunt_adapter::answer_signature::{AnswerSigner, parse_transfer_id};
use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_broker::pki::CertificateRequest;
use kruispunt_civil_registry::{CivilRegistry, SyntheticCivilRegistry};
use kruispunt_e2e::{
    Backend, Outcome, POPULATION, POPULATION_SEED, PROVIDER, TestExchange, backend_test,
    person_request, serve_adapter_service,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::adapter_server::Adapter;
use kruispunt_transparency::{AnswerStatement, payload_digest};
use tonic::{Request, Response, Status};

const HONEST: u8 = 0;
const ANOTHER_KEY: u8 = 1;
const ANOTHER_TRANSFER: u8 = 2;
const PAYLOAD_CHANGED_AFTER_SIGNING: u8 = 3;
const UNKNOWN_ALGORITHM: u8 = 4;

/// The SDK adapter, and what it does to its answers.
struct ForgingAdapter {
    honest: AdapterService<CivilRegistry>,
    own_key: AnswerSigner,
    another_agencys_key: AnswerSigner,
    forgery: Arc<AtomicU8>,
}

impl ForgingAdapter {
    fn resign(
        signer: &AnswerSigner,
        data_type: &str,
        transfer_id: [u8; 16],
        payload_json: &[u8],
    ) -> proto::AnswerSignature {
        let signed = signer
            .sign(&AnswerStatement {
                data_type: data_type.to_owned(),
                transfer_id,
                payload_sha256: payload_digest(payload_json),
                signed_at_micros: 1_767_225_600_000_000,
            })
            .unwrap();
        proto::AnswerSignature {
            signed_at_micros: signed.signed_at_micros,
            algorithm: signed.algorithm,
            signature: signed.signature,
        }
    }
}

#[tonic::async_trait]
impl Adapter for ForgingAdapter {
    async fn fetch(
        &self,
        request: Request<proto::AdapterFetchRequest>,
    ) -> Result<Response<proto::AdapterFetchResponse>, Status> {
        let data_type = request.get_ref().data_type.clone();
        let transfer_id = parse_transfer_id(&request.get_ref().request_id).unwrap();
        let mut answer = self.honest.fetch(request).await?.into_inner();
        assert!(answer.signature.is_some(), "the SDK signs");
        match self.forgery.load(Ordering::SeqCst) {
            ANOTHER_KEY => {
                answer.signature = Some(Self::resign(
                    &self.another_agencys_key,
                    &data_type,
                    transfer_id,
                    &answer.payload_json,
                ));
            }
            ANOTHER_TRANSFER => {
                let mut other_transfer = transfer_id;
                other_transfer[0] ^= 0xff;
                answer.signature = Some(Self::resign(
                    &self.own_key,
                    &data_type,
                    other_transfer,
                    &answer.payload_json,
                ));
            }
            PAYLOAD_CHANGED_AFTER_SIGNING => {
                // Still the same JSON document, and valid: only the signature tells.
                let document: serde_json::Value =
                    serde_json::from_slice(&answer.payload_json).unwrap();
                answer.payload_json = serde_json::to_vec_pretty(&document).unwrap();
            }
            UNKNOWN_ALGORITHM => {
                answer.signature.as_mut().unwrap().algorithm = "rsa-pss-sha256".to_owned();
            }
            _ => {}
        }
        Ok(Response::new(answer))
    }

    async fn describe(
        &self,
        request: Request<proto::DescribeRequest>,
    ) -> Result<Response<proto::DescribeResponse>, Status> {
        self.honest.describe(request).await
    }
}

backend_test!(an_answer_whose_signature_does_not_hold_is_refused_and_ledgered);
async fn an_answer_whose_signature_does_not_hold_is_refused_and_ledgered(backend: Backend) {
    let forgery = Arc::new(AtomicU8::new(HONEST));
    let forgery_in_adapter = forgery.clone();
    // Signatures are not required on this route: an invalid one is refused all the same.
    let exchange = TestExchange::builder(backend)
        .start_serving(PROVIDER, move |adapter| {
            let material = adapter.certificate.tls_material().unwrap();
            let other = adapter
                .pki
                .issue(&CertificateRequest::local(
                    AgencyId::parse("be.test.other-provider").unwrap(),
                    vec![Role::Provider],
                ))
                .unwrap();
            let own_key = material.answer_signer().unwrap();
            let population = SyntheticCivilRegistry::generate(POPULATION_SEED, POPULATION);
            let honest = AdapterService::new(
                CivilRegistry::new(&population),
                AgencyId::parse(adapter.agency).unwrap(),
            )
            .signing_answers_with(own_key.clone());
            serve_adapter_service(
                ForgingAdapter {
                    honest,
                    own_key,
                    another_agencys_key: other.tls_material().unwrap().answer_signer().unwrap(),
                    forgery: forgery_in_adapter,
                },
                adapter.listener,
                adapter.certificate,
                adapter.stopped,
            );
        })
        .await;
    let subject = exchange.known_subject(3);
    let mut consumer = exchange.consumer().await;

    let mut expected_outcomes = Vec::new();
    for (forgery_kind, cause) in [
        (ANOTHER_KEY, "does not verify"),
        (ANOTHER_TRANSFER, "does not verify"),
        (PAYLOAD_CHANGED_AFTER_SIGNING, "does not verify"),
        (UNKNOWN_ALGORITHM, "algorithm is not one of"),
    ] {
        forgery.store(HONEST, Ordering::SeqCst);
        let honest = consumer
            .fetch(person_request("be.insz", &subject))
            .await
            .expect("an honest answer is delivered")
            .into_inner();
        assert!(honest.source_signature.is_some());
        expected_outcomes.push(Outcome::Delivered);

        forgery.store(forgery_kind, Ordering::SeqCst);
        let status = consumer
            .fetch(person_request("be.insz", &subject))
            .await
            .expect_err("a forged signature is refused");
        assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
        assert!(
            status.message().contains("does not hold") && status.message().contains(cause),
            "forgery {forgery_kind}: {}",
            status.message()
        );
        assert!(!status.message().contains(&subject));
        assert!(
            status.metadata().get_bin("kruispunt-receipt-bin").is_some(),
            "the refusal is recorded and carries its receipt"
        );
        expected_outcomes.push(Outcome::RefusedInvalidSignature);
    }

    let rows = exchange.ledger_rows().await;
    let outcomes: Vec<Outcome> = rows.iter().map(|row| row.entry.outcome).collect();
    assert_eq!(outcomes, expected_outcomes);
    for row in rows
        .iter()
        .filter(|row| row.entry.outcome == Outcome::RefusedInvalidSignature)
    {
        let entry = &row.entry;
        assert_eq!(entry.provider, PROVIDER);
        assert_eq!(entry.payload_sha256, None, "nothing was delivered");
        assert_eq!(
            entry.answer_signature, None,
            "an invalid signature is not recorded"
        );
        assert!(
            entry.source_payload_sha256.is_some(),
            "what the source sent is recorded as its digest"
        );
        assert!(entry.refusal_reason.contains("does not hold"));
    }
    for row in rows
        .iter()
        .filter(|row| row.entry.outcome == Outcome::Delivered)
    {
        assert!(row.entry.answer_signature.is_some());
    }
}
