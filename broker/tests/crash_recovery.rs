//! Crash safety: consumers run concurrent fetches while the broker process is killed with
//! SIGKILL several times and restarted. Afterwards every receipt any consumer got is in the
//! ledger, its inclusion proof verifies against the newest signed checkpoint, and
//! `kruispunt ledger verify` (over the Audit API) passes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_adapter::tls::MutualTlsServer;
use kruispunt_adapter::{AdapterLimits, serve};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki};
use kruispunt_broker::transparency::{Hash, NoteVerifier, verify_checkpoint, verify_inclusion};
use kruispunt_civil_registry::{CivilRegistry, PERSON_DATA_TYPE, SyntheticCivilRegistry};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const CONSUMERS: usize = 16;
const KILLS: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The broker process; killed (SIGKILL) when dropped, so a failing assertion leaves no broker
/// behind.
struct BrokerProcess(Child);

impl BrokerProcess {
    fn start(config: &Path) -> Self {
        Self(
            Command::new(env!("CARGO_BIN_EXE_kruispunt"))
                .args(["serve", "--config", config.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn kill(&mut self) {
        let _ = self.0.kill(); // SIGKILL
        let _ = self.0.wait();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn channel(pki: &Path, agency: &str, port: u16) -> Channel {
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

/// Waits until the broker answers an authenticated call.
async fn wait_until_serving(pki: &Path, port: u16) {
    for _ in 0..300 {
        let mut audit = AuditClient::new(channel(pki, "be.test.auditor", port).await);
        if audit
            .get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the broker did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_transfer_is_lost_across_sigkills() {
    let directory = tempfile::tempdir().unwrap();
    let pki_directory = directory.path().join("pki");
    let pki = DevelopmentPki::at(&pki_directory);
    pki.init().unwrap();
    for (agency, role) in [
        ("kruispunt.broker", Role::Broker),
        ("be.test.civil-registry", Role::Provider),
        ("be.test.consumer", Role::Consumer),
        ("kruispunt.operator", Role::Operator),
        ("be.test.auditor", Role::Auditor),
    ] {
        pki.issue(&CertificateRequest::local(
            AgencyId::parse(agency).unwrap(),
            vec![role],
        ))
        .unwrap();
    }

    // The adapter runs in this process; only the broker is killed.
    let population = SyntheticCivilRegistry::generate(3, 300);
    let subjects: Vec<String> = population
        .national_register_numbers()
        .map(str::to_owned)
        .collect();
    let adapter_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let adapter_port = adapter_listener.local_addr().unwrap().port();
    let adapter_material = kruispunt_adapter::tls::TlsMaterial::from_files(
        &pki_directory.join("ca.pem"),
        &pki_directory.join("be.test.civil-registry.pem"),
        &pki_directory.join("be.test.civil-registry-key.pem"),
    )
    .unwrap();
    tokio::spawn(serve(
        CivilRegistry::new(&population),
        AgencyId::parse("be.test.civil-registry").unwrap(),
        adapter_listener,
        MutualTlsServer::new(&adapter_material).unwrap(),
        AdapterLimits::default(),
        std::future::pending(),
    ));

    let port = free_port();
    let config = directory.path().join("broker.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\nlisten = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{db}\"\ndata_dir = \"data\"\n\n[tls]\nca_cert = \"pki/ca.pem\"\ncert = \"pki/kruispunt.broker.pem\"\nkey = \"pki/kruispunt.broker-key.pem\"\n",
            db = directory.path().join("kruispunt.db").display()
        ),
    )
    .unwrap();
    let mut broker = BrokerProcess::start(&config);
    wait_until_serving(&pki_directory, port).await;

    let mut registry =
        RegistryClient::new(channel(&pki_directory, "kruispunt.operator", port).await);
    registry
        .set_route(proto::SetRouteRequest {
            route: Some(proto::Route {
                data_type: PERSON_DATA_TYPE.to_owned(),
                provider: "be.test.civil-registry".to_owned(),
                endpoint: format!("https://127.0.0.1:{adapter_port}"),
            }),
        })
        .await
        .unwrap();
    registry
        .grant_authorization(proto::GrantAuthorizationRequest {
            consumer: "be.test.consumer".to_owned(),
            data_type: PERSON_DATA_TYPE.to_owned(),
            purpose: "crash-test".to_owned(),
            legal_basis: "test".to_owned(),
            allowed_fields: vec![String::new()],
            ..Default::default()
        })
        .await
        .unwrap();

    // Consumers fetch until told to stop, keeping every receipt they are given.
    let receipts: Arc<Mutex<Vec<proto::AuditReceipt>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut consumers = Vec::new();
    for consumer in 0..CONSUMERS {
        let client_channel = channel(&pki_directory, "be.test.consumer", port).await;
        let (receipts, failures, stop, subjects) = (
            receipts.clone(),
            failures.clone(),
            stop.clone(),
            subjects.clone(),
        );
        consumers.push(tokio::spawn(async move {
            let mut exchange = ExchangeClient::new(client_channel);
            let mut number = consumer;
            while !stop.load(Ordering::SeqCst) {
                number += CONSUMERS;
                let request = proto::FetchRequest {
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    subject: Some(proto::Subject {
                        scheme: "be.insz".to_owned(),
                        id: subjects[number % subjects.len()].clone(),
                    }),
                    purpose: "crash-test".to_owned(),
                    request_id: format!("crash-{number}"),
                    consent_id: String::new(),
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

    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(600 + 150 * kill as u64)).await;
        broker.kill();
        broker = BrokerProcess::start(&config);
        wait_until_serving(&pki_directory, port).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.unwrap();
    }
    let receipts = receipts.lock().unwrap().clone();
    assert!(
        receipts.len() > 100,
        "the load must have run: {} receipts",
        receipts.len()
    );
    assert!(
        failures.load(Ordering::SeqCst) > 0,
        "the kills must have been felt"
    );

    // Every receipt is in the newest signed checkpoint.
    let key_output = Command::new(env!("CARGO_BIN_EXE_kruispunt"))
        .args([
            "ledger",
            "key",
            "--data-dir",
            directory.path().join("data").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let key = String::from_utf8(key_output.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let verifier = NoteVerifier::from_verifier_key(&key).unwrap();
    let mut audit = AuditClient::new(channel(&pki_directory, "be.test.auditor", port).await);
    let highest = receipts.iter().map(|receipt| receipt.index).max().unwrap();
    let checkpoint = loop {
        let checkpoint = audit
            .get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner();
        if checkpoint.tree_size > highest {
            break checkpoint;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let signed = verify_checkpoint(&verifier, &checkpoint.signed_note).unwrap();
    let mut indices: Vec<u64> = receipts.iter().map(|receipt| receipt.index).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), receipts.len(), "no index was given twice");
    for receipt in &receipts {
        let proof = audit
            .get_inclusion_proof(proto::GetInclusionProofRequest {
                index: receipt.index,
                tree_size: signed.tree_size,
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
        let path: Vec<Hash> = proof
            .hashes
            .iter()
            .map(|hash| hash.as_slice().try_into().unwrap())
            .collect();
        verify_inclusion(
            receipt.index,
            signed.tree_size,
            &leaf,
            &path,
            &signed.root_hash,
        )
        .unwrap_or_else(|error| panic!("receipt {}: {error}", receipt.index));
    }

    // The whole ledger verifies, over the Audit API.
    let verify = Command::new(env!("CARGO_BIN_EXE_kruispunt"))
        .args([
            "ledger",
            "verify",
            "--key",
            &key,
            "--broker",
            &format!("https://localhost:{port}"),
            "--ca-cert",
            pki_directory.join("ca.pem").to_str().unwrap(),
            "--cert",
            pki_directory.join("be.test.auditor.pem").to_str().unwrap(),
            "--key-file",
            pki_directory
                .join("be.test.auditor-key.pem")
                .to_str()
                .unwrap(),
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
    broker.kill();
}
