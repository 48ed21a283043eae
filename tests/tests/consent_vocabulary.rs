//! A consent names only what the registry knows: its consumer is an agency some authorization
//! names, its purposes are registered codes, its data types are known. Anything else is refused
//! with INVALID_ARGUMENT, without quoting the portal's text and without storing anything.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, OTHER_CONSUMER, TestExchange, backend_test, consent_from, insz, now};
use kruispunt_proto::v1 as proto;

backend_test!(a_consent_names_the_registrys_vocabulary_only);
async fn a_consent_names_the_registrys_vocabulary_only(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange
        .register_purpose("unauthorized-but-registered")
        .await;
    let subject = exchange.known_subject(0);
    let mut portal = exchange.portal().await;
    let valid_until = now() + 3_600;
    let refused = [
        (
            "a consumer no authorization names",
            proto::GrantConsentRequest {
                consumer: OTHER_CONSUMER.to_owned(),
                ..consent_from(&subject, valid_until)
            },
        ),
        (
            "a name in agency-id form as consumer",
            proto::GrantConsentRequest {
                consumer: "jozefien.vandenbroucke-pieters".to_owned(),
                ..consent_from(&subject, valid_until)
            },
        ),
        (
            "free text as purpose",
            proto::GrantConsentRequest {
                purposes: vec!["Jozefien Vandenbroucke-Pieters, Kerkstraat 17".to_owned()],
                ..consent_from(&subject, valid_until)
            },
        ),
        (
            "an unregistered purpose code",
            proto::GrantConsentRequest {
                purposes: vec!["jozefien.vandenbroucke".to_owned()],
                ..consent_from(&subject, valid_until)
            },
        ),
        (
            "free text as data type",
            proto::GrantConsentRequest {
                data_types: vec!["Jozefien Vandenbroucke-Pieters".to_owned()],
                ..consent_from(&subject, valid_until)
            },
        ),
    ];
    for (what, request) in refused {
        let status = portal.grant_consent(request).await.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{what}");
        assert!(
            !status.message().to_lowercase().contains("jozefien")
                && !status.message().contains(OTHER_CONSUMER),
            "{what}: {}",
            status.message()
        );
    }
    let listed = portal
        .list_consents(proto::ListConsentsRequest {
            subject: insz(&subject),
        })
        .await
        .unwrap()
        .into_inner()
        .consents;
    assert!(listed.is_empty(), "nothing was stored: {listed:?}");

    // A registered purpose the consumer is not authorized for is still a registered code: a
    // consent may name it (the authorization decides at the request).
    let consent = portal
        .grant_consent(proto::GrantConsentRequest {
            purposes: vec!["unauthorized-but-registered".to_owned()],
            ..consent_from(&subject, valid_until)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consent.purposes, ["unauthorized-but-registered"]);
}
