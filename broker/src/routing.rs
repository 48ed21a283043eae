//! Routing (SPEC steps 6 and 7): which provider adapter serves a data type, and the call to it.
//! Clients are made once per route, connect lazily over mutual TLS, and pin the provider's
//! agency identity, so an adapter with another agency's certificate cannot answer. Each route
//! keeps a few connections and spreads requests over them. [`RoutedAdapter::fetch`] is the
//! broker's side of the adapter hop: it builds the generated request, enforces the deadline,
//! and reads the adapter's status code as an [`AdapterFailure`] (the table in `adapter.proto`).
//! Each connection records the end-entity certificate the adapter presented (once its chain and
//! the pin held), so that an [`AdapterAnswer`] carries the certificate its signature is checked
//! against.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kruispunt_adapter::answer_signature::{SignedAnswer, transfer_id_hex};
use kruispunt_adapter::tls::{MutualTlsClient, PresentedServerCertificate, TlsError};
use kruispunt_proto::v1::adapter_client::AdapterClient;
use kruispunt_proto::v1::{AdapterFetchRequest, Subject};
use kruispunt_transparency::TransferId;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::transport::Channel;

use crate::error_chain::ErrorChain;
use crate::fetch_command::FetchCommand;

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
    clients: Arc<[AdapterConnection]>,
    next: Arc<AtomicUsize>,
}

/// One of a route's connections: its client, and the certificate the adapter presented on it.
#[derive(Clone)]
struct AdapterConnection {
    client: AdapterClient<Channel>,
    presented_certificate: PresentedServerCertificate,
}

/// What the adapter answered: the payload, its signature if it signed, and the certificate it
/// presented on the connection the answer came over.
#[derive(Debug, Clone)]
pub struct AdapterAnswer {
    /// The payload bytes, as received (not yet validated).
    pub payload_json: Vec<u8>,
    /// The adapter's signature over its answer, if it sent one (not yet checked).
    pub signature: Option<SignedAnswer>,
    /// The end-entity certificate DER the adapter presented on the connection (verified against
    /// the federation's CA and pinned to the route's provider).
    pub presented_certificate_der: Option<Arc<[u8]>>,
}

/// Why the adapter call gave no payload. The adapter's own message is never kept: it is outside
/// our control and might carry personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterFailure {
    /// `NOT_FOUND`: the register holds no record of the subject.
    #[error("the register holds no record of this subject")]
    SubjectNotFound,
    /// `UNIMPLEMENTED`: the adapter does not serve the data type; the route is wrong.
    #[error("the adapter does not serve this data type")]
    DataTypeNotServed,
    /// No answer within the deadline (ours, or the adapter's `DEADLINE_EXCEEDED`).
    #[error("no answer within {} ms", .0.as_millis())]
    Deadline(Duration),
    /// The adapter cannot be reached, refused the connection, or failed otherwise.
    #[error("{0}")]
    Unavailable(String),
}

impl RoutedAdapter {
    /// A connection to the provider's adapter (round-robin over the connections).
    fn connection(&self) -> AdapterConnection {
        let position = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[position].clone()
    }

    /// Step 7: asks the adapter for `command`'s data, within `deadline`. The deadline is sent
    /// along (`grpc-timeout`), so the adapter can give up when the broker does, and enforced
    /// here, so a silent adapter cannot hold the request longer. The adapter receives
    /// `transfer_id` (32 hex digits) as its `request_id`, never the consumer's.
    pub async fn fetch(
        &self,
        command: &FetchCommand,
        transfer_id: &TransferId,
        deadline: Duration,
    ) -> Result<AdapterAnswer, AdapterFailure> {
        let mut request = tonic::Request::new(AdapterFetchRequest {
            data_type: command.data_type.id.clone(),
            subject: Some(Subject {
                scheme: command.subject.scheme().as_str().to_owned(),
                id: command.subject.id().to_owned(),
            }),
            purpose: command.purpose.clone(),
            // The broker's own id, never the consumer's request id or case reference.
            request_id: transfer_id_hex(transfer_id),
            consumer: command.consumer.agency_id().to_string(),
        });
        request.set_timeout(deadline);
        let AdapterConnection {
            mut client,
            presented_certificate,
        } = self.connection();
        match tokio::time::timeout(deadline, client.fetch(request)).await {
            Err(_elapsed) => Err(AdapterFailure::Deadline(deadline)),
            Ok(Ok(response)) => {
                let response = response.into_inner();
                Ok(AdapterAnswer {
                    payload_json: response.payload_json,
                    signature: response.signature.map(|signature| SignedAnswer {
                        signed_at_micros: signature.signed_at_micros,
                        algorithm: signature.algorithm,
                        signature: signature.signature,
                    }),
                    // Read after the answer: the connection it came over is the one recorded (a
                    // reconnect in between would record a certificate pinned to the same
                    // provider; if the provider renewed its certificate, a signature by the old
                    // key then fails, and that transfer is refused).
                    presented_certificate_der: presented_certificate.der(),
                })
            }
            Ok(Err(status)) => Err(adapter_failure(status.code(), deadline)),
        }
    }
}

/// The adapter's status code, read as `adapter.proto` defines it.
fn adapter_failure(code: Code, deadline: Duration) -> AdapterFailure {
    match code {
        Code::NotFound => AdapterFailure::SubjectNotFound,
        Code::Unimplemented => AdapterFailure::DataTypeNotServed,
        Code::DeadlineExceeded | Code::Cancelled => AdapterFailure::Deadline(deadline),
        Code::Unavailable => AdapterFailure::Unavailable(
            "the adapter cannot be reached or refused the connection".to_owned(),
        ),
        Code::InvalidArgument => AdapterFailure::Unavailable(
            "the adapter refused the subject identifier the broker validated".to_owned(),
        ),
        code => {
            AdapterFailure::Unavailable(format!("the adapter answered with gRPC code {code:?}"))
        }
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
        self.install(self.prepare(route)?);
        Ok(())
    }

    /// The clients of `route`, ready to [`install`](Self::install): building them checks the
    /// endpoint without changing the table.
    pub fn prepare(&self, route: Route) -> Result<RoutedAdapter, TlsError> {
        let clients = (0..CONNECTIONS_PER_ADAPTER)
            .map(|_| {
                let (channel, presented_certificate) =
                    self.tls.channel_recording_server_certificate(
                        &route.endpoint,
                        Some(route.provider.clone()),
                        ADAPTER_CONNECT_TIMEOUT,
                    )?;
                Ok(AdapterConnection {
                    client: AdapterClient::new(channel)
                        .max_decoding_message_size(self.max_payload_bytes.saturating_add(1024)),
                    presented_certificate,
                })
            })
            .collect::<Result<Vec<_>, TlsError>>()?;
        Ok(RoutedAdapter {
            route,
            clients: clients.into(),
            next: Arc::default(),
        })
    }

    /// Puts a prepared route into the table, replacing any route of its data type.
    pub fn install(&self, routed: RoutedAdapter) {
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(routed.route.data_type.clone(), routed);
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
                let routes = store
                    .routes()
                    .await
                    .map_err(|error| ErrorChain(&error).to_string())?;
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
