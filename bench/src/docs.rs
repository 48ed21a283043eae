//! `docs/BENCHMARKS.md`: the latest run, rewritten whole by every run that writes docs, with the
//! chart (`docs/benchmarks.svg`) and the CSV (`docs/benchmarks.csv`) beside it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::chart;
use crate::machine::Machine;
use crate::report::{self, Row};
use crate::setups::Setup;

/// File names inside the docs directory.
pub const MARKDOWN_FILE: &str = "BENCHMARKS.md";
/// The chart.
pub const CHART_FILE: &str = "benchmarks.svg";
/// The CSV.
pub const CSV_FILE: &str = "benchmarks.csv";

/// Everything the page says besides the rows.
pub struct RunFacts<'a> {
    /// UTC date and time of the run.
    pub date: String,
    /// The command as typed.
    pub command: String,
    /// The commit the binaries were built from (with a note when the tree was dirty).
    pub commit: String,
    /// The machine.
    pub machine: &'a Machine,
    /// A note shown first, e.g. that the run is preliminary.
    pub note: Option<String>,
    /// How the load generator ran.
    pub generator: String,
    /// The setups in the run, in order.
    pub setups: &'a [Setup],
    /// Versions of the third-party servers, e.g. `nginx 1.22.1`.
    pub versions: Vec<String>,
    /// Whether every peak-RSS reset was accepted.
    pub peak_reset: bool,
}

/// Writes `BENCHMARKS.md`, the SVG and the CSV into `directory`.
pub fn write(
    directory: &Path,
    facts: &RunFacts<'_>,
    rows: &[Row],
    skipped: &[(String, String)],
) -> anyhow::Result<()> {
    let setup_names: Vec<String> = facts
        .setups
        .iter()
        .filter(|setup| rows.iter().any(|row| row.setup == setup.name()))
        .map(|setup| setup.name().to_owned())
        .collect();
    let title = format!("Kruispunt benchmark, {}", facts.date);
    let files = [
        (CHART_FILE, chart::svg(rows, &setup_names, &title)),
        (CSV_FILE, report::csv(rows)),
        (MARKDOWN_FILE, page(facts, rows, skipped)),
    ];
    for (name, text) in files {
        let path = directory.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {path:?}"))?;
    }
    Ok(())
}

fn page(facts: &RunFacts<'_>, rows: &[Row], skipped: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Benchmarks\n\n\
         <!-- Written by `kruispunt-bench run` (bench/); rerun it rather than editing by hand. -->\n\n",
    );
    if let Some(note) = &facts.note {
        let _ = writeln!(out, "> **{note}**\n");
    }
    let _ = writeln!(
        out,
        "Latest run: {}, commit {}.\n\n\
         The same `Fetch` workload (a `persoon.GeregistreerdPersoon@1` record; valid national \
         register numbers spread over the synthetic civil registry) at several concurrencies \
         against each setup, all processes on this one machine, on loopback. The headline figures \
         are the ratios to **direct** measured in the same run: absolute numbers move from machine \
         to machine.\n",
        facts.date, facts.commit
    );
    let _ = writeln!(out, "## Command\n\n```sh\n{}\n```\n", facts.command);
    let _ = writeln!(out, "## Machine\n\n{}", facts.machine.markdown());
    for version in &facts.versions {
        let _ = writeln!(out, "- {version}");
    }
    let _ = writeln!(out, "- Load generator: {}\n", facts.generator);
    let _ = writeln!(out, "## Setups\n");
    for setup in facts.setups {
        let reason = skipped
            .iter()
            .find(|(name, _)| name == setup.name())
            .map(|(_, reason)| format!(" ({reason})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- **{}**: {}{reason}",
            setup.name(),
            setup.description()
        );
    }
    let _ = writeln!(
        out,
        "\n## Results\n\n{}\n![throughput and p99 latency against concurrency]({CHART_FILE})\n\n\
         The same rows as CSV: [{CSV_FILE}]({CSV_FILE}).\n",
        report::markdown_table(rows, skipped)
    );
    let peak = if facts.peak_reset {
        "the peak during that phase (the high-water mark is reset before it)"
    } else {
        "the process's lifetime peak up to the end of that phase (the kernel refused to reset the high-water mark)"
    };
    let _ = writeln!(
        out,
        "## How to read it\n\n\
         - *requests* calls were measured after a warm-up at the same concurrency on the same \
         connections; *req/s* counts every measured call; latencies are those of the successful \
         calls (HDR histogram, µs precision).\n\
         - *× direct*: req/s divided by direct's at the same concurrency in this run.\n\
         - *CPU s*: user + system CPU seconds of each process during the measured phase only \
         (nginx: master and workers together; *client*: the load generator itself).\n\
         - *peak RSS*: `VmHWM`, {peak}. Each setup starts fresh servers.\n\
         - *other load*: CPU seconds the machine spent meanwhile outside the processes above: \
         other users' work, and kernel threads working for the benchmark (e.g. the file \
         system's journal committing the broker's fsyncs). Compare it with the wall time \
         (requests ÷ req/s) to judge how busy the machine was.\n"
    );
    out
}
