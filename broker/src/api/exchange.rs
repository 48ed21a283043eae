//! `kruispunt.v1.Exchange`: the consumer API. Checks the request's shape (SPEC step 2: data
//! type, subject, purpose, the bounded request and consent ids, the case reference), then hands
//! a [`FetchCommand`], with a fresh transfer id, to the pipeline.

use kruispunt_adapter::auth::require_role;
use kruispunt_adapter::identity::Role;
use kruispunt_adapter::subject::parse_subject;
use kruispunt_proto::v1::exchange_server::Exchange;
use kruispunt_proto::v1::{AnswerSignature, FetchRequest, FetchResponse};
use tonic::{Request, Response, Status};

use super::status::{audit_receipt, invalid_argument};
use crate::catalog::Catalog;
use crate::fetch_command::{CaseReference, FetchCommand, new_transfer_id};
use crate::pipeline::Pipeline;
use crate::registry::check_text;
use crate::registry_index::RegistryIndex;

/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;
/// Longest request id or consent id, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// The `Exchange` service.
pub struct ExchangeService {
    catalog: Catalog,
    registered_purposes: RegistryIndex,
    pipeline: Pipeline,
}

impl ExchangeService {
    /// A service over the broker's catalog and pipeline; a request's purpose must be a code
    /// registered in `registered_purposes` (held in memory: no database round trip).
    pub fn new(catalog: Catalog, registered_purposes: RegistryIndex, pipeline: Pipeline) -> Self {
        Self {
            catalog,
            registered_purposes,
            pipeline,
        }
    }
}

#[tonic::async_trait]
impl Exchange for ExchangeService {
    async fn fetch(
        &self,
        request: Request<FetchRequest>,
    ) -> Result<Response<FetchResponse>, Status> {
        let consumer = require_role(&request, Role::Consumer)?;
        let request = request.into_inner();
        let data_type = self
            .catalog
            .get(&request.data_type)
            .cloned()
            // The text is not quoted back (a caller may have put anything in it).
            .ok_or_else(|| {
                invalid_argument("unknown data type; Registry.ListDataTypes lists the known ones")
            })?;
        let subject = request
            .subject
            .ok_or_else(|| invalid_argument("subject is required"))?;
        let subject = parse_subject(&subject.scheme, &subject.id)
            .map_err(|error| invalid_argument(format!("subject: {error}")))?;
        check_text("purpose", &request.purpose, MAX_PURPOSE_CHARS, true)
            .map_err(invalid_argument)?;
        // Still step 2: a purpose is a registered code, never free text. The text is not quoted
        // back (a caller may have put anything in it).
        if !self
            .registered_purposes
            .is_registered_purpose(&request.purpose)
        {
            return Err(invalid_argument("purpose is not a registered purpose code"));
        }
        check_text("request_id", &request.request_id, MAX_ID_CHARS, false)
            .map_err(invalid_argument)?;
        check_text("consent_id", &request.consent_id, MAX_ID_CHARS, false)
            .map_err(invalid_argument)?;
        let case_reference = request
            .case_reference
            .map(|case| CaseReference::parse(&case.kind, &case.reference))
            .transpose()
            .map_err(|error| invalid_argument(error.to_string()))?;
        let command = FetchCommand {
            consumer,
            data_type,
            subject,
            purpose: request.purpose,
            transfer_id: new_transfer_id(),
            request_id: request.request_id,
            case_reference,
            consent_id: request.consent_id,
        };
        let delivery = self.pipeline.fetch(command).await?;
        let source = delivery.source_answer;
        Ok(Response::new(FetchResponse {
            payload_json: delivery.payload_json,
            provider: delivery.provider,
            receipt: Some(audit_receipt(delivery.receipt)),
            source_signature: source.signature.map(|signature| AnswerSignature {
                signed_at_micros: signature.signed_at_micros,
                algorithm: signature.algorithm,
                signature: signature.signature,
            }),
            source_payload_sha256: source
                .payload_sha256
                .map(|digest| digest.to_vec())
                .unwrap_or_default(),
            source_certificate_der: source.certificate_der.unwrap_or_default(),
            transfer_id: source.transfer_id.to_vec(),
        }))
    }
}
