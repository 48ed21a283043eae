//! The broker's configuration: strict, versioned TOML (`deny_unknown_fields`, `version = 1`),
//! every field with a default, overridable from the command line.
//!
//! ```toml
//! version = 1
//! listen = "127.0.0.1:8443"
//! database_url = "sqlite://kruispunt-data/kruispunt.db"   # or postgres://user@host/db
//! data_dir = "kruispunt-data"
//! worker_threads = 2          # 0: one thread (current-thread runtime)
//!
//! [tls]
//! ca_cert = "pki/ca.pem"
//! cert = "pki/kruispunt.broker.pem"
//! key = "pki/kruispunt.broker-key.pem"
//!
//! [limits]
//! adapter_deadline_ms = 2000
//! max_payload_bytes = 1048576
//!
//! [ledger]
//! origin = "kruispunt.example/ledger"
//! pseudonym_rotation = "yearly"   # or "monthly"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::pseudonym_epochs::PseudonymRotation;

/// The configuration version this broker reads.
pub const CONFIG_VERSION: u32 = 1;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown or mistyped field.
    #[error("invalid configuration {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the offending key).
        source: Box<toml::de::Error>,
    },
    /// A version this broker does not understand.
    #[error(
        "configuration version {found} is not supported (this broker reads version {CONFIG_VERSION})"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// A value out of range.
    #[error("invalid configuration value {field}: {reason}")]
    Value {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Everything `kruispunt serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// Must be [`CONFIG_VERSION`].
    pub version: u32,
    /// Address of the gRPC server.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `sqlite://path` (created if missing; one broker node) or `postgres://user@host/db`
    /// (any number of broker nodes sharing it).
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Where the ledger's signing key and pseudonym secret live (owner-only files, never in the
    /// database).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The broker's own certificate and the trust anchors for agencies.
    pub tls: TlsPaths,
    /// Bounds on requests and adapter calls.
    #[serde(default)]
    pub limits: Limits,
    /// Ledger settings.
    #[serde(default)]
    pub ledger: LedgerSettings,
    /// Tokio worker threads: 0 runs everything on one thread (a current-thread runtime).
    #[serde(default = "default_worker_threads")]
    pub worker_threads: usize,
}

fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Paths of PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPaths {
    /// CA certificate(s) agencies' certificates must chain to.
    pub ca_cert: PathBuf,
    /// The broker's certificate (server and client: it also calls adapters).
    pub cert: PathBuf,
    /// The broker's private key.
    pub key: PathBuf,
}

/// Bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Deadline of one adapter call, in milliseconds.
    pub adapter_deadline_ms: u64,
    /// Largest payload accepted from an adapter, in bytes.
    pub max_payload_bytes: usize,
    /// Largest request message accepted from a consumer, in bytes.
    pub max_request_bytes: usize,
    /// Requests served at once per connection; more wait.
    pub max_concurrent_requests_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            adapter_deadline_ms: 2_000,
            max_payload_bytes: 1024 * 1024,
            max_request_bytes: 16 * 1024,
            max_concurrent_requests_per_connection: 512,
        }
    }
}

impl Limits {
    /// The adapter deadline as a [`Duration`].
    pub fn adapter_deadline(&self) -> Duration {
        Duration::from_millis(self.adapter_deadline_ms)
    }
}

