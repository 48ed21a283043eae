//! [`serve`]: runs an [`AuthenticSource`] as a Kruispunt adapter.
//!
//! The gRPC `Adapter` service is a thin edge: it converts the generated request into a
//! [`SourceRequest`], refuses callers without the broker role, malformed subjects and undeclared
//! data types, and maps [`SourceError`] to gRPC codes (in this one place). It signs every OK
//! answer with the key of the adapter's own certificate ([`crate::answer_signature`]), unless
//! [`AnswerSigning::Off`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kruispunt_proto::v1::adapter_server::{Adapter, AdapterServer};
use kruispunt_proto::v1::{
    AdapterFetchRequest, AdapterFetchResponse, DataTypeDescription, DescribeRequest,
    DescribeResponse,
};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use kruispunt_transparency::{AnswerStatement, payload_digest};

use crate::answer_signature::{AnswerSignatureError, AnswerSigner, parse_transfer_id};
use crate::auth::{AuthenticatePeer, GateLayer, require_role};
use crate::identity::{AgencyId, Role};
use crate::message_size::MessageSizeLimitLayer;
use crate::source::{AuthenticSource, SourceError, SourceRequest};
use crate::subject::parse_subject;
use crate::tls::{AnswerSigningSetupError, MutualTlsServer};

/// Whether the adapter signs its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnswerSigning {
    /// Every OK answer is signed with the key of the adapter's own TLS certificate (the
    /// default).
    #[default]
    WithCertificateKey,
    /// Answers are not signed, as adapters built before signed answers answered. Routes that
    /// require signed answers refuse them.
    Off,
}

/// Limits an adapter enforces on what the broker sends it, and whether it signs its answers.
#[derive(Debug, Clone)]
pub struct AdapterLimits {
    /// Requests handled at once on one connection; more wait (backpressure, not failure).
    pub max_concurrent_requests_per_connection: usize,
    /// A request running longer than this is cancelled with `CANCELLED`/`DEADLINE_EXCEEDED`.
    pub request_timeout: Duration,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Whether answers are signed.
    pub answer_signing: AnswerSigning,
}

impl Default for AdapterLimits {
    fn default() -> Self {
        Self {
            max_concurrent_requests_per_connection: 1024,
            request_timeout: Duration::from_secs(10),
            max_message_bytes: 4 * 1024 * 1024,
            answer_signing: AnswerSigning::default(),
        }
    }
}

/// Why the adapter server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The gRPC transport failed.
    #[error("gRPC transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be set up from the descriptor set.
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// Answers are to be signed, and the certificate's key cannot sign them.
    #[error("answers cannot be signed with the adapter's certificate key: {0}")]
    AnswerSigning(#[from] AnswerSigningSetupError),
}

