//! The load generator: a fixed number of `Fetch` calls from N concurrent callers spread over a
//! few HTTP/2 channels, with a latency histogram of the successful calls.
//!
//! Callers share one request counter, so exactly `requests` calls are made whatever the
//! concurrency; caller `k` uses channel `k mod channels`. Call `i` asks for subject
//! `subjects[(first + i) mod len]`; the subjects are the synthetic registry's national register
//! numbers in a seeded shuffle, so the calls spread over the whole registry. Latencies are
//! recorded per caller in an HDR histogram (microseconds, 3 significant digits) and merged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use kruispunt_civil_registry::PERSON_DATA_TYPE;
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::adapter_client::AdapterClient;
use kruispunt_proto::v1::exchange_client::ExchangeClient;
use tokio::task::JoinSet;
use tonic::transport::Channel;

/// The purpose every benchmark request states (and the broker authorizes).
pub const BENCH_PURPOSE: &str = "benchmark";
/// The consumer agency on whose behalf the requests are made.
pub const BENCH_CONSUMER: &str = "be.example.bench-consumer";
/// A call that takes longer than this counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Highest latency the histogram can hold, in microseconds.
const HISTOGRAM_MAX_MICROS: u64 = 60_000_000;

/// Which service the workload calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `kruispunt.v1.Adapter/Fetch`: the authentic source itself (direct, or through a proxy).
    Adapter,
    /// `kruispunt.v1.Exchange/Fetch`: the broker.
    Exchange,
}

/// What to call and with which subjects.
#[derive(Clone)]
pub struct Workload {
    /// The service.
    pub api: Api,
    /// Open (or lazily opening) HTTP/2 channels; callers are spread over them.
    pub channels: Vec<Channel>,
    /// National register numbers to ask about, in the order they are used.
    pub subjects: Arc<[String]>,
}

/// The outcome of one phase.
pub struct LoadResult {
    /// Calls made.
    pub requests: u64,
    /// Calls that failed (any gRPC error, a timeout, or an empty payload).
    pub errors: u64,
    /// Failures by kind, e.g. `Unavailable: …`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Wall time from the first call to the last answer.
    pub elapsed: Duration,
    /// Latencies of the successful calls, in microseconds.
    pub latencies: Histogram<u64>,
}

impl LoadResult {
    /// Calls per second (successful or not).
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// A latency quantile in milliseconds (`quantile` in 0..=1).
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The most frequent error, for messages.
    pub fn main_error(&self) -> Option<&str> {
        self.error_kinds
            .iter()
            .max_by_key(|(_, count)| **count)
            .map(|(kind, _)| kind.as_str())
    }
}

/// One caller's client.
enum Client {
    Adapter(AdapterClient<Channel>),
    Exchange(ExchangeClient<Channel>),
}

impl Client {
    fn new(api: Api, channel: Channel) -> Self {
        match api {
            Api::Adapter => Self::Adapter(AdapterClient::new(channel)),
            Api::Exchange => Self::Exchange(ExchangeClient::new(channel)),
        }
    }

    /// One `Fetch`; `Ok` only for an answer with a payload.
    async fn fetch(&mut self, insz: &str) -> Result<(), String> {
        let subject = Some(proto::Subject {
            scheme: "be.insz".to_owned(),
            id: insz.to_owned(),
        });
        let payload_length = match self {
            Self::Adapter(client) => {
                let mut request = tonic::Request::new(proto::AdapterFetchRequest {
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    subject,
                    purpose: BENCH_PURPOSE.to_owned(),
                    request_id: String::new(),
                    consumer: BENCH_CONSUMER.to_owned(),
                });
                request.set_timeout(CALL_TIMEOUT);
                client
                    .fetch(request)
                    .await
                    .map(|response| response.into_inner().payload_json.len())
            }
            Self::Exchange(client) => {
                let mut request = tonic::Request::new(proto::FetchRequest {
                    data_type: PERSON_DATA_TYPE.to_owned(),
                    subject,
                    purpose: BENCH_PURPOSE.to_owned(),
                    request_id: String::new(),
                    consent_id: String::new(),
                    case_reference: None,
                });
                request.set_timeout(CALL_TIMEOUT);
                client
                    .fetch(request)
                    .await
                    .map(|response| response.into_inner().payload_json.len())
            }
        };
        match payload_length {
            Ok(0) => Err("empty payload".to_owned()),
            Ok(_) => Ok(()),
            Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

/// Makes `requests` calls from `concurrency` callers, starting at subject `first`.
pub async fn drive(
    workload: &Workload,
    concurrency: usize,
    requests: u64,
    first: u64,
) -> anyhow::Result<LoadResult> {
    anyhow::ensure!(concurrency > 0, "concurrency must be at least 1");
    anyhow::ensure!(!workload.channels.is_empty(), "no channels");
    anyhow::ensure!(!workload.subjects.is_empty(), "no subjects");
    let next = Arc::new(AtomicU64::new(0));
    let mut callers = JoinSet::new();
    let started = Instant::now();
    for caller in 0..concurrency {
        let channel = workload.channels[caller % workload.channels.len()].clone();
        let mut client = Client::new(workload.api, channel);
        let subjects = workload.subjects.clone();
        let next = next.clone();
        callers.spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3)?;
            let mut errors = BTreeMap::<String, u64>::new();
            loop {
                let call = next.fetch_add(1, Ordering::Relaxed);
                if call >= requests {
                    break;
                }
                let index = (first + call) % subjects.len() as u64;
                let subject = &subjects[usize::try_from(index)?];
                let sent = Instant::now();
                match client.fetch(subject).await {
                    Ok(()) => latencies.saturating_record(
                        u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX),
                    ),
                    Err(kind) => *errors.entry(kind).or_default() += 1,
                }
            }
            anyhow::Ok((latencies, errors))
        });
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3)?;
    let mut error_kinds = BTreeMap::<String, u64>::new();
    while let Some(joined) = callers.join_next().await {
        let (caller_latencies, caller_errors) = joined.context("a caller task failed")??;
        latencies.add(caller_latencies)?;
        for (kind, count) in caller_errors {
            *error_kinds.entry(kind).or_default() += count;
        }
    }
    let elapsed = started.elapsed();
    Ok(LoadResult {
        requests,
        errors: error_kinds.values().sum(),
        error_kinds,
        elapsed,
        latencies,
    })
}

/// One call, retried until it succeeds or `timeout` passes: proves the whole chain works
/// (certificates, registration, routing) before anything is measured.
pub async fn probe(workload: &Workload, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut client = Client::new(workload.api, workload.channels[0].clone());
    loop {
        match client.fetch(&workload.subjects[0]).await {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() > deadline => {
                anyhow::bail!("the first request keeps failing: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
