//! The Kruispunt gRPC contract, package `kruispunt.v1`.
//!
//! Generated from `proto/kruispunt/v1/*.proto` at build time. These types belong at the gRPC
//! edge: the broker and the adapter SDK convert them into their own domain types as soon as a
//! request arrives. Message and field names are fixed, because agencies code against them in
//! other languages; new fields and messages may be added.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `kruispunt.v1`: every message, client and server.
pub mod v1 {
    tonic::include_proto!("kruispunt.v1");
}

pub mod codec;
pub mod refusal_rule;

// Which side decodes each method's input and output (written by build.rs from the contract).
include!(concat!(env!("OUT_DIR"), "/decoded_on.rs"));

/// The encoded `FileDescriptorSet` of every Kruispunt proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kruispunt_descriptor.bin"));
