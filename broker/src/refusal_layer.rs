//! [`RecordRefusalsLayer`]: the outermost layer of the broker's server. It reads the gRPC status
//! of every answer and hands each refusal to the [`RefusalLog`], with its rule (the
//! `kruispunt-refusal-rule` entry `api::status`, the gates and the codec attach, or a generic
//! rule from the code) and the verified caller's agency (from the connection's TLS verdict,
//! which is in the request's extensions before any gate runs). Every refusal passes here, those
//! of the gates and of tonic's decoding included, so none is missed and none is logged twice.
//!
//! The broker's RPCs are unary and refuse with trailers-only answers, which carry `grpc-status`
//! in the headers; that is what this layer reads.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use kruispunt_adapter::identity::AgencyIdentity;
use kruispunt_adapter::tls::PeerAuthentication;
use kruispunt_proto::refusal_rule::{REFUSAL_RULE_METADATA, generic_rule};
use tower::{Layer, Service};

use crate::refusal_log::{RefusalLog, UNAUTHENTICATED_AGENCY};

/// A tower layer feeding every refused answer to a [`RefusalLog`].
#[derive(Debug, Clone)]
pub struct RecordRefusalsLayer {
    log: RefusalLog,
}

impl RecordRefusalsLayer {
    /// A layer recording into `log`.
    pub fn new(log: RefusalLog) -> Self {
        Self { log }
    }
}

impl<S> Layer<S> for RecordRefusalsLayer {
    type Service = RecordRefusals<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordRefusals {
            inner,
            log: self.log.clone(),
        }
    }
}

/// The service made by [`RecordRefusalsLayer`].
#[derive(Debug, Clone)]
pub struct RecordRefusals<S> {
    inner: S,
    log: RefusalLog,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for RecordRefusals<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let caller: Option<Arc<AgencyIdentity>> = match request.extensions().get() {
            Some(PeerAuthentication::Verified(identity)) => Some(Arc::clone(identity)),
            _ => None,
        };
        let log = self.log.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            record_if_refused(&log, response.headers(), caller.as_deref());
            Ok(response)
        })
    }
}

fn record_if_refused(log: &RefusalLog, headers: &http::HeaderMap, caller: Option<&AgencyIdentity>) {
    let Some(code) = headers
        .get("grpc-status")
        .map(|value| tonic::Code::from_bytes(value.as_bytes()))
    else {
        return;
    };
    if code == tonic::Code::Ok {
        return;
    }
    let rule = headers
        .get(REFUSAL_RULE_METADATA)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| generic_rule(code));
    let agency = caller.map_or(UNAUTHENTICATED_AGENCY, |identity| {
        identity.agency_id().as_str()
    });
    log.record(rule, code, agency);
}
