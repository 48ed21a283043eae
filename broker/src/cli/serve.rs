//! `kruispunt serve`: run the broker.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use kruispunt_broker::broker::Broker;
use kruispunt_broker::config::{BrokerConfig, TlsPaths};

#[derive(clap::Args)]
pub(crate) struct ServeArguments {
    /// TOML configuration file (see `broker/src/config.rs`).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// CA certificate (without --config).
    #[arg(long, required_unless_present = "config")]
    ca_cert: Option<PathBuf>,
    /// Broker certificate (without --config).
    #[arg(long, required_unless_present = "config")]
    cert: Option<PathBuf>,
    /// Broker key (without --config).
    #[arg(long, required_unless_present = "config")]
    key: Option<PathBuf>,
    /// Overrides `listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Overrides `database_url`.
    #[arg(long)]
    database_url: Option<String>,
    /// Overrides `worker_threads` (0: one thread).
    #[arg(long, env = "KRUISPUNT_WORKER_THREADS")]
    worker_threads: Option<usize>,
    /// Overrides `data_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Runs the broker until Ctrl-C.
pub(crate) fn serve(arguments: ServeArguments) -> anyhow::Result<()> {
    let mut config = match &arguments.config {
        Some(path) => BrokerConfig::from_file(path)?,
        None => BrokerConfig::with_tls(TlsPaths {
            ca_cert: arguments.ca_cert.context("--ca-cert is required")?,
            cert: arguments.cert.context("--cert is required")?,
            key: arguments.key.context("--key is required")?,
        }),
    };
    if let Some(listen) = arguments.listen {
        config.listen = listen;
    }
    if let Some(database_url) = arguments.database_url {
        config.database_url = database_url;
    }
    if let Some(data_dir) = arguments.data_dir {
        config.data_dir = data_dir;
    }
    if let Some(worker_threads) = arguments.worker_threads {
        config.worker_threads = worker_threads;
    }
    config.check()?;
    let runtime = match config.worker_threads {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        threads => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?,
    };
    runtime.block_on(async {
        let listen = config.listen;
        let broker = Broker::start(config).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        eprintln!("kruispunt broker serving on {}", listener.local_addr()?);
        kruispunt_broker::server::run(listener, broker, super::shutdown_signal()).await?;
        Ok(())
    })
}
