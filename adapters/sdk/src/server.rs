//! [`serve`]: runs an [`AuthenticSource`] as a Kruispunt adapter.
//!
//! The gRPC `Adapter` service is a thin edge: it converts the generated request into a
//! [`SourceRequest`], refuses callers without the broker role, malformed subjects and undeclared
//! data types, and maps [`SourceError`] to gRPC codes (in this one place).

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

use crate::auth::{AuthenticatePeer, GateLayer, require_role};
use crate::identity::{AgencyId, Role};
use crate::source::{AuthenticSource, SourceError, SourceRequest};
use crate::subject::parse_subject;
use crate::tls::MutualTlsServer;

/// Limits an adapter enforces on what the broker sends it.
#[derive(Debug, Clone)]
pub struct AdapterLimits {
    /// Requests handled at once on one connection; more wait (backpressure, not failure).
    pub max_concurrent_requests_per_connection: usize,
    /// A request running longer than this is cancelled with `CANCELLED`/`DEADLINE_EXCEEDED`.
    pub request_timeout: Duration,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
}

impl Default for AdapterLimits {
    fn default() -> Self {
        Self {
            max_concurrent_requests_per_connection: 1024,
            request_timeout: Duration::from_secs(10),
            max_message_bytes: 4 * 1024 * 1024,
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
}

/// Serves `source` on `listener` over mutual TLS until `shutdown` completes. Adds standard
/// health checking and server reflection. Only callers whose certificate holds the broker role
/// may call `Fetch` and `Describe`.
pub async fn serve<S: AuthenticSource>(
    source: S,
    provider: AgencyId,
    listener: TcpListener,
    tls: MutualTlsServer,
    limits: AdapterLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<AdapterServer<AdapterService<S>>>()
        .await;
    let (reflection_v1, reflection_v1alpha) = crate::grpc_support::reflection_services()?;
    let adapter = AdapterServer::new(AdapterService::new(source, provider))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    tonic::transport::Server::builder()
        // Bounds the work one connection can queue on this adapter.
        .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
        // A stuck register must not hold broker requests forever.
        .timeout(limits.request_timeout)
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
}

impl<S: AuthenticSource> AdapterService<S> {
    /// Wraps `source`, which answers as agency `provider`.
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
        }
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
        let source_request = self.source_request(request)?;
        self.source
            .fetch(source_request)
            .await
            .map(|payload_json| Response::new(AdapterFetchResponse { payload_json }))
            .map_err(|error| AdapterRefusal::Source(error).into())
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
}

/// The one mapping from an adapter's refusals to gRPC status codes: the table in
/// `proto/kruispunt/v1/adapter.proto`, which the broker reads back.
impl From<AdapterRefusal> for Status {
    fn from(refusal: AdapterRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            AdapterRefusal::DataTypeNotServed(_) => Status::unimplemented(message),
            AdapterRefusal::SubjectMissing | AdapterRefusal::SubjectMalformed(_) => {
                Status::invalid_argument(message)
            }
            AdapterRefusal::Source(SourceError::SubjectNotFound) => Status::not_found(message),
            AdapterRefusal::Source(SourceError::Unavailable(_)) => Status::unavailable(message),
            AdapterRefusal::Source(SourceError::Internal(_)) => Status::internal(message),
        }
    }
}
