//! The refusal log: every refusal at every step, logged at the default level (`warn`) with its
//! rule and the calling agency, never with an identifier or the caller's text, and counted.
//!
//! A flood must not turn the log into the next outage, so the log aggregates: the first refusal
//! of a (rule, agency) pair in an interval is logged at once, further ones are counted and
//! summarised once when the interval ends ("rule X, agency Y: 1234 more in the last 10 s"). At
//! most [`RefusalLogSettings::max_tracked_pairs`] pairs are tracked per interval; refusals of
//! further pairs (a flood of distinct agencies) go to one `other` bucket, so memory stays
//! bounded. Counters per rule, per gRPC code and per step live beside it, read with
//! [`RefusalLog::snapshot`] (for a metrics exporter).
//!
//! [`RefusalAggregator`] is the pure bookkeeping (time is passed in); [`RefusalLog`] shares it
//! between requests, writes its lines to `tracing` and keeps the counters. The tower layer that
//! feeds it is `crate::refusal_layer`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The label of the bucket taking refusals beyond the tracked pairs, rules or steps.
pub const OTHER: &str = "other";

/// The agency label of a refusal whose caller presented no verified certificate.
pub const UNAUTHENTICATED_AGENCY: &str = "unauthenticated";

/// Most distinct rules (and steps) counted; more go to [`OTHER`]. Rules are tokens the broker
/// writes, a few dozen, so this bound is only a guard.
const MAX_COUNTED_RULES: usize = 256;

/// How the refusal log aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalLogSettings {
    /// The length of one interval: further refusals of a pair are summarised at its end.
    pub interval: Duration,
    /// The most (rule, agency) pairs tracked in one interval; more share the `other` bucket.
    pub max_tracked_pairs: usize,
}

impl Default for RefusalLogSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            max_tracked_pairs: 1024,
        }
    }
}

/// One line the refusal log writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalLine {
    /// The first refusal of a pair in this interval.
    First {
        /// The rule token (or [`OTHER`] for the overflow bucket).
        rule: String,
        /// The agency (or [`OTHER`] for the overflow bucket).
        agency: String,
        /// The gRPC code of the refusal.
        code: tonic::Code,
    },
    /// The refusals of a pair after its first one, in the interval that ended.
    Summary {
        /// The rule token (or [`OTHER`]).
        rule: String,
        /// The agency (or [`OTHER`]).
        agency: String,
        /// How many more refusals there were.
        more: u64,
        /// The interval they came in.
        interval: Duration,
    },
}

/// The aggregation of refusal log lines over intervals, with a bounded number of pairs.
#[derive(Debug)]
pub struct RefusalAggregator {
    settings: RefusalLogSettings,
    interval_start: Instant,
    /// Refusals after the first, per tracked pair, in the current interval.
    more_by_pair: HashMap<(String, String), u64>,
    /// Refusals of untracked pairs in this interval (`None`: none yet).
    overflow: Option<u64>,
}

impl RefusalAggregator {
    /// An aggregator whose first interval starts at `now`.
    pub fn new(settings: RefusalLogSettings, now: Instant) -> Self {
        Self {
            settings,
            interval_start: now,
            more_by_pair: HashMap::new(),
            overflow: None,
        }
    }

    /// Takes one refusal at `now`: the line to write at once, if any (after the summaries of an
    /// interval that ended, see [`RefusalAggregator::end_interval_if_due`]).
    pub fn observe(
        &mut self,
        rule: &str,
        agency: &str,
        code: tonic::Code,
        now: Instant,
        lines: &mut Vec<RefusalLine>,
    ) {
        self.end_interval_if_due(now, lines);
        if let Some(more) = self
            .more_by_pair
            .get_mut(&(rule.to_owned(), agency.to_owned()))
        {
            *more += 1;
            return;
        }
        if self.more_by_pair.len() < self.settings.max_tracked_pairs {
            self.more_by_pair
                .insert((rule.to_owned(), agency.to_owned()), 0);
            lines.push(RefusalLine::First {
                rule: rule.to_owned(),
                agency: agency.to_owned(),
                code,
            });
            return;
        }
        match &mut self.overflow {
            Some(more) => *more += 1,
            None => {
                self.overflow = Some(0);
                lines.push(RefusalLine::First {
                    rule: OTHER.to_owned(),
                    agency: OTHER.to_owned(),
                    code,
                });
            }
        }
    }

    /// If the interval has ended at `now`, its summaries, and a new interval starts.
    pub fn end_interval_if_due(&mut self, now: Instant, lines: &mut Vec<RefusalLine>) {
        if now.saturating_duration_since(self.interval_start) >= self.settings.interval {
            self.end_interval(now, lines);
        }
    }

