//! [`run`]: serves a started [`Broker`] on a listener until shutdown, then stops the broker
//! ([`Broker::shutdown`]) once every request is answered. Tests call it with a
//! listener on port 0; `kruispunt serve` and `kruispunt demo` call it too.

use std::future::Future;
use std::time::Duration;

use kruispunt_adapter::auth::{AuthenticatePeer, GateLayer};
use kruispunt_adapter::grpc_support::reflection_services;
use kruispunt_adapter::message_size::MessageSizeLimitLayer;
use kruispunt_proto::v1::audit_server::AuditServer;
use kruispunt_proto::v1::consent_server::ConsentServer;
use kruispunt_proto::v1::exchange_server::ExchangeServer;
use kruispunt_proto::v1::registry_server::RegistryServer;
use tokio::net::TcpListener;

use crate::api::audit::AuditService;
use crate::api::consent::ConsentService;
use crate::api::exchange::ExchangeService;
use crate::api::registry::RegistryService;
use crate::broker::Broker;
use crate::refusal_layer::RecordRefusalsLayer;
use crate::revocation::RefuseRevokedAgencies;

/// How often the refusal log is asked to summarise an interval that ended.
const REFUSAL_SUMMARY_TICK: Duration = Duration::from_secs(1);

/// Time a request may take beyond the adapter deadline (validation, ledger commit).
const REQUEST_SLACK: Duration = Duration::from_secs(5);

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The gRPC transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be built.
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Serves the broker's gRPC services on `listener` over mutual TLS until `shutdown` completes
/// and every request under way is answered, then stops the broker ([`Broker::shutdown`]), so
/// nothing of it runs once this returns.
pub async fn run(
    listener: TcpListener,
    broker: Broker,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let served = serve(listener, &broker, shutdown).await;
    // Every request has been answered (or the server could not run): stop the background work.
    broker.shutdown().await;
    served
}

async fn serve(
    listener: TcpListener,
    broker: &Broker,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let limits = &broker.config.limits;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ExchangeServer<ExchangeService>>()
        .await;
    let (reflection_v1, reflection_v1alpha) = reflection_services()?;
    let exchange = ExchangeServer::new(ExchangeService::new(
        broker.catalog.clone(),
        broker.registry_index.clone(),
        broker.pipeline.clone(),
    ))
    .max_decoding_message_size(limits.max_request_bytes)
    .max_encoding_message_size(limits.max_payload_bytes.saturating_add(4096));
    let registry = RegistryServer::new(RegistryService::new(
        broker.catalog.clone(),
        broker.registry.clone(),
        broker.registry_index.clone(),
        broker.database.repertory(),
        broker.pipeline.pseudonym_epochs.clone(),
        broker.adapters.clone(),
        broker.governance.clone(),
    ))
    .max_decoding_message_size(limits.max_request_bytes);
    let consent = ConsentServer::new(ConsentService::new(
        broker.catalog.clone(),
        broker.registry_index.clone(),
        broker.database.consents(),
        broker.pipeline.pseudonym_epochs.clone(),
        broker.governance.clone(),
    ))
    .max_decoding_message_size(limits.max_request_bytes);
    let audit = AuditServer::new(AuditService::new(
        broker.ledger.clone(),
        broker.pipeline.pseudonym_epochs.clone(),
    ))
    .max_decoding_message_size(limits.max_request_bytes);
    let server = tonic::transport::Server::builder()
        // One connection cannot queue unbounded work.
        .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
        // No request outlives the adapter deadline by more than the slack.
        .timeout(limits.adapter_deadline() + REQUEST_SLACK)
        // Outermost: every refusal below, the gates' included, is logged and counted once.
        .layer(RecordRefusalsLayer::new(broker.refusals.clone()))
        // An oversized message is RESOURCE_EXHAUSTED before tonic reads it (tonic: OUT_OF_RANGE).
        .layer(MessageSizeLimitLayer::new(limits.max_request_bytes))
        // Identity first: nothing else runs for a caller without a verified certificate.
        .layer(GateLayer::new(AuthenticatePeer))
        // Then membership: a valid certificate of a revoked agency gets nothing either.
        .layer(GateLayer::new(RefuseRevokedAgencies::new(
            broker.registry_index.clone(),
        )))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(exchange)
        .add_service(registry)
        .add_service(audit)
        .add_service(consent)
        .serve_with_incoming_shutdown(broker.tls_server.clone().incoming(listener), shutdown);
    let served = tokio::select! {
        served = server => served,
        never = summarise_refusals_every_tick(broker) => match never {},
    };
    // The refusals of the last, unfinished interval are summarised too.
    broker.refusals.summarise_now();
    served?;
    Ok(())
}

/// Summarises the refusal log's intervals as they end, until the server stops (and drops this).
async fn summarise_refusals_every_tick(broker: &Broker) -> std::convert::Infallible {
    let mut ticks = tokio::time::interval(REFUSAL_SUMMARY_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        broker.refusals.summarise_if_due();
    }
}
