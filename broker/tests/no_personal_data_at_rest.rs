//! The acceptance test "the database bytes after a test run with personal data typed into every
//! free field contain none of it": the real `kruispunt serve` binary on SQLite (files in a
//! temporary directory, logging at `debug` to a file) and on PostgreSQL, driven through the real
//! gRPC APIs over mutual TLS by a consumer, a portal and an auditor, and answered by a provider
//! adapter, each typing made-up personal data (a name, an INSZ, a street address, an e-mail
//! address, a phone number) into every field it controls. The broker is then stopped cleanly
//! (SIGINT), and every value is searched for:
//!
//! - on SQLite, in every file the run left in its directory (the database, its `-wal` and
//!   `-shm`, the data directory, the log, the PKI), once while the broker still serves (so a
//!   final checkpoint cannot hide what the WAL held) and once after it stopped. Only the key
//!   files are left out, by name: the TLS keys (`*-key.pem`) and the ledger's secrets
//!   (`ledger-pseudonym.secret`, `ledger-signing.key`);
//! - on PostgreSQL, in `pg_dump --data-only` of the test database and in the log. PostgreSQL's
//!   WAL belongs to the whole server (shared with every other test database), so it is not
//!   searched there.
//!
//! The status messages of the refusals are searched as well: not at rest, but a refusal must
//! not quote what the caller typed either.
//!
//! Each value is searched as its UTF-8 bytes, case-insensitively (ASCII), and hex-encoded (how
//! `pg_dump` writes `bytea`, the ledger entries included); the INSZ with and without its
//! punctuation. Every field gets its own made-up person ([`Persona`]), so a finding names the
//! field it was typed into and the file it was found in (never the value, though it is
//! synthetic).
//!
//! The string fields a caller other than the operator sets, from `proto/kruispunt/v1/*.proto`,
//! and what this test types into each:
//!
//! | caller   | RPC                          | field                    | typed here                     |
//! |----------|------------------------------|--------------------------|--------------------------------|
//! | consumer | Exchange.Fetch               | data_type                | free text (refused)            |
//! | consumer | Exchange.Fetch               | subject.scheme           | a name (refused)               |
//! | consumer | Exchange.Fetch               | subject.id               | valid INSZ, malformed ones     |
//! | consumer | Exchange.Fetch               | purpose                  | free text, code form (refused) |
//! | consumer | Exchange.Fetch               | request_id               | free text (delivered, refused) |
//! | consumer | Exchange.Fetch               | consent_id               | nonexistent, quoted, existing  |
//! | consumer | Exchange.Fetch               | case_reference.reference | free text (delivered)          |
//! | consumer | Registry.RegisterSubject     | subject.scheme, .id      | valid INSZ, malformed one      |
//! | consumer | Registry.RegisterSubject     | capacity                 | free text, code form           |
//! | consumer | Registry.UnregisterSubject   | subject.scheme, .id      | valid INSZ                     |
//! | consumer | Registry.UnregisterSubject   | capacity                 | free text, code form           |
//! | portal   | Consent.GrantConsent         | subject.scheme, .id      | valid INSZ, malformed one      |
//! | portal   | Consent.GrantConsent         | consumer                 | agency-id form, free text      |
//! | portal   | Consent.GrantConsent         | purposes[]               | free text, code form (refused) |
//! | portal   | Consent.GrantConsent         | data_types[]             | free text (refused)            |
//! | portal   | Consent.RevokeConsent        | id                       | free text (not found)          |
//! | portal   | Consent.ListConsents         | subject.scheme, .id      | valid INSZ                     |
//! | portal   | Audit.SubjectAccessLog       | subject.scheme, .id      | valid INSZ                     |
//! | portal   | Audit.SubjectAccessLog       | page_token               | free text (refused)            |
//! | auditor  | Audit.QueryTransfers         | agency                   | agency-id form                 |
//! | auditor  | Audit.QueryTransfers         | data_type, purpose       | free text                      |
//! | auditor  | Audit.QueryTransfers         | outcome, page_token      | free text (refused)            |
//! | provider | Adapter.Fetch answer         | payload_json             | a delivered person's record    |
//! | provider | Adapter.Fetch answer         | payload_json             | schema-invalid, with a person  |
//! | provider | Adapter.Fetch refusal        | status message           | UNAVAILABLE and INTERNAL texts |
//!
//! The other RPCs a non-operator may call (`Audit.GetCheckpoint`, `GetInclusionProof`,
//! `GetConsistencyProof`, `GetEntries`, `ListCheckpoints`) have no string fields, and
//! `Adapter.Describe` is not called by the broker. The fields the broker itself sends the adapter
//! (`AdapterFetchRequest`) go to the provider, not to rest.
//!
//! Registrations and consents are also recorded as governance entries in the same database, so
//! the search covers those too.
//!
//! Left out on purpose: the fields only an operator types (agency display names, routes, purpose
//! codes and descriptions, authorizations' legal basis and its reference). They are the
//! operator's own deliberations, stored as typed; this test's operator types neutral values.
//! A capacity and a purpose are code tokens (`^[a-z0-9][a-z0-9._-]{0,63}$`): a name with spaces,
//! an address, an e-mail address or a phone number cannot take that form and is refused, but a
//! name written as a token or an INSZ can, so capacities are stored as keyed digests; a
//! purpose, in a fetch or a consent, must be a registered code, and a consent's consumer an
//! agency some authorization names.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_adapter::subject::insz_from_parts;
use kruispunt_adapter::tls::{MutualTlsServer, TlsMaterial};
use kruispunt_adapter::{
    AdapterLimits, AuthenticSource, ServedDataType, SourceError, SourceRequest, serve,
};
use kruispunt_broker::testing::{Backend, TestDatabase};
use kruispunt_civil_registry::{CivilRegistry, PERSON_DATA_TYPE, SyntheticCivilRegistry};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::consent_client::ConsentClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use support::{AUDITOR, BrokerProcess, CONSUMER, Deployment, OPERATOR, free_port};
use tonic::Code;