/// Ledger settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerSettings {
    /// The log's origin line in checkpoints: names this ledger.
    pub origin: String,
    /// Most transfers written in one group commit.
    pub max_batch: usize,
    /// How often the secret keying the ledger's subject pseudonyms and request and case
    /// digests rotates: `"yearly"` (the default; epoch = UTC year) or `"monthly"` (epoch =
    /// `year * 100 + month`). See `crate::pseudonym_epochs`.
    pub pseudonym_rotation: PseudonymRotation,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            origin: "kruispunt.example/ledger".to_owned(),
            max_batch: 1024,
            pseudonym_rotation: PseudonymRotation::default(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_database_url() -> String {
    "sqlite://kruispunt-data/kruispunt.db".to_owned()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("kruispunt-data")
}

impl BrokerConfig {
    /// Reads and checks a TOML file. Relative paths in it are taken relative to the file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|error| match error {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            other => other,
        })?;
        if let Some(base) = path.parent() {
            config.resolve_relative_to(base);
        }
        Ok(config)
    }

    /// Parses and checks TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            source: Box::new(source),
        })?;
        config.check()?;
        Ok(config)
    }

    /// A configuration for the given TLS files with every other value at its default.
    pub fn with_tls(tls: TlsPaths) -> Self {
        Self {
            version: CONFIG_VERSION,
            listen: default_listen(),
            database_url: default_database_url(),
            data_dir: default_data_dir(),
            tls,
            limits: Limits::default(),
            ledger: LedgerSettings::default(),
            worker_threads: default_worker_threads(),
        }
    }

    /// Checks values the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.version != CONFIG_VERSION {
            return Err(ConfigError::Version {
                found: self.version,
            });
        }
        if crate::store::Backend::of_url(&self.database_url).is_none() {
            return Err(ConfigError::Value {
                field: "database_url",
                reason: "must start with sqlite: or postgres://".to_owned(),
            });
        }
        let positive = [
            (
                "limits.adapter_deadline_ms",
                self.limits.adapter_deadline_ms as usize,
            ),
            ("limits.max_payload_bytes", self.limits.max_payload_bytes),
            ("limits.max_request_bytes", self.limits.max_request_bytes),
            (
                "limits.max_concurrent_requests_per_connection",
                self.limits.max_concurrent_requests_per_connection,
            ),
            ("ledger.max_batch", self.ledger.max_batch),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::Value {
                    field,
                    reason: "must be greater than zero".to_owned(),
                });
            }
        }
        if self.ledger.origin.is_empty() || self.ledger.origin.contains(char::is_whitespace) {
            return Err(ConfigError::Value {
                field: "ledger.origin",
                reason: "must be non-empty and contain no whitespace".to_owned(),
            });
        }
        Ok(())
    }

    fn resolve_relative_to(&mut self, base: &Path) {
        for path in [
            &mut self.data_dir,
            &mut self.tls.ca_cert,
            &mut self.tls.cert,
            &mut self.tls.key,
        ] {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        version = 1
        [tls]
        ca_cert = "ca.pem"
        cert = "broker.pem"
        key = "broker-key.pem"
    "#;

    #[test]
    fn a_minimal_file_gets_defaults() {
        let config = BrokerConfig::from_toml(MINIMAL).expect("valid");
        assert_eq!(config.limits.adapter_deadline_ms, 2_000);
        assert_eq!(config.listen.port(), 8443);
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error = BrokerConfig::from_toml(&format!("{MINIMAL}\nlisten_adress = \"x\""))
            .expect_err("typo must be refused");
        let message = crate::error_chain::ErrorChain(&error).to_string();
        assert!(message.contains("listen_adress"), "{message}");
    }

    #[test]
    fn pseudonym_rotation_is_yearly_by_default_monthly_on_request_and_nothing_else() {
        let config = BrokerConfig::from_toml(MINIMAL).expect("valid");
        assert_eq!(config.ledger.pseudonym_rotation, PseudonymRotation::Yearly);
        let monthly = BrokerConfig::from_toml(&format!(
            "{MINIMAL}\n[ledger]\npseudonym_rotation = \"monthly\""
        ))
        .expect("valid");
        assert_eq!(
            monthly.ledger.pseudonym_rotation,
            PseudonymRotation::Monthly
        );
        for refused in ["\"weekly\"", "\"Yearly\"", "1"] {
            let text = format!("{MINIMAL}\n[ledger]\npseudonym_rotation = {refused}");
            let error = BrokerConfig::from_toml(&text).expect_err("refused");
            let message = crate::error_chain::ErrorChain(&error).to_string();
            assert!(message.contains("pseudonym_rotation"), "{message}");
        }
    }

    #[test]
    fn other_versions_are_refused() {
        let error = BrokerConfig::from_toml(&MINIMAL.replace("version = 1", "version = 2"))
            .expect_err("version 2 unknown");
        assert!(matches!(error, ConfigError::Version { found: 2 }));
    }

    #[test]
    fn zero_limits_are_refused() {
        let text = format!("{MINIMAL}\n[limits]\nadapter_deadline_ms = 0");
        assert!(matches!(
            BrokerConfig::from_toml(&text),
            Err(ConfigError::Value {
                field: "limits.adapter_deadline_ms",
                ..
            })
        ));
    }
}