/// Serves `source` on `listener` over mutual TLS until `shutdown` completes. Adds standard
/// health checking and server reflection. Only callers whose certificate holds the broker role
/// may call `Fetch` and `Describe`. Unless `limits.answer_signing` is [`AnswerSigning::Off`],
/// every OK answer is signed with the key of `tls`'s certificate; a key that cannot sign stops
/// the start with [`ServeError::AnswerSigning`].
pub async fn serve<S: AuthenticSource>(
    source: S,
    provider: AgencyId,
    listener: TcpListener,
    tls: MutualTlsServer,
    limits: AdapterLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let mut service = AdapterService::new(source, provider);
    if limits.answer_signing == AnswerSigning::WithCertificateKey {
        service = service.signing_answers_with(tls.answer_signer()?);
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<AdapterServer<AdapterService<S>>>()
        .await;
    let (reflection_v1, reflection_v1alpha) = crate::grpc_support::reflection_services()?;
    let adapter = AdapterServer::new(service)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    tonic::transport::Server::builder()
        // Bounds the work one connection can queue on this adapter.
        .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
        // A stuck register must not hold broker requests forever.
        .timeout(limits.request_timeout)
        // An oversized request is RESOURCE_EXHAUSTED (tonic alone says OUT_OF_RANGE).
        .layer(MessageSizeLimitLayer::new(limits.max_message_bytes))
        // Identity first: nothing else runs for an unauthenticated peer.
        .layer(GateLayer::new(AuthenticatePeer))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(adapter)
        .serve_with_incoming_shutdown(tls.incoming(listener), shutdown)
        .await?;
    Ok(())
}

/// The generated `Adapter` service over an [`AuthenticSource`].
pub struct AdapterService<S> {
    source: Arc<S>,
    provider: AgencyId,
    served: Vec<DataTypeDescription>,
    signer: Option<AnswerSigner>,
}

impl<S: AuthenticSource> AdapterService<S> {
    /// Wraps `source`, which answers as agency `provider`, without signing its answers (see
    /// [`Self::signing_answers_with`]).
    pub fn new(source: S, provider: AgencyId) -> Self {
        let served = source
            .data_types()
            .into_iter()
            .map(|data_type| DataTypeDescription {
                id: data_type.id,
                class_iri: data_type.class_iri,
                title: data_type.title,
            })
            .collect();
        Self {
            source: Arc::new(source),
            provider,
            served,
            signer: None,
        }
    }

    /// The same service, signing every OK answer with `signer` (which should hold the key of
    /// the certificate the adapter presents: the broker checks against that one).
    pub fn signing_answers_with(mut self, signer: AnswerSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Signs `payload_json`, the answer to `data_type` for the transfer `transfer_id`.
    fn sign(
        signer: &AnswerSigner,
        data_type: String,
        transfer_id: kruispunt_transparency::TransferId,
        payload_json: &[u8],
    ) -> Result<kruispunt_proto::v1::AnswerSignature, AdapterRefusal> {
        let signed = signer
            .sign(&AnswerStatement {
                data_type,
                transfer_id,
                payload_sha256: payload_digest(payload_json),
                signed_at_micros: now_unix_micros(),
            })
            .map_err(AdapterRefusal::Signing)?;
        Ok(kruispunt_proto::v1::AnswerSignature {
            signed_at_micros: signed.signed_at_micros,
            algorithm: signed.algorithm,
            signature: signed.signature,
        })
    }

    /// The source's view of a broker request, once it names a served data type and a
    /// well-formed subject.
    fn source_request(
        &self,
        request: AdapterFetchRequest,
    ) -> Result<SourceRequest, AdapterRefusal> {
        if !self
            .served
            .iter()
            .any(|served| served.id == request.data_type)
        {
            return Err(AdapterRefusal::DataTypeNotServed(request.data_type));
        }
        let subject = request.subject.ok_or(AdapterRefusal::SubjectMissing)?;
        let subject = parse_subject(&subject.scheme, &subject.id)
            .map_err(|error| AdapterRefusal::SubjectMalformed(error.to_string()))?;
        Ok(SourceRequest {
            data_type: request.data_type,
            subject,
            purpose: request.purpose,
            request_id: request.request_id,
            consumer: request.consumer,
        })
    }
}

#[tonic::async_trait]
impl<S: AuthenticSource> Adapter for AdapterService<S> {
    async fn fetch(
        &self,
        request: Request<AdapterFetchRequest>,
    ) -> Result<Response<AdapterFetchResponse>, Status> {
        require_role(&request, Role::Broker)?;
        let request = request.into_inner();
        // A signing adapter must know which transfer it answers before it asks its source.
        let transfer_id = match &self.signer {
            Some(_) => {
                Some(parse_transfer_id(&request.request_id).map_err(AdapterRefusal::TransferId)?)
            }
            None => None,
        };
        let source_request = self.source_request(request)?;
        let data_type = source_request.data_type.clone();
        let payload_json = self
            .source
            .fetch(source_request)
            .await
            .map_err(AdapterRefusal::Source)?;
        let signature = match (&self.signer, transfer_id) {
            (Some(signer), Some(transfer_id)) => {
                Some(Self::sign(signer, data_type, transfer_id, &payload_json)?)
            }
            _ => None,
        };
        Ok(Response::new(AdapterFetchResponse {
            payload_json,
            signature,
        }))
    }

    async fn describe(
        &self,
        request: Request<DescribeRequest>,
    ) -> Result<Response<DescribeResponse>, Status> {
        require_role(&request, Role::Broker)?;
        Ok(Response::new(DescribeResponse {
            provider: self.provider.to_string(),
            data_types: self.served.clone(),
        }))
    }
}

/// Why the adapter refuses a request, before or from its source.
#[derive(Debug, thiserror::Error)]
enum AdapterRefusal {
    /// The request names a data type this adapter does not serve: the broker's route is wrong.
    #[error("this adapter does not serve data type {0:?}")]
    DataTypeNotServed(String),
    /// The request carries no subject.
    #[error("subject is required")]
    SubjectMissing,
    /// The subject identifier is malformed.
    #[error("subject: {0}")]
    SubjectMalformed(String),
    /// The source itself could not answer.
    #[error(transparent)]
    Source(SourceError),
    /// A signing adapter got a `request_id` that is not a transfer id (32 hex digits).
    #[error("request_id: {0}")]
    TransferId(AnswerSignatureError),
    /// The answer could not be signed.
    #[error("the answer could not be signed: {0}")]
    Signing(AnswerSignatureError),
}

/// The one mapping from an adapter's refusals to gRPC status codes: the table in
/// `proto/kruispunt/v1/adapter.proto`, which the broker reads back.
impl From<AdapterRefusal> for Status {
    fn from(refusal: AdapterRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            AdapterRefusal::DataTypeNotServed(_) => Status::unimplemented(message),
            AdapterRefusal::SubjectMissing
            | AdapterRefusal::SubjectMalformed(_)
            | AdapterRefusal::TransferId(_) => Status::invalid_argument(message),
            AdapterRefusal::Signing(_) => Status::internal(message),
            AdapterRefusal::Source(SourceError::SubjectNotFound) => Status::not_found(message),
            AdapterRefusal::Source(SourceError::Unavailable(_)) => Status::unavailable(message),
            AdapterRefusal::Source(SourceError::Internal(_)) => Status::internal(message),
        }
    }
}

fn now_unix_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
}
