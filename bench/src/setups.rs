//! The setups under test, each started as separate server processes on loopback:
//!
//! * **direct**: the civil-registry adapter; the load generator calls `Adapter/Fetch` itself,
//!   over mutual TLS, presenting a certificate with the broker role (the only role the adapter
//!   admits). The floor: one hop, no checks beyond mutual TLS.
//! * **proxy**: nginx `grpc_pass` in front of the same adapter, mutual TLS on both sides.
//! * **forward**: a bare forwarder on the broker's own stacks (tonic, HTTP/2, rustls; see
//!   `forward.rs`) in front of the same adapter: the ceiling of any broker built on them.
//! * **kruispunt**: the full broker (`kruispunt serve`, SQLite default in the work directory)
//!   in front of the same adapter; the load generator calls `Exchange/Fetch` as a consumer
//!   agency with an authorization registered through the Registry API by an operator.
//! * **kruispunt-pg**: the same broker on PostgreSQL (`--postgres-url`; a fresh database per
//!   run, dropped afterwards). The PostgreSQL server's own processes are not in the CPU and
//!   memory columns: it is shared infrastructure, and its backends come and go.
//!
//! The development PKI comes from `kruispunt pki init` / `kruispunt pki issue`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use kruispunt_adapter::identity::AgencyId;
use kruispunt_adapter::tls::{MutualTlsClient, TlsMaterial};
use kruispunt_civil_registry::PERSON_DATA_TYPE;
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::registry_client::RegistryClient;
use tonic::transport::Channel;

use kruispunt_broker::testing::PostgresTestDatabase;

use crate::load::{Api, BENCH_CONSUMER, BENCH_PURPOSE};
use crate::nginx::{Nginx, ProxyTls};
use crate::process::{ServerProcess, free_loopback_address, run_to_completion};
use crate::procstat::Monitored;

/// The broker's agency.
const BROKER_AGENCY: &str = "kruispunt.broker";
/// The civil registry's agency (the provider of the route).
const PROVIDER_AGENCY: &str = "be.example.civil-registry";
/// The operator that registers route and authorization.
const OPERATOR_AGENCY: &str = "kruispunt.operator";
/// The load generator's identity when it calls an adapter (directly or through nginx): an
/// adapter admits only callers with the broker role.
const DIRECT_CALLER_AGENCY: &str = "be.example.bench-direct";
/// nginx's identity (server certificate towards the client, client certificate upstream).
const NGINX_AGENCY: &str = "be.example.bench-nginx";
/// The forwarder's identity, used the same way.
const FORWARD_AGENCY: &str = "be.example.bench-forward";
/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout of the load generator's channels.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A setup the harness knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Setup {
    /// The consumer calls the civil-registry adapter itself.
    Direct,
    /// Through nginx `grpc_pass`, TLS on both sides.
    Proxy,
    /// Through a bare forwarder on the broker's own stacks (tonic, HTTP/2, rustls).
    Forward,
    /// Through the Kruispunt broker on SQLite.
    Kruispunt,
    /// Through the Kruispunt broker on PostgreSQL.
    KruispuntPg,
}

impl Setup {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Proxy => "proxy",
            Self::Forward => "forward",
            Self::Kruispunt => "kruispunt",
            Self::KruispuntPg => "kruispunt-pg",
        }
    }

    /// One line on what the setup runs.
    pub fn description(self) -> &'static str {
        match self {
            Self::Direct => {
                "load generator → civil-registry adapter (`Adapter/Fetch`), mutual TLS; the floor"
            }
            Self::Proxy => {
                "load generator → nginx `grpc_pass` → adapter; mutual TLS on both hops, no checks"
            }
            Self::Forward => {
                "load generator → a bare forwarder built from the broker's own stacks (tonic, HTTP/2, rustls, mutual TLS on both hops; `kruispunt-bench forward`) → adapter; no checks: the ceiling of any broker built on them"
            }
            Self::Kruispunt => {
                "load generator → `kruispunt serve` (SQLite) → adapter (`Exchange/Fetch`): mTLS on both hops, authorization, schema validation, minimisation, durable ledger entry per request"
            }
            Self::KruispuntPg => "the kruispunt setup on PostgreSQL",
        }
    }
}

