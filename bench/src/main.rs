//! `kruispunt-bench`: the benchmark harness of Kruispunt.
//!
//! `kruispunt-bench run` starts each setup (see [`setups`]) as separate server processes on
//! loopback, drives the same `Fetch` workload against it at each concurrency (see [`load`]),
//! measures latency, throughput and the CPU and peak memory of every process involved (see
//! [`procstat`]), and writes a Markdown table and a CSV, and, unless `--no-docs`,
//! `docs/BENCHMARKS.md` with a chart. `bench/run.sh` builds the binaries, installs nginx if it
//! is missing, and runs it.
#![allow(clippy::print_stdout)]

mod chart;
mod docs;
mod forward;
mod load;
mod machine;
mod nginx;
mod process;
mod procstat;
mod report;
mod setups;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::load::Workload;
use crate::machine::{Machine, command_output};
use crate::procstat::{Monitored, Usage};
use crate::report::{ProcessFigures, Row};
use crate::setups::{Environment, Running, Setup};

/// The load generator's name in reports.
const CLIENT: &str = "client";
/// How long the first request of a point may keep failing before the run gives up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Kruispunt's benchmark harness.
#[derive(Parser)]
#[command(version, about)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Fetch workload against each setup at each concurrency and report.
    Run(RunArguments),
    /// Serve the *forward* reference setup (started by `run`; see `forward.rs`).
    #[command(hide = true)]
    Forward(forward::ForwardArguments),
}

/// The load generator's own tokio runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClientRuntime {
    /// One thread.
    CurrentThread,
    /// A work-stealing pool (`--client-threads` workers, default one per core).
    MultiThread,
}

#[derive(clap::Args)]
struct RunArguments {
    /// Measured requests per point (setup × concurrency).
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Warm-up requests per point, not measured (default: a tenth of --requests, at least 500).
    #[arg(long)]
    warmup: Option<u64>,
    /// Concurrent callers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    concurrency: Vec<usize>,
    /// Setups, comma-separated, in the order they run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "direct,proxy,forward,kruispunt,kruispunt-pg"
    )]
    setups: Vec<Setup>,
    /// At most this many HTTP/2 connections per point (callers are spread over them).
    #[arg(long, default_value_t = 4)]
    channels: usize,
    /// The load generator's runtime.
    #[arg(long, value_enum, default_value = "current-thread")]
    client_runtime: ClientRuntime,
    /// Worker threads of the multi-thread runtime (default: one per core).
    #[arg(long)]
    client_threads: Option<usize>,
    /// Seed of the civil registry's synthetic population.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Size of that population.
    #[arg(long, default_value_t = 10_000)]
    population: usize,
    /// Where `kruispunt` and `civil-registry` are (default: target/release of the workspace).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Parent of the run's scratch directory (default: target/bench-work of the workspace,
    /// on disk, so fsync costs what it costs).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the scratch directory (logs, databases, nginx.conf) after the run.
    #[arg(long)]
    keep_work_dir: bool,
    /// PostgreSQL for kruispunt-pg: a database URL whose user may create databases (the run
    /// uses a fresh database next to it). Empty: skip kruispunt-pg.
    #[arg(
        long,
        env = "KRUISPUNT_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// The nginx binary (default: `nginx` on PATH, then /usr/sbin/nginx).
    #[arg(long)]
    nginx: Option<PathBuf>,
    /// Where results.md and results.csv go (default: target/bench-results of the workspace).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Where BENCHMARKS.md, benchmarks.svg and benchmarks.csv go (default: docs/).
    #[arg(long)]
    docs_dir: Option<PathBuf>,
    /// Do not rewrite the docs.
    #[arg(long)]
    no_docs: bool,
    /// A note printed at the top of BENCHMARKS.md (e.g. that the run is preliminary).
    #[arg(long)]
    note: Option<String>,
    /// The command to record in BENCHMARKS.md (bench/run.sh sets it).
    #[arg(long, env = "KRUISPUNT_BENCH_COMMAND", hide = true)]
    recorded_command: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let arguments = match Arguments::parse().command {
        Command::Run(arguments) => arguments,
        Command::Forward(arguments) => return forward::run(&arguments),
    };
    let runtime = match arguments.client_runtime {
        ClientRuntime::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        ClientRuntime::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(threads) = arguments.client_threads {
                builder.worker_threads(threads);
            }
            builder.enable_all().build()?
        }
    };
    runtime.block_on(async {
        // On Ctrl-C or SIGTERM the run is dropped, and with it every server it started.
        tokio::select! {
            result = run(arguments) => result,
            signal = interrupted() => anyhow::bail!("stopped by {signal}; servers killed"),
        }
    })
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// The population's national register numbers in a seeded shuffle.
fn subjects(seed: u64, population: usize) -> Arc<[String]> {
    let registry = kruispunt_civil_registry::SyntheticCivilRegistry::generate(seed, population);
    let mut subjects: Vec<String> = registry
        .national_register_numbers()
        .map(str::to_owned)
        .collect();
    subjects.sort();
    subjects.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    subjects.into()
}