const PORTAL: &str = "be.test.portal";
const PROVIDER: &str = "be.test.civil-registry";
/// Authorized; neither consent nor a registered subject needed.
const OPEN_PURPOSE: &str = "pii-open";
/// Authorized with consent and a registered subject required.
const GUARDED_PURPOSE: &str = "pii-guarded";
/// Registered, but no authorization names it.
const UNAUTHORIZED_PURPOSE: &str = "pii-unauthorized";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    no_personal_data_typed_by_callers_is_at_rest(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(backend) = Backend::postgres_or_skip("no_personal_data_at_rest::postgres") {
        no_personal_data_typed_by_callers_is_at_rest(backend).await;
    }
}

/// Given names of the made-up persons, one per field (at most 8 characters, so that
/// [`Persona::text`] fits the 128 characters of a request id).
const GIVEN_NAMES: [&str; 40] = [
    "Jozefien", "Marieke", "Wannes", "Lieselot", "Brecht", "Femke", "Jeroen", "Annelies", "Pieter",
    "Griet", "Stijn", "Hanne", "Arne", "Sofie", "Lotte", "Wout", "Ine", "Tuur", "Nele", "Bram",
    "Elke", "Joris", "Katrien", "Ruben", "Saar", "Thijs", "Veerle", "Warre", "Yente", "Zita",
    "Mathijs", "Lowie", "Fien", "Seppe", "Jolien", "Kobe", "Margot", "Rune", "Ellen", "Toon",
];

/// A made-up person whose data is typed into one field: every value is distinct from every
/// other persona's, so a finding names the field.
struct Persona {
    field: &'static str,
    name: String,
    /// A valid INSZ (11 digits, modulo-97 check).
    insz: String,
    street: String,
    email: String,
    phone: String,
}

impl Persona {
    fn new(number: usize, field: &'static str) -> Self {
        let given = GIVEN_NAMES[number];
        // Born on consecutive days of July and August 1985: every INSZ differs.
        let (month, day) = if number < 31 {
            (7, number + 1)
        } else {
            (8, number - 30)
        };
        let day = u8::try_from(day).unwrap();
        Self {
            field,
            name: format!("{given} Vandenbroucke-Pieters"),
            insz: insz_from_parts((1985, month, day), 33),
            street: format!("Kerkstraat {}, 9000 Gent", 17 + number),
            email: format!("{}.vandenbroucke@example.be", given.to_lowercase()),
            phone: format!("+32 470 12 {:02} {:02}", 30 + number, 60 + number),
        }
    }

    /// The INSZ as people write it: `85.07.01-033.xx`.
    fn insz_punctuated(&self) -> String {
        let digits = &self.insz;
        format!(
            "{}.{}.{}-{}.{}",
            &digits[0..2],
            &digits[2..4],
            &digits[4..6],
            &digits[6..9],
            &digits[9..11]
        )
    }

    /// The INSZ with wrong check digits (malformed).
    fn insz_wrong_check(&self) -> String {
        let check: u8 = self.insz[9..].parse().unwrap();
        format!("{}{:02}", &self.insz[..9], (check + 1) % 100)
    }

    /// The name in the form of an agency id or a code token: `jozefien.vandenbroucke-pieters`.
    fn name_as_token(&self) -> String {
        self.name.to_lowercase().replace(' ', ".")
    }