    /// Ends the interval now, whatever its length (at shutdown): its summaries.
    pub fn end_interval(&mut self, now: Instant, lines: &mut Vec<RefusalLine>) {
        let interval = now.saturating_duration_since(self.interval_start);
        let mut summaries: Vec<RefusalLine> = self
            .more_by_pair
            .drain()
            .filter(|(_, more)| *more > 0)
            .map(|((rule, agency), more)| RefusalLine::Summary {
                rule,
                agency,
                more,
                interval,
            })
            .collect();
        summaries.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        lines.extend(summaries);
        if let Some(more) = self.overflow.take().filter(|more| *more > 0) {
            lines.push(RefusalLine::Summary {
                rule: OTHER.to_owned(),
                agency: OTHER.to_owned(),
                more,
                interval,
            });
        }
        self.interval_start = now;
    }

    /// The pairs tracked in the current interval.
    pub fn tracked_pairs(&self) -> usize {
        self.more_by_pair.len()
    }
}

/// Refusals counted since the broker started, for a metrics exporter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalCounts {
    /// Every refusal.
    pub total: u64,
    /// Per rule token (`step3.no_authorization`, ...; [`OTHER`] past the bound).
    pub by_rule: BTreeMap<String, u64>,
    /// Per gRPC code, in its canonical upper-case name (`PERMISSION_DENIED`, ...).
    pub by_code: BTreeMap<&'static str, u64>,
    /// Per step, the rule token's part before its first dot (`step1`, `store`, `code`, ...).
    pub by_step: BTreeMap<String, u64>,
}

impl RefusalCounts {
    fn count(&mut self, rule: &str, code: tonic::Code) {
        self.total += 1;
        let step = rule.split_once('.').map_or(rule, |(step, _)| step);
        count_bounded(&mut self.by_rule, rule);
        count_bounded(&mut self.by_step, step);
        *self.by_code.entry(code_name(code)).or_default() += 1;
    }
}

fn count_bounded(counts: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(count) = counts.get_mut(key) {
        *count += 1;
    } else if counts.len() < MAX_COUNTED_RULES {
        counts.insert(key.to_owned(), 1);
    } else {
        *counts.entry(OTHER.to_owned()).or_default() += 1;
    }
}

/// The canonical name of a gRPC code, as the gRPC documentation and the README spell it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The broker's refusal log, shared by every connection (cheap to clone).
#[derive(Debug, Clone)]
pub struct RefusalLog {
    state: Arc<Mutex<RefusalLogState>>,
}

#[derive(Debug)]
struct RefusalLogState {
    aggregator: RefusalAggregator,
    counts: RefusalCounts,
}

impl Default for RefusalLog {
    fn default() -> Self {
        Self::new(RefusalLogSettings::default())
    }
}

impl RefusalLog {
    /// An empty log aggregating as `settings` say.
    pub fn new(settings: RefusalLogSettings) -> Self {
        Self {
            state: Arc::new(Mutex::new(RefusalLogState {
                aggregator: RefusalAggregator::new(settings, Instant::now()),
                counts: RefusalCounts::default(),
            })),
        }
    }

    /// Counts one refusal and logs it (or counts it for the interval's summary). `agency` is
    /// the verified caller's agency id, or [`UNAUTHENTICATED_AGENCY`].
    pub fn record(&self, rule: &str, code: tonic::Code, agency: &str) {
        let mut lines = Vec::new();
        {
            let mut state = self.lock();
            state.counts.count(rule, code);
            state
                .aggregator
                .observe(rule, agency, code, Instant::now(), &mut lines);
        }
        write_lines(&lines);
    }

    /// Writes the summaries of an interval that has ended, if one has (called on a timer, so a
    /// burst is summarised even if no refusal follows it).
    pub fn summarise_if_due(&self) {
        let mut lines = Vec::new();
        self.lock()
            .aggregator
            .end_interval_if_due(Instant::now(), &mut lines);
        write_lines(&lines);
    }

    /// Writes the summaries of the current interval now (when the server stops).
    pub fn summarise_now(&self) {
        let mut lines = Vec::new();
        self.lock()
            .aggregator
            .end_interval(Instant::now(), &mut lines);
        write_lines(&lines);
    }

