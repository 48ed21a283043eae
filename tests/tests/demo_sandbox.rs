//! `kruispunt demo` runs the scripted requests, and with `keep_running` stays up as a sandbox whose
//! `sandbox.json` is enough to call it with any gRPC client.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kruispunt_broker::demo::{DemoOptions, run};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[tokio::test]
async fn the_demo_reports_delivered_and_refused_requests() {
    let mut report = Vec::new();
    run(
        DemoOptions {
            directory: None,
            listen: "127.0.0.1:0".parse().unwrap(),
            keep_running: false,
        },
        &mut report,
        std::future::ready(()),
    )
    .await
    .unwrap();
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains("(delivered): OK"), "{report}");
    assert!(report.contains("PermissionDenied"), "{report}");
    assert!(report.contains("InvalidArgument"), "{report}");
    assert!(report.contains("ledger        5 entries"), "{report}");
}

#[tokio::test]
async fn the_sandbox_describes_itself_in_sandbox_json() {
    let directory = tempfile::tempdir().unwrap();
    let sandbox_file = directory.path().join("sandbox.json");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = DemoOptions {
        directory: Some(directory.path().to_owned()),
        listen: "127.0.0.1:0".parse().unwrap(),
        keep_running: true,
    };
    let demo = tokio::spawn(async move {
        let mut report = Vec::new();
        run(options, &mut report, async {
            let _ = stopped.await;
        })
        .await
        .map(drop)
    });
    let mut waited = Duration::ZERO;
    while !sandbox_file.exists() {
        assert!(
            waited < Duration::from_secs(30),
            "sandbox.json never appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let sandbox: serde_json::Value =
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
        assert!(sandbox.get(field).is_some(), "sandbox.json lacks {field}");
    }
    let path = |field: &str| {
        let path = std::path::PathBuf::from(sandbox[field].as_str().unwrap());
        assert!(
            path.starts_with(directory.path().join("pki")),
            "{field} must be under D/pki/"
        );
        std::fs::read(path).unwrap()
    };
    let port = sandbox["broker_address"]
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
    let subjects = sandbox["subjects"].as_array().unwrap();
    assert!(subjects.len() >= 3);
    let response = ExchangeClient::new(channel)
        .fetch(proto::FetchRequest {
            data_type: sandbox["data_type"].as_str().unwrap().to_owned(),
            subject: Some(proto::Subject {
                scheme: "be.insz".to_owned(),
                id: subjects[2].as_str().unwrap().to_owned(),
            }),
            purpose: sandbox["purpose"].as_str().unwrap().to_owned(),
            request_id: "sandbox-test".to_owned(),
            consent_id: String::new(),
        })
        .await
        .expect("the sandbox consumer is authorized")
        .into_inner();
    assert!(!response.payload_json.is_empty());
    assert_eq!(
        response.receipt.unwrap().index,
        5,
        "after the demo's five recorded transfers"
    );
    stop.send(()).unwrap();
    demo.await.unwrap().unwrap();
}
