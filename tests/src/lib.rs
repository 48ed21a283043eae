//! Test fixture for end-to-end tests: a real broker and a real adapter on loopback ports, real
//! mutual TLS from a fresh development PKI, and a real database: SQLite in a temporary
//! directory, or a fresh PostgreSQL database (see [`Backend`] and [`backend_test!`]).
//!
//! Clients use tonic's own TLS client (not the broker's rustls stack), like any agency would.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_adapter::tls::MutualTlsServer;
use kruispunt_adapter::{
    AdapterLimits, AnswerSigning, AuthenticSource, ServedDataType, SourceError, SourceRequest,
    serve,
};
use kruispunt_broker::broker::Broker;
use kruispunt_broker::config::{BrokerConfig, TlsPaths};
use kruispunt_broker::pipeline::TransferClock;
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki, IssuedCertificate};
pub use kruispunt_civil_registry::PERSON_DATA_TYPE;
use kruispunt_civil_registry::{CivilRegistry, SyntheticCivilRegistry};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use kruispunt_transparency::{GovernanceEntry, LedgerEntry, LedgerRecord};
use sqlx::Row;

mod backend;
mod binary;
pub mod raw_grpc;
pub use backend::{Backend, TestDatabase};
pub use binary::kruispunt_binary;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub use kruispunt_transparency::Outcome;

pub const BROKER: &str = "kruispunt.broker";
pub const PROVIDER: &str = "be.test.civil-registry";
pub const CONSUMER: &str = "be.test.consumer";
/// A second consumer agency, with no authorization by default.
pub const OTHER_CONSUMER: &str = "be.test.other-consumer";
pub const OPERATOR: &str = "kruispunt.operator";
pub const AUDITOR: &str = "be.test.auditor";
pub const PORTAL: &str = "be.test.citizen-portal";
/// The purpose the fixture registers at start (and the default authorization names).
pub const PURPOSE: &str = "social-benefits";
/// The description [`PURPOSE`] is registered with.
pub const PURPOSE_DESCRIPTION: &str = "Granting and reviewing social benefits";
pub const POPULATION_SEED: u64 = 11;
pub const POPULATION: usize = 200;

/// A running exchange; everything stops when it is dropped.
pub struct TestExchange {
    pub directory: tempfile::TempDir,
    pub pki: DevelopmentPki,
    pub broker_address: SocketAddr,
    pub adapter_address: SocketAddr,
    pub database_url: String,
    pub database: TestDatabase,
    pub population: SyntheticCivilRegistry,
    pub adapter_calls: Arc<AtomicUsize>,
    stop: Vec<oneshot::Sender<()>>,
    broker_task: Option<BrokerTask>,
}

/// The task serving the broker ([`kruispunt_broker::server::run`]).
type BrokerTask = tokio::task::JoinHandle<Result<(), kruispunt_broker::server::ServerError>>;

/// How to start a [`TestExchange`].
pub struct ExchangeBuilder {
    backend: Backend,
    adapter_deadline: Duration,
    authorization: Option<proto::GrantAuthorizationRequest>,
    route_endpoint: Option<String>,
    clock: Option<TransferClock>,
    answer_signing: AnswerSigning,
    signed_answers_required: bool,
    prepare_database: Option<PrepareDatabase>,
}

/// Work on the migrated database before the broker first starts on it (a database from an
/// earlier broker, say); it gets a pool on the database and closes it when done.
pub type PrepareDatabase = Box<
    dyn FnOnce(sqlx::AnyPool) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send,
>;

/// The authorization the fixture grants by default: the consumer may read whole person records
/// for [`PURPOSE`], without consent or registration.
pub fn default_authorization() -> proto::GrantAuthorizationRequest {
    proto::GrantAuthorizationRequest {
        consumer: CONSUMER.to_owned(),
        data_type: PERSON_DATA_TYPE.to_owned(),
        purpose: PURPOSE.to_owned(),
        legal_basis: LEGAL_BASIS.to_owned(),
        legal_basis_ref: "http://www.ejustice.just.fgov.be/eli/wet/1990/01/15/1990002007/justel"
            .to_owned(),
        valid_from: 0,
        valid_until: 0,
        allowed_fields: vec![String::new()],
        requires_consent: false,
        requires_subject_registration: false,
    }
}

