//! Kruispunt adapter SDK: turn an authentic source into a Kruispunt adapter.
//!
//! Implement [`AuthenticSource`] (one async method and a list of data types) and call
//! [`serve`]: mutual TLS, certificate identities, the broker-only access rule, health checking,
//! server reflection, message-size limits, timeouts and concurrency bounds come with it.
//!
//! The crate is also the home of what both ends of the broker ↔ adapter hop share, so the broker
//! depends on it: [`tls`] (rustls configuration, deferred client-certificate verdicts, identity
//! pinning), [`identity`] (agency ids and roles in certificates), [`auth`] (the authentication
//! tower layer), [`subject`] (national register and enterprise numbers) and
//! [`answer_signature`] (signing answers, and checking their signatures).

pub mod answer_signature;
pub mod auth;
pub mod grpc_support;
pub mod identity;
pub mod message_size;
mod server;
mod source;
pub mod subject;
pub mod tls;

pub use server::{AdapterLimits, AdapterService, AnswerSigning, ServeError, serve};
pub use source::{AuthenticSource, ServedDataType, SourceError, SourceRequest};