/// Where the binaries, the work directory and the shared PKI are.
pub struct Environment {
    /// Holds `kruispunt` and `civil-registry`.
    pub bin_dir: PathBuf,
    /// This run's scratch directory (PKI, databases, logs, nginx files).
    pub work_dir: PathBuf,
    /// Seed of the adapter's synthetic population.
    pub seed: u64,
    /// Its size.
    pub population: usize,
    /// nginx, when the proxy setup runs.
    pub nginx: Option<Nginx>,
    /// A PostgreSQL database URL whose user may create databases, for kruispunt-pg.
    pub postgres_url: Option<String>,
    pki: PathBuf,
}

/// Paths of one agency's certificate.
struct Certificate {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificate {
    fn material(&self) -> anyhow::Result<TlsMaterial> {
        TlsMaterial::from_files(&self.ca, &self.cert, &self.key)
            .with_context(|| format!("reading {:?}", self.cert))
    }
}

impl Environment {
    /// Checks the binaries and issues the development PKI into `work_dir/pki`.
    pub fn prepare(
        bin_dir: PathBuf,
        work_dir: PathBuf,
        seed: u64,
        population: usize,
        nginx: Option<Nginx>,
        postgres_url: Option<String>,
    ) -> anyhow::Result<Self> {
        for binary in ["kruispunt", "civil-registry"] {
            let path = bin_dir.join(binary);
            anyhow::ensure!(
                path.is_file(),
                "{path:?} is missing: run `cargo build --release -p kruispunt-broker -p kruispunt-civil-registry` (bench/run.sh does)"
            );
        }
        let environment = Self {
            pki: work_dir.join("pki"),
            bin_dir,
            work_dir,
            seed,
            population,
            nginx,
            postgres_url,
        };
        environment.kruispunt(&["pki", "init"])?;
        for (agency, roles) in [
            (BROKER_AGENCY, "broker"),
            (PROVIDER_AGENCY, "provider"),
            (OPERATOR_AGENCY, "operator"),
            (BENCH_CONSUMER, "consumer"),
            (DIRECT_CALLER_AGENCY, "broker"),
            (NGINX_AGENCY, "broker"),
            (FORWARD_AGENCY, "broker"),
        ] {
            environment.kruispunt(&["pki", "issue", "--agency", agency, "--roles", roles])?;
        }
        Ok(environment)
    }

    /// Runs `kruispunt <arguments> --dir <pki>`.
    fn kruispunt(&self, arguments: &[&str]) -> anyhow::Result<String> {
        run_to_completion(
            Command::new(self.bin_dir.join("kruispunt"))
                .args(arguments)
                .arg("--dir")
                .arg(&self.pki),
        )
    }

    fn certificate(&self, agency: &str) -> Certificate {
        Certificate {
            ca: self.pki.join("ca.pem"),
            cert: self.pki.join(format!("{agency}.pem")),
            key: self.pki.join(format!("{agency}-key.pem")),
        }
    }

    fn scratch(&self, name: &str) -> anyhow::Result<PathBuf> {
        let directory = self.work_dir.join(name);
        std::fs::create_dir_all(&directory).with_context(|| format!("creating {directory:?}"))?;
        Ok(directory)
    }