/// The legal basis of the default authorization.
pub const LEGAL_BASIS: &str = "Wet van 15 januari 1990, art. 11";

impl Default for ExchangeBuilder {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            adapter_deadline: Duration::from_secs(2),
            authorization: Some(default_authorization()),
            route_endpoint: None,
            clock: None,
            answer_signing: AnswerSigning::default(),
            signed_answers_required: false,
            prepare_database: None,
        }
    }
}

impl ExchangeBuilder {
    pub fn adapter_deadline(mut self, deadline: Duration) -> Self {
        self.adapter_deadline = deadline;
        self
    }

    /// Leave the consumer without any authorization.
    pub fn without_authorization(mut self) -> Self {
        self.authorization = None;
        self
    }

    /// Change the authorization granted at start.
    pub fn authorization(
        mut self,
        change: impl FnOnce(&mut proto::GrantAuthorizationRequest),
    ) -> Self {
        let mut grant = self
            .authorization
            .take()
            .unwrap_or_else(default_authorization);
        change(&mut grant);
        self.authorization = Some(grant);
        self
    }

    /// Run `prepare` on the migrated database before the broker starts on it.
    pub fn prepare_database(mut self, prepare: PrepareDatabase) -> Self {
        self.prepare_database = Some(prepare);
        self
    }

    /// Route the data type to this endpoint instead of the adapter that was started.
    pub fn route_to(mut self, endpoint: impl Into<String>) -> Self {
        self.route_endpoint = Some(endpoint.into());
        self
    }

