//! `kruispunt demo`: a whole exchange on one machine, in one process (the binary's own code:
//! only it uses the example civil registry).
//!
//! It issues a development PKI, starts the example civil registry adapter and a broker on the
//! embedded SQLite default, registers agencies, a route and an authorization through the
//! operator API, performs a few requests (delivered and refused) as a consumer agency, and
//! prints what happened, ledger receipts and the checkpoint included. With `keep_running`, it
//! stays up as a sandbox and writes `sandbox.json` describing how to call it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_adapter::tls::{MutualTlsClient, MutualTlsServer};
use kruispunt_adapter::{AdapterLimits, serve};
use kruispunt_civil_registry::{CivilRegistry, PERSON_DATA_TYPE, SyntheticCivilRegistry};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use tokio::net::TcpListener;
use tonic::transport::Channel;

use kruispunt_broker::broker::Broker;
use kruispunt_broker::config::{BrokerConfig, TlsPaths};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki, IssuedCertificate};
use kruispunt_transparency::{Hash, NoteVerifier, verify_checkpoint, verify_inclusion};

/// The broker's agency id in the demo.
pub(crate) const BROKER_AGENCY: &str = "kruispunt.broker";
/// The civil registry's agency id in the demo.
pub(crate) const CIVIL_REGISTRY_AGENCY: &str = "be.example.civil-registry";
/// The consumer agency in the demo.
pub(crate) const CONSUMER_AGENCY: &str = "be.example.gemeente-lokeren";
/// The operator in the demo.
pub(crate) const OPERATOR_AGENCY: &str = "kruispunt.operator";
/// The auditor in the demo.
pub(crate) const AUDITOR_AGENCY: &str = "be.example.auditor";
/// The purpose the demo consumer is authorized for (whole person records).
pub(crate) const DEMO_PURPOSE: &str = "demo";
/// A second purpose, authorized for name and birth date only (minimisation).
pub(crate) const MINIMISED_PURPOSE: &str = "school-enrolment";
/// A purpose the demo registers but never authorizes: asking for it is refused (and ledgered).
pub(crate) const UNAUTHORIZED_PURPOSE: &str = "marketing";
/// The purposes the demo registers, with their descriptions.
const DEMO_PURPOSES: [(&str, &str); 3] = [
    (DEMO_PURPOSE, "Demonstration: whole person records"),
    (
        MINIMISED_PURPOSE,
        "Demonstration: school enrolment (name and birth date only)",
    ),
    (
        UNAUTHORIZED_PURPOSE,
        "Demonstration: a registered purpose no one is authorized for",
    ),
];
/// The fields the second purpose allows.
const MINIMISED_FIELDS: [&str; 3] = ["/voornaam", "/achternaam", "/heeftGeboorte/datum"];
/// Seed and size of the synthetic population.
const POPULATION_SEED: u64 = 7;
const POPULATION_SIZE: usize = 1_000;

/// What the demo does.
#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    /// Where PKI, database and ledger secrets go (a temporary directory when `None`).
    pub directory: Option<PathBuf>,
    /// Broker address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Stay up as a sandbox after the scripted requests.
    pub keep_running: bool,
}

/// The facts a sandbox user needs, also written to `sandbox.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SandboxFacts {
    /// `host:port` of the broker.
    pub broker_address: String,
    /// CA certificate to trust.
    pub ca_cert: PathBuf,
    /// A consumer agency's certificate.
    pub consumer_cert: PathBuf,
    /// Its key.
    pub consumer_key: PathBuf,
    /// The data type it is authorized for.
    pub data_type: String,
    /// The purpose it is authorized for.
    pub purpose: String,
    /// National register numbers the civil registry knows.
    pub subjects: Vec<String>,
}

