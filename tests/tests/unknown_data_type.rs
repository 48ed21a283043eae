//! A data type the catalog does not know is refused with INVALID_ARGUMENT; nothing changes.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, TestExchange, backend_test, person_request};

backend_test!(an_unknown_data_type_is_an_invalid_argument);
async fn an_unknown_data_type_is_an_invalid_argument(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut consumer = exchange.consumer().await;
    for data_type in ["persoon.GeregistreerdPersoon@2", "", "persoon.Geheim@1"] {
        let mut request = person_request("be.insz", &exchange.known_subject(0));
        request.data_type = data_type.to_owned();
        let status = consumer
            .fetch(request)
            .await
            .expect_err("unknown data type");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{data_type}");
        assert!(
            status.message().contains("unknown data type"),
            "{}",
            status.message()
        );
    }
    assert_eq!(exchange.adapter_calls(), 0);
    assert!(exchange.ledger_rows().await.is_empty());
}
