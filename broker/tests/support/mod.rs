//! Shared harness for the tests that run the real `kruispunt` binary as separate processes and
//! kill them: a development PKI, a civil-registry adapter in the test process, broker processes
//! from a config file, consumers under load that keep every receipt, and the auditor's checks
//! (inclusion of every receipt, consistency of every pair of checkpoints, `kruispunt ledger
//! verify`).

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_adapter::tls::MutualTlsServer;
use kruispunt_adapter::{AdapterLimits, serve};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki};
use kruispunt_civil_registry::{CivilRegistry, PERSON_DATA_TYPE, SyntheticCivilRegistry};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use kruispunt_transparency::{
    Hash, NoteVerifier, verify_checkpoint, verify_consistency, verify_inclusion,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub const CONSUMER: &str = "be.test.consumer";
pub const AUDITOR: &str = "be.test.auditor";
pub const OPERATOR: &str = "kruispunt.operator";
const PROVIDER: &str = "be.test.civil-registry";
const PURPOSE: &str = "crash-test";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A development PKI in `directory/pki` with a certificate for each agency; returns its path.
pub fn development_pki(directory: &Path, agencies: &[(&str, Role)]) -> PathBuf {
    let pki_directory = directory.join("pki");
    let pki = DevelopmentPki::at(&pki_directory);
    pki.init().unwrap();
    for (agency, role) in agencies {
        pki.issue(&CertificateRequest::local(
            AgencyId::parse(agency).unwrap(),
            vec![*role],
        ))
        .unwrap();
    }
    pki_directory
}

/// A broker process; killed (SIGKILL) when dropped, so a failing assertion leaves no broker
/// behind.
pub struct BrokerProcess(Child);

impl BrokerProcess {
    /// Starts `kruispunt serve --config config`, its log appended to `config` + `.log`.
    pub fn start(config: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"))
            .unwrap();
        Self(
            Command::new(env!("CARGO_BIN_EXE_kruispunt"))
                .args(["serve", "--config", config.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    /// Starts `kruispunt serve --config config` with `RUST_LOG=log_filter`, its log (stderr)
    /// appended to `config` + `.log`.
    pub fn start_logging(config: &Path, log_filter: &str) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"))
            .unwrap();
        Self(
            Command::new(env!("CARGO_BIN_EXE_kruispunt"))
                .args(["serve", "--config", config.to_str().unwrap()])
                .env("RUST_LOG", log_filter)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    /// Stops the broker as Ctrl-C does (SIGINT: it drains, stops its background work and closes
    /// the database) and waits up to `within` for it to exit; returns its exit status.
    pub fn stop_cleanly(&mut self, within: Duration) -> std::process::ExitStatus {
        let signalled = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(signalled.success(), "kill -INT {}", self.0.id());
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the broker did not stop within {within:?} of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Everything but the brokers: a temporary directory with the PKI, the broker's data directory
/// (shared by every node: the ledger secrets), and the adapter serving in this process.
pub struct Deployment {
    pub directory: tempfile::TempDir,
    pub pki_directory: PathBuf,
    pub adapter_port: u16,
    pub subjects: Vec<String>,
}

impl Deployment {
    pub async fn start() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let pki_directory = development_pki(
            directory.path(),
            &[
                ("kruispunt.broker", Role::Broker),
                (PROVIDER, Role::Provider),
                (CONSUMER, Role::Consumer),
                (OPERATOR, Role::Operator),
                (AUDITOR, Role::Auditor),
            ],
        );
        let population = SyntheticCivilRegistry::generate(3, 300);
        let subjects = population
            .national_register_numbers()
            .map(str::to_owned)
            .collect();
        let adapter_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let adapter_port = adapter_listener.local_addr().unwrap().port();
        let adapter_material = kruispunt_adapter::tls::TlsMaterial::from_files(
            &pki_directory.join("ca.pem"),
            &pki_directory.join(format!("{PROVIDER}.pem")),
            &pki_directory.join(format!("{PROVIDER}-key.pem")),
        )
        .unwrap();
        tokio::spawn(serve(
            CivilRegistry::new(&population),
            AgencyId::parse(PROVIDER).unwrap(),
            adapter_listener,
            MutualTlsServer::new(&adapter_material).unwrap(),
            AdapterLimits::default(),
            std::future::pending(),
        ));
        Self {
            directory,
            pki_directory,
            adapter_port,
            subjects,
        }
    }

    /// The last lines of every broker log, for failure messages.
    pub fn log_tails(&self) -> String {
        let mut tails = String::new();
        for entry in std::fs::read_dir(self.directory.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                tails.push_str(&format!("--- {}\n", path.display()));
                for line in &lines[lines.len().saturating_sub(15)..] {
                    tails.push_str(line);
                    tails.push('\n');
                }
            }
        }
        tails
    }

    /// Writes the config of a broker node listening on `port`; returns its path.
    pub fn node_config(&self, node: &str, port: u16, database_url: &str) -> PathBuf {
        let config = self.directory.path().join(format!("{node}.toml"));
        std::fs::write(
            &config,
            format!(
                "version = 1\nlisten = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\ndata_dir = \"data\"\n\n[tls]\nca_cert = \"pki/ca.pem\"\ncert = \"pki/kruispunt.broker.pem\"\nkey = \"pki/kruispunt.broker-key.pem\"\n",
            ),
        )
        .unwrap();
        config
    }

    pub async fn channel(&self, agency: &str, port: u16) -> Channel {
        let pki = &self.pki_directory;
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(
                std::fs::read(pki.join("ca.pem")).unwrap(),
            ))
            .identity(Identity::from_pem(
                std::fs::read(pki.join(format!("{agency}.pem"))).unwrap(),
                std::fs::read(pki.join(format!("{agency}-key.pem"))).unwrap(),
            ))
            .domain_name("localhost");
        Channel::from_shared(format!("https://localhost:{port}"))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .timeout(Duration::from_secs(5))
            .connect_lazy()
    }

    /// Waits until the broker on `port` answers an authenticated call.
    pub async fn wait_until_serving(&self, port: u16) {
        for _ in 0..300 {
            let mut audit = AuditClient::new(self.channel(AUDITOR, port).await);
            if audit
                .get_checkpoint(proto::GetCheckpointRequest {})
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the broker on port {port} did not come up");
    }

    /// Routes persons to the adapter, registers [`PURPOSE`] and authorizes the consumer for it,
    /// through the broker on `port`.
    pub async fn register(&self, port: u16) {
        let mut registry = RegistryClient::new(self.channel(OPERATOR, port).await);
        registry
            .set_route(proto::SetRouteRequest {
                route: Some(proto::Route {
                    signed_answers_required: false,
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    provider: PROVIDER.to_owned(),
                    endpoint: format!("https://127.0.0.1:{}", self.adapter_port),
                }),
            })
            .await
            .unwrap();
        registry
            .register_purpose(proto::RegisterPurposeRequest {
                code: PURPOSE.to_owned(),
                description: "Crash and failover tests".to_owned(),
            })
            .await
            .unwrap();
        registry
            .grant_authorization(proto::GrantAuthorizationRequest {
                consumer: CONSUMER.to_owned(),
                data_type: PERSON_DATA_TYPE.to_owned(),
                purpose: PURPOSE.to_owned(),
                legal_basis: "test".to_owned(),
                allowed_fields: vec![String::new()],
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// `consumers` callers fetching in a loop, spread round-robin over the brokers on `ports`.
    pub async fn start_load(&self, ports: &[u16], consumers: usize) -> Load {
        let load = Load {
            receipts: Arc::default(),
            failures: Arc::default(),
            stop: Arc::default(),
            consumers: Vec::new(),
        };
        let mut load = load;
        for consumer in 0..consumers {
            let channel = self.channel(CONSUMER, ports[consumer % ports.len()]).await;
            let (receipts, failures, stop, subjects) = (
                load.receipts.clone(),
                load.failures.clone(),
                load.stop.clone(),
                self.subjects.clone(),
            );
            load.consumers.push(tokio::spawn(async move {
                let mut exchange = ExchangeClient::new(channel);
                let mut number = consumer;
                while !stop.load(Ordering::SeqCst) {
                    number += consumers;
                    let request = proto::FetchRequest {
                        data_type: PERSON_DATA_TYPE.to_owned(),
                        subject: Some(proto::Subject {
                            scheme: "be.insz".to_owned(),
                            id: subjects[number % subjects.len()].clone(),
                        }),
                        purpose: PURPOSE.to_owned(),
                        request_id: format!("load-{number}"),
                        consent_id: String::new(),
                        case_reference: None,
                    };
                    match exchange.fetch(request).await {
                        Ok(response) => receipts
                            .lock()
                            .unwrap()
                            .push(response.into_inner().receipt.unwrap()),
                        Err(_) => {
                            failures.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }));
        }
        load
    }

    /// The checkpoint signer's verifier key, from the shared data directory.
    pub fn verifier_key(&self) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_kruispunt"))
            .args([
                "ledger",
                "key",
                "--data-dir",
                self.directory.path().join("data").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// What an auditor checks after the storm, through the broker on `port`: every receipt is
    /// in the newest signed checkpoint (inclusion proofs), every pair of checkpoints is
    /// consistent (consistency proofs), and `kruispunt ledger verify` passes.
    pub async fn audit(&self, port: u16, receipts: &[proto::AuditReceipt]) {
        let key = self.verifier_key();
        let verifier = NoteVerifier::from_verifier_key(&key).unwrap();
        let mut indices: Vec<u64> = receipts.iter().map(|receipt| receipt.index).collect();
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), receipts.len(), "no index was given twice");

        let mut audit = AuditClient::new(self.channel(AUDITOR, port).await);
        let highest = indices.last().copied().unwrap_or(0);
        let mut waited = 0;
        let checkpoint = loop {
            let checkpoint = audit
                .get_checkpoint(proto::GetCheckpointRequest {})
                .await
                .unwrap()
                .into_inner();
            if checkpoint.tree_size > highest {
                break checkpoint;
            }
            waited += 1;
            assert!(waited < 100, "no checkpoint covers index {highest}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let latest = verify_checkpoint(&verifier, &checkpoint.signed_note).unwrap();
        for receipt in receipts {
            let proof = audit
                .get_inclusion_proof(proto::GetInclusionProofRequest {
                    index: receipt.index,
                    tree_size: latest.tree_size,
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                proof.leaf_hash, receipt.leaf_hash,
                "entry {} changed",
                receipt.index
            );
            let leaf: Hash = receipt.leaf_hash.as_slice().try_into().unwrap();
            verify_inclusion(
                receipt.index,
                latest.tree_size,
                &leaf,
                &hashes(&proof.hashes),
                &latest.root_hash,
            )
            .unwrap_or_else(|error| panic!("receipt {}: {error}", receipt.index));
        }

        let checkpoints: Vec<_> = audit
            .list_checkpoints(proto::ListCheckpointsRequest {
                from_tree_size: 0,
                limit: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .checkpoints
            .iter()
            .map(|checkpoint| verify_checkpoint(&verifier, &checkpoint.signed_note).unwrap())
            .filter(|checkpoint| checkpoint.tree_size <= latest.tree_size)
            .collect();
        assert!(checkpoints.len() >= 2, "{} checkpoints", checkpoints.len());
        for (position, old) in checkpoints.iter().enumerate() {
            for new in &checkpoints[position + 1..] {
                if old.tree_size == 0 {
                    continue;
                }
                let proof = audit
                    .get_consistency_proof(proto::GetConsistencyProofRequest {
                        old_size: old.tree_size,
                        new_size: new.tree_size,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                verify_consistency(
                    old.tree_size,
                    new.tree_size,
                    &old.root_hash,
                    &new.root_hash,
                    &hashes(&proof.hashes),
                )
                .unwrap_or_else(|error| {
                    panic!(
                        "checkpoints {} -> {}: {error}",
                        old.tree_size, new.tree_size
                    )
                });
            }
        }

        let pki = &self.pki_directory;
        let verify = Command::new(env!("CARGO_BIN_EXE_kruispunt"))
            .args([
                "ledger",
                "verify",
                "--key",
                &key,
                "--broker",
                &format!("https://localhost:{port}"),
                "--ca-cert",
                pki.join("ca.pem").to_str().unwrap(),
                "--cert",
                pki.join(format!("{AUDITOR}.pem")).to_str().unwrap(),
                "--key-file",
                pki.join(format!("{AUDITOR}-key.pem")).to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(verify.status.success(), "{output}");
        assert!(output.contains("ledger verified"), "{output}");
    }
}

fn hashes(raw: &[Vec<u8>]) -> Vec<Hash> {
    raw.iter()
        .map(|hash| hash.as_slice().try_into().unwrap())
        .collect()
}

/// Consumers under load, each keeping every receipt it was given.
pub struct Load {
    receipts: Arc<Mutex<Vec<proto::AuditReceipt>>>,
    failures: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    consumers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Receipts so far.
    pub fn receipt_count(&self) -> usize {
        self.receipts.lock().unwrap().len()
    }

    /// Stops the consumers; returns every receipt and the number of failed calls.
    pub async fn stop(self) -> (Vec<proto::AuditReceipt>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        for consumer in self.consumers {
            consumer.await.unwrap();
        }
        let receipts = self.receipts.lock().unwrap().clone();
        (receipts, self.failures.load(Ordering::SeqCst))
    }
}
