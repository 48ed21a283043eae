//! Compiles `kruispunt/v1/*.proto` with `protox` (pure Rust, no system `protoc`) and generates
//! prost messages plus tonic clients and servers. The same descriptor set is written to
//! `OUT_DIR` so the servers can offer gRPC reflection. Every client and server uses
//! `kruispunt_proto::codec::KruispuntCodec`, which needs to know which side decodes each message
//! type: `decoded_on.rs` says so, from every method's input and output type.

use std::path::PathBuf;

const PROTO_FILES: &[&str] = &[
    "kruispunt/v1/common.proto",
    "kruispunt/v1/exchange.proto",
    "kruispunt/v1/adapter.proto",
    "kruispunt/v1/registry.proto",
    "kruispunt/v1/audit.proto",
    "kruispunt/v1/consent.proto",
];

/// The contract's package; `decoded_on.rs` names its types as `v1::Name`.
const PACKAGE_PREFIX: &str = ".kruispunt.v1.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptor_set = protox::compile(PROTO_FILES, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("kruispunt_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptor_set),
    )?;
    std::fs::write(
        out_dir.join("decoded_on.rs"),
        decoded_on_impls(&descriptor_set)?,
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::KruispuntCodec")
        .compile_fds(descriptor_set)?;
    Ok(())
}

/// One `DecodedOn` impl per message type a method takes (decoded by servers) or returns
/// (decoded by clients). A type that is both would be decoded as a request.
fn decoded_on_impls(
    descriptor_set: &prost_types::FileDescriptorSet,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut sides = std::collections::BTreeMap::new();
    let methods = descriptor_set
        .file
        .iter()
        .flat_map(|file| &file.service)
        .flat_map(|service| &service.method);
    for method in methods {
        for (type_name, side) in [
            (method.output_type(), "Client"),
            (method.input_type(), "Server"),
        ] {
            let name = type_name
                .strip_prefix(PACKAGE_PREFIX)
                .filter(|name| !name.contains('.'))
                .ok_or_else(|| {
                    format!("method type {type_name} is not a top-level kruispunt.v1 message")
                })?;
            sides.insert(name.to_owned(), side);
        }
    }
    Ok(sides
        .iter()
        .map(|(name, side)| {
            format!(
                "impl crate::codec::DecodedOn for v1::{name} {{\n    const SIDE: crate::codec::DecodingSide = crate::codec::DecodingSide::{side};\n}}\n"
            )
        })
        .collect())
}
