//! Every refusal is logged at the default level (`warn`) with its rule and the calling agency,
//! never with the subject or other caller text, refusals before step 3 included (they stay out
//! of the ledger); and a flood of identical refusals makes a bounded number of lines, the first
//! at once and the rest as counted summaries.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kruispunt_e2e::{Backend, CONSUMER, OPERATOR, TestExchange, backend_test, person_request};

/// The log lines written while the test runs (the broker runs on the test's own runtime
/// thread, so a thread-local subscriber sees them), as the binary's default filter lets them
/// through.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            // The `kruispunt` binary's default filter (src/cli/mod.rs).
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for CapturedLog {
    type Writer = CapturedLog;

    fn make_writer(&'writer self) -> Self::Writer {
        self.clone()
    }
}

/// The refusals logged for `rule` and `agency`: first lines count one, summaries their count.
fn refusals_in(lines: &[String], rule: &str, agency: &str) -> (usize, u64) {
    let pair = format!("refused: rule {rule}, agency {agency}");
    let mut pair_lines = 0;
    let mut refusals = 0;
    for line in lines.iter().filter(|line| line.contains(&pair)) {
        assert!(line.contains(" WARN "), "at the default level: {line}");
        pair_lines += 1;
        refusals += match line
            .split_once(&format!("{pair}: "))
            .and_then(|(_, summary)| summary.split_once(" more in the last "))
        {
            Some((more, _)) => more.parse::<u64>().unwrap(),
            None => 1,
        };
    }
    (pair_lines, refusals)
}

/// The code of a fetch of `subject` over `channel` that must be refused.
async fn refused_fetch(channel: tonic::transport::Channel, subject: &str) -> tonic::Code {
    kruispunt_proto::v1::exchange_client::ExchangeClient::new(channel)
        .fetch(person_request("be.insz", subject))
        .await
        .expect_err("the fetch is refused")
        .code()
}

backend_test!(refusals_before_step_3_are_logged_and_a_flood_is_summarised);
async fn refusals_before_step_3_are_logged_and_a_flood_is_summarised(backend: Backend) {
    let log = CapturedLog::default();
    let _installed = log.install();
    let mut exchange = TestExchange::start(backend).await;
    let subject = exchange.known_subject(0);
    let mut malformed_subject = subject.clone();
    let last = malformed_subject.pop().unwrap();
    malformed_subject.push(if last == '0' { '1' } else { '0' });

    // No certificate (step 1): the agency is unknown.
    assert_eq!(
        refused_fetch(exchange.channel_with(None).await, &subject).await,
        tonic::Code::Unauthenticated
    );
    // The wrong role (step 1): an operator cannot fetch.
    assert_eq!(
        refused_fetch(exchange.channel_as(OPERATOR).await, &subject).await,
        tonic::Code::PermissionDenied
    );

    // A malformed subject (step 2), a thousand and one times.
    const FLOOD: u64 = 1001;
    let mut consumer = exchange.consumer().await;
    for _ in 0..FLOOD {
        let status = consumer
            .fetch(person_request("be.insz", &malformed_subject))
            .await
            .expect_err("malformed subject");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
    // Stopping the server summarises the interval under way.
    exchange.stop_broker(Duration::from_secs(30)).await;

    let lines = log.lines();
    assert_eq!(
        refusals_in(&lines, "step1.no_client_certificate", "unauthenticated"),
        (1, 1),
        "{lines:#?}"
    );
    assert_eq!(
        refusals_in(&lines, "step1.wrong_role", OPERATOR),
        (1, 1),
        "{lines:#?}"
    );
    let (flood_lines, flood_refusals) = refusals_in(&lines, "step2.malformed_request", CONSUMER);
    assert_eq!(
        flood_refusals, FLOOD,
        "every refusal is counted: {lines:#?}"
    );
    assert!(
        (2..=6).contains(&flood_lines),
        "a first line and a summary per 10 s interval, not one line per refusal: {flood_lines} lines"
    );
    assert!(
        lines
            .iter()
            .all(|line| !line.contains(&subject) && !line.contains(&malformed_subject)),
        "no subject identifier in the log"
    );
    assert!(
        exchange.ledger_rows().await.is_empty(),
        "refusals before step 3 stay out of the ledger"
    );
}
