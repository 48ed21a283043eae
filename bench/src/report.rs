//! The results: one row per setup × concurrency, written as CSV and as a Markdown table.

use std::fmt::Write as _;

/// CPU and memory of one process (tree) during one measured phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessFigures {
    /// `kruispunt`, `nginx`, `civil-registry` or `client` (the load generator).
    pub name: String,
    /// CPU seconds (user + system) used during the measured phase.
    pub cpu_seconds: f64,
    /// Peak RSS in bytes (see [`crate::procstat`]).
    pub peak_rss_bytes: u64,
}

/// One measured point.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Setup name.
    pub setup: String,
    /// Concurrent callers.
    pub concurrency: usize,
    /// Calls made in the measured phase.
    pub requests: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Calls per second.
    pub rps: f64,
    /// Latency quantiles in milliseconds: p50, p90, p99, p99.9.
    pub latency_ms: [f64; 4],
    /// Wall time of the measured phase, in seconds.
    pub elapsed_seconds: f64,
    /// Servers first, then the load generator.
    pub processes: Vec<ProcessFigures>,
    /// CPU seconds used meanwhile by everything else on the machine (other users' builds,
    /// the kernel on nobody's behalf): the machine's busy time minus that of `processes`.
    pub other_cpu_seconds: f64,
    /// `rps` divided by direct's at the same concurrency, in the same run.
    pub ratio_to_direct: Option<f64>,
}

impl Row {
    /// CPU seconds of the named process per second of wall time (1.0 = one core busy).
    pub fn busy_cores(&self, name: &str) -> Option<f64> {
        let process = self.processes.iter().find(|process| process.name == name)?;
        (self.elapsed_seconds > 0.0).then(|| process.cpu_seconds / self.elapsed_seconds)
    }
}

/// The setup that ratios are taken against.
pub const BASELINE: &str = "direct";

/// Fills `ratio_to_direct` of every row for which the same run measured direct.
pub fn fill_ratios(rows: &mut [Row]) {
    let baselines: Vec<(usize, f64)> = rows
        .iter()
        .filter(|row| row.setup == BASELINE)
        .map(|row| (row.concurrency, row.rps))
        .collect();
    for row in rows.iter_mut() {
        row.ratio_to_direct = baselines
            .iter()
            .find(|(concurrency, _)| *concurrency == row.concurrency)
            .filter(|(_, rps)| *rps > 0.0)
            .map(|(_, rps)| row.rps / rps);
    }
}

/// Process names over all rows, in order of first appearance.
fn process_names(rows: &[Row]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for process in rows.iter().flat_map(|row| &row.processes) {
        if !names.contains(&process.name) {
            names.push(process.name.clone());
        }
    }
    names
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(String::new, |ratio| format!("{ratio:.2}"))
}

