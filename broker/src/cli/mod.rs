//! Command-line parsing and dispatch for the `kruispunt` binary: one file per command.
//!
//! - `serve`: run the broker ([`serve`]);
//! - `pki`: a development PKI ([`pki`]);
//! - `demo`: a whole exchange on this machine, optionally kept running as a sandbox ([`demo`]);
//! - `ledger`: the verifier key, exports and verification ([`ledger`]);
//! - `registry`, `consent`: the operator's gRPC clients ([`registry`], [`consent`]).

#![allow(clippy::print_stdout)]

mod consent;
mod demo;
mod ledger;
mod pki;
mod registry;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use demo::DemoOptions;
use kruispunt_adapter::tls::{MutualTlsClient, TlsMaterial};
use tonic::transport::Channel;

/// Kruispunt: an "only once" data exchange broker for public administrations.
#[derive(Parser)]
#[command(version, about)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve(serve::ServeArguments),
    /// Manage a development PKI.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// Start a whole exchange on this machine, make a few requests and print what happened.
    Demo(DemoArguments),
    /// Inspect, export and verify the audit ledger.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
    /// Manage agencies, routes and authorizations on a running broker (operator certificate).
    Registry {
        #[command(flatten)]
        connection: BrokerConnection,
        #[command(subcommand)]
        command: registry::RegistryCommand,
    },
    /// Record, revoke and list citizens' consents on a running broker (operator or portal
    /// certificate), for testing and support.
    Consent {
        #[command(flatten)]
        connection: BrokerConnection,
        #[command(subcommand)]
        command: consent::ConsentCommand,
    },
}

#[derive(clap::Args)]
struct DemoArguments {
    /// Stay up as a sandbox after the scripted requests.
    #[arg(long)]
    keep_running: bool,
    /// Directory for PKI, database and secrets (default: a temporary one).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

/// Where a running broker is and which certificate to present to it.
#[derive(clap::Args)]
pub(crate) struct BrokerConnection {
    /// The broker, e.g. https://localhost:8443.
    #[arg(long, env = "KRUISPUNT_BROKER")]
    broker: String,
    /// The CA certificate to trust.
    #[arg(long, env = "KRUISPUNT_CA_CERT")]
    ca_cert: PathBuf,
    /// This agency's certificate.
    #[arg(long, env = "KRUISPUNT_CERT")]
    cert: PathBuf,
    /// This agency's private key.
    #[arg(long = "key-file", env = "KRUISPUNT_KEY")]
    key_file: PathBuf,
}

impl BrokerConnection {
    /// A channel to the broker over mutual TLS.
    pub(crate) fn channel(&self) -> anyhow::Result<Channel> {
        connect(&self.broker, &self.ca_cert, &self.cert, &self.key_file)
    }
}

/// A channel to `broker` presenting the given certificate.
pub(crate) fn connect(
    broker: &str,
    ca_cert: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Channel> {
    let material = TlsMaterial::from_files(ca_cert, cert, key).context("reading TLS files")?;
    Ok(MutualTlsClient::new(&material)?.channel(broker, None, Duration::from_secs(5))?)
}

pub fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match arguments.command {
        Command::Pki { command } => pki::pki(command),
        Command::Serve(arguments) => serve::serve(arguments),
        Command::Ledger { command } => runtime()?.block_on(ledger::run(command)),
        Command::Registry {
            connection,
            command,
        } => runtime()?.block_on(registry::run(&connection, command)),
        Command::Consent {
            connection,
            command,
        } => runtime()?.block_on(consent::run(&connection, command)),
        Command::Demo(options) => runtime()?.block_on(async {
            let mut out = std::io::stdout();
            demo::run(
                DemoOptions {
                    directory: options.dir,
                    listen: options.listen,
                    keep_running: options.keep_running,
                },
                &mut out,
                shutdown_signal(),
            )
            .await
            .map(drop)
        }),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