    /// Everything at once, as someone pasting a file's header into a free field would.
    fn text(&self) -> String {
        format!(
            "{}, {}, {}, {}, {}",
            self.name,
            self.insz_punctuated(),
            self.street,
            self.email,
            self.phone
        )
    }

    /// Each value on its own, for fields too short for [`text`](Self::text).
    fn pieces(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.insz_punctuated(),
            self.street.clone(),
            self.email.clone(),
            self.phone.clone(),
        ]
    }

    /// What a consumer might type as a capacity, and whether it has the form of a code (and is
    /// accepted, to be stored as a keyed digest) or not (and is refused).
    fn capacities(&self) -> Vec<(String, bool)> {
        let mut capacities: Vec<(String, bool)> = self
            .pieces()
            .into_iter()
            .map(|piece| (piece, false))
            .collect();
        capacities[1].1 = true; // 85.07.01-033.xx is a code token.
        capacities.push((self.name_as_token(), true));
        capacities.push((self.insz.clone(), true));
        capacities
    }

    /// What is searched for: (what it is, the text).
    fn needles(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.clone()),
            ("name as a token", self.name_as_token()),
            ("INSZ", self.insz.clone()),
            ("INSZ with punctuation", self.insz_punctuated()),
            ("INSZ with wrong check digits", self.insz_wrong_check()),
            ("street address", self.street.clone()),
            ("e-mail address", self.email.clone()),
            ("phone number", self.phone.clone()),
        ]
    }
}

/// The persons repertory and adapter behaviours keyed by subject: this adapter serves the
/// synthetic civil registry, except for three subjects it refuses or answers badly, each time
/// with personal data in what it sends (which the broker must keep nowhere).
struct PersonalDataSpillingRegistry {
    registry: CivilRegistry,
    unavailable_subject: String,
    unavailable_message: String,
    internal_subject: String,
    internal_message: String,
    invalid_payload_subject: String,
    invalid_payload: Vec<u8>,
}

impl AuthenticSource for PersonalDataSpillingRegistry {
    fn data_types(&self) -> Vec<ServedDataType> {
        self.registry.data_types()
    }

    async fn fetch(&self, request: SourceRequest) -> Result<Vec<u8>, SourceError> {
        let subject = request.subject.id();
        if subject == self.unavailable_subject {
            Err(SourceError::Unavailable(self.unavailable_message.clone()))
        } else if subject == self.internal_subject {
            Err(SourceError::Internal(self.internal_message.clone()))
        } else if subject == self.invalid_payload_subject {
            Ok(self.invalid_payload.clone())
        } else {
            self.registry.fetch(request).await
        }
    }
}

/// Calls whose outcome differed from the expected code, and the findings, reported together.
/// The refusals' status messages are kept too: they are not at rest, but they must not quote
/// what the caller typed either (they are shown, printed and logged by clients).
#[derive(Default)]
struct Report {
    unexpected_outcomes: Vec<String>,
    status_messages: Vec<(String, Vec<u8>)>,
}

impl Report {
    fn expect<T>(&mut self, what: &str, result: Result<T, tonic::Status>, expected: Code) {
        let code = match &result {
            Ok(_) => Code::Ok,
            Err(status) => {
                self.status_messages.push((
                    format!("the status message of \"{what}\""),
                    status.message().as_bytes().to_vec(),
                ));
                status.code()
            }
        };
        if code != expected {
            self.unexpected_outcomes
                .push(format!("{what}: expected {expected:?}, got {code:?}"));
        }
    }
}

fn insz(id: &str) -> Option<proto::Subject> {
    Some(proto::Subject {
        scheme: "be.insz".to_owned(),
        id: id.to_owned(),
    })
}

fn fetch_request(subject: &str, purpose: &str) -> proto::FetchRequest {
    proto::FetchRequest {
        data_type: PERSON_DATA_TYPE.to_owned(),
        subject: insz(subject),
        purpose: purpose.to_owned(),
        request_id: String::new(),
        consent_id: String::new(),
        case_reference: None,
    }
}

fn consent_request(subject: &str) -> proto::GrantConsentRequest {
    proto::GrantConsentRequest {
        subject: insz(subject),
        consumer: CONSUMER.to_owned(),
        purposes: vec![GUARDED_PURPOSE.to_owned()],
        data_types: vec![PERSON_DATA_TYPE.to_owned()],
        valid_until: time::OffsetDateTime::now_utc().unix_timestamp() + 3_600,
    }
}