async fn run(arguments: RunArguments) -> anyhow::Result<()> {
    anyhow::ensure!(arguments.requests > 0, "--requests must be at least 1");
    anyhow::ensure!(arguments.channels > 0, "--channels must be at least 1");
    anyhow::ensure!(
        arguments
            .concurrency
            .iter()
            .all(|&concurrency| concurrency > 0),
        "every --concurrency must be at least 1"
    );
    let root = workspace_root();
    let work_parent = arguments
        .work_dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench-work"));
    std::fs::create_dir_all(&work_parent).with_context(|| format!("creating {work_parent:?}"))?;
    let work = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&work_parent)?;
    let machine = Machine::describe(work.path())?;
    let nginx = if arguments.setups.contains(&Setup::Proxy) {
        Some(nginx::Nginx::locate(arguments.nginx.as_deref())?)
    } else {
        None
    };
    let versions: Vec<String> = nginx
        .iter()
        .map(|nginx| format!("nginx {} (proxy setup)", nginx.version_text()))
        .collect();
    let environment = Environment::prepare(
        arguments
            .bin_dir
            .clone()
            .unwrap_or_else(|| root.join("target/release")),
        work.path().to_owned(),
        arguments.seed,
        arguments.population,
        nginx,
        Some(arguments.postgres_url.clone()).filter(|url| !url.is_empty()),
    )?;
    let subjects = subjects(arguments.seed, arguments.population);
    let warmup = arguments
        .warmup
        .unwrap_or_else(|| (arguments.requests / 10).max(500));
    let mut measurement = Measurement {
        requests: arguments.requests,
        warmup,
        max_channels: arguments.channels,
        subjects,
        client: Monitored::this_process(CLIENT),
        peak_reset: true,
    };

    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for &setup in &arguments.setups {
        if setup == Setup::KruispuntPg && arguments.postgres_url.is_empty() {
            let reason = "skipped: no --postgres-url";
            eprintln!("== {}: {reason}", setup.name());
            skipped.push((setup.name().to_owned(), reason.to_owned()));
            continue;
        }
        eprintln!("== {}: starting", setup.name());
        let mut running = environment
            .start(setup)
            .await
            .with_context(|| format!("starting the {} setup", setup.name()))?;
        for &concurrency in &arguments.concurrency {
            let row = measurement
                .point(&mut running, setup, concurrency)
                .await
                .with_context(|| format!("{} at concurrency {concurrency}", setup.name()))?;
            eprintln!(
                "   {:>4} callers: {:>8.0} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors; \
                 load generator {:.0}% of a core, other load {:.2} cores",
                concurrency,
                row.rps,
                row.latency_ms[0],
                row.latency_ms[2],
                row.errors,
                100.0 * row.busy_cores(CLIENT).unwrap_or(0.0),
                row.other_cpu_seconds / row.elapsed_seconds,
            );
            rows.push(row);
        }
        // Stops this setup's servers before the next one starts.
        drop(running);
    }
    report::fill_ratios(&mut rows);

    let table = report::markdown_table(&rows, &skipped);
    println!("{table}");
    let out_dir = arguments
        .out_dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench-results"));
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("results.md"), &table)?;
    std::fs::write(out_dir.join("results.csv"), report::csv(&rows))?;
    eprintln!("results in {}", out_dir.display());

    if !arguments.no_docs {
        let docs_dir = arguments
            .docs_dir
            .clone()
            .unwrap_or_else(|| root.join("docs"));
        let facts = docs::RunFacts {
            date: time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .unwrap_or_else(|_| "unknown date".to_owned()),
            command: arguments
                .recorded_command
                .clone()
                .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" ")),
            commit: commit(&root),
            machine: &machine,
            note: arguments.note.clone(),
            generator: generator_description(&arguments, warmup, &rows),
            setups: &arguments.setups,
            versions,
            peak_reset: measurement.peak_reset,
        };
        docs::write(&docs_dir, &facts, &rows, &skipped)?;
        eprintln!("wrote {}", docs_dir.join(docs::MARKDOWN_FILE).display());
    }
    if arguments.keep_work_dir {
        let kept = work.keep();
        eprintln!("kept the work directory {}", kept.display());
    }
    Ok(())
}

