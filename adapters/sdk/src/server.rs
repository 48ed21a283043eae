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
}

#[tonic::async_trait]
impl<S: AuthenticSource> Adapter for AdapterService<S> {
    async fn fetch(
        &self,
        request: Request<AdapterFetchRequest>,
    ) -> Result<Response<AdapterFetchResponse>, Status> {
        require_role(&request, Role::Broker)?;
        let request = request.into_inner();
        if !self
            .served
            .iter()
            .any(|served| served.id == request.data_type)
        {
            return Err(Status::not_found(format!(
                "this adapter does not serve data type {:?}",
                request.data_type
            )));
        }
        let subject = request
            .subject
            .ok_or_else(|| Status::invalid_argument("subject is required"))?;
        let subject = parse_subject(&subject.scheme, &subject.id)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let source_request = SourceRequest {
            data_type: request.data_type,
            subject,
            purpose: request.purpose,
            request_id: request.request_id,
            consumer: request.consumer,
        };
        match self.source.fetch(source_request).await {
            Ok(payload_json) => Ok(Response::new(AdapterFetchResponse { payload_json })),
            Err(error) => Err(source_error_status(&error)),
        }
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

/// The one mapping from [`SourceError`] to gRPC status codes.
fn source_error_status(error: &SourceError) -> Status {
    match error {
        SourceError::SubjectNotFound => Status::not_found(error.to_string()),
        SourceError::Unavailable(_) => Status::unavailable(error.to_string()),
        SourceError::Internal(_) => Status::internal(error.to_string()),
    }
}