    /// Starts `setup`'s servers and returns how to call it.
    pub async fn start(&self, setup: Setup) -> anyhow::Result<Running> {
        let logs = self.scratch(setup.name())?;
        let (adapter, adapter_address) = self.start_adapter(&logs)?;
        match setup {
            Setup::Direct => Ok(Running {
                api: Api::Adapter,
                endpoint: format!("https://{adapter_address}"),
                server_agency: Some(AgencyId::parse(PROVIDER_AGENCY)?),
                client: self.certificate(DIRECT_CALLER_AGENCY).material()?,
                monitored: vec![adapter.monitored(false)],
                servers: vec![adapter],
                _database: None,
            }),
            Setup::Proxy => {
                let nginx = self.nginx.as_ref().context("the proxy setup needs nginx")?;
                let tls = self.certificate(NGINX_AGENCY);
                let listen = free_loopback_address()?;
                let config = nginx.configure(
                    &logs,
                    listen,
                    adapter_address,
                    &ProxyTls {
                        ca_cert: &tls.ca,
                        cert: &tls.cert,
                        key: &tls.key,
                    },
                )?;
                let proxy = ServerProcess::spawn("nginx", nginx.command(&logs, &config), &logs)?;
                self.gateway_to_adapter(proxy, true, listen, NGINX_AGENCY, adapter)
            }
            Setup::Forward => {
                let tls = self.certificate(FORWARD_AGENCY);
                let listen = free_loopback_address()?;
                let mut command = Command::new(std::env::current_exe()?);
                command
                    .arg("forward")
                    .arg("--listen")
                    .arg(listen.to_string())
                    .arg("--upstream")
                    .arg(adapter_address.to_string())
                    .arg("--upstream-agency")
                    .arg(PROVIDER_AGENCY)
                    .arg("--ca-cert")
                    .arg(&tls.ca)
                    .arg("--cert")
                    .arg(&tls.cert)
                    .arg("--key")
                    .arg(&tls.key);
                let forwarder = ServerProcess::spawn("forward", command, &logs)?;
                self.gateway_to_adapter(forwarder, false, listen, FORWARD_AGENCY, adapter)
            }
            Setup::Kruispunt | Setup::KruispuntPg => {
                let database = match setup {
                    Setup::KruispuntPg => {
                        let base = self
                            .postgres_url
                            .as_deref()
                            .context("kruispunt-pg needs --postgres-url")?;
                        Some(PostgresTestDatabase::create(base).await.with_context(|| {
                            format!("creating a benchmark database next to {base}")
                        })?)
                    }
                    _ => None,
                };
                let database_url = match &database {
                    Some(database) => database.url.clone(),
                    None => format!("sqlite://{}", logs.join("kruispunt.db").display()),
                };
                let (broker, listen) = self.start_broker(&logs, &database_url)?;
                let endpoint = format!("https://{listen}");
                self.register(&endpoint, adapter_address).await?;
                Ok(Running {
                    api: Api::Exchange,
                    endpoint,
                    server_agency: Some(AgencyId::parse(BROKER_AGENCY)?),
                    client: self.certificate(BENCH_CONSUMER).material()?,
                    monitored: vec![broker.monitored(false), adapter.monitored(false)],
                    servers: vec![broker, adapter],
                    _database: database,
                })
            }
        }
    }

    /// A setup where the load generator calls `Adapter/Fetch` on `gateway` (listening on
    /// `listen` as `gateway_agency`, a process group when `gateway_is_group`) in front of
    /// `adapter`, once the gateway listens.
    fn gateway_to_adapter(
        &self,
        mut gateway: ServerProcess,
        gateway_is_group: bool,
        listen: SocketAddr,
        gateway_agency: &str,
        adapter: ServerProcess,
    ) -> anyhow::Result<Running> {
        gateway.wait_listening(listen, START_TIMEOUT)?;
        Ok(Running {
            api: Api::Adapter,
            endpoint: format!("https://{listen}"),
            server_agency: Some(AgencyId::parse(gateway_agency)?),
            client: self.certificate(DIRECT_CALLER_AGENCY).material()?,
            monitored: vec![
                gateway.monitored(gateway_is_group),
                adapter.monitored(false),
            ],
            servers: vec![gateway, adapter],
            _database: None,
        })
    }

    fn start_adapter(&self, logs: &Path) -> anyhow::Result<(ServerProcess, SocketAddr)> {
        let tls = self.certificate(PROVIDER_AGENCY);
        let address = free_loopback_address()?;
        let mut command = Command::new(self.bin_dir.join("civil-registry"));
        command
            .arg("--listen")
            .arg(address.to_string())
            .arg("--ca-cert")
            .arg(&tls.ca)
            .arg("--cert")
            .arg(&tls.cert)
            .arg("--key")
            .arg(&tls.key)
            .arg("--seed")
            .arg(self.seed.to_string())
            .arg("--population")
            .arg(self.population.to_string())
            .env("RUST_LOG", "warn");
        let mut adapter = ServerProcess::spawn("civil-registry", command, logs)?;
        adapter.wait_listening(address, START_TIMEOUT)?;
        Ok((adapter, address))
    }

