//! `kruispunt-bench forward`: the server of the *forward* reference setup.
//!
//! A gRPC forwarder built from exactly the stacks the broker is built from (tonic, hyper's
//! HTTP/2, rustls through the adapter SDK's mutual TLS, a multi-thread tokio runtime): every
//! `Adapter/Fetch` goes to the upstream adapter and its answer comes back unchanged. It checks
//! the caller's certificate chain (as nginx does in the *proxy* setup) and nothing else: no
//! authorization, no schema validation, no ledger. What it reaches on a machine bounds what any
//! broker built on these stacks can reach there, so the broker's figures can be read against
//! it: the difference is the price of Kruispunt's own work.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use kruispunt_adapter::auth::{AuthenticatePeer, GateLayer};
use kruispunt_adapter::identity::AgencyId;
use kruispunt_adapter::tls::{MutualTlsClient, MutualTlsServer, TlsMaterial};
use kruispunt_proto::v1::adapter_client::AdapterClient;
use kruispunt_proto::v1::adapter_server::{Adapter, AdapterServer};
use kruispunt_proto::v1::{
    AdapterFetchRequest, AdapterFetchResponse, DescribeRequest, DescribeResponse,
};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// How long the forwarder waits for the upstream connection.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `kruispunt-bench forward`.
#[derive(clap::Args)]
pub struct ForwardArguments {
    /// Address to serve on.
    #[arg(long)]
    listen: SocketAddr,
    /// The adapter to forward to.
    #[arg(long)]
    upstream: SocketAddr,
    /// The agency the upstream's certificate must name.
    #[arg(long)]
    upstream_agency: String,
    /// CA certificate (trust anchor for both sides).
    #[arg(long)]
    ca_cert: PathBuf,
    /// The forwarder's certificate: its server certificate towards callers, and its client
    /// certificate upstream (the adapter admits only the broker role).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key.
    #[arg(long)]
    key: PathBuf,
}

/// Serves until the process is stopped.
pub fn run(arguments: &ForwardArguments) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(arguments))
}

async fn serve(arguments: &ForwardArguments) -> anyhow::Result<()> {
    let material = TlsMaterial::from_files(&arguments.ca_cert, &arguments.cert, &arguments.key)
        .context("reading TLS files")?;
    let upstream = MutualTlsClient::new(&material)?.channel(
        &format!("https://{}", arguments.upstream),
        Some(AgencyId::parse(&arguments.upstream_agency)?),
        UPSTREAM_CONNECT_TIMEOUT,
    )?;
    let listener = tokio::net::TcpListener::bind(arguments.listen)
        .await
        .with_context(|| format!("binding {}", arguments.listen))?;
    tonic::transport::Server::builder()
        // The caller's certificate chain, as nginx's `ssl_verify_client on`.
        .layer(GateLayer::new(AuthenticatePeer))
        .add_service(AdapterServer::new(Forwarder { upstream }))
        .serve_with_incoming(MutualTlsServer::new(&material)?.incoming(listener))
        .await?;
    Ok(())
}

/// Passes each call upstream.
struct Forwarder {
    upstream: Channel,
}

#[tonic::async_trait]
impl Adapter for Forwarder {
    async fn fetch(
        &self,
        request: Request<AdapterFetchRequest>,
    ) -> Result<Response<AdapterFetchResponse>, Status> {
        AdapterClient::new(self.upstream.clone())
            .fetch(request.into_inner())
            .await
    }

    async fn describe(
        &self,
        request: Request<DescribeRequest>,
    ) -> Result<Response<DescribeResponse>, Status> {
        AdapterClient::new(self.upstream.clone())
            .describe(request.into_inner())
            .await
    }
}
