//! An authorization names a registered purpose: GrantAuthorization refuses a purpose that is not
//! registered, or not even a code, with INVALID_ARGUMENT naming the field, and stores nothing.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, PURPOSE, TestExchange, backend_test, default_authorization};
use kruispunt_proto::v1 as proto;

backend_test!(a_grant_naming_an_unregistered_purpose_is_refused);
async fn a_grant_naming_an_unregistered_purpose_is_refused(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    for (purpose, expected) in [
        (
            "direct-marketing",
            "purpose direct-marketing is not registered",
        ),
        (
            "Social Benefits",
            "purpose must start with a lower-case letter",
        ),
        ("social benefits", "purpose may hold only"),
        ("", "purpose is required"),
    ] {
        let mut grant = default_authorization();
        grant.purpose = purpose.to_owned();
        let status = operator
            .grant_authorization(grant)
            .await
            .expect_err(purpose);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{purpose:?}");
        assert!(
            status.message().contains(expected),
            "{purpose:?}: {}",
            status.message()
        );
    }
    let authorizations = operator
        .list_authorizations(proto::ListAuthorizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .authorizations;
    assert_eq!(
        authorizations
            .iter()
            .map(|authorization| authorization.purpose.as_str())
            .collect::<Vec<_>>(),
        [PURPOSE],
        "only the fixture's own grant is stored"
    );
}
