//! `kruispunt registry …` and `kruispunt consent …` drive a running broker over gRPC with an
//! operator certificate: agencies, routes, purposes, authorizations (with fields and flags),
//! revocation, consents. A consumer certificate gets nowhere.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::Command;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_broker::broker::Broker;
use kruispunt_broker::config::{BrokerConfig, TlsPaths};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki};
use kruispunt_broker::testing::{Backend, TestDatabase};
use kruispunt_civil_registry::SyntheticCivilRegistry;

struct Cli<'a> {
    pki: &'a Path,
    endpoint: String,
}

impl Cli<'_> {
    fn run(&self, agency: &str, arguments: &[&str]) -> (bool, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_kruispunt"))
            .args(arguments)
            .env("KRUISPUNT_BROKER", &self.endpoint)
            .env("KRUISPUNT_CA_CERT", self.pki.join("ca.pem"))
            .env("KRUISPUNT_CERT", self.pki.join(format!("{agency}.pem")))
            .env("KRUISPUNT_KEY", self.pki.join(format!("{agency}-key.pem")))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    fn ok(&self, agency: &str, arguments: &[&str]) -> String {
        let (success, text) = self.run(agency, arguments);
        assert!(success, "{arguments:?}: {text}");
        text
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    the_operator_cli_manages_a_running_broker(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(backend) = Backend::postgres_or_skip("operator_cli::postgres") {
        the_operator_cli_manages_a_running_broker(backend).await;
    }
}

async fn the_operator_cli_manages_a_running_broker(backend: Backend) {
    let directory = tempfile::tempdir().unwrap();
    let pki_directory = support::development_pki(
        directory.path(),
        &[
            ("kruispunt.broker", Role::Broker),
            ("kruispunt.operator", Role::Operator),
            ("be.test.consumer", Role::Consumer),
        ],
    );
    let mut config = BrokerConfig::with_tls(TlsPaths {
        ca_cert: pki_directory.join("ca.pem"),
        cert: pki_directory.join("kruispunt.broker.pem"),
        key: pki_directory.join("kruispunt.broker-key.pem"),
    });
    let database = TestDatabase::create(&backend, directory.path())
        .await
        .unwrap();
    config.database_url = database.url.clone();
    config.data_dir = directory.path().join("data");
    let broker = Broker::start(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(kruispunt_broker::server::run(
        listener,
        broker,
        std::future::pending(),
    ));
    let cli = Cli {
        pki: &pki_directory,
        endpoint: format!("https://localhost:{port}"),
    };
    let operator = "kruispunt.operator";

    let text = cli.ok(
        operator,
        &[
            "registry",
            "add-agency",
            "--id",
            "be.test.consumer",
            "--name",
            "Testgemeente",
        ],
    );
    assert!(
        text.contains("registered agency be.test.consumer"),
        "{text}"
    );
    let (success, text) = cli.run(
        operator,
        &[
            "registry",
            "add-agency",
            "--id",
            "be.test.consumer",
            "--name",
            "Again",
        ],
    );
    assert!(!success && text.contains("AlreadyExists"), "{text}");
    assert!(
        cli.ok(operator, &["registry", "agencies"])
            .contains("be.test.consumer\tTestgemeente")
    );
    assert!(
        cli.ok(operator, &["registry", "data-types"])
            .contains("persoon.GeregistreerdPersoon@1")
    );

    cli.ok(
        operator,
        &[
            "registry",
            "set-route",
            "--data-type",
            "persoon.GeregistreerdPersoon@1",
            "--provider",
            "be.test.civil-registry",
            "--endpoint",
            "https://127.0.0.1:9443",
        ],
    );
    assert!(
        cli.ok(operator, &["registry", "routes"])
            .contains("be.test.civil-registry\thttps://127.0.0.1:9443\tsigned-answers-optional")
    );
    // The same route, now requiring signed answers; the listing shows it.
    assert!(
        cli.ok(
            operator,
            &[
                "registry",
                "set-route",
                "--data-type",
                "persoon.GeregistreerdPersoon@1",
                "--provider",
                "be.test.civil-registry",
                "--endpoint",
                "https://127.0.0.1:9443",
                "--require-signed-answers",
            ],
        )
        .contains("signed answers required")
    );
    assert!(
        cli.ok(operator, &["registry", "routes"])
            .contains("be.test.civil-registry\thttps://127.0.0.1:9443\tsigned-answers-required")
    );

    // Purposes are registered codes: an unregistered one cannot be granted.
    let grant_for = |purpose: &'static str| {
        [
            "registry",
            "grant",
            "--consumer",
            "be.test.consumer",
            "--data-type",
            "persoon.GeregistreerdPersoon@1",
            "--purpose",
            purpose,
            "--legal-basis",
            "Wet van 15 januari 1990, art. 11",
        ]
    };
    let (success, text) = cli.run(operator, &grant_for("social-benefits"));
    assert!(
        !success && text.contains("InvalidArgument") && text.contains("is not registered"),
        "{text}"
    );
    assert!(
        cli.ok(
            operator,
            &[
                "registry",
                "add-purpose",
                "--code",
                "social-benefits",
                "--description",
                "Granting and reviewing social benefits",
            ],
        )
        .contains("registered purpose social-benefits (Granting and reviewing social benefits)")
    );
    let (success, text) = cli.run(
        operator,
        &[
            "registry",
            "add-purpose",
            "--code",
            "social-benefits",
            "--description",
            "Again",
        ],
    );
    assert!(!success && text.contains("AlreadyExists"), "{text}");
    let (success, text) = cli.run(
        operator,
        &[
            "registry",
            "add-purpose",
            "--code",
            "Social Benefits",
            "--description",
            "Not a code",
        ],
    );
    assert!(!success && text.contains("InvalidArgument"), "{text}");
    let (success, text) = cli.run(
        "be.test.consumer",
        &[
            "registry",
            "add-purpose",
            "--code",
            "by-a-consumer",
            "--description",
            "Refused",
        ],
    );
    assert!(!success && text.contains("operator role"), "{text}");
    let purposes = cli.ok(operator, &["registry", "purposes"]);
    assert!(
        purposes.starts_with("social-benefits\tGranting and reviewing social benefits\t"),
        "{purposes}"
    );
    assert_eq!(purposes.lines().count(), 1, "{purposes}");

    let text = cli.ok(
        operator,
        &[
            "registry",
            "grant",
            "--consumer",
            "be.test.consumer",
            "--data-type",
            "persoon.GeregistreerdPersoon@1",
            "--purpose",
            "social-benefits",
            "--legal-basis",
            "Wet van 15 januari 1990, art. 11",
            "--field",
            "/voornaam",
            "--field",
            "/achternaam",
            "--requires-consent",
        ],
    );
    assert!(
        text.starts_with("#1 be.test.consumer may read persoon.GeregistreerdPersoon@1"),
        "{text}"
    );
    assert!(
        text.contains("fields /achternaam, /voornaam; valid"),
        "{text}"
    );
    assert!(text.contains("consent required"), "{text}");
    let (success, text) = cli.run(
        operator,
        &[
            "registry",
            "grant",
            "--consumer",
            "be.test.consumer",
            "--data-type",
            "persoon.GeregistreerdPersoon@1",
            "--purpose",
            "social-benefits",
            "--legal-basis",
            "y",
            "--field",
            "voornaam",
        ],
    );
    assert!(!success && text.contains("is not a JSON pointer"), "{text}");
    assert!(
        cli.ok(operator, &["registry", "revoke", "--id", "1"])
            .contains("REVOKED")
    );
    assert!(
        cli.ok(
            operator,
            &[
                "registry",
                "authorizations",
                "--consumer",
                "be.test.consumer"
            ]
        )
        .contains("REVOKED")
    );

    let subject = SyntheticCivilRegistry::generate(1, 1)
        .national_register_numbers()
        .next()
        .unwrap()
        .to_owned();
    let subject_argument = format!("be.insz:{subject}");
    let text = cli.ok(
        operator,
        &[
            "consent",
            "grant",
            "--subject",
            &subject_argument,
            "--consumer",
            "be.test.consumer",
            "--purpose",
            "social-benefits",
            "--data-type",
            "persoon.GeregistreerdPersoon@1",
            "--valid-days",
            "30",
        ],
    );
    let consent_id = text.split_whitespace().next().unwrap().to_owned();
    assert!(consent_id.starts_with("consent-"), "{text}");
    assert!(
        cli.ok(
            operator,
            &["consent", "list", "--subject", &subject_argument]
        )
        .contains(&consent_id)
    );
    assert!(
        cli.ok(operator, &["consent", "revoke", "--id", &consent_id])
            .contains("REVOKED")
    );
    let (success, text) = cli.run(
        operator,
        &["consent", "list", "--subject", "be.insz:12345678901"],
    );
    assert!(!success && text.contains("InvalidArgument"), "{text}");

    // Revoking the consumer's membership shows in the list, and locks it out.
    assert!(
        cli.ok(
            operator,
            &["registry", "revoke-agency", "--id", "be.test.consumer"]
        )
        .contains("REVOKED")
    );
    let (success, text) = cli.run("be.test.consumer", &["registry", "agencies"]);
    assert!(
        !success && text.contains("membership of agency be.test.consumer is revoked"),
        "{text}"
    );

    // A consumer's certificate does not make an operator.
    DevelopmentPki::at(&pki_directory)
        .issue(&CertificateRequest::local(
            AgencyId::parse("be.test.other").unwrap(),
            vec![Role::Consumer],
        ))
        .unwrap();
    let (success, text) = cli.run("be.test.other", &["registry", "agencies"]);
    assert!(!success && text.contains("operator role"), "{text}");
}