    /// Stamp ledger entries with `clock` instead of the system's, and so choose their pseudonym
    /// epochs ([`Broker::start_with_clock`]).
    pub fn clock(mut self, clock: TransferClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Whether the SDK adapter signs its answers (it does by default).
    pub fn answer_signing(mut self, answer_signing: AnswerSigning) -> Self {
        self.answer_signing = answer_signing;
        self
    }

    /// Whether the route requires signed answers (it does not by default).
    pub fn signed_answers_required(mut self, required: bool) -> Self {
        self.signed_answers_required = required;
        self
    }

    /// Starts with the synthetic civil registry as the adapter.
    pub async fn start(self) -> TestExchange {
        let population = SyntheticCivilRegistry::generate(POPULATION_SEED, POPULATION);
        let source = CivilRegistry::new(&population);
        self.start_with(source, PROVIDER).await
    }

    /// Starts with `source` as the adapter, its certificate naming `adapter_agency` (the route
    /// always names [`PROVIDER`], so another agency here is an impostor).
    pub async fn start_with<S: AuthenticSource>(
        self,
        source: S,
        adapter_agency: &str,
    ) -> TestExchange {
        let limits = AdapterLimits {
            answer_signing: self.answer_signing,
            ..AdapterLimits::default()
        };
        self.start_serving(adapter_agency, move |adapter| {
            let counting = CountingSource {
                inner: source,
                calls: adapter.calls,
            };
            let tls = MutualTlsServer::new(&adapter.certificate.tls_material().unwrap()).unwrap();
            tokio::spawn(serve(
                counting,
                AgencyId::parse(adapter.agency).unwrap(),
                adapter.listener,
                tls,
                limits,
                async {
                    let _ = adapter.stopped.await;
                },
            ));
        })
        .await
    }

    /// Starts with an adapter of the test's own making: `spawn` gets the listener, the
    /// adapter's certificate (naming `adapter_agency`), the PKI, and the signal to stop on, and
    /// spawns the server (e.g. a wrapper around the SDK's `AdapterService` that tampers with
    /// its answers, served by [`serve_adapter_service`]).
    pub async fn start_serving(
        self,
        adapter_agency: &str,
        spawn: impl FnOnce(AdapterToServe<'_>),
    ) -> TestExchange {
        let directory = tempfile::tempdir().unwrap();
        let pki = DevelopmentPki::at(directory.path().join("pki"));
        pki.init().unwrap();
        let broker_certificate = issue(&pki, BROKER, &[Role::Broker]);
        let adapter_certificate = issue(&pki, adapter_agency, &[Role::Provider]);
        for (agency, role) in [
            (CONSUMER, Role::Consumer),
            (OTHER_CONSUMER, Role::Consumer),
            (OPERATOR, Role::Operator),
            (AUDITOR, Role::Auditor),
            (PORTAL, Role::Portal),
        ] {
            issue(&pki, agency, &[role]);
        }

        let adapter_calls = Arc::new(AtomicUsize::new(0));
        let adapter_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let adapter_address = adapter_listener.local_addr().unwrap();
        let (stop_adapter, adapter_stopped) = oneshot::channel::<()>();
        spawn(AdapterToServe {
            agency: adapter_agency,
            listener: adapter_listener,
            certificate: &adapter_certificate,
            pki: &pki,
            calls: adapter_calls.clone(),
            stopped: adapter_stopped,
        });

        let database = TestDatabase::create(&self.backend, directory.path())
            .await
            .unwrap_or_else(|error| panic!("the test database on {:?}: {error}", self.backend));
        let database_url = database.url.clone();
        if let Some(prepare) = self.prepare_database {
            let migrated = kruispunt_broker::store::Database::open(&database_url)
                .await
                .unwrap();
            migrated.close().await;
            sqlx::any::install_default_drivers();
            prepare(sqlx::AnyPool::connect(&database_url).await.unwrap()).await;
        }
        let mut config = BrokerConfig::with_tls(TlsPaths {
            ca_cert: broker_certificate.ca_cert.clone(),
            cert: broker_certificate.cert.clone(),
            key: broker_certificate.key.clone(),
        });
        config.database_url = database_url.clone();
        config.data_dir = directory.path().join("data");
        config.limits.adapter_deadline_ms =
            u64::try_from(self.adapter_deadline.as_millis()).unwrap();
        let broker = match self.clock {
            Some(clock) => Broker::start_with_clock(config, clock).await,
            None => Broker::start(config).await,
        }
        .unwrap();
        let broker_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let broker_address = broker_listener.local_addr().unwrap();
        let (stop_broker, broker_stopped) = oneshot::channel::<()>();
        let broker_task = tokio::spawn(kruispunt_broker::server::run(
            broker_listener,
            broker,
            async {
                let _ = broker_stopped.await;
            },
        ));

        let exchange = TestExchange {
            directory,
            pki,
            broker_address,
            adapter_address,
            database_url,
            database,
            population: SyntheticCivilRegistry::generate(POPULATION_SEED, POPULATION),
            adapter_calls,
            stop: vec![stop_broker, stop_adapter],
            broker_task: Some(broker_task),
        };
        let mut registry = RegistryClient::new(exchange.channel_as(OPERATOR).await);
        registry
            .set_route(proto::SetRouteRequest {
                route: Some(proto::Route {
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    provider: PROVIDER.to_owned(),
                    endpoint: self
                        .route_endpoint
                        .unwrap_or_else(|| format!("https://127.0.0.1:{}", adapter_address.port())),
                    signed_answers_required: self.signed_answers_required,
                }),
            })
            .await
            .unwrap();
        registry
            .register_purpose(proto::RegisterPurposeRequest {
                code: PURPOSE.to_owned(),
                description: PURPOSE_DESCRIPTION.to_owned(),
            })
            .await
            .unwrap();
        if let Some(grant) = self.authorization {
            registry.grant_authorization(grant).await.unwrap();
        }
        exchange
    }
}

/// What a test's own adapter gets to serve with ([`ExchangeBuilder::start_serving`]).
pub struct AdapterToServe<'a> {
    /// The agency its certificate names.
    pub agency: &'a str,
    /// The listener the route points at.
    pub listener: TcpListener,
    /// Its certificate (issued with the provider role).
    pub certificate: &'a IssuedCertificate,
    /// The exchange's PKI, to issue other certificates (e.g. a key that is not the adapter's).
    pub pki: &'a DevelopmentPki,
    /// The counter behind [`TestExchange::adapter_calls`]; the SDK adapter counts its source's
    /// calls there.
    pub calls: Arc<AtomicUsize>,
    /// Completes when the exchange stops.
    pub stopped: oneshot::Receiver<()>,
}

/// Serves `service` (an implementation of the generated `Adapter` service) as an adapter would:
/// mutual TLS with `certificate`, the SDK's authentication layer, until `stopped`.
pub fn serve_adapter_service<A: proto::adapter_server::Adapter>(
    service: A,
    listener: TcpListener,
    certificate: &IssuedCertificate,
    stopped: oneshot::Receiver<()>,
) {
    let tls = MutualTlsServer::new(&certificate.tls_material().unwrap()).unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(kruispunt_adapter::auth::GateLayer::new(
                kruispunt_adapter::auth::AuthenticatePeer,
            ))
            .add_service(proto::adapter_server::AdapterServer::new(service))
            .serve_with_incoming_shutdown(tls.incoming(listener), async {
                let _ = stopped.await;
            }),
    );
}

