//! `civil-registry`: runs the example civil registry adapter on its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kruispunt_adapter::tls::{MutualTlsServer, TlsMaterial};
use kruispunt_adapter::{AdapterLimits, serve};
use kruispunt_civil_registry::{CivilRegistry, SyntheticCivilRegistry};

/// The Kruispunt example civil registry (synthetic persons).
#[derive(Parser)]
struct Arguments {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:9443")]
    listen: SocketAddr,
    /// CA certificate (trust anchor for the broker's certificate).
    #[arg(long)]
    ca_cert: PathBuf,
    /// This adapter's certificate (must carry the provider role).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key.
    #[arg(long)]
    key: PathBuf,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Number of persons.
    #[arg(long, default_value_t = 10_000)]
    population: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let arguments = Arguments::parse();
    let material = TlsMaterial::from_files(&arguments.ca_cert, &arguments.cert, &arguments.key)
        .context("reading TLS files")?;
    let provider = material.own_identity()?.agency_id().clone();
    let tls = MutualTlsServer::new(&material)?;
    let population = SyntheticCivilRegistry::generate(arguments.seed, arguments.population);
    let persons = population.len();
    // The adapter serves serialized records; the generated JSON values are not kept.
    let registry = CivilRegistry::new(&population);
    drop(population);
    let listener = tokio::net::TcpListener::bind(arguments.listen)
        .await
        .with_context(|| format!("binding {}", arguments.listen))?;
    tracing::info!(address = %listener.local_addr()?, persons, "civil registry serving");
    serve(
        registry,
        provider,
        listener,
        tls,
        AdapterLimits::default(),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    Ok(())
}