/// CSV with a header; one `cpu_s_<process>` and `peak_rss_mib_<process>` column pair per
/// process name, empty where a setup has no such process.
pub fn csv(rows: &[Row]) -> String {
    let names = process_names(rows);
    let mut out = String::from(
        "setup,concurrency,requests,errors,elapsed_s,rps,ratio_to_direct,p50_ms,p90_ms,p99_ms,p999_ms,cpu_s_other_load",
    );
    for name in &names {
        let _ = write!(out, ",cpu_s_{name},peak_rss_mib_{name}");
    }
    out.push('\n');
    for row in rows {
        let [p50, p90, p99, p999] = row.latency_ms;
        let _ = write!(
            out,
            "{},{},{},{},{:.3},{:.1},{},{p50:.3},{p90:.3},{p99:.3},{p999:.3},{:.2}",
            row.setup,
            row.concurrency,
            row.requests,
            row.errors,
            row.elapsed_seconds,
            row.rps,
            ratio_text(row.ratio_to_direct),
            row.other_cpu_seconds,
        );
        for name in &names {
            match row.processes.iter().find(|process| &process.name == name) {
                Some(process) => {
                    let _ = write!(
                        out,
                        ",{:.2},{:.1}",
                        process.cpu_seconds,
                        mib(process.peak_rss_bytes)
                    );
                }
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}

/// A Markdown table of `rows`, plus one line per skipped setup.
pub fn markdown_table(rows: &[Row], skipped: &[(String, String)]) -> String {
    let mut out = String::from(
        "| setup | callers | requests | errors | req/s | × direct | p50 ms | p90 ms | p99 ms | p99.9 ms | CPU s (per process) | peak RSS MiB (per process) | CPU s, other load |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |\n",
    );
    for row in rows {
        let [p50, p90, p99, p999] = row.latency_ms;
        let cpu = row
            .processes
            .iter()
            .map(|process| format!("{} {:.2}", process.name, process.cpu_seconds))
            .collect::<Vec<_>>()
            .join(", ");
        let rss = row
            .processes
            .iter()
            .map(|process| format!("{} {:.1}", process.name, mib(process.peak_rss_bytes)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {p50:.3} | {p90:.3} | {p99:.3} | {p999:.3} | {cpu} | {rss} | {:.2} |",
            row.setup,
            row.concurrency,
            row.requests,
            row.errors,
            row.rps,
            ratio_text(row.ratio_to_direct),
            row.other_cpu_seconds,
        );
    }
    for (setup, reason) in skipped {
        let _ = writeln!(out, "| {setup} | | | | | | | | | | {reason} | | |");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(setup: &str, concurrency: usize, rps: f64, p99: f64) -> Row {
        Row {
            setup: setup.to_owned(),
            concurrency,
            requests: 1000,
            errors: 0,
            rps,
            elapsed_seconds: 1000.0 / rps,
            latency_ms: [p99 / 4.0, p99 / 2.0, p99, p99 * 2.0],
            processes: vec![ProcessFigures {
                name: setup.to_owned(),
                cpu_seconds: 1.5,
                peak_rss_bytes: 20 * 1024 * 1024,
            }],
            other_cpu_seconds: 0.25,
            ratio_to_direct: None,
        }
    }

    #[test]
    fn ratios_are_to_direct_at_the_same_concurrency() {
        let mut rows = vec![
            row("direct", 1, 1000.0, 1.0),
            row("direct", 16, 4000.0, 2.0),
            row("kruispunt", 1, 500.0, 2.0),
            row("kruispunt", 16, 1000.0, 4.0),
            row("kruispunt", 64, 1000.0, 8.0),
        ];
        fill_ratios(&mut rows);
        let ratios: Vec<Option<f64>> = rows.iter().map(|row| row.ratio_to_direct).collect();
        assert_eq!(
            ratios,
            vec![Some(1.0), Some(1.0), Some(0.5), Some(0.25), None]
        );
    }

    #[test]
    fn csv_has_a_column_pair_per_process_and_blanks_where_absent() {
        let mut rows = vec![row("direct", 1, 1000.0, 1.0), row("proxy", 1, 800.0, 1.5)];
        fill_ratios(&mut rows);
        let text = csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(",cpu_s_direct,peak_rss_mib_direct,cpu_s_proxy,peak_rss_mib_proxy")
        );
        assert_eq!(
            lines[2],
            "proxy,1,1000,0,1.250,800.0,0.80,0.375,0.750,1.500,3.000,0.25,,,1.50,20.0"
        );
    }

    #[test]
    fn busy_cores_is_cpu_per_wall_second() {
        let row = row("direct", 1, 500.0, 1.0);
        assert_eq!(row.busy_cores("direct"), Some(0.75));
        assert_eq!(row.busy_cores("nginx"), None);
    }

    #[test]
    fn markdown_lists_skipped_setups() {
        let table = markdown_table(
            &[row("direct", 1, 1000.0, 1.0)],
            &[(
                "kruispunt-pg".to_owned(),
                "skipped: no --postgres-url".to_owned(),
            )],
        );
        assert!(table.contains("| direct | 1 | 1000 | 0 | 1000 |"));
        assert!(table.contains("| kruispunt-pg |"));
        assert!(table.contains("skipped: no --postgres-url"));
    }
}