/// The DER of the certificate in the PEM file `path` (its first).
pub fn certificate_der(path: &std::path::Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::CertificateDer::from_pem_file(path)
        .unwrap()
        .as_ref()
        .to_vec()
}

fn issue(pki: &DevelopmentPki, agency: &str, roles: &[Role]) -> IssuedCertificate {
    pki.issue(&CertificateRequest::local(
        AgencyId::parse(agency).unwrap(),
        roles.to_vec(),
    ))
    .unwrap()
}

impl TestExchange {
    /// A builder for an exchange on `backend`.
    pub fn builder(backend: Backend) -> ExchangeBuilder {
        ExchangeBuilder {
            backend,
            ..ExchangeBuilder::default()
        }
    }

    /// Starts the default exchange on `backend`: civil registry, consumer authorized for
    /// [`PURPOSE`].
    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    /// The broker's data directory (signing key, pseudonym secrets).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.directory.path().join("data")
    }

    pub fn broker_endpoint(&self) -> String {
        format!("https://localhost:{}", self.broker_address.port())
    }

    /// A channel to the broker presenting `agency`'s certificate (issued by [`Self::start`]).
    pub async fn channel_as(&self, agency: &str) -> Channel {
        let directory = self.directory.path().join("pki");
        let identity = Identity::from_pem(
            std::fs::read(directory.join(format!("{agency}.pem"))).unwrap(),
            std::fs::read(directory.join(format!("{agency}-key.pem"))).unwrap(),
        );
        self.channel_with(Some(identity)).await
    }

    /// A channel to the broker presenting `identity` (or no certificate at all).
    pub async fn channel_with(&self, identity: Option<Identity>) -> Channel {
        let ca = std::fs::read(self.pki.ca_cert_path()).unwrap();
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        Channel::from_shared(self.broker_endpoint())
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A channel straight to the adapter (not through the broker), presenting `agency`'s
    /// certificate, as the broker's own hop does.
    pub async fn adapter_channel_as(&self, agency: &str) -> Channel {
        let directory = self.directory.path().join("pki");
        let identity = Identity::from_pem(
            std::fs::read(directory.join(format!("{agency}.pem"))).unwrap(),
            std::fs::read(directory.join(format!("{agency}-key.pem"))).unwrap(),
        );
        let ca = std::fs::read(self.pki.ca_cert_path()).unwrap();
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .domain_name("localhost")
            .identity(identity);
        Channel::from_shared(format!("https://localhost:{}", self.adapter_address.port()))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn operator(&self) -> RegistryClient<Channel> {
        RegistryClient::new(self.channel_as(OPERATOR).await)
    }

    /// Registers `code` as a purpose (as the operator), without authorizing anyone for it: a
    /// request quoting it then passes step 2 and is refused at step 3.
    pub async fn register_purpose(&self, code: &str) {
        self.operator()
            .await
            .register_purpose(proto::RegisterPurposeRequest {
                code: code.to_owned(),
                description: format!("Test purpose {code}"),
            })
            .await
            .unwrap();
    }

    pub async fn portal(&self) -> kruispunt_proto::v1::consent_client::ConsentClient<Channel> {
        kruispunt_proto::v1::consent_client::ConsentClient::new(self.channel_as(PORTAL).await)
    }

    pub async fn consumer(&self) -> ExchangeClient<Channel> {
        ExchangeClient::new(self.channel_as(CONSUMER).await)
    }

    /// A national register number the civil registry knows.
    pub fn known_subject(&self, position: usize) -> String {
        self.population
            .national_register_numbers()
            .nth(position)
            .unwrap()
            .to_owned()
    }

    /// A connection pool on the broker's database, whichever the backend (close it after use).
    pub async fn database_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.database_url).await.unwrap()
    }

    /// Every transfer's ledger row (kind 1; rule changes are [`Self::governance_entries`]):
    /// (index, leaf hash, decoded entry, raw entry bytes).
    pub async fn ledger_rows(&self) -> Vec<LedgerRow> {
        let pool = self.database_pool().await;
        let rows = sqlx::query(
            "SELECT leaf_index, leaf_hash, entry FROM ledger_entries WHERE kind = 1 ORDER BY leaf_index",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows.iter()
            .map(|row| {
                let entry_bytes: Vec<u8> = row.get("entry");
                LedgerRow {
                    index: u64::try_from(row.get::<i64, _>("leaf_index")).unwrap(),
                    leaf_hash: row.get("leaf_hash"),
                    entry: LedgerEntry::decode(&entry_bytes).unwrap(),
                    entry_bytes,
                }
            })
            .collect()
    }

    /// Every rule change's ledger entry (kind 2), in ledger order, decoded.
    pub async fn governance_entries(&self) -> Vec<GovernanceEntry> {
        let pool = self.database_pool().await;
        let rows = sqlx::query(
            "SELECT leaf_index, entry, governance_sequence FROM ledger_entries WHERE kind = 2 ORDER BY leaf_index",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows.iter()
            .map(|row| {
                let entry_bytes: Vec<u8> = row.get("entry");
                let LedgerRecord::Governance(entry) = LedgerRecord::decode(&entry_bytes).unwrap()
                else {
                    panic!("a kind 2 row holds another kind of entry");
                };
                assert_eq!(
                    row.get::<i64, _>("governance_sequence"),
                    i64::try_from(entry.sequence).unwrap(),
                    "the copied sequence column"
                );
                assert_eq!(
                    u64::try_from(row.get::<i64, _>("leaf_index")).unwrap(),
                    entry.leaf_index
                );
                entry
            })
            .collect()
    }

    /// Every ledger entry's leaf hash (every kind), in index order.
    pub async fn ledger_leaf_hashes(&self) -> Vec<Vec<u8>> {
        let pool = self.database_pool().await;
        let rows = sqlx::query("SELECT leaf_hash FROM ledger_entries ORDER BY leaf_index")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.iter().map(|row| row.get("leaf_hash")).collect()
    }

    /// How many ledger entries (of every kind) the database holds.
    pub async fn ledger_size(&self) -> u64 {
        let pool = self.database_pool().await;
        let size: i64 = sqlx::query("SELECT COUNT(*) AS size FROM ledger_entries")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("size");
        pool.close().await;
        u64::try_from(size).unwrap()
    }

    /// Polls the Audit API (as the auditor) until a signed checkpoint covers `size` entries.
    pub async fn checkpoint_covering(&self, size: u64) -> proto::Checkpoint {
        let mut audit =
            kruispunt_proto::v1::audit_client::AuditClient::new(self.channel_as(AUDITOR).await);
        for _ in 0..200 {
            if let Ok(response) = audit.get_checkpoint(proto::GetCheckpointRequest {}).await {
                let checkpoint = response.into_inner();
                if checkpoint.tree_size >= size {
                    return checkpoint;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no checkpoint covering {size} entries within 10 s");
    }

    /// The DER certificate the adapter was started with (naming [`PROVIDER`] unless the test
    /// chose another agency).
    pub fn adapter_certificate_der(&self, adapter_agency: &str) -> Vec<u8> {
        certificate_der(
            &self
                .directory
                .path()
                .join("pki")
                .join(format!("{adapter_agency}.pem")),
        )
    }

    pub fn adapter_calls(&self) -> usize {
        self.adapter_calls.load(Ordering::SeqCst)
    }

    /// Stops the broker (and the adapter) and waits, at most `within`, for the server to drain
    /// and the broker to shut down; panics if it does not, or if the server failed.
    pub async fn stop_broker(&mut self, within: Duration) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
        let task = self.broker_task.take().expect("the broker runs");
        tokio::time::timeout(within, task)
            .await
            .unwrap_or_else(|_| panic!("the broker did not stop within {within:?}"))
            .unwrap()
            .unwrap();
    }
}

/// Panics unless nothing holds the database at `url` any more: on SQLite, this connection gets
/// the file exclusively (it cannot while any other connection of this process or another has
/// it open); on PostgreSQL, no other session is connected to the database (waiting a few
/// seconds for closed sessions to end on the server).
pub async fn assert_nothing_holds_the_database(url: &str) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    if url.starts_with("sqlite:") {
        for statement in [
            "PRAGMA busy_timeout = 0",
            "PRAGMA locking_mode = EXCLUSIVE",
            "BEGIN EXCLUSIVE",
        ] {
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .unwrap_or_else(|error| {
                    panic!("another connection still holds the SQLite file: {error}")
                });
        }
        sqlx::query("SELECT COUNT(*) FROM ledger_entries")
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|error| {
                panic!("another connection still holds the SQLite file: {error}")
            });
        sqlx::query("COMMIT")
            .execute(&mut connection)
            .await
            .unwrap();
    } else {
        let mut others = Vec::new();
        for _ in 0..100 {
            others = sqlx::query(
                "SELECT COALESCE(application_name, '') AS name FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("name"))
            .collect::<Vec<_>>();
            if others.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            others.is_empty(),
            "sessions still connected to the database: {others:?}"
        );
    }
    connection.close().await.unwrap();
}

impl Drop for TestExchange {
    fn drop(&mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
    }
}

/// One stored ledger row.
#[derive(Debug)]
pub struct LedgerRow {
    pub index: u64,
    pub leaf_hash: Vec<u8>,
    pub entry: LedgerEntry,
    pub entry_bytes: Vec<u8>,
}

/// A `be.insz` subject.
pub fn insz(id: &str) -> Option<proto::Subject> {
    Some(proto::Subject {
        scheme: "be.insz".to_owned(),
        id: id.to_owned(),
    })
}

/// A consent from `subject` to the test consumer, for [`PURPOSE`] and persons, until
/// `valid_until`.
pub fn consent_from(subject: &str, valid_until: i64) -> proto::GrantConsentRequest {
    proto::GrantConsentRequest {
        subject: insz(subject),
        consumer: CONSUMER.to_owned(),
        purposes: vec![PURPOSE.to_owned()],
        data_types: vec![PERSON_DATA_TYPE.to_owned()],
        valid_until,
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A person request for `id` with the default purpose.
pub fn person_request(scheme: &str, id: &str) -> proto::FetchRequest {
    proto::FetchRequest {
        data_type: PERSON_DATA_TYPE.to_owned(),
        subject: Some(proto::Subject {
            scheme: scheme.to_owned(),
            id: id.to_owned(),
        }),
        purpose: PURPOSE.to_owned(),
        request_id: "test-request".to_owned(),
        consent_id: String::new(),
        case_reference: None,
    }
}

/// Counts the adapter calls that reach the source.
struct CountingSource<S> {
    inner: S,
    calls: Arc<AtomicUsize>,
}

impl<S: AuthenticSource> AuthenticSource for CountingSource<S> {
    fn data_types(&self) -> Vec<ServedDataType> {
        self.inner.data_types()
    }

    async fn fetch(&self, request: SourceRequest) -> Result<Vec<u8>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch(request).await
    }
}

/// A person source that answers every request with the same bytes after a delay.
pub struct FixedSource {
    pub payload: Vec<u8>,
    pub delay: Duration,
}

impl AuthenticSource for FixedSource {
    fn data_types(&self) -> Vec<ServedDataType> {
        vec![ServedDataType {
            id: PERSON_DATA_TYPE.to_owned(),
            class_iri: kruispunt_civil_registry::PERSON_CLASS_IRI.to_owned(),
            title: "test".to_owned(),
        }]
    }

    async fn fetch(&self, _request: SourceRequest) -> Result<Vec<u8>, SourceError> {
        tokio::time::sleep(self.delay).await;
        Ok(self.payload.clone())
    }
}

/// The Persoon schema, compiled independently of the broker, straight from
/// `schemas/oslo/derived/`: every `*.schema.json` there is registered under its `$id` (the
/// derived schemas refer to the shared Generiek, JSON-LD and code-list files), then the Persoon
/// file is compiled.
pub fn person_schema() -> jsonschema::Validator {
    fn schema_files(directory: &std::path::Path, found: &mut Vec<(String, serde_json::Value)>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                schema_files(&path, found);
            } else if path.to_string_lossy().ends_with(".schema.json") {
                let schema: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                found.push((schema["$id"].as_str().unwrap().to_owned(), schema));
            }
        }
    }
    let oslo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/oslo/derived");
    let mut resources = Vec::new();
    schema_files(&oslo, &mut resources);
    let registry = jsonschema::Registry::new()
        .extend(resources)
        .unwrap()
        .prepare()
        .unwrap();
    let path = oslo.join("persoon/GeregistreerdPersoon.schema.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&schema)
        .unwrap()
}
