//! Mutual TLS for both hops (consumer → broker, broker → adapter), with rustls.
//!
//! Servers accept the TLS handshake with or without a client certificate and decide *after* the
//! handshake, once per connection, who the peer is ([`PeerAuthentication`]). That is what lets
//! the broker answer a missing or foreign certificate with a typed gRPC `UNAUTHENTICATED` and a
//! message, instead of an opaque handshake failure. The client's possession of its private key is
//! still proven inside the handshake: signature checks are delegated to rustls' WebPKI verifier;
//! only the chain verdict is deferred.
//!
//! Clients ([`MutualTlsClient`]) present their agency certificate and, on the broker → adapter
//! hop, pin the server's agency identity: connecting to an adapter whose certificate names
//! another agency fails, so an impostor cannot answer for a registered provider.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::answer_signature::{AnswerSignatureError, AnswerSigner};
use crate::identity::{AgencyId, AgencyIdentity};

/// A handshake that has not finished by then is dropped, so idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Completed handshakes waiting for the HTTP/2 server to pick them up.
const ACCEPTED_CONNECTION_BACKLOG: usize = 256;

/// Why TLS material could not be loaded or a TLS connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file holds no certificate.
    #[error("no certificate found in the PEM data for {0}")]
    NoCertificate(&'static str),
    /// PEM data could not be parsed.
    #[error("cannot parse PEM data for {what}: {detail}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("invalid trust anchors: {0}")]
    TrustAnchors(String),
    /// The endpoint is not a usable URI.
    #[error("invalid endpoint {endpoint:?}: {detail}")]
    Endpoint {
        /// The endpoint text.
        endpoint: String,
        /// What is wrong with it.
        detail: String,
    },
}

/// Why an answer signer could not be made from TLS material.
#[derive(Debug, thiserror::Error)]
pub enum AnswerSigningSetupError {
    /// The PEM material could not be read.
    #[error(transparent)]
    Material(#[from] TlsError),
    /// The certificate or key cannot sign answers.
    #[error(transparent)]
    Key(#[from] AnswerSignatureError),
}

/// PEM-encoded TLS material of one agency (or of the broker): its trust anchors, its
/// certificate chain and its private key.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The CA certificates that peers must chain to.
    pub trust_anchors_pem: Vec<u8>,
    /// The own certificate chain, leaf first.
    pub certificate_chain_pem: Vec<u8>,
    /// The own private key.
    pub private_key_pem: Vec<u8>,
}

impl TlsMaterial {
    /// Reads the three PEM files.
    pub fn from_files(
        trust_anchors: &std::path::Path,
        certificate_chain: &std::path::Path,
        private_key: &std::path::Path,
    ) -> io::Result<Self> {
        Ok(Self {
            trust_anchors_pem: std::fs::read(trust_anchors)?,
            certificate_chain_pem: std::fs::read(certificate_chain)?,
            private_key_pem: std::fs::read(private_key)?,
        })
    }

    fn root_store(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        for certificate in parse_certificates(&self.trust_anchors_pem, "trust anchors")? {
            roots
                .add(certificate)
                .map_err(|error| TlsError::TrustAnchors(error.to_string()))?;
        }
        Ok(roots)
    }

    fn certificate_chain(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        parse_certificates(&self.certificate_chain_pem, "certificate chain")
    }

    fn private_key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.private_key_pem).map_err(|error| TlsError::Pem {
            what: "private key",
            detail: error.to_string(),
        })
    }

    /// A signer of answers with the own certificate's key (the leaf of the chain, and the
    /// private key, which must be PKCS#8).
    pub fn answer_signer(&self) -> Result<AnswerSigner, AnswerSigningSetupError> {
        let chain = self.certificate_chain()?;
        let leaf = chain
            .first()
            .ok_or(TlsError::NoCertificate("certificate chain"))?;
        Ok(AnswerSigner::new(leaf, &self.private_key()?)?)
    }

    /// The identity in the own certificate.
    pub fn own_identity(&self) -> Result<AgencyIdentity, TlsError> {
        let chain = self.certificate_chain()?;
        let leaf = chain
            .first()
            .ok_or(TlsError::NoCertificate("certificate chain"))?;
        AgencyIdentity::from_certificate_der(leaf).map_err(|error| TlsError::Pem {
            what: "certificate chain",
            detail: error.to_string(),
        })
    }
}

