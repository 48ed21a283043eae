//! Request gates as tower layers, and the authentication gate shared by the broker and every
//! adapter.
//!
//! A [`RequestGate`] looks at (and may add to) a request's extensions and either admits the
//! request or answers it with a gRPC status before any service code runs; [`GateLayer`] turns
//! a gate into a tower layer. [`AuthenticatePeer`] turns the per-connection TLS verdict
//! ([`PeerAuthentication`]) into a per-request fact: a verified caller's [`AgencyIdentity`]
//! is put into the extensions, anyone else is answered with `UNAUTHENTICATED`. Services then ask
//! for the role they need with [`require_role`].

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use kruispunt_proto::refusal_rule::with_refusal_rule;
use tonic::Status;
use tower::{Layer, Service};

use crate::identity::{AgencyIdentity, Role};
use crate::tls::PeerAuthentication;

/// Admits a request, or refuses it, from its extensions alone.
pub trait RequestGate: Clone {
    /// Why a request is refused; the component that owns the gate decides its gRPC status.
    type Refusal: Into<Status>;

    /// `Ok` to pass the request on; `Err` to answer it with the refusal's status.
    fn admit(&self, extensions: &mut http::Extensions) -> Result<(), Self::Refusal>;
}

/// A tower layer applying a [`RequestGate`] to every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct GateLayer<G> {
    gate: G,
}

impl<G> GateLayer<G> {
    /// A layer applying `gate`.
    pub fn new(gate: G) -> Self {
        Self { gate }
    }
}

impl<S, G: Clone> Layer<S> for GateLayer<G> {
    type Service = Gated<S, G>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            inner,
            gate: self.gate.clone(),
        }
    }
}

/// The service made by [`GateLayer`].
#[derive(Debug, Clone)]
pub struct Gated<S, G> {
    inner: S,
    gate: G,
}

impl<S, G, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for Gated<S, G>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    G: RequestGate,
    ResponseBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        match self.gate.admit(request.extensions_mut()) {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(refusal) => Either::Right(ready(Ok(refusal.into().into_http()))),
        }
    }
}

/// Refusal rule (`kruispunt-refusal-rule`): the connection presented no client certificate.
pub const NO_CLIENT_CERTIFICATE: &str = "step1.no_client_certificate";
/// Refusal rule: the client certificate does not verify or names no agency.
pub const CERTIFICATE_REFUSED: &str = "step1.certificate_refused";
/// Refusal rule: the connection did not come through the mutual TLS acceptor.
pub const NOT_MUTUAL_TLS: &str = "step1.not_mutual_tls";
/// Refusal rule: the caller lacks the role the call requires.
pub const WRONG_ROLE: &str = "step1.wrong_role";

/// The authentication gate: only connections that presented a verified agency certificate pass,
/// and their [`AgencyIdentity`] is added to the request's extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthenticatePeer;

impl RequestGate for AuthenticatePeer {
    type Refusal = Status;

    fn admit(&self, extensions: &mut http::Extensions) -> Result<(), Status> {
        let (refusal, rule) = match extensions.get::<PeerAuthentication>() {
            Some(PeerAuthentication::Verified(identity)) => {
                let identity = Arc::clone(identity);
                extensions.insert(identity);
                return Ok(());
            }
            Some(PeerAuthentication::NoCertificate) => (
                "no client certificate was presented: Kruispunt requires mutual TLS with an agency certificate issued by its CA".to_owned(),
                NO_CLIENT_CERTIFICATE,
            ),
            Some(PeerAuthentication::Refused(reason)) => {
                (reason.to_string(), CERTIFICATE_REFUSED)
            }
            None => (
                "the connection was not made through Kruispunt's mutual TLS acceptor".to_owned(),
                NOT_MUTUAL_TLS,
            ),
        };
        Err(with_refusal_rule(Status::unauthenticated(refusal), rule))
    }
}

/// The verified caller of `request`, if it holds `role`; `PERMISSION_DENIED` otherwise.
pub fn require_role<T>(
    request: &tonic::Request<T>,
    role: Role,
) -> Result<Arc<AgencyIdentity>, Status> {
    require_any_role(request, &[role])
}

/// The verified caller of `request`, if it holds one of `roles`; `PERMISSION_DENIED` otherwise.
pub fn require_any_role<T>(
    request: &tonic::Request<T>,
    roles: &[Role],
) -> Result<Arc<AgencyIdentity>, Status> {
    let identity = request
        .extensions()
        .get::<Arc<AgencyIdentity>>()
        .cloned()
        .ok_or_else(|| {
            with_refusal_rule(
                Status::unauthenticated("the caller is not authenticated"),
                NOT_MUTUAL_TLS,
            )
        })?;
    if roles.iter().any(|role| identity.has_role(*role)) {
        Ok(identity)
    } else {
        let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        Err(with_refusal_rule(
            Status::permission_denied(format!(
                "agency {} lacks the {} role this call requires",
                identity.agency_id(),
                names.join(" or ")
            )),
            WRONG_ROLE,
        ))
    }
}