/// Runs the demo, writing its report to `out`. Returns when done, or (with `keep_running`) when
/// `shutdown` completes.
pub(crate) async fn run(
    options: DemoOptions,
    out: &mut (dyn Write + Send),
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<SandboxFacts> {
    let temporary;
    let directory = match &options.directory {
        Some(directory) => directory.clone(),
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_owned()
        }
    };
    std::fs::create_dir_all(&directory)?;
    let pki = DevelopmentPki::at(directory.join("pki"));
    pki.init_if_missing()?;
    let issue = |agency: &str, roles: Vec<Role>| -> anyhow::Result<IssuedCertificate> {
        Ok(pki.issue(&CertificateRequest::local(AgencyId::parse(agency)?, roles))?)
    };
    let broker_certificate = issue(BROKER_AGENCY, vec![Role::Broker])?;
    let registry_certificate = issue(CIVIL_REGISTRY_AGENCY, vec![Role::Provider])?;
    let consumer_certificate = issue(CONSUMER_AGENCY, vec![Role::Consumer])?;
    let operator_certificate = issue(OPERATOR_AGENCY, vec![Role::Operator])?;
    let auditor_certificate = issue(AUDITOR_AGENCY, vec![Role::Auditor])?;
    writeln!(out, "PKI           {}", pki.ca_cert_path().display())?;

    // The civil registry adapter.
    let population = SyntheticCivilRegistry::generate(POPULATION_SEED, POPULATION_SIZE);
    let subjects: Vec<String> = population
        .national_register_numbers()
        .take(5)
        .map(str::to_owned)
        .collect();
    let adapter_listener = TcpListener::bind("127.0.0.1:0").await?;
    let adapter_address = adapter_listener.local_addr()?;
    let adapter_tls = MutualTlsServer::new(&registry_certificate.tls_material()?)?;
    let civil_registry = CivilRegistry::new(&population);
    let (stop_adapter, adapter_stopped) = tokio::sync::oneshot::channel::<()>();
    let adapter_task = tokio::spawn(serve(
        civil_registry,
        AgencyId::parse(CIVIL_REGISTRY_AGENCY)?,
        adapter_listener,
        adapter_tls,
        AdapterLimits::default(),
        async {
            let _ = adapter_stopped.await;
        },
    ));
    writeln!(
        out,
        "adapter       civil registry ({CIVIL_REGISTRY_AGENCY}) on {adapter_address}, {} synthetic persons",
        population.len()
    )?;

    // The broker.
    let mut config = BrokerConfig::with_tls(TlsPaths {
        ca_cert: broker_certificate.ca_cert.clone(),
        cert: broker_certificate.cert.clone(),
        key: broker_certificate.key.clone(),
    });
    config.database_url = format!("sqlite://{}", directory.join("kruispunt.db").display());
    config.data_dir = directory.join("data");
    let broker = Broker::start(config).await?;
    let broker_listener = TcpListener::bind(options.listen).await?;
    let broker_address = broker_listener.local_addr()?;
    let (stop_broker, broker_stopped) = tokio::sync::oneshot::channel::<()>();
    let broker_task = tokio::spawn(kruispunt_broker::server::run(
        broker_listener,
        broker,
        async {
            let _ = broker_stopped.await;
        },
    ));
    writeln!(
        out,
        "broker        https://{broker_address} (SQLite {})",
        directory.join("kruispunt.db").display()
    )?;

    let endpoint = format!("https://{broker_address}");
    let channel_for = |certificate: &IssuedCertificate| -> anyhow::Result<Channel> {
        Ok(MutualTlsClient::new(&certificate.tls_material()?)?.channel(
            &endpoint,
            Some(AgencyId::parse(BROKER_AGENCY)?),
            Duration::from_secs(5),
        )?)
    };

    // The operator registers who is who and who may ask what.
    let mut registry = RegistryClient::new(channel_for(&operator_certificate)?);
    register_demo_registry(&mut registry, adapter_address).await?;
    writeln!(
        out,
        "registry      route {PERSON_DATA_TYPE} -> {CIVIL_REGISTRY_AGENCY}; {CONSUMER_AGENCY} authorized for purpose {DEMO_PURPOSE:?} (whole records) and {MINIMISED_PURPOSE:?} ({})",
        MINIMISED_FIELDS.join(", ")
    )?;
    writeln!(out)?;

    // The consumer asks.
    let mut exchange = ExchangeClient::new(channel_for(&consumer_certificate)?);
    let requests: Vec<(&str, &str, &str, String)> = vec![
        ("delivered", DEMO_PURPOSE, "be.insz", subjects[0].clone()),
        ("delivered", DEMO_PURPOSE, "be.insz", subjects[1].clone()),
        (
            "minimised",
            MINIMISED_PURPOSE,
            "be.insz",
            subjects[2].clone(),
        ),
        (
            "wrong purpose",
            UNAUTHORIZED_PURPOSE,
            "be.insz",
            subjects[0].clone(),
        ),
        (
            "malformed id",
            DEMO_PURPOSE,
            "be.insz",
            "8507300332".to_owned(),
        ),
        (
            "bad checksum",
            DEMO_PURPOSE,
            "be.insz",
            corrupt_checksum(&subjects[0]),
        ),
        (
            "unknown person",
            DEMO_PURPOSE,
            "be.insz",
            unknown_person(&population),
        ),
    ];
    let mut first_receipt = None;
    for (number, (label, purpose, scheme, id)) in requests.into_iter().enumerate() {
        let request = proto::FetchRequest {
            data_type: PERSON_DATA_TYPE.to_owned(),
            subject: Some(proto::Subject {
                scheme: scheme.to_owned(),
                id,
            }),
            purpose: purpose.to_owned(),
            request_id: format!("demo-{number}"),
            consent_id: String::new(),
            // The ledger keeps only a keyed digest of it; the adapter never sees it.
            case_reference: Some(proto::CaseReference {
                kind: "dossier".to_owned(),
                reference: format!("DEMO-2026-{number:04}"),
            }),
        };
        match exchange.fetch(request).await {
            Ok(response) => {
                let response = response.into_inner();
                let receipt = response.receipt.unwrap_or_default();
                if first_receipt.is_none() {
                    first_receipt = Some(receipt.clone());
                }
                let payload: serde_json::Value = serde_json::from_slice(&response.payload_json)?;
                let fields: Vec<&str> = payload
                    .as_object()
                    .map(|object| {
                        object
                            .keys()
                            .map(String::as_str)
                            .filter(|key| !key.starts_with('@'))
                            .collect()
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "fetch {number} ({label}): OK from {}, {} bytes, {} {}; ledger index {} leaf {}",
                    response.provider,
                    response.payload_json.len(),
                    payload["voornaam"][0].as_str().unwrap_or("?"),
                    payload["achternaam"].as_str().unwrap_or("?"),
                    receipt.index,
                    hex::encode(&receipt.leaf_hash[..8.min(receipt.leaf_hash.len())]),
                )?;
                writeln!(out, "              fields: {}", fields.join(", "))?;
            }
            Err(status) => writeln!(
                out,
                "fetch {number} ({label}): {:?}: {}",
                status.code(),
                status.message()
            )?,
        }
    }

    // The auditor looks at the ledger: waits for the signed checkpoint covering every transfer,
    // checks its signature with the published key, and checks one receipt's inclusion proof.
    let mut audit = AuditClient::new(channel_for(&auditor_certificate)?);
    let checkpoint = wait_for_covering_checkpoint(&mut audit).await?;
    let verifier = NoteVerifier::from_verifier_key(&checkpoint.verifier_key)?;
    let signed = verify_checkpoint(&verifier, &checkpoint.signed_note)?;
    writeln!(out)?;
    writeln!(
        out,
        "ledger        {} entries, root {} ({})",
        signed.tree_size,
        hex::encode(signed.root_hash),
        checkpoint.origin
    )?;
    writeln!(
        out,
        "checkpoint    signature valid for key {}",
        checkpoint.verifier_key
    )?;
    for line in checkpoint.signed_note.lines() {
        writeln!(out, "              | {line}")?;
    }
    if let Some(receipt) = first_receipt {
        let proof = audit
            .get_inclusion_proof(proto::GetInclusionProofRequest {
                index: receipt.index,
                tree_size: signed.tree_size,
            })
            .await?
            .into_inner();
        let leaf: Hash = receipt.leaf_hash.as_slice().try_into()?;
        let path = proof
            .hashes
            .iter()
            .map(|hash| Hash::try_from(hash.as_slice()))
            .collect::<Result<Vec<_>, _>>()?;
        verify_inclusion(
            receipt.index,
            signed.tree_size,
            &leaf,
            &path,
            &signed.root_hash,
        )?;
        writeln!(
            out,
            "proof         receipt {} is in the signed tree of size {} ({} hashes, verified)",
            receipt.index,
            signed.tree_size,
            path.len()
        )?;
    }

    let facts = SandboxFacts {
        broker_address: broker_address.to_string(),
        ca_cert: consumer_certificate.ca_cert.clone(),
        consumer_cert: consumer_certificate.cert.clone(),
        consumer_key: consumer_certificate.key.clone(),
        data_type: PERSON_DATA_TYPE.to_owned(),
        purpose: DEMO_PURPOSE.to_owned(),
        subjects,
    };
    if options.keep_running {
        let sandbox_file = directory.join("sandbox.json");
        std::fs::write(&sandbox_file, serde_json::to_vec_pretty(&facts)?)?;
        write_sandbox_instructions(out, &facts, &sandbox_file)?;
        out.flush()?;
        shutdown.await;
    }
    let _ = stop_broker.send(());
    let _ = stop_adapter.send(());
    broker_task.await??;
    adapter_task.await??;
    Ok(facts)
}

/// Polls until the newest signed checkpoint covers every durable entry (at most a few seconds:
/// checkpoints are signed at least once a second).
async fn wait_for_covering_checkpoint(
    audit: &mut AuditClient<Channel>,
) -> anyhow::Result<proto::Checkpoint> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match audit.get_checkpoint(proto::GetCheckpointRequest {}).await {
            Ok(response) => {
                let checkpoint = response.into_inner();
                if checkpoint.tree_size == checkpoint.durable_size {
                    return Ok(checkpoint);
                }
            }
            Err(status) if status.code() == tonic::Code::Unavailable => {}
            Err(status) => return Err(status.into()),
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint covering the ledger was signed within 10 seconds"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn register_demo_registry(
    registry: &mut RegistryClient<Channel>,
    adapter_address: SocketAddr,
) -> anyhow::Result<()> {
    for (id, display_name) in [
        (
            CIVIL_REGISTRY_AGENCY,
            "Voorbeeld rijksregister (synthetisch)",
        ),
        (CONSUMER_AGENCY, "Voorbeeldgemeente Lokeren"),
    ] {
        let result = registry
            .register_agency(proto::RegisterAgencyRequest {
                id: id.to_owned(),
                display_name: display_name.to_owned(),
            })
            .await;
        match result {
            Ok(_) => {}
            // A sandbox directory reused from an earlier run already has them.
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => return Err(status.into()),
        }
    }
    for (code, description) in DEMO_PURPOSES {
        let result = registry
            .register_purpose(proto::RegisterPurposeRequest {
                code: code.to_owned(),
                description: description.to_owned(),
            })
            .await;
        match result {
            Ok(_) => {}
            // A sandbox directory reused from an earlier run already has them.
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => return Err(status.into()),
        }
    }
    registry
        .set_route(proto::SetRouteRequest {
            route: Some(proto::Route {
                data_type: PERSON_DATA_TYPE.to_owned(),
                provider: CIVIL_REGISTRY_AGENCY.to_owned(),
                endpoint: format!("https://{adapter_address}"),
                // The example civil registry signs its answers (the SDK does by default).
                signed_answers_required: true,
            }),
        })
        .await?;
    let existing = registry
        .list_authorizations(proto::ListAuthorizationsRequest {
            consumer: CONSUMER_AGENCY.to_owned(),
        })
        .await?
        .into_inner();
    let grants = [
        (DEMO_PURPOSE, vec![String::new()]),
        (
            MINIMISED_PURPOSE,
            MINIMISED_FIELDS
                .iter()
                .map(|field| (*field).to_owned())
                .collect(),
        ),
    ];
    for (purpose, allowed_fields) in grants {
        let present = existing
            .authorizations
            .iter()
            .any(|authorization| authorization.purpose == purpose && authorization.revoked_at == 0);
        if !present {
            registry
                .grant_authorization(proto::GrantAuthorizationRequest {
                    consumer: CONSUMER_AGENCY.to_owned(),
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    purpose: purpose.to_owned(),
                    legal_basis: "Demonstration authorization (no legal effect)".to_owned(),
                    legal_basis_ref: "https://example.invalid/eli/demo".to_owned(),
                    valid_from: 0,
                    valid_until: 0,
                    allowed_fields,
                    requires_consent: false,
                    requires_subject_registration: false,
                })
                .await?;
        }
    }
    Ok(())
}

/// The same number with a wrong check: flips the last digit.
fn corrupt_checksum(insz: &str) -> String {
    let mut digits: Vec<char> = insz.chars().collect();
    if let Some(last) = digits.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    digits.into_iter().collect()
}

/// A valid national register number the synthetic registry does not hold.
fn unknown_person(population: &SyntheticCivilRegistry) -> String {
    (1..=998)
        .map(|serial| kruispunt_adapter::subject::insz_from_parts((1999, 12, 31), serial))
        .find(|insz| population.person(insz).is_none())
        .unwrap_or_else(|| kruispunt_adapter::subject::insz_from_parts((1999, 12, 31), 997))
}

fn write_sandbox_instructions(
    out: &mut (dyn Write + Send),
    facts: &SandboxFacts,
    sandbox_file: &Path,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "Sandbox running. Facts in {}", sandbox_file.display())?;
    writeln!(out, "  broker        {}", facts.broker_address)?;
    writeln!(out, "  CA            {}", facts.ca_cert.display())?;
    writeln!(out, "  consumer cert {}", facts.consumer_cert.display())?;
    writeln!(out, "  consumer key  {}", facts.consumer_key.display())?;
    writeln!(
        out,
        "  data type     {} (purpose {:?})",
        facts.data_type, facts.purpose
    )?;
    writeln!(out, "  subjects      {}", facts.subjects.join(", "))?;
    writeln!(out, "Press Ctrl-C to stop.")
}
