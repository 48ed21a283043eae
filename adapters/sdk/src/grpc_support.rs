//! gRPC services every Kruispunt server offers besides its own: standard health checking and
//! server reflection (v1 and v1alpha, since some clients, such as Python's grpcio-reflection,
//! speak only v1alpha).

use tonic_reflection::server::Error as ReflectionError;

/// Builds the reflection services over the Kruispunt contract and the health service:
/// `(v1, v1alpha)`.
#[allow(clippy::type_complexity)]
pub fn reflection_services() -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    ReflectionError,
> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kruispunt_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kruispunt_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok((v1, v1alpha))
}
