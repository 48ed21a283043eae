//! [`Broker`]: everything a running broker holds, assembled from a [`BrokerConfig`].

use std::sync::Arc;

use kruispunt_adapter::tls::{MutualTlsClient, MutualTlsServer, TlsError, TlsMaterial};

use crate::catalog::{Catalog, CatalogError};
use crate::config::{BrokerConfig, ConfigError};
use crate::governance::{GovernanceRecorder, record_baseline};
use crate::ledger::{Ledger, LedgerError, load_or_create_secret, load_or_create_signing_key};
use crate::pipeline::{Pipeline, TransferClock};
use crate::pseudonym_epochs::PseudonymEpochs;
use crate::refusal_log::{RefusalCounts, RefusalLog};
use crate::registry_index::RegistryIndex;
use crate::routing::AdapterDirectory;
use crate::shutdown::{BackgroundTasks, StopSwitch};
use crate::store::{Database, RegistryStore, StoreError};
use kruispunt_transparency::SubjectPseudonymizer;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The TLS files named by the configuration cannot be read.
    #[error("cannot read the TLS files")]
    TlsFiles(#[from] std::io::Error),
    /// The configuration is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS material invalid.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The schema catalog did not load or compile.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger could not be loaded.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A stored route is unusable.
    #[error("the stored route for {data_type} is unusable")]
    Route {
        /// The data type.
        data_type: String,
        /// Why.
        source: TlsError,
    },
}

/// A started broker: catalog compiled, database migrated, ledger writer running, routes loaded.
#[derive(Clone)]
pub struct Broker {
    pub(crate) config: BrokerConfig,
    pub(crate) catalog: Catalog,
    pub(crate) registry: RegistryStore,
    pub(crate) registry_index: RegistryIndex,
    pub(crate) database: Database,
    pub(crate) adapters: AdapterDirectory,
    pub(crate) ledger: Ledger,
    pub(crate) pipeline: Pipeline,
    pub(crate) governance: GovernanceRecorder,
    pub(crate) tls_server: MutualTlsServer,
    /// Every refusal, logged (aggregated) and counted (`crate::refusal_log`).
    pub(crate) refusals: RefusalLog,
    background: Arc<Background>,
}

/// The broker's own background work (the ledger has its own): the registry index and route
/// refreshes.
struct Background {
    stop: StopSwitch,
    tasks: tokio::sync::Mutex<Option<BackgroundTasks>>,
}

impl Broker {
    /// The refusals counted since the broker started, per rule, code and step (for a metrics
    /// exporter).
    pub fn refusal_counts(&self) -> RefusalCounts {
        self.refusals.snapshot()
    }

    /// Starts every part except the network server (see [`crate::server::run`]).
    pub async fn start(config: BrokerConfig) -> Result<Self, StartError> {
        Self::start_with_clock(config, TransferClock::system()).await
    }

