//! The persons repertory: when the authorization demands it, a consumer may ask only about
//! subjects registered in its own client list; registering and unregistering take effect at once.
//! A capacity is a code (free text is refused), kept as a keyed digest.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, CONSUMER, Outcome, TestExchange, backend_test, insz, person_request};
use kruispunt_proto::v1 as proto;

backend_test!(only_registered_subjects_may_be_asked_about);
async fn only_registered_subjects_may_be_asked_about(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_subject_registration = true)
        .start()
        .await;
    let subject = exchange.known_subject(2);
    let mut consumer = exchange.consumer().await;
    let mut client_list = kruispunt_proto::v1::registry_client::RegistryClient::new(
        exchange.channel_as(CONSUMER).await,
    );

    let status = consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("not registered");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("registered in the client list"),
        "{}",
        status.message()
    );
    assert_eq!(exchange.adapter_calls(), 0);

    client_list
        .register_subject(proto::RegisterSubjectRequest {
            subject: insz(&subject),
            capacity: "beneficiary".to_owned(),
            valid_from: 0,
            valid_until: 0,
        })
        .await
        .unwrap();
    consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect("registered now");
    let other = consumer
        .fetch(person_request("be.insz", &exchange.known_subject(3)))
        .await
        .expect_err("another subject is still not registered");
    assert_eq!(other.code(), tonic::Code::PermissionDenied);

    let ended = client_list
        .unregister_subject(proto::UnregisterSubjectRequest {
            subject: insz(&subject),
            capacity: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.ended, 1);
    consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("unregistered again");

    let outcomes: Vec<Outcome> = exchange
        .ledger_rows()
        .await
        .iter()
        .map(|row| row.entry.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::RefusedSubjectNotRegistered,
            Outcome::Delivered,
            Outcome::RefusedSubjectNotRegistered,
            Outcome::RefusedSubjectNotRegistered,
        ]
    );

    // Only consumers keep client lists, and malformed subjects change nothing.
    let mut operator = exchange.operator().await;
    let status = operator
        .register_subject(proto::RegisterSubjectRequest {
            subject: insz(&subject),
            capacity: "beneficiary".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("an operator has no client list");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = client_list
        .register_subject(proto::RegisterSubjectRequest {
            subject: insz("12345678901"),
            capacity: "beneficiary".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("checksum-invalid subject");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

backend_test!(capacities_are_codes_and_unregistering_one_ends_only_it);
async fn capacities_are_codes_and_unregistering_one_ends_only_it(backend: Backend) {
    let exchange = TestExchange::builder(backend)
        .authorization(|grant| grant.requires_subject_registration = true)
        .start()
        .await;
    let subject = exchange.known_subject(2);
    let mut consumer = exchange.consumer().await;
    let mut client_list = kruispunt_proto::v1::registry_client::RegistryClient::new(
        exchange.channel_as(CONSUMER).await,
    );
    let register = |capacity: &str| proto::RegisterSubjectRequest {
        subject: insz(&subject),
        capacity: capacity.to_owned(),
        ..Default::default()
    };
    let unregister = |capacity: &str| proto::UnregisterSubjectRequest {
        subject: insz(&subject),
        capacity: capacity.to_owned(),
    };

    // Free text is refused, and the refusal does not quote it; nothing is registered.
    for capacity in [
        "",
        "Jozefien Vandenbroucke-Pieters",
        "jozefien@example.be",
        "Beneficiary",
        "-beneficiary",
        &"b".repeat(65),
    ] {
        let status = client_list
            .register_subject(register(capacity))
            .await
            .expect_err("not a capacity code");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{capacity:?}");
        assert!(
            status.message().starts_with("capacity ") && !status.message().contains("Jozefien"),
            "{}",
            status.message()
        );
        if !capacity.is_empty() {
            let status = client_list
                .unregister_subject(unregister(capacity))
                .await
                .expect_err("not a capacity code");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{capacity:?}");
        }
    }
    consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("nothing was registered");

    // Two capacities; the answer gives the code back. Ending one leaves the other in force.
    for capacity in ["beneficiary", "employee"] {
        let registration = client_list
            .register_subject(register(capacity))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(registration.capacity, capacity);
    }
    let ended =
        |response: tonic::Response<proto::UnregisterSubjectResponse>| response.into_inner().ended;
    assert_eq!(
        ended(
            client_list
                .unregister_subject(unregister("student"))
                .await
                .unwrap()
        ),
        0
    );
    assert_eq!(
        ended(
            client_list
                .unregister_subject(unregister("beneficiary"))
                .await
                .unwrap()
        ),
        1
    );
    consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect("still registered as employee");
    assert_eq!(
        ended(
            client_list
                .unregister_subject(unregister("employee"))
                .await
                .unwrap()
        ),
        1
    );
    consumer
        .fetch(person_request("be.insz", &subject))
        .await
        .expect_err("no registration left");

    // The repertory keeps capacities as keyed digests, never as typed.
    let pool = exchange.database_pool().await;
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT capacity FROM subject_registrations ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 2);
    for capacity in &stored {
        assert!(
            capacity.len() == 64 && capacity.bytes().all(|byte| byte.is_ascii_hexdigit()),
            "{capacity}"
        );
    }
    assert_ne!(stored[0], stored[1]);
}