fn parse_certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Pem {
            what,
            detail: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate(what));
    }
    Ok(certificates)
}

fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Who the peer of one server connection is, decided once after its handshake.
#[derive(Debug, Clone)]
pub enum PeerAuthentication {
    /// A certificate that chains to the trust anchors and names an agency.
    Verified(Arc<AgencyIdentity>),
    /// The client presented no certificate.
    NoCertificate,
    /// The client presented a certificate that was refused; the reason says why.
    Refused(Arc<str>),
}

/// Accepts every client certificate during the handshake, so the verdict can be delivered
/// later as a gRPC status; signature checks (proof of key possession) stay with WebPKI.
#[derive(Debug)]
struct DeferredClientCertVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for DeferredClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The server side of mutual TLS: a TLS acceptor plus the chain verdict for each connection.
#[derive(Clone)]
pub struct MutualTlsServer {
    acceptor: TlsAcceptor,
    webpki: Arc<dyn ClientCertVerifier>,
    /// The material the server was built from, for [`Self::answer_signer`].
    material: Arc<TlsMaterial>,
}

impl MutualTlsServer {
    /// Builds the acceptor from the server's own certificate and its trust anchors.
    pub fn new(material: &TlsMaterial) -> Result<Self, TlsError> {
        let provider = crypto_provider();
        let webpki = WebPkiClientVerifier::builder_with_provider(
            Arc::new(material.root_store()?),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|error| TlsError::TrustAnchors(error.to_string()))?;
        let verifier = Arc::new(DeferredClientCertVerifier {
            webpki: webpki.clone(),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(material.certificate_chain()?, material.private_key()?)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            webpki,
            material: Arc::new(material.clone()),
        })
    }

    /// A signer of answers with the key of the certificate this server presents (what an
    /// adapter signs its answers with, see [`crate::answer_signature`]).
    pub fn answer_signer(&self) -> Result<AnswerSigner, AnswerSigningSetupError> {
        self.material.answer_signer()
    }