/// Every string leaf of a delivered payload worth searching for: at least 8 characters, not a
/// JSON-LD keyword's value or an IRI (those name the schema, not the person).
fn personal_strings(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text)
            if text.chars().count() >= 8 && !text.starts_with("http") =>
        {
            found.push(text.clone());
        }
        serde_json::Value::Array(items) => {
            for item in items {
                personal_strings(item, found);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                if !key.starts_with('@') {
                    personal_strings(member, found);
                }
            }
        }
        _ => {}
    }
}

async fn no_personal_data_typed_by_callers_is_at_rest(backend: Backend) {
    let personas: Vec<Persona> = [
        "Exchange.Fetch.request_id (delivered)",
        "Exchange.Fetch.case_reference (delivered)",
        "Exchange.Fetch.request_id (refused: no authorization)",
        "Exchange.Fetch.consent_id (nonexistent)",
        "Exchange.Fetch.consent_id (quoted)",
        "Exchange.Fetch.purpose (unregistered)",
        "Exchange.Fetch.subject.id (valid INSZ, no record)",
        "Exchange.Fetch.subject.id (malformed)",
        "Exchange.Fetch.subject.scheme",
        "Exchange.Fetch.data_type",
        "Adapter.Fetch refusal UNAVAILABLE (message; its subject)",
        "Adapter.Fetch refusal INTERNAL (message; its subject)",
        "Adapter.Fetch payload_json (schema-invalid; its subject)",
        "Registry.RegisterSubject.capacity",
        "Registry.RegisterSubject.subject (valid INSZ)",
        "Registry.RegisterSubject.subject (malformed)",
        "Registry.UnregisterSubject.capacity",
        "Registry.UnregisterSubject.subject",
        "Consent.GrantConsent.subject (valid INSZ; then quoted by Fetch)",
        "Consent.GrantConsent.subject (malformed)",
        "Consent.GrantConsent.consumer",
        "Consent.GrantConsent.purposes",
        "Consent.GrantConsent.data_types",
        "Consent.RevokeConsent.id",
        "Consent.ListConsents.subject",
        "Audit.SubjectAccessLog.subject",
        "Audit.SubjectAccessLog.page_token",
        "Audit.QueryTransfers.agency",
        "Audit.QueryTransfers.data_type",
        "Audit.QueryTransfers.purpose",
        "Audit.QueryTransfers.outcome",
        "Audit.QueryTransfers.page_token",
    ]
    .into_iter()
    .enumerate()
    .map(|(number, field)| Persona::new(number, field))
    .collect();
    let persona = |field_prefix: &str| -> &Persona {
        personas
            .iter()
            .find(|persona| persona.field.starts_with(field_prefix))
            .unwrap()
    };

    // The deployment: PKI, the adapter in this process, the broker as its own process.
    let directory = tempfile::tempdir().unwrap();
    let pki_directory = support::development_pki(
        directory.path(),
        &[
            ("kruispunt.broker", Role::Broker),
            (PROVIDER, Role::Provider),
            (CONSUMER, Role::Consumer),
            (OPERATOR, Role::Operator),
            (AUDITOR, Role::Auditor),
            (PORTAL, Role::Portal),
        ],
    );
    let population = SyntheticCivilRegistry::generate(7, 5);
    let subjects: Vec<String> = population
        .national_register_numbers()
        .map(str::to_owned)
        .collect();
    let unavailable = persona("Adapter.Fetch refusal UNAVAILABLE");
    let internal = persona("Adapter.Fetch refusal INTERNAL");
    let invalid = persona("Adapter.Fetch payload_json");
    let source = PersonalDataSpillingRegistry {
        registry: CivilRegistry::new(&population),
        unavailable_subject: unavailable.insz.clone(),
        unavailable_message: format!("no answer for {}", unavailable.text()),
        internal_subject: internal.insz.clone(),
        internal_message: format!("record of {} is locked", internal.text()),
        invalid_payload_subject: invalid.insz.clone(),
        // Personal data in values and in a member name (which a violation's JSON pointer might
        // repeat).
        invalid_payload: serde_json::to_vec(&serde_json::json!({
            "naam": invalid.name,
            "rijksregisternummer": invalid.insz_punctuated(),
            "adres": invalid.street,
            "telefoon": invalid.phone,
            (invalid.email.clone()): { "@type": 17 },
        }))
        .unwrap(),
    };
    let adapter_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let adapter_port = adapter_listener.local_addr().unwrap().port();
    let adapter_material = TlsMaterial::from_files(
        &pki_directory.join("ca.pem"),
        &pki_directory.join(format!("{PROVIDER}.pem")),
        &pki_directory.join(format!("{PROVIDER}-key.pem")),
    )
    .unwrap();
    tokio::spawn(serve(
        source,
        AgencyId::parse(PROVIDER).unwrap(),
        adapter_listener,
        MutualTlsServer::new(&adapter_material).unwrap(),
        AdapterLimits::default(),
        std::future::pending(),
    ));
    let database = TestDatabase::create(&backend, directory.path())
        .await
        .unwrap();
    let deployment = Deployment {
        directory,
        pki_directory,
        adapter_port,
        subjects: subjects.clone(),
    };
    let port = free_port();
    let config = deployment.node_config("broker", port, &database.url);
    let mut broker = BrokerProcess::start_logging(&config, "debug");
    deployment.wait_until_serving(port).await;

    // The operator's setup, in neutral words (operator-typed fields are out of scope).
    let mut registry = RegistryClient::new(deployment.channel(OPERATOR, port).await);
    registry
        .set_route(proto::SetRouteRequest {
            route: Some(proto::Route {
                data_type: PERSON_DATA_TYPE.to_owned(),
                provider: PROVIDER.to_owned(),
                endpoint: format!("https://127.0.0.1:{adapter_port}"),
                signed_answers_required: true,
            }),
        })
        .await
        .unwrap();
    for code in [OPEN_PURPOSE, GUARDED_PURPOSE, UNAUTHORIZED_PURPOSE] {
        registry
            .register_purpose(proto::RegisterPurposeRequest {
                code: code.to_owned(),
                description: "Personal data test".to_owned(),
            })
            .await
            .unwrap();
    }
    for (purpose, guarded) in [(OPEN_PURPOSE, false), (GUARDED_PURPOSE, true)] {
        registry
            .grant_authorization(proto::GrantAuthorizationRequest {
                consumer: CONSUMER.to_owned(),
                data_type: PERSON_DATA_TYPE.to_owned(),
                purpose: purpose.to_owned(),
                legal_basis: "test".to_owned(),
                allowed_fields: vec![String::new()],
                requires_consent: guarded,
                requires_subject_registration: guarded,
                ..Default::default()
            })
            .await
            .unwrap();
    }

    let mut report = Report::default();
    let mut exchange = ExchangeClient::new(deployment.channel(CONSUMER, port).await);
    let mut repertory = RegistryClient::new(deployment.channel(CONSUMER, port).await);
    let mut consent = ConsentClient::new(deployment.channel(PORTAL, port).await);
    let mut portal_audit = AuditClient::new(deployment.channel(PORTAL, port).await);
    let mut auditor = AuditClient::new(deployment.channel(AUDITOR, port).await);
    let mut delivered_payloads = Vec::new();

    // The persons repertory (consumer).
    for (what, subject, capacity, expected) in [
        (
            "RegisterSubject of a synthetic person",
            subjects[1].clone(),
            "beneficiary".to_owned(),
            Code::Ok,
        ),
        (
            "RegisterSubject of the consent's subject",
            persona("Consent.GrantConsent.subject (valid").insz.clone(),
            "beneficiary".to_owned(),
            Code::Ok,
        ),
        (
            "RegisterSubject, valid INSZ",
            persona("Registry.RegisterSubject.subject (valid")
                .insz
                .clone(),
            "beneficiary".to_owned(),
            Code::Ok,
        ),
        (
            "RegisterSubject, malformed INSZ",
            persona("Registry.RegisterSubject.subject (malformed").insz_punctuated(),
            "beneficiary".to_owned(),
            Code::InvalidArgument,
        ),
    ]
    .into_iter()
    .chain(
        persona("Registry.RegisterSubject.capacity")
            .capacities()
            .into_iter()
            .map(|(capacity, is_code)| {
                if is_code {
                    (
                        "RegisterSubject, a capacity in code form",
                        subjects[2].clone(),
                        capacity,
                        Code::Ok,
                    )
                } else {
                    (
                        "RegisterSubject, free-text capacity",
                        subjects[2].clone(),
                        capacity,
                        Code::InvalidArgument,
                    )
                }
            }),
    ) {
        let result = repertory
            .register_subject(proto::RegisterSubjectRequest {
                subject: insz(&subject),
                capacity,
                ..Default::default()
            })
            .await;
        report.expect(what, result, expected);
    }
    for (what, subject, capacity, expected) in [(
        "UnregisterSubject, valid INSZ, every capacity",
        persona("Registry.UnregisterSubject.subject").insz.clone(),
        String::new(),
        Code::Ok,
    )]
    .into_iter()
    .chain(
        persona("Registry.UnregisterSubject.capacity")
            .capacities()
            .into_iter()
            .map(|(capacity, is_code)| {
                if is_code {
                    (
                        "UnregisterSubject, a capacity in code form",
                        subjects[2].clone(),
                        capacity,
                        Code::Ok,
                    )
                } else {
                    (
                        "UnregisterSubject, free-text capacity",
                        subjects[2].clone(),
                        capacity,
                        Code::InvalidArgument,
                    )
                }
            }),
    ) {
        let result = repertory
            .unregister_subject(proto::UnregisterSubjectRequest {
                subject: insz(&subject),
                capacity,
            })
            .await;
        report.expect(what, result, expected);
    }

    // Consents (portal).
    let consented_subject = persona("Consent.GrantConsent.subject (valid");
    let consent_of_unknown_person = consent
        .grant_consent(consent_request(&consented_subject.insz))
        .await
        .unwrap()
        .into_inner()
        .id;
    let consent_of_synthetic_person = consent
        .grant_consent(consent_request(&subjects[1]))
        .await
        .unwrap()
        .into_inner()
        .id;
    let consumer_persona = persona("Consent.GrantConsent.consumer");
    let purposes_persona = persona("Consent.GrantConsent.purposes");
    let mut refused_consents = vec![
        (
            "GrantConsent, malformed subject",
            proto::GrantConsentRequest {
                subject: insz(
                    &persona("Consent.GrantConsent.subject (malformed").insz_punctuated(),
                ),
                ..consent_request(&subjects[3])
            },
        ),
        (
            "GrantConsent, consumer in agency-id form",
            proto::GrantConsentRequest {
                consumer: consumer_persona.name_as_token(),
                ..consent_request(&subjects[3])
            },
        ),
        (
            "GrantConsent, consumer as free text",
            proto::GrantConsentRequest {
                consumer: consumer_persona.text(),
                ..consent_request(&subjects[3])
            },
        ),
        (
            "GrantConsent, free-text purpose",
            proto::GrantConsentRequest {
                purposes: vec![purposes_persona.text()],
                ..consent_request(&subjects[3])
            },
        ),
        (
            "GrantConsent, purpose in code form, not registered",
            proto::GrantConsentRequest {
                purposes: vec![purposes_persona.name_as_token()],
                ..consent_request(&subjects[3])
            },
        ),
        (
            "GrantConsent, free-text data type",
            proto::GrantConsentRequest {
                data_types: vec![persona("Consent.GrantConsent.data_types").text()],
                ..consent_request(&subjects[3])
            },
        ),
    ];
    for (what, request) in refused_consents.drain(..) {
        let result = consent.grant_consent(request).await;
        report.expect(what, result, Code::InvalidArgument);
    }
    let result = consent
        .revoke_consent(proto::RevokeConsentRequest {
            id: persona("Consent.RevokeConsent.id").text(),
        })
        .await;
    report.expect("RevokeConsent of a free-text id", result, Code::NotFound);
    let result = consent
        .list_consents(proto::ListConsentsRequest {
            subject: insz(&persona("Consent.ListConsents.subject").insz),
        })
        .await;
    report.expect("ListConsents, valid INSZ", result, Code::Ok);

    // Fetches (consumer), each reaching the step its field is checked at.
    let mut fetches = vec![
        (
            "Fetch delivered, free-text request id",
            proto::FetchRequest {
                request_id: persona("Exchange.Fetch.request_id (delivered").text(),
                ..fetch_request(&subjects[0], OPEN_PURPOSE)
            },
            Code::Ok,
        ),
        (
            "Fetch delivered, a person's data as its case reference",
            proto::FetchRequest {
                case_reference: Some(proto::CaseReference {
                    kind: "dossier".to_owned(),
                    reference: persona("Exchange.Fetch.case_reference").text(),
                }),
                ..fetch_request(&subjects[0], OPEN_PURPOSE)
            },
            Code::Ok,
        ),
        (
            "Fetch refused for no authorization, free-text request id",
            proto::FetchRequest {
                request_id: persona("Exchange.Fetch.request_id (refused").text(),
                ..fetch_request(&subjects[0], UNAUTHORIZED_PURPOSE)
            },
            Code::PermissionDenied,
        ),
        (
            "Fetch quoting a nonexistent consent id",
            proto::FetchRequest {
                consent_id: persona("Exchange.Fetch.consent_id (nonexistent").text(),
                ..fetch_request(&subjects[1], GUARDED_PURPOSE)
            },
            Code::PermissionDenied,
        ),
        (
            "Fetch quoting a quoted consent id",
            proto::FetchRequest {
                consent_id: format!(
                    "\"{}\"",
                    persona("Exchange.Fetch.consent_id (quoted").text()
                ),
                ..fetch_request(&subjects[1], GUARDED_PURPOSE)
            },
            Code::PermissionDenied,
        ),
        (
            "Fetch delivered under an existing consent",
            proto::FetchRequest {
                consent_id: consent_of_synthetic_person.clone(),
                ..fetch_request(&subjects[1], GUARDED_PURPOSE)
            },
            Code::Ok,
        ),
        (
            "Fetch under an existing consent of a subject the provider does not know",
            proto::FetchRequest {
                consent_id: consent_of_unknown_person.clone(),
                ..fetch_request(&consented_subject.insz, GUARDED_PURPOSE)
            },
            Code::NotFound,
        ),
        (
            "Fetch under another subject's existing consent",
            proto::FetchRequest {
                consent_id: consent_of_unknown_person.clone(),
                ..fetch_request(&subjects[1], GUARDED_PURPOSE)
            },
            Code::PermissionDenied,
        ),
        (
            "Fetch with a free-text purpose",
            fetch_request(&subjects[0], &persona("Exchange.Fetch.purpose").text()),
            Code::InvalidArgument,
        ),
        (
            "Fetch with an unregistered purpose in code form",
            fetch_request(
                &subjects[0],
                &persona("Exchange.Fetch.purpose").name_as_token(),
            ),
            Code::InvalidArgument,
        ),
        (
            "Fetch of a valid INSZ the provider does not know",
            fetch_request(
                &persona("Exchange.Fetch.subject.id (valid").insz,
                OPEN_PURPOSE,
            ),
            Code::NotFound,
        ),
        (
            "Fetch with a free-text data type",
            proto::FetchRequest {
                data_type: persona("Exchange.Fetch.data_type").text(),
                ..fetch_request(&subjects[0], OPEN_PURPOSE)
            },
            Code::InvalidArgument,
        ),
        (
            "Fetch with a name as subject scheme",
            proto::FetchRequest {
                subject: Some(proto::Subject {
                    scheme: persona("Exchange.Fetch.subject.scheme").name.clone(),
                    id: subjects[0].clone(),
                }),
                ..fetch_request(&subjects[0], OPEN_PURPOSE)
            },
            Code::InvalidArgument,
        ),
        (
            "Fetch answered UNAVAILABLE with personal data in the message",
            fetch_request(&unavailable.insz, OPEN_PURPOSE),
            Code::Unavailable,
        ),
        (
            "Fetch answered INTERNAL with personal data in the message",
            fetch_request(&internal.insz, OPEN_PURPOSE),
            Code::Unavailable,
        ),
        (
            "Fetch answered with a schema-invalid payload of personal data",
            fetch_request(&invalid.insz, OPEN_PURPOSE),
            Code::Internal,
        ),
    ];
    let malformed = persona("Exchange.Fetch.subject.id (malformed");
    for id in [
        malformed.insz_punctuated(),
        malformed.insz_wrong_check(),
        malformed.name.clone(),
        malformed.email.clone(),
        malformed.phone.clone(),
    ] {
        fetches.push((
            "Fetch with a malformed subject id",
            fetch_request(&id, OPEN_PURPOSE),
            Code::InvalidArgument,
        ));
    }
    for (what, request, expected) in fetches {
        let result = exchange.fetch(request).await;
        if let Ok(response) = &result {
            delivered_payloads.push(response.get_ref().payload_json.clone());
        }
        report.expect(what, result, expected);
    }

    // The access log (portal) and transfer queries (auditor).
    let result = portal_audit
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: insz(&persona("Audit.SubjectAccessLog.subject").insz),
            ..Default::default()
        })
        .await;
    report.expect("SubjectAccessLog, valid INSZ", result, Code::Ok);
    let result = portal_audit
        .subject_access_log(proto::SubjectAccessLogRequest {
            subject: insz(&subjects[0]),
            page_token: persona("Audit.SubjectAccessLog.page_token").text(),
            ..Default::default()
        })
        .await;
    report.expect(
        "SubjectAccessLog, free-text page token",
        result,
        Code::InvalidArgument,
    );
    for (what, request, expected) in [
        (
            "QueryTransfers, agency in agency-id form",
            proto::QueryTransfersRequest {
                agency: persona("Audit.QueryTransfers.agency").name_as_token(),
                ..Default::default()
            },
            Code::Ok,
        ),
        (
            "QueryTransfers, free-text data type",
            proto::QueryTransfersRequest {
                data_type: persona("Audit.QueryTransfers.data_type").text(),
                ..Default::default()
            },
            Code::Ok,
        ),
        (
            "QueryTransfers, free-text purpose",
            proto::QueryTransfersRequest {
                purpose: persona("Audit.QueryTransfers.purpose").text(),
                ..Default::default()
            },
            Code::Ok,
        ),
        (
            "QueryTransfers, free-text outcome",
            proto::QueryTransfersRequest {
                outcome: persona("Audit.QueryTransfers.outcome").text(),
                ..Default::default()
            },
            Code::InvalidArgument,
        ),
        (
            "QueryTransfers, free-text page token",
            proto::QueryTransfersRequest {
                page_token: persona("Audit.QueryTransfers.page_token").text(),
                ..Default::default()
            },
            Code::InvalidArgument,
        ),
    ] {
        let result = auditor.query_transfers(request).await;
        report.expect(what, result, expected);
    }

    // What is searched for: every persona's values, and the provider's delivered records.
    let mut needles: Vec<(String, &'static str, String)> = Vec::new();
    for persona in &personas {
        for (kind, text) in persona.needles() {
            needles.push((persona.field.to_owned(), kind, text));
        }
    }
    assert_eq!(delivered_payloads.len(), 3, "three fetches deliver");
    for payload in &delivered_payloads {
        let mut strings = Vec::new();
        personal_strings(&serde_json::from_slice(payload).unwrap(), &mut strings);
        assert!(strings.len() >= 3, "a delivered record holds personal data");
        for text in strings {
            needles.push((
                "Adapter.Fetch payload_json (delivered)".to_owned(),
                "a string of the record",
                text,
            ));
        }
    }

    // Let checkpoints and the subject indexer run, look while serving, stop cleanly, look again.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut findings = Vec::new();
    let while_serving = at_rest(&backend, deployment.directory.path(), &database.url);
    search(&while_serving, "while serving", &needles, &mut findings);
    search(
        &report.status_messages,
        "returned to the caller",
        &needles,
        &mut findings,
    );
    let status = broker.stop_cleanly(Duration::from_secs(30));
    assert!(status.success(), "the broker stopped with {status}");
    let after_stop = at_rest(&backend, deployment.directory.path(), &database.url);
    search(&after_stop, "after a clean stop", &needles, &mut findings);
    let log = std::fs::read_to_string(config.with_extension("log")).unwrap();
    assert!(
        log.contains("DEBUG"),
        "the broker logged at debug level: {log:.2000}"
    );
    if matches!(backend, Backend::Sqlite) {
        assert!(
            after_stop
                .iter()
                .any(|(name, _)| name.ends_with("kruispunt.db")),
            "the database file was searched"
        );
    }

    findings.sort();
    findings.dedup();
    assert!(
        report.unexpected_outcomes.is_empty() && findings.is_empty(),
        "unexpected outcomes:\n  {}\npersonal data at rest:\n  {}",
        report.unexpected_outcomes.join("\n  "),
        findings.join("\n  ")
    );
}

