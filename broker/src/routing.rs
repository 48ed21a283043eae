//! Routing (SPEC step 6): which provider adapter serves a data type, and a ready gRPC client for
//! it. Clients are made once per route, connect lazily over mutual TLS, and pin the provider's
//! agency identity, so an adapter with another agency's certificate cannot answer. Each route
//! keeps a few connections and spreads requests over them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kruispunt_adapter::tls::{MutualTlsClient, TlsError};
use kruispunt_proto::v1::adapter_client::AdapterClient;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::registry::Route;
use crate::registry_index::refresh_periodically;
use crate::shutdown::StopSignal;
use crate::store::RegistryStore;

/// How long connecting to an adapter may take.
const ADAPTER_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// HTTP/2 connections kept per adapter; requests are spread over them round-robin, so one
/// connection's single-task framing does not bound throughput.
const CONNECTIONS_PER_ADAPTER: usize = 4;

/// A route with its clients.
#[derive(Clone)]
pub struct RoutedAdapter {
    /// The route.
    pub route: Route,
    clients: Arc<[AdapterClient<Channel>]>,
    next: Arc<AtomicUsize>,
}

impl RoutedAdapter {
    /// A client for the provider's adapter (round-robin over the connections).
    pub fn client(&self) -> AdapterClient<Channel> {
        let position = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[position].clone()
    }
}

/// The routing table, in memory, kept in step with the `routes` table.
#[derive(Clone)]
pub struct AdapterDirectory {
    tls: MutualTlsClient,
    max_payload_bytes: usize,
    routes: Arc<RwLock<HashMap<String, RoutedAdapter>>>,
}

impl AdapterDirectory {
    /// An empty directory whose clients use `tls` and accept payloads up to `max_payload_bytes`.
    pub fn new(tls: MutualTlsClient, max_payload_bytes: usize) -> Self {
        Self {
            tls,
            max_payload_bytes,
            routes: Arc::default(),
        }
    }

    /// Adds or replaces the route of `route.data_type`.
    pub fn set(&self, route: Route) -> Result<(), TlsError> {
        let clients = (0..CONNECTIONS_PER_ADAPTER)
            .map(|_| {
                let channel = self.tls.channel(
                    &route.endpoint,
                    Some(route.provider.clone()),
                    ADAPTER_CONNECT_TIMEOUT,
                )?;
                Ok(AdapterClient::new(channel)
                    .max_decoding_message_size(self.max_payload_bytes.saturating_add(1024)))
            })
            .collect::<Result<Vec<_>, TlsError>>()?;
        let routed = RoutedAdapter {
            route: route.clone(),
            clients: clients.into(),
            next: Arc::default(),
        };
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(route.data_type, routed);
        Ok(())
    }

    /// Makes the table equal to `routes` (the `routes` table): new or changed routes get fresh
    /// clients, unchanged ones keep theirs (and their connections), removed ones go. Returns the
    /// data type of a route whose endpoint is unusable, with the reason, after applying the rest.
    pub fn sync(&self, routes: Vec<Route>) -> Result<(), (String, TlsError)> {
        let mut first_error = None;
        let wanted: std::collections::HashSet<String> =
            routes.iter().map(|route| route.data_type.clone()).collect();
        for route in routes {
            let unchanged = self
                .get(&route.data_type)
                .is_some_and(|routed| routed.route == route);
            if !unchanged {
                let data_type = route.data_type.clone();
                if let Err(error) = self.set(route) {
                    first_error.get_or_insert((data_type, error));
                }
            }
        }
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|data_type, _| wanted.contains(data_type));
        first_error.map_or(Ok(()), Err)
    }

    /// Re-reads the routes from `store` every [`REFRESH_INTERVAL`](crate::registry_index::REFRESH_INTERVAL), so a route set through
    /// another broker node sharing the database applies here within that interval, until
    /// `stop` is raised; returns the task.
    pub fn refresh_periodically(&self, store: RegistryStore, stop: StopSignal) -> JoinHandle<()> {
        let directory = self.clone();
        refresh_periodically("the routes", stop, move || {
            let (directory, store) = (directory.clone(), store.clone());
            async move {
                let routes = store.routes().await.map_err(|error| error.to_string())?;
                directory
                    .sync(routes)
                    .map_err(|(data_type, error)| format!("route of {data_type}: {error}"))
            }
        })
    }

    /// The adapter for `data_type`, if routed.
    pub fn get(&self, data_type: &str) -> Option<RoutedAdapter> {
        self.routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(data_type)
            .cloned()
    }
}
