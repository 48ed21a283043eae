//! Every change to the rules in force becomes one `governance` ledger entry (docs/ledger.md, "The
//! `governance` body"), committed with the change and in the tree before the change is
//! acknowledged: through the real Registry and Consent APIs, each kind of change gives exactly
//! one entry, with the documented key fields, consecutive sequences and the caller's agency id
//! as its actor; a refused change writes nothing; a transfer records the rules version it was
//! decided under; a database populated before rule changes were recorded gets its rules in force
//! as a baseline, once; and `kruispunt ledger verify` accepts the ledger.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use kruispunt_e2e::{
    AUDITOR, Backend, CONSUMER, LEGAL_BASIS, OPERATOR, Outcome, PERSON_DATA_TYPE, PORTAL, PROVIDER,
    PURPOSE, PURPOSE_DESCRIPTION, TestExchange, backend_test, consent_from, default_authorization,
    insz, kruispunt_binary, now, person_request,
};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_proto::v1::registry_client::RegistryClient;
use kruispunt_transparency::{GovernanceChange, GovernanceEntry, SubjectPseudonymizer};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The agency the test registers and revokes.
const NEW_AGENCY: &str = "be.test.new-agency";
/// Its display name: free text, which must never reach the ledger.
const NEW_AGENCY_NAME: &str = "Gemeente Nieuwdorp, dienst Burgerzaken";