    /// Turns a listener into a stream of authenticated-or-not TLS connections for
    /// `tonic::transport::Server::serve_with_incoming*`. Handshakes run concurrently, each
    /// bounded by a timeout; the accept loop ends when the stream is dropped.
    pub fn incoming(
        self,
        listener: TcpListener,
    ) -> ReceiverStream<Result<MutualTlsConnection, io::Error>> {
        let (sender, receiver) = mpsc::channel(ACCEPTED_CONNECTION_BACKLOG);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = sender.closed() => break,
                };
                let (tcp, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a TCP connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let server = self.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, server.acceptor.accept(tcp)).await
                    {
                        Ok(Ok(stream)) => {
                            let peer = server.judge_peer(&stream);
                            let _ = sender.send(Ok(MutualTlsConnection { stream, peer })).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        ReceiverStream::new(receiver)
    }

    fn judge_peer(
        &self,
        stream: &tokio_rustls::server::TlsStream<TcpStream>,
    ) -> PeerAuthentication {
        let Some((leaf, intermediates)) = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(<[CertificateDer<'static>]>::split_first)
        else {
            return PeerAuthentication::NoCertificate;
        };
        if let Err(error) = self
            .webpki
            .verify_client_cert(leaf, intermediates, UnixTime::now())
        {
            return PeerAuthentication::Refused(
                format!("the client certificate is not accepted: {error}").into(),
            );
        }
        match AgencyIdentity::from_certificate_der(leaf) {
            Ok(identity) => PeerAuthentication::Verified(Arc::new(identity)),
            Err(error) => PeerAuthentication::Refused(
                format!("the client certificate is not a Kruispunt agency certificate: {error}")
                    .into(),
            ),
        }
    }
}

/// One accepted server connection and the verdict on its peer.
pub struct MutualTlsConnection {
    stream: tokio_rustls::server::TlsStream<TcpStream>,
    peer: PeerAuthentication,
}

impl Connected for MutualTlsConnection {
    type ConnectInfo = PeerAuthentication;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.peer.clone()
    }
}

impl AsyncRead for MutualTlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for MutualTlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

/// The client side of mutual TLS: presents the own certificate, verifies the server's chain and
/// host name, and optionally pins the server's agency identity.
#[derive(Clone)]
pub struct MutualTlsClient {
    connector: TlsConnector,
}

impl MutualTlsClient {
    /// Builds a client from the own certificate and the trust anchors for servers.
    pub fn new(material: &TlsMaterial) -> Result<Self, TlsError> {
        let provider = crypto_provider();
        let server_verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(material.root_store()?),
            provider.clone(),
        )
        .build()
        .map_err(|error| TlsError::TrustAnchors(error.to_string()))?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_webpki_verifier(server_verifier)
            .with_client_auth_cert(material.certificate_chain()?, material.private_key()?)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// A lazily connecting channel to `endpoint` (`https://host:port`). When
    /// `expected_server_agency` is set, a server whose certificate names another agency is
    /// refused during connection setup, and the call fails with `UNAVAILABLE`.
    pub fn channel(
        &self,
        endpoint: &str,
        expected_server_agency: Option<AgencyId>,
        connect_timeout: Duration,
    ) -> Result<Channel, TlsError> {
        self.channel_recording_server_certificate(endpoint, expected_server_agency, connect_timeout)
            .map(|(channel, _)| channel)
    }

    /// [`Self::channel`], and the certificate the server presented on the channel's current
    /// connection: its end-entity DER, recorded once the chain verified and the agency pin (if
    /// any) held, replaced when the channel reconnects. The broker checks answer signatures
    /// against it.
    pub fn channel_recording_server_certificate(
        &self,
        endpoint: &str,
        expected_server_agency: Option<AgencyId>,
        connect_timeout: Duration,
    ) -> Result<(Channel, PresentedServerCertificate), TlsError> {
        let invalid = |detail: &str| TlsError::Endpoint {
            endpoint: endpoint.to_owned(),
            detail: detail.to_owned(),
        };
        let uri: Uri = endpoint.parse().map_err(|_| invalid("not a URI"))?;
        if uri.scheme_str() != Some("https") {
            return Err(invalid("the scheme must be https"));
        }
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| invalid("the host is not a valid server name"))?;
        let port = uri.port_u16().unwrap_or(443);
        let connector = self.connector.clone();
        let expected = expected_server_agency.map(Arc::new);
        // TLS happens inside the connector below, so tonic itself sees a plain HTTP/2 endpoint.
        let plain_uri = Uri::builder()
            .scheme("http")
            .authority(
                uri.authority()
                    .map(|authority| authority.as_str())
                    .unwrap_or_default(),
            )
            .path_and_query("/")
            .build()
            .map_err(|_| invalid("not a URI"))?;
        let endpoint = Endpoint::from(plain_uri)
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true);
        let presented = PresentedServerCertificate::default();
        let recorder = presented.clone();
        let channel = endpoint.connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
            let connector = connector.clone();
            let server_name = server_name.clone();
            let host = host.clone();
            let expected = expected.clone();
            let recorder = recorder.clone();
            async move {
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                tcp.set_nodelay(true)?;
                let stream = connector.connect(server_name, tcp).await?;
                if let Some(expected) = expected {
                    check_server_agency(&stream, &expected)?;
                }
                recorder.record(&stream);
                Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }));
        Ok((channel, presented))
    }
}

/// The end-entity certificate a server presented on a channel's current connection (see
/// [`MutualTlsClient::channel_recording_server_certificate`]); none before the first
/// connection. Cheap to clone; clones share the record.
#[derive(Clone, Default)]
pub struct PresentedServerCertificate {
    der: Arc<std::sync::RwLock<Option<Arc<[u8]>>>>,
}

impl PresentedServerCertificate {
    /// The DER of the certificate, once a connection was made.
    pub fn der(&self) -> Option<Arc<[u8]>> {
        self.der
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn record(&self, stream: &tokio_rustls::client::TlsStream<TcpStream>) {
        let leaf = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| Arc::<[u8]>::from(leaf.as_ref()));
        *self
            .der
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = leaf;
    }
}

impl std::fmt::Debug for PresentedServerCertificate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PresentedServerCertificate")
            .field("recorded", &self.der().is_some())
            .finish()
    }
}

fn check_server_agency(
    stream: &tokio_rustls::client::TlsStream<TcpStream>,
    expected: &AgencyId,
) -> io::Result<()> {
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "server sent no certificate",
            )
        })?;
    let identity = AgencyIdentity::from_certificate_der(leaf)
        .map_err(|error| io::Error::new(io::ErrorKind::PermissionDenied, error.to_string()))?;
    if identity.agency_id() == expected {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the server's certificate names agency {}, not the registered provider {expected}",
                identity.agency_id()
            ),
        ))
    }
}