    /// The refusals counted so far.
    pub fn snapshot(&self) -> RefusalCounts {
        self.lock().counts.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RefusalLogState> {
        // The state is counters and a map; a panic half-way leaves nothing worth refusing over.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn write_lines(lines: &[RefusalLine]) {
    for line in lines {
        match line {
            RefusalLine::First { rule, agency, code } => tracing::warn!(
                target: "kruispunt::refusal",
                rule = rule.as_str(),
                agency = agency.as_str(),
                code = code_name(*code),
                "refused: rule {rule}, agency {agency} ({})",
                code_name(*code)
            ),
            RefusalLine::Summary {
                rule,
                agency,
                more,
                interval,
            } => tracing::warn!(
                target: "kruispunt::refusal",
                rule = rule.as_str(),
                agency = agency.as_str(),
                more = *more,
                "refused: rule {rule}, agency {agency}: {more} more in the last {} s",
                interval.as_secs()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn settings(max_tracked_pairs: usize) -> RefusalLogSettings {
        RefusalLogSettings {
            interval: Duration::from_secs(10),
            max_tracked_pairs,
        }
    }

    #[test]
    fn the_first_refusal_of_a_pair_is_logged_at_once_and_the_rest_summarised() {
        let start = Instant::now();
        let mut aggregator = RefusalAggregator::new(settings(16), start);
        let mut lines = Vec::new();
        for _ in 0..1000 {
            aggregator.observe(
                "step3.no_authorization",
                "a",
                Code::PermissionDenied,
                start,
                &mut lines,
            );
        }
        aggregator.observe(
            "step1.wrong_role",
            "a",
            Code::PermissionDenied,
            start,
            &mut lines,
        );
        assert_eq!(
            lines,
            [
                RefusalLine::First {
                    rule: "step3.no_authorization".into(),
                    agency: "a".into(),
                    code: Code::PermissionDenied
                },
                RefusalLine::First {
                    rule: "step1.wrong_role".into(),
                    agency: "a".into(),
                    code: Code::PermissionDenied
                },
            ]
        );
        lines.clear();
        aggregator.end_interval_if_due(start + Duration::from_secs(9), &mut lines);
        assert!(lines.is_empty(), "the interval has not ended: {lines:?}");
        aggregator.end_interval_if_due(start + Duration::from_secs(10), &mut lines);
        assert_eq!(
            lines,
            [RefusalLine::Summary {
                rule: "step3.no_authorization".into(),
                agency: "a".into(),
                more: 999,
                interval: Duration::from_secs(10)
            }],
            "one summary, for the pair with more than one refusal"
        );
        lines.clear();
        aggregator.observe(
            "step3.no_authorization",
            "a",
            Code::PermissionDenied,
            start + Duration::from_secs(11),
            &mut lines,
        );
        assert_eq!(
            lines.len(),
            1,
            "a new interval logs the pair's first refusal again"
        );
    }

    #[test]
    fn distinct_agencies_beyond_the_bound_share_one_bucket() {
        let start = Instant::now();
        let mut aggregator = RefusalAggregator::new(settings(3), start);
        let mut lines = Vec::new();
        for agency in 0..10_000 {
            aggregator.observe(
                "step1.certificate_refused",
                &format!("agency-{agency}"),
                Code::Unauthenticated,
                start,
                &mut lines,
            );
        }
        assert_eq!(aggregator.tracked_pairs(), 3, "memory stays bounded");
        assert_eq!(
            lines.len(),
            4,
            "three tracked pairs and the other bucket: {lines:?}"
        );
        assert!(
            matches!(&lines[3], RefusalLine::First { rule, agency, .. } if rule == OTHER && agency == OTHER)
        );
        lines.clear();
        aggregator.end_interval(start + Duration::from_secs(10), &mut lines);
        assert_eq!(
            lines,
            [RefusalLine::Summary {
                rule: OTHER.into(),
                agency: OTHER.into(),
                more: 10_000 - 4,
                interval: Duration::from_secs(10)
            }]
        );
        assert_eq!(aggregator.tracked_pairs(), 0);
    }

    #[test]
    fn counts_per_rule_code_and_step() {
        let log = RefusalLog::new(settings(2));
        for _ in 0..3 {
            log.record("step3.no_authorization", Code::PermissionDenied, "a");
        }
        log.record("step1.wrong_role", Code::PermissionDenied, "b");
        log.record("step2.oversized_message", Code::ResourceExhausted, "c");
        let counts = log.snapshot();
        assert_eq!(counts.total, 5);
        assert_eq!(counts.by_rule["step3.no_authorization"], 3);
        assert_eq!(counts.by_rule["step2.oversized_message"], 1);
        assert_eq!(counts.by_code["PERMISSION_DENIED"], 4);
        assert_eq!(counts.by_code["RESOURCE_EXHAUSTED"], 1);
        assert_eq!(counts.by_step["step1"], 1);
        assert_eq!(counts.by_step["step3"], 3);
    }
}