fn key_fields(entry: &GovernanceEntry) -> Vec<(&str, &str)> {
    entry
        .key_fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// The pseudonym the broker keys `insz` to, from its secret in the data directory, in
/// lower-case hex.
fn pseudonym_hex(exchange: &TestExchange, insz: &str) -> String {
    let secret = std::fs::read(
        exchange
            .directory
            .path()
            .join("data")
            .join("ledger-pseudonym.secret"),
    )
    .unwrap();
    let pseudonymizer = SubjectPseudonymizer::new(secret.try_into().unwrap());
    hex::encode(pseudonymizer.pseudonym("be.insz", insz))
}

/// The subject's pseudonym as a rule change made now names it: under the secret of the current
/// epoch (the UTC year: the fixture rotates yearly), with that epoch.
fn epoch_pseudonym_hex(exchange: &TestExchange, insz: &str) -> (String, String) {
    let now_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let year = kruispunt_broker::pseudonym_epochs::PseudonymRotation::Yearly
        .epoch_at(i64::try_from(now_micros).unwrap());
    let secret = std::fs::read(
        exchange
            .directory
            .path()
            .join("data")
            .join("pseudonym-epochs")
            .join(format!("{year}.secret")),
    )
    .unwrap();
    let pseudonymizer = SubjectPseudonymizer::new(secret.try_into().unwrap());
    (
        year.to_string(),
        hex::encode(pseudonymizer.pseudonym("be.insz", insz)),
    )
}

/// The newest rule change, checking that exactly one was added since `count` entries.
async fn the_one_new_entry(exchange: &TestExchange, count: &mut usize) -> GovernanceEntry {
    let entries = exchange.governance_entries().await;
    assert_eq!(
        entries.len(),
        *count + 1,
        "exactly one new governance entry"
    );
    *count += 1;
    entries.last().unwrap().clone()
}

/// The canonical form of a record: each (name, value) as two u16-length-prefixed strings.
fn canonical(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (name, value) in fields {
        for text in [name, value] {
            bytes.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
        }
    }
    bytes
}

async fn governance_state(exchange: &TestExchange) -> (i64, i64) {
    let pool = exchange.database_pool().await;
    let sequence: i64 = sqlx::query("SELECT sequence FROM governance_state")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("sequence");
    let outbox: i64 = sqlx::query("SELECT COUNT(*) AS waiting FROM governance_outbox")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("waiting");
    pool.close().await;
    (sequence, outbox)
}

/// Runs `kruispunt ledger verify` on the broker's database, once a signed checkpoint covers
/// every entry, and asserts that it accepts the ledger.
async fn ledger_verify_accepts(exchange: &TestExchange) {
    let size = exchange.ledger_size().await;
    let checkpoint = exchange.checkpoint_covering(size).await;
    let output = Command::new(kruispunt_binary())
        .args(["ledger", "verify", "--key", &checkpoint.verifier_key])
        .args(["--database-url", &exchange.database_url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ledger verify refused the ledger: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

backend_test!(every_rule_change_is_one_governance_entry_with_its_key_fields);
async fn every_rule_change_is_one_governance_entry_with_its_key_fields(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;

    // The fixture's three changes: the route, the purpose, the authorization.
    let entries = exchange.governance_entries().await;
    let mut count = entries.len();
    assert_eq!(
        entries
            .iter()
            .map(|entry| (entry.sequence, entry.change, entry.actor.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, GovernanceChange::RouteSet, OPERATOR),
            (2, GovernanceChange::PurposeRegistered, OPERATOR),
            (3, GovernanceChange::AuthorizationGranted, OPERATOR),
        ]
    );
    let endpoint = format!("https://127.0.0.1:{}", exchange.adapter_address.port());
    assert_eq!(
        key_fields(&entries[0]),
        [
            ("data_type", PERSON_DATA_TYPE),
            ("provider", PROVIDER),
            ("endpoint", endpoint.as_str()),
            ("signed_answers_required", "false"),
        ]
    );
    assert_eq!(key_fields(&entries[1]), [("purpose", PURPOSE)]);
    let registered = operator
        .list_purposes(proto::ListPurposesRequest {})
        .await
        .unwrap()
        .into_inner()
        .purposes
        .into_iter()
        .find(|purpose| purpose.code == PURPOSE)
        .unwrap();
    let registered_at = registered.registered_at.to_string();
    assert_eq!(
        entries[1].record_digest,
        <[u8; 32]>::from(Sha256::digest(canonical(&[
            ("purpose", PURPOSE),
            ("description", PURPOSE_DESCRIPTION),
            ("registered_at", &registered_at),
        ]))),
        "the record digest covers the key fields, then the description and registration time"
    );
    let granted = operator
        .list_authorizations(proto::ListAuthorizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .authorizations
        .remove(0);
    let granted_id = granted.id.to_string();
    let granted_from = granted.valid_from.to_string();
    assert_eq!(
        key_fields(&entries[2]),
        [
            ("authorization_id", granted_id.as_str()),
            ("consumer", CONSUMER),
            ("data_type", PERSON_DATA_TYPE),
            ("purpose", PURPOSE),
            ("valid_from", granted_from.as_str()),
            ("valid_until", ""),
            ("requires_consent", "false"),
            ("requires_subject_registration", "false"),
        ]
    );

    operator
        .register_agency(proto::RegisterAgencyRequest {
            id: NEW_AGENCY.to_owned(),
            display_name: NEW_AGENCY_NAME.to_owned(),
        })
        .await
        .unwrap();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::AgencyRegistered);
    assert_eq!(entry.actor, OPERATOR);
    assert_eq!(key_fields(&entry), [("agency", NEW_AGENCY)]);
    let encoded = String::from_utf8_lossy(&entry.encode()).into_owned();
    assert!(
        !encoded.contains(NEW_AGENCY_NAME),
        "free text stays out of the ledger"
    );

    operator
        .revoke_agency(proto::RevokeAgencyRequest {
            id: NEW_AGENCY.to_owned(),
        })
        .await
        .unwrap();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::AgencyRevoked);
    assert_eq!(key_fields(&entry), [("agency", NEW_AGENCY)]);
    // Revoking again changes nothing, so records nothing.
    operator
        .revoke_agency(proto::RevokeAgencyRequest {
            id: NEW_AGENCY.to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(exchange.governance_entries().await.len(), count);

    exchange.register_purpose("school-enrolment").await;
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::PurposeRegistered);
    assert_eq!(key_fields(&entry), [("purpose", "school-enrolment")]);

    let valid_until = now() + 3_600;
    let mut grant = default_authorization();
    grant.purpose = "school-enrolment".to_owned();
    grant.valid_until = valid_until;
    grant.requires_consent = true;
    let authorization = operator
        .grant_authorization(grant)
        .await
        .unwrap()
        .into_inner();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::AuthorizationGranted);
    let (id, from, until) = (
        authorization.id.to_string(),
        authorization.valid_from.to_string(),
        valid_until.to_string(),
    );
    assert_eq!(
        key_fields(&entry),
        [
            ("authorization_id", id.as_str()),
            ("consumer", CONSUMER),
            ("data_type", PERSON_DATA_TYPE),
            ("purpose", "school-enrolment"),
            ("valid_from", from.as_str()),
            ("valid_until", until.as_str()),
            ("requires_consent", "true"),
            ("requires_subject_registration", "false"),
        ]
    );
    let encoded = String::from_utf8_lossy(&entry.encode()).into_owned();
    assert!(
        !encoded.contains(LEGAL_BASIS),
        "the legal basis is free text"
    );

    operator
        .revoke_authorization(proto::RevokeAuthorizationRequest {
            id: authorization.id,
        })
        .await
        .unwrap();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::AuthorizationRevoked);
    assert_eq!(
        key_fields(&entry),
        [
            ("authorization_id", id.as_str()),
            ("consumer", CONSUMER),
            ("data_type", PERSON_DATA_TYPE),
            ("purpose", "school-enrolment"),
        ]
    );
    operator
        .revoke_authorization(proto::RevokeAuthorizationRequest {
            id: authorization.id,
        })
        .await
        .unwrap();
    assert_eq!(
        exchange.governance_entries().await.len(),
        count,
        "a second revocation records nothing"
    );

    let subject = exchange.known_subject(0);
    let pseudonym = pseudonym_hex(&exchange, &subject);
    let mut portal = exchange.portal().await;
    let consent = portal
        .grant_consent(consent_from(&subject, valid_until))
        .await
        .unwrap()
        .into_inner();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    // Named under the current epoch, not by the registry's own (epoch 0) pseudonym: deleting
    // the epoch's secret unlinks the rule change as it unlinks the epoch's transfers.
    let (epoch, epoch_pseudonym) = epoch_pseudonym_hex(&exchange, &subject);
    assert_ne!(epoch_pseudonym, pseudonym);
    assert_eq!(entry.change, GovernanceChange::ConsentGranted);
    assert_eq!(entry.actor, PORTAL, "the portal made the change");
    assert_eq!(
        key_fields(&entry),
        [
            ("consent_id", consent.id.as_str()),
            ("consumer", CONSUMER),
            ("purposes", PURPOSE),
            ("data_types", PERSON_DATA_TYPE),
            ("valid_until", until.as_str()),
            ("pseudonym_epoch", epoch.as_str()),
            ("subject_pseudonym", epoch_pseudonym.as_str()),
        ]
    );

    portal
        .revoke_consent(proto::RevokeConsentRequest {
            id: consent.id.clone(),
        })
        .await
        .unwrap();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::ConsentRevoked);
    assert_eq!(entry.actor, PORTAL);
    assert_eq!(
        key_fields(&entry),
        [("consent_id", consent.id.as_str()), ("consumer", CONSUMER)]
    );
    portal
        .revoke_consent(proto::RevokeConsentRequest {
            id: consent.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        exchange.governance_entries().await.len(),
        count,
        "a second revocation records nothing"
    );

    let mut consumer_registry = RegistryClient::new(exchange.channel_as(CONSUMER).await);
    let registration = consumer_registry
        .register_subject(proto::RegisterSubjectRequest {
            subject: insz(&subject),
            capacity: "beneficiary".to_owned(),
            valid_from: 0,
            valid_until: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::SubjectRegistered);
    assert_eq!(entry.actor, CONSUMER, "the consumer registered its client");
    let registered_from = registration.valid_from.to_string();
    assert_eq!(
        key_fields(&entry),
        [
            ("consumer", CONSUMER),
            ("pseudonym_epoch", epoch.as_str()),
            ("subject_pseudonym", epoch_pseudonym.as_str()),
            ("valid_from", registered_from.as_str()),
            ("valid_until", ""),
        ]
    );

    let ended = consumer_registry
        .unregister_subject(proto::UnregisterSubjectRequest {
            subject: insz(&subject),
            capacity: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .ended;
    assert_eq!(ended, 1);
    let entry = the_one_new_entry(&exchange, &mut count).await;
    assert_eq!(entry.change, GovernanceChange::SubjectUnregistered);
    assert_eq!(entry.actor, CONSUMER);
    assert_eq!(
        key_fields(&entry),
        [
            ("consumer", CONSUMER),
            ("pseudonym_epoch", epoch.as_str()),
            ("subject_pseudonym", epoch_pseudonym.as_str()),
        ]
    );

    let entries = exchange.governance_entries().await;
    assert_eq!(
        entries
            .iter()
            .map(|entry| entry.sequence)
            .collect::<Vec<_>>(),
        (1..=u64::try_from(entries.len()).unwrap()).collect::<Vec<_>>(),
        "sequences run 1, 2, 3, ... in ledger order"
    );
    for entry in &entries {
        let encoded = String::from_utf8_lossy(&entry.encode()).into_owned();
        assert!(!encoded.contains(&subject), "no national register number");
    }
    assert_eq!(
        governance_state(&exchange).await,
        (i64::try_from(entries.len()).unwrap(), 0),
        "the sequence is the newest change's, and the outbox is drained"
    );
    ledger_verify_accepts(&exchange).await;
}

backend_test!(a_refused_rule_change_writes_nothing);
async fn a_refused_rule_change_writes_nothing(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let before = exchange.governance_entries().await;
    let state_before = governance_state(&exchange).await;
    let mut operator = exchange.operator().await;

    let refusals = [
        operator
            .register_purpose(proto::RegisterPurposeRequest {
                code: PURPOSE.to_owned(),
                description: "again".to_owned(),
            })
            .await
            .unwrap_err()
            .code(),
        operator
            .register_purpose(proto::RegisterPurposeRequest {
                code: "Not A Code".to_owned(),
                description: "malformed".to_owned(),
            })
            .await
            .unwrap_err()
            .code(),
        operator
            .revoke_authorization(proto::RevokeAuthorizationRequest { id: 9_999 })
            .await
            .unwrap_err()
            .code(),
        operator
            .revoke_agency(proto::RevokeAgencyRequest {
                id: "be.test.never-registered".to_owned(),
            })
            .await
            .unwrap_err()
            .code(),
        operator
            .register_agency(proto::RegisterAgencyRequest {
                id: "not an agency id".to_owned(),
                display_name: "x".to_owned(),
            })
            .await
            .unwrap_err()
            .code(),
        operator
            .grant_authorization({
                let mut grant = default_authorization();
                grant.purpose = "never-registered".to_owned();
                grant
            })
            .await
            .unwrap_err()
            .code(),
        exchange
            .portal()
            .await
            .revoke_consent(proto::RevokeConsentRequest {
                id: "consent-00000000000000000000000000000000".to_owned(),
            })
            .await
            .unwrap_err()
            .code(),
        exchange
            .portal()
            .await
            .grant_consent({
                let mut consent = consent_from(&exchange.known_subject(0), now() + 3_600);
                consent.purposes = vec!["Free text, not a code".to_owned()];
                consent
            })
            .await
            .unwrap_err()
            .code(),
    ];
    use tonic::Code::{AlreadyExists, InvalidArgument, NotFound};
    assert_eq!(
        refusals,
        [
            AlreadyExists,
            InvalidArgument,
            NotFound,
            NotFound,
            InvalidArgument,
            InvalidArgument,
            NotFound,
            InvalidArgument
        ]
    );
    // Ending registrations that do not exist changes nothing, so records nothing.
    let ended = RegistryClient::new(exchange.channel_as(CONSUMER).await)
        .unregister_subject(proto::UnregisterSubjectRequest {
            subject: insz(&exchange.known_subject(1)),
            capacity: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .ended;
    assert_eq!(ended, 0);

    assert_eq!(exchange.governance_entries().await, before, "no entry");
    assert_eq!(
        governance_state(&exchange).await,
        state_before,
        "no sequence taken, nothing in the outbox"
    );
    // The next change gets the very next sequence: refusals left no gap.
    exchange.register_purpose("after-refusals").await;
    let after = exchange.governance_entries().await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(
        after.last().unwrap().sequence,
        before.last().unwrap().sequence + 1
    );
}

backend_test!(a_transfer_records_the_rules_version_it_was_decided_under);
async fn a_transfer_records_the_rules_version_it_was_decided_under(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let grant_sequence = exchange.governance_entries().await.last().unwrap().sequence;
    let mut consumer = exchange.consumer().await;
    consumer
        .fetch(person_request("be.insz", &exchange.known_subject(0)))
        .await
        .unwrap();

    let mut operator = exchange.operator().await;
    exchange.register_purpose("school-enrolment").await;
    let mut grant = default_authorization();
    grant.purpose = "school-enrolment".to_owned();
    operator.grant_authorization(grant).await.unwrap();
    let second_grant = exchange.governance_entries().await.last().unwrap().clone();
    assert_eq!(second_grant.change, GovernanceChange::AuthorizationGranted);
    let mut request = person_request("be.insz", &exchange.known_subject(1));
    request.purpose = "school-enrolment".to_owned();
    consumer.fetch(request).await.unwrap();
    // A refusal records the version too.
    let mut refused = person_request("be.insz", &exchange.known_subject(2));
    refused.purpose = "school-enrolment".to_owned();
    RegistryClient::new(exchange.channel_as(OPERATOR).await)
        .revoke_authorization(proto::RevokeAuthorizationRequest {
            id: operator
                .list_authorizations(proto::ListAuthorizationsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .authorizations
                .last()
                .unwrap()
                .id,
        })
        .await
        .unwrap();
    let revocation = exchange.governance_entries().await.last().unwrap().clone();
    consumer.fetch(refused).await.unwrap_err();

    let transfers = exchange.ledger_rows().await;
    let versions: Vec<(Outcome, u64)> = transfers
        .iter()
        .map(|row| (row.entry.outcome, row.entry.rules_version))
        .collect();
    assert_eq!(
        versions,
        [
            (Outcome::Delivered, grant_sequence),
            (Outcome::Delivered, second_grant.sequence),
            (Outcome::RefusedNoAuthorization, revocation.sequence),
        ],
        "each transfer names the newest rule change of the view it was decided under"
    );
    // Every rules version names a rule change that is before the transfer in the log.
    for row in &transfers {
        let before_it = exchange
            .governance_entries()
            .await
            .into_iter()
            .any(|entry| entry.sequence == row.entry.rules_version && entry.leaf_index < row.index);
        assert!(before_it, "rules version {}", row.entry.rules_version);
    }
    ledger_verify_accepts(&exchange).await;
}

backend_test!(a_database_from_before_rule_changes_gets_its_rules_in_force_as_a_baseline_once);
async fn a_database_from_before_rule_changes_gets_its_rules_in_force_as_a_baseline_once(
    backend: Backend,
) {
    let exchange = TestExchange::builder(backend)
        .prepare_database(Box::new(|pool| {
            Box::pin(async move {
                for statement in [
                    "INSERT INTO agencies (id, display_name, registered_at, revoked_at) VALUES ('be.old.member', 'Oude Gemeente', 100, NULL)",
                    "INSERT INTO agencies (id, display_name, registered_at, revoked_at) VALUES ('be.old.revoked', 'Opgeheven Dienst', 100, 200)",
                    "INSERT INTO purposes (code, description, registered_at) VALUES ('old-purpose', 'Een oud doel', 100)",
                ] {
                    sqlx::query(statement).execute(&pool).await.unwrap();
                }
                for revoked_at in [None, Some(300_i64)] {
                    sqlx::query(
                        "INSERT INTO authorizations (consumer, data_type, purpose, legal_basis, legal_basis_ref, valid_from, valid_until, revoked_at, allowed_fields, requires_consent, requires_subject_registration)
                         VALUES ($1, $2, 'old-purpose', 'Oude wet', '', 100, NULL, $3, '[\"\"]', 0, 0)",
                    )
                    .bind(CONSUMER)
                    .bind(PERSON_DATA_TYPE)
                    .bind(revoked_at)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
                sqlx::query(
                    "INSERT INTO consents (id, subject_pseudonym, consumer, purposes, data_types, granted_at, valid_until, revoked_at, recorded_by)
                     VALUES ('consent-old', $1, $2, '[\"old-purpose\"]', $3, 100, 4000000000, 400, $4)",
                )
                .bind(vec![0x11_u8; 32])
                .bind(CONSUMER)
                .bind(format!("[\"{PERSON_DATA_TYPE}\"]"))
                .bind(PORTAL)
                .execute(&pool)
                .await
                .unwrap();
                sqlx::query(
                    "INSERT INTO subject_registrations (consumer, subject_pseudonym, capacity, valid_from, valid_until, registered_at, ended_at)
                     VALUES ($1, $2, 'beneficiary', 100, NULL, 100, 500)",
                )
                .bind(CONSUMER)
                .bind(vec![0x22_u8; 32])
                .execute(&pool)
                .await
                .unwrap();
                pool.close().await;
            })
        }))
        .start()
        .await;

    let entries = exchange.governance_entries().await;
    let summary: Vec<(u64, &str, GovernanceChange)> = entries
        .iter()
        .map(|entry| (entry.sequence, entry.actor.as_str(), entry.change))
        .collect();
    use GovernanceChange::*;
    let baseline = "kruispunt.baseline";
    assert_eq!(
        summary,
        [
            (1, baseline, AgencyRegistered),
            (2, baseline, AgencyRegistered),
            (3, baseline, AgencyRevoked),
            (4, baseline, PurposeRegistered),
            (5, baseline, AuthorizationGranted),
            (6, baseline, AuthorizationGranted),
            (7, baseline, AuthorizationRevoked),
            (8, baseline, ConsentGranted),
            (9, baseline, ConsentRevoked),
            (10, baseline, SubjectRegistered),
            (11, baseline, SubjectUnregistered),
            // Then the fixture's own changes, after the baseline.
            (12, OPERATOR, RouteSet),
            (13, OPERATOR, PurposeRegistered),
            (14, OPERATOR, AuthorizationGranted),
        ]
    );
    assert_eq!(key_fields(&entries[0]), [("agency", "be.old.member")]);
    assert_eq!(key_fields(&entries[2]), [("agency", "be.old.revoked")]);
    assert_eq!(key_fields(&entries[3]), [("purpose", "old-purpose")]);
    assert_eq!(
        key_fields(&entries[4]),
        [
            ("authorization_id", "1"),
            ("consumer", CONSUMER),
            ("data_type", PERSON_DATA_TYPE),
            ("purpose", "old-purpose"),
            ("valid_from", "100"),
            ("valid_until", ""),
            ("requires_consent", "false"),
            ("requires_subject_registration", "false"),
        ]
    );
    let old_pseudonym = "11".repeat(32);
    assert_eq!(
        key_fields(&entries[7]),
        [
            ("consent_id", "consent-old"),
            ("consumer", CONSUMER),
            ("purposes", "old-purpose"),
            ("data_types", PERSON_DATA_TYPE),
            ("valid_until", "4000000000"),
            ("pseudonym_epoch", "0"),
            ("subject_pseudonym", old_pseudonym.as_str()),
        ]
    );
    let registered_pseudonym = "22".repeat(32);
    assert_eq!(
        key_fields(&entries[10]),
        [
            ("consumer", CONSUMER),
            ("pseudonym_epoch", "0"),
            ("subject_pseudonym", registered_pseudonym.as_str()),
        ]
    );

    // Once only: another start (another node, or a restart) finds the sequence taken.
    let database = kruispunt_broker::store::Database::open(&exchange.database_url)
        .await
        .unwrap();
    assert_eq!(
        kruispunt_broker::governance::record_baseline(&database)
            .await
            .unwrap(),
        0
    );
    database.close().await;
    assert_eq!(exchange.governance_entries().await.len(), entries.len());

    // The baseline's authorization is in force, and the transfer names the newest rules.
    let mut request = person_request("be.insz", &exchange.known_subject(0));
    request.purpose = "old-purpose".to_owned();
    exchange.consumer().await.fetch(request).await.unwrap();
    let transfer = exchange.ledger_rows().await.remove(0);
    assert_eq!(transfer.entry.rules_version, 14);
    ledger_verify_accepts(&exchange).await;
    // The auditor's transfer queries see transfers only.
    let page = AuditClient::new(exchange.channel_as(AUDITOR).await)
        .query_transfers(proto::QueryTransfersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.transfers.len(), 1);
    assert_eq!(page.transfers[0].index, transfer.index);
}

/// SQLite only, like `ledger_unwritable.rs`: a foreign row where the next entry must go makes the
/// group commit itself fail.
#[tokio::test]
async fn a_committed_change_whose_entry_cannot_reach_the_tree_is_unavailable_and_stays_queued() {
    let exchange = TestExchange::start(Backend::Sqlite).await;
    let (sequence_before, _) = governance_state(&exchange).await;
    let pool = exchange.database_pool().await;
    sqlx::query(
        "INSERT INTO ledger_entries (leaf_index, leaf_hash, entry, recorded_at, consumer, provider, data_type, purpose, outcome, subject_pseudonym) \
         VALUES ($1, x'00', x'00', 0, 'x', 'x', 'x', 'x', 'x', x'00')",
    )
    .bind(i64::try_from(exchange.ledger_size().await).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let status = exchange
        .operator()
        .await
        .register_purpose(proto::RegisterPurposeRequest {
            code: "stuck-purpose".to_owned(),
            description: "Registered while the ledger cannot be written".to_owned(),
        })
        .await
        .expect_err("the entry cannot reach the tree");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("is committed") && status.message().contains("will be sequenced"),
        "{}",
        status.message()
    );
    // The change itself is committed, with its entry waiting in the outbox.
    let purposes = exchange
        .operator()
        .await
        .list_purposes(proto::ListPurposesRequest {})
        .await
        .unwrap()
        .into_inner()
        .purposes;
    assert!(
        purposes
            .iter()
            .any(|purpose| purpose.code == "stuck-purpose")
    );
    assert_eq!(
        governance_state(&exchange).await,
        (sequence_before + 1, 1),
        "the sequence is taken and the entry is queued for the ledger"
    );
}
