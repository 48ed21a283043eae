//! Compiles `kruispunt/v1/*.proto` with `protox` (pure Rust, no system `protoc`) and generates
//! prost messages plus tonic clients and servers. The same descriptor set is written to
//! `OUT_DIR` so the servers can offer gRPC reflection.

use std::path::PathBuf;

const PROTO_FILES: &[&str] = &[
    "kruispunt/v1/common.proto",
    "kruispunt/v1/exchange.proto",
    "kruispunt/v1/adapter.proto",
    "kruispunt/v1/registry.proto",
    "kruispunt/v1/audit.proto",
    "kruispunt/v1/consent.proto",
];

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
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptor_set)?;
    Ok(())
}
