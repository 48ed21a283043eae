//! `kruispunt demo` runs the scripted requests, and with `--keep-running` stays up as a sandbox
//! whose `sandbox.json` is enough to call it with any gRPC client; Ctrl-C stops it cleanly. The
//! demo is the binary's own code, so these tests run the binary.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kruispunt_e2e::kruispunt_binary;
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use sqlx::Row;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[tokio::test]
async fn the_demo_reports_delivered_and_refused_requests() {
    let output = Command::new(kruispunt_binary())
        .arg("demo")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("(delivered): OK"), "{report}");
    assert!(report.contains("PermissionDenied"), "{report}");
    assert!(report.contains("InvalidArgument"), "{report}");
    // Its eight rule changes (two agencies, three purposes, a route, two authorizations), then
    // its five recorded transfers.
    assert!(report.contains("ledger        13 entries"), "{report}");
}

/// The sandbox process; killed if the test fails before it stops.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_sandbox_describes_itself_in_sandbox_json_and_stops_on_ctrl_c() {
    let directory = tempfile::tempdir().unwrap();
    let sandbox_file = directory.path().join("sandbox.json");
    let mut sandbox = Sandbox(
        Command::new(kruispunt_binary())
            .args(["demo", "--keep-running", "--listen", "127.0.0.1:0", "--dir"])
            .arg(directory.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !sandbox_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sandbox.json never appeared"
        );
        assert!(
            sandbox.0.try_wait().unwrap().is_none(),
            "the sandbox exited early"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sandbox_facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sandbox_file).unwrap()).unwrap();
    for field in [
        "broker_address",
        "ca_cert",
        "consumer_cert",
        "consumer_key",
        "data_type",
        "purpose",
        "subjects",
    ] {
        assert!(
            sandbox_facts.get(field).is_some(),
            "sandbox.json lacks {field}"
        );
    }
    let path = |field: &str| {
        let path = std::path::PathBuf::from(sandbox_facts[field].as_str().unwrap());
        assert!(
            path.starts_with(directory.path().join("pki")),
            "{field} must be under D/pki/"
        );
        std::fs::read(path).unwrap()
    };
    let port = sandbox_facts["broker_address"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(path("ca_cert")))
        .identity(Identity::from_pem(
            path("consumer_cert"),
            path("consumer_key"),
        ))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let subjects = sandbox_facts["subjects"].as_array().unwrap();
    assert!(subjects.len() >= 3);
    let response = ExchangeClient::new(channel)
        .fetch(proto::FetchRequest {
            data_type: sandbox_facts["data_type"].as_str().unwrap().to_owned(),
            subject: Some(proto::Subject {
                scheme: "be.insz".to_owned(),
                id: subjects[2].as_str().unwrap().to_owned(),
            }),
            purpose: sandbox_facts["purpose"].as_str().unwrap().to_owned(),
            request_id: "sandbox-test".to_owned(),
            consent_id: String::new(),
            case_reference: None,
        })
        .await
        .expect("the sandbox consumer is authorized")
        .into_inner();
    assert!(!response.payload_json.is_empty());
    assert_eq!(
        response.receipt.unwrap().index,
        13,
        "after the demo's eight rule changes and five recorded transfers"
    );

    // Ctrl-C, right after that transfer: the sandbox stops its broker (which signs a last
    // checkpoint covering the transfer) and exits by itself.
    let pid = rustix::process::Pid::from_child(&sandbox.0);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = sandbox.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "the sandbox did not stop on Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "the sandbox exited with {status}");
    sqlx::any::install_default_drivers();
    let database = format!(
        "sqlite://{}",
        directory.path().join("kruispunt.db").display()
    );
    let pool = sqlx::AnyPool::connect(&database).await.unwrap();
    let latest: i64 = sqlx::query("SELECT MAX(tree_size) AS size FROM ledger_checkpoints")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("size");
    pool.close().await;
    assert_eq!(
        latest, 14,
        "the last checkpoint covers every entry, the sandbox's own transfer included"
    );
}
