//! Stock tools work: standard gRPC health checking and server reflection (v1 and v1alpha) on the
//! broker.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_e2e::{Backend, CONSUMER, TestExchange, backend_test};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

backend_test!(the_broker_reports_serving);
async fn the_broker_reports_serving(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut health = HealthClient::new(exchange.channel_as(CONSUMER).await);
    for service in ["", "kruispunt.v1.Exchange"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

backend_test!(reflection_lists_the_kruispunt_services_in_both_versions);
async fn reflection_lists_the_kruispunt_services_in_both_versions(backend: Backend) {
    use tonic_reflection::pb::v1::ServerReflectionRequest as V1ReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1Client;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as V1Request;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as V1Response;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest as AlphaReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;

    let exchange = TestExchange::start(backend).await;
    let channel = exchange.channel_as(CONSUMER).await;

    let request = V1ReflectionRequest {
        host: String::new(),
        message_request: Some(V1Request::ListServices(String::new())),
    };
    let mut responses = V1Client::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(V1Response::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    for expected in [
        "kruispunt.v1.Exchange",
        "kruispunt.v1.Registry",
        "kruispunt.v1.Audit",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} missing from {names:?}"
        );
    }

    let request = AlphaReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::FileContainingSymbol(
            "kruispunt.v1.Exchange".to_owned(),
        )),
    };
    let mut responses = AlphaClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(AlphaResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!("expected file descriptors");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}