    fn start_broker(
        &self,
        logs: &Path,
        database_url: &str,
    ) -> anyhow::Result<(ServerProcess, SocketAddr)> {
        let tls = self.certificate(BROKER_AGENCY);
        let listen = free_loopback_address()?;
        let data = self.scratch("kruispunt/data")?;
        let config_path = logs.join("broker.toml");
        let config = format!(
            "version = 1\nlisten = \"{listen}\"\ndatabase_url = \"{database_url}\"\n\
             data_dir = \"{data}\"\n\n[tls]\nca_cert = \"{ca}\"\ncert = \"{cert}\"\nkey = \"{key}\"\n",
            data = data.display(),
            ca = tls.ca.display(),
            cert = tls.cert.display(),
            key = tls.key.display(),
        );
        std::fs::write(&config_path, config)?;
        let mut command = Command::new(self.bin_dir.join("kruispunt"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env("RUST_LOG", "warn");
        let mut broker = ServerProcess::spawn("kruispunt", command, logs)?;
        broker.wait_listening(listen, START_TIMEOUT)?;
        Ok((broker, listen))
    }

    /// As the operator: registers both agencies, the route to the adapter and the consumer's
    /// authorization for the benchmark purpose.
    async fn register(&self, endpoint: &str, adapter: SocketAddr) -> anyhow::Result<()> {
        let operator = MutualTlsClient::new(&self.certificate(OPERATOR_AGENCY).material()?)?;
        let channel: Channel = operator.channel(
            endpoint,
            Some(AgencyId::parse(BROKER_AGENCY)?),
            CONNECT_TIMEOUT,
        )?;
        let mut registry = RegistryClient::new(channel);
        for (id, display_name) in [
            (PROVIDER_AGENCY, "Civil registry (benchmark)"),
            (BENCH_CONSUMER, "Benchmark consumer"),
        ] {
            registry
                .register_agency(proto::RegisterAgencyRequest {
                    id: id.to_owned(),
                    display_name: display_name.to_owned(),
                })
                .await
                .with_context(|| format!("registering agency {id}"))?;
        }
        registry
            .set_route(proto::SetRouteRequest {
                route: Some(proto::Route {
                    signed_answers_required: false,
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    provider: PROVIDER_AGENCY.to_owned(),
                    endpoint: format!("https://{adapter}"),
                }),
            })
            .await
            .context("setting the route")?;
        registry
            .grant_authorization(proto::GrantAuthorizationRequest {
                consumer: BENCH_CONSUMER.to_owned(),
                data_type: PERSON_DATA_TYPE.to_owned(),
                purpose: BENCH_PURPOSE.to_owned(),
                legal_basis: "Benchmark (no legal effect)".to_owned(),
                legal_basis_ref: "https://example.invalid/eli/benchmark".to_owned(),
                valid_from: 0,
                valid_until: 0,
                // The whole record, so the consumer gets the same payload as in the direct
                // setup; minimisation still runs over it.
                allowed_fields: vec![String::new()],
                // Neither a consent nor a persons-repertory entry is demanded.
                requires_consent: false,
                requires_subject_registration: false,
            })
            .await
            .context("granting the authorization")?;
        Ok(())
    }
}

/// A started setup: how to call it and what to measure. Its servers die when it is dropped.
pub struct Running {
    /// The service to call.
    pub api: Api,
    /// `https://127.0.0.1:port`.
    pub endpoint: String,
    /// The agency the server's certificate must name.
    pub server_agency: Option<AgencyId>,
    /// The load generator's TLS material.
    pub client: TlsMaterial,
    /// The server processes to measure, in report order.
    pub monitored: Vec<Monitored>,
    servers: Vec<ServerProcess>,
    /// kruispunt-pg's database, dropped after the servers stop.
    _database: Option<PostgresTestDatabase>,
}

impl Running {
    /// `channels` fresh, lazily connecting channels to the setup's endpoint.
    pub fn channels(&self, channels: usize) -> anyhow::Result<Vec<Channel>> {
        let client = MutualTlsClient::new(&self.client)?;
        (0..channels)
            .map(|_| {
                Ok(client.channel(&self.endpoint, self.server_agency.clone(), CONNECT_TIMEOUT)?)
            })
            .collect()
    }

    /// Fails if a server has died.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        self.servers
            .iter_mut()
            .try_for_each(ServerProcess::check_alive)
    }
}