    /// [`Broker::start`] with another clock stamping ledger entries, and so choosing their
    /// pseudonym epochs: for tests of epoch rotation. Every broker outside tests runs on
    /// [`TransferClock::system`]; the configuration cannot change it.
    pub async fn start_with_clock(
        config: BrokerConfig,
        clock: TransferClock,
    ) -> Result<Self, StartError> {
        config.check()?;
        let material =
            TlsMaterial::from_files(&config.tls.ca_cert, &config.tls.cert, &config.tls.key)?;
        let tls_server = MutualTlsServer::new(&material)?;
        let tls_client = MutualTlsClient::new(&material)?;
        let catalog = Catalog::embedded()?;
        let database = Database::open(&config.database_url).await?;
        let registry = database.registry();
        let adapters = AdapterDirectory::new(tls_client, config.limits.max_payload_bytes);
        adapters
            .sync(registry.routes().await?)
            .map_err(|(data_type, source)| StartError::Route { data_type, source })?;
        let secret = load_or_create_secret(&config.data_dir.join("ledger-pseudonym.secret"))?;
        let signer = load_or_create_signing_key(
            &config.data_dir.join("ledger-signing.key"),
            &config.ledger.origin,
        )?;
        // Before the ledger starts (its writer drains the outbox first) and before anything is
        // served: the rules in force, if this database never recorded rule changes.
        let baseline = record_baseline(&database).await?;
        if baseline > 0 {
            tracing::info!(
                entries = baseline,
                "recorded the rules in force as the ledger's baseline"
            );
        }
        let ledger = Ledger::start(&database, config.ledger.max_batch, signer).await?;
        let registry_index = RegistryIndex::load(registry.clone()).await?;
        let unusable = registry_index.authorizations_without_registered_purpose();
        if unusable > 0 {
            // Counted, not listed: the operator finds them with `kruispunt registry authorizations`.
            tracing::warn!(
                authorizations = unusable,
                "authorizations name a purpose that is not a registered code; no request can use \
                 them until a valid purpose is registered and granted anew"
            );
        }
        let stop = StopSwitch::new();
        let mut tasks = BackgroundTasks::default();
        tasks.push(
            "route refresh",
            adapters.refresh_periodically(registry.clone(), stop.signal()),
        );
        tasks.push(
            "registry index refresh",
            registry_index.refresh_periodically(stop.signal()),
        );
        let pipeline = Pipeline {
            registry_index: registry_index.clone(),
            repertory: database.repertory(),
            consents: database.consents(),
            adapters: adapters.clone(),
            ledger: ledger.clone(),
            pseudonym_epochs: PseudonymEpochs::new(
                &config.data_dir,
                config.ledger.pseudonym_rotation,
                SubjectPseudonymizer::new(secret),
            ),
            clock,
            adapter_deadline: config.limits.adapter_deadline(),
            max_payload_bytes: config.limits.max_payload_bytes,
        };
        let governance = GovernanceRecorder::new(database.governance(), ledger.clone());
        Ok(Self {
            config,
            catalog,
            registry,
            registry_index,
            database,
            adapters,
            ledger,
            pipeline,
            governance,
            tls_server,
            refusals: RefusalLog::default(),
            background: Arc::new(Background {
                stop,
                tasks: tokio::sync::Mutex::new(Some(tasks)),
            }),
        })
    }

    /// Stops everything the broker runs in the background and waits for it: the registry
    /// index and route refreshes, then the ledger ([`Ledger::shutdown`]: every append handed
    /// to it is answered first), then the database's connections. Call it once no request is
    /// served any more ([`crate::server::run`] does, after draining); appends after it fail
    /// with [`LedgerError::WriterStopped`]. Calling it again waits for the first call.
    pub async fn shutdown(&self) {
        let mut tasks = self.background.tasks.lock().await;
        if let Some(tasks) = tasks.take() {
            self.background.stop.raise();
            tasks.join_all().await;
            self.ledger.shutdown().await;
            self.database.close().await;
        }
    }

    /// The ledger handle.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The data-type catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{Broker, StartError};
    use crate::config::{BrokerConfig, ConfigError, TlsPaths};

    #[tokio::test]
    async fn an_invalid_configuration_is_reported_as_such_before_any_file_is_read() {
        let missing = PathBuf::from("/nonexistent/kruispunt");
        let mut config = BrokerConfig::with_tls(TlsPaths {
            ca_cert: missing.join("ca.pem"),
            cert: missing.join("broker.pem"),
            key: missing.join("broker-key.pem"),
        });
        config.limits.adapter_deadline_ms = 0;
        let Err(error) = Broker::start(config).await else {
            panic!("a zero deadline must be refused");
        };
        assert!(
            matches!(
                error,
                StartError::Config(ConfigError::Value {
                    field: "limits.adapter_deadline_ms",
                    ..
                })
            ),
            "{error:?}"
        );
    }
}