fn generator_description(arguments: &RunArguments, warmup: u64, rows: &[Row]) -> String {
    let runtime = match arguments.client_runtime {
        ClientRuntime::CurrentThread => "tokio current-thread runtime".to_owned(),
        ClientRuntime::MultiThread => format!(
            "tokio multi-thread runtime ({} workers)",
            arguments
                .client_threads
                .map_or_else(|| "one per core".to_owned(), |threads| threads.to_string())
        ),
    };
    let busiest = rows
        .iter()
        .filter_map(|row| row.busy_cores(CLIENT))
        .fold(0.0, f64::max);
    let other = rows
        .iter()
        .filter(|row| row.elapsed_seconds > 0.0)
        .map(|row| row.other_cpu_seconds / row.elapsed_seconds)
        .fold(0.0, f64::max);
    format!(
        "{runtime}; {} measured + {warmup} warm-up requests per point; callers spread over \
         min(callers, {}) HTTP/2 connections; {} subjects (seed {}). Its CPU time was at most \
         {:.0}% of the wall time of any measured phase. Other load on the machine (processes \
         outside the benchmark) reached {other:.2} cores in some phase.",
        arguments.requests,
        arguments.channels,
        arguments.population,
        arguments.seed,
        100.0 * busiest,
    )
}

/// `git rev-parse --short HEAD`, noting uncommitted changes to tracked files.
fn commit(root: &Path) -> String {
    let head = command_output(std::process::Command::new("git").arg("-C").arg(root).args([
        "rev-parse",
        "--short",
        "HEAD",
    ]));
    let dirty = command_output(std::process::Command::new("git").arg("-C").arg(root).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]));
    if dirty.is_empty() {
        head
    } else {
        format!("{head} (with uncommitted changes in the work tree)")
    }
}

/// Settings and state shared by all points of a run.
struct Measurement {
    requests: u64,
    warmup: u64,
    max_channels: usize,
    subjects: Arc<[String]>,
    client: Monitored,
    peak_reset: bool,
}

impl Measurement {
    /// One setup × concurrency: fresh connections, probe, warm-up, then the measured phase.
    async fn point(
        &mut self,
        running: &mut Running,
        setup: Setup,
        concurrency: usize,
    ) -> anyhow::Result<Row> {
        let workload = Workload {
            api: running.api,
            channels: running.channels(concurrency.min(self.max_channels))?,
            subjects: self.subjects.clone(),
        };
        load::probe(&workload, PROBE_TIMEOUT).await?;
        let warm = load::drive(&workload, concurrency, self.warmup, 0).await?;
        anyhow::ensure!(
            warm.errors < warm.requests,
            "every warm-up call failed, e.g. {}",
            warm.main_error().unwrap_or("?")
        );
        running.check_alive()?;

        let mut monitored = running.monitored.clone();
        monitored.push(self.client.clone());
        for process in &monitored {
            self.peak_reset &= process.reset_peak();
        }
        let machine_before = procstat::machine_busy_seconds()?;
        let before = usages(&monitored)?;
        let result = load::drive(&workload, concurrency, self.requests, self.warmup).await?;
        let after = usages(&monitored)?;
        let machine_busy = procstat::machine_busy_seconds()? - machine_before;
        running.check_alive()?;
        if let Some(error) = result.main_error() {
            eprintln!(
                "   {} errors at {concurrency} callers, mostly: {error}",
                result.errors
            );
        }
        let processes: Vec<ProcessFigures> = monitored
            .iter()
            .zip(before.iter().zip(&after))
            .map(|(process, (before, after))| ProcessFigures {
                name: process.name.clone(),
                cpu_seconds: after.cpu_seconds - before.cpu_seconds,
                peak_rss_bytes: after.peak_rss_bytes,
            })
            .collect();
        let ours: f64 = processes.iter().map(|process| process.cpu_seconds).sum();
        Ok(Row {
            setup: setup.name().to_owned(),
            concurrency,
            requests: result.requests,
            errors: result.errors,
            rps: result.requests_per_second(),
            elapsed_seconds: result.elapsed.as_secs_f64(),
            latency_ms: [0.5, 0.9, 0.99, 0.999].map(|quantile| result.latency_ms(quantile)),
            processes,
            other_cpu_seconds: (machine_busy - ours).max(0.0),
            ratio_to_direct: None,
        })
    }
}

fn usages(monitored: &[Monitored]) -> anyhow::Result<Vec<Usage>> {
    monitored.iter().map(Monitored::usage).collect()
}