/// What the run left at rest: every file in `directory` but the key files (by name), and on
/// PostgreSQL the test database's data as `pg_dump --data-only` writes it.
fn at_rest(backend: &Backend, directory: &Path, database_url: &str) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut files = Vec::new();
    files_under(directory, &mut files);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let key_file = name.ends_with("-key.pem")
            || name == "ledger-pseudonym.secret"
            || name == "ledger-signing.key";
        if key_file {
            continue;
        }
        // A file may vanish between listing and reading (the WAL at a clean stop).
        if let Ok(bytes) = std::fs::read(&path) {
            let relative = path.strip_prefix(directory).unwrap().display().to_string();
            found.push((relative, bytes));
        }
    }
    if matches!(backend, Backend::Postgres { .. }) {
        let dump = std::process::Command::new("pg_dump")
            .args(["--data-only", "--dbname", database_url])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(
            String::from_utf8_lossy(&dump.stdout).contains("COPY public.ledger_entries"),
            "the dump holds the ledger"
        );
        found.push(("pg_dump --data-only".to_owned(), dump.stdout));
    }
    found
}

fn files_under(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Looks for each needle in each source: as UTF-8 bytes, case-insensitively, and hex-encoded.
fn search(
    sources: &[(String, Vec<u8>)],
    when: &str,
    needles: &[(String, &'static str, String)],
    findings: &mut Vec<String>,
) {
    for (source, bytes) in sources {
        // Binary files stay searchable: invalid UTF-8 becomes U+FFFD, ASCII text is kept.
        let as_stored = String::from_utf8_lossy(bytes);
        let lower = String::from_utf8_lossy(&bytes.to_ascii_lowercase()).into_owned();
        for (field, kind, text) in needles {
            let how = if as_stored.contains(text.as_str()) {
                Some("as typed")
            } else if lower.contains(&text.to_ascii_lowercase()) {
                Some("in another case")
            } else if lower.contains(&hex::encode(text.as_bytes())) {
                Some("hex-encoded")
            } else {
                None
            };
            if let Some(how) = how {
                findings.push(format!(
                    "{field}: its {kind} is in {source} ({when}, {how})"
                ));
            }
        }
    }
}
