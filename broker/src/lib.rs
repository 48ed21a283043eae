//! The Kruispunt broker as a library; `src/main.rs` is a thin command-line shell over it.
//!
//! Start at [`broker::Broker::start`] and [`server::run`]; the request pipeline is in
//! [`pipeline`]; `ARCHITECTURE.md` at the repository root has the map.

pub mod api;
pub mod broker;
pub mod catalog;
pub mod config;
pub mod error_chain;
pub mod fetch_command;
pub mod governance;
pub mod ledger;
pub mod minimisation;
pub mod pipeline;
pub mod pki;
pub mod pseudonym_epochs;
pub mod refusal_layer;
pub mod refusal_log;
pub mod registry;
pub mod registry_index;
pub mod revocation;
pub mod routing;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod testing;
