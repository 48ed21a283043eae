//! What the machine is, for the report: cores, memory, kernel, the work directory's file system,
//! and what one fsync costs there (the broker's ledger commits once per group commit, so a
//! durable request at concurrency 1 pays at least one).

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::procstat::parse_kib_field;

/// Appends measured for the fsync figure.
const FSYNC_SAMPLES: usize = 200;

/// Facts about the machine the run used.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs the harness may use.
    pub cores: usize,
    /// `model name` of `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal` in bytes.
    pub memory_bytes: u64,
    /// `uname -srvm`.
    pub kernel: String,
    /// File system type of the work directory.
    pub work_filesystem: String,
    /// Median and 99th percentile, in milliseconds, of one 4 KiB write + `fdatasync` that
    /// overwrites a block of an existing file (what a write-ahead log in steady state does).
    pub fsync_overwrite_ms: (f64, f64),
    /// The same for a write that appends, so the file's size changes too.
    pub fsync_append_ms: (f64, f64),
}

impl Machine {
    /// Reads the facts, and times fsync in `work_dir`.
    pub fn describe(work_dir: &Path) -> anyhow::Result<Self> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Ok(Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            memory_bytes: parse_kib_field(&meminfo, "MemTotal:").unwrap_or(0) * 1024,
            kernel: command_output(Command::new("uname").arg("-srvm")),
            work_filesystem: command_output(
                Command::new("findmnt")
                    .args(["--noheadings", "--output", "FSTYPE", "--target"])
                    .arg(work_dir),
            ),
            fsync_overwrite_ms: time_fsync(work_dir, Write::Overwrite)?,
            fsync_append_ms: time_fsync(work_dir, Write::Append)?,
        })
    }

    /// One Markdown bullet list.
    pub fn markdown(&self) -> String {
        format!(
            "- CPU: {} logical cores, {}\n- Memory: {:.1} GiB\n- Kernel: {}\n\
             - Work directory file system: {}. One 4 KiB write + `fdatasync` there \
             ({FSYNC_SAMPLES} samples each): overwriting a block of an existing file (a \
             write-ahead log in steady state) median {:.3} ms, p99 {:.3} ms; appending (the file \
             grows) median {:.3} ms, p99 {:.3} ms",
            self.cores,
            self.cpu_model,
            self.memory_bytes as f64 / (1024.0 * 1024.0 * 1024.0),
            self.kernel,
            self.work_filesystem,
            self.fsync_overwrite_ms.0,
            self.fsync_overwrite_ms.1,
            self.fsync_append_ms.0,
            self.fsync_append_ms.1,
        )
    }
}

/// The trimmed standard output of a command, or `unknown`.
pub fn command_output(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// How the timed writes treat the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Overwrite blocks of a file written and synced beforehand.
    Overwrite,
    /// Append to an empty file.
    Append,
}

fn time_fsync(work_dir: &Path, mode: Write) -> anyhow::Result<(f64, f64)> {
    use std::io::{Seek, SeekFrom, Write as _};
    let path = work_dir.join("fsync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let block = [0x5a_u8; 4096];
    if mode == Write::Overwrite {
        for _ in 0..FSYNC_SAMPLES {
            file.write_all(&block)?;
        }
        file.sync_all()?;
        file.seek(SeekFrom::Start(0))?;
    }
    let mut samples = Vec::with_capacity(FSYNC_SAMPLES);
    for _ in 0..FSYNC_SAMPLES {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    std::fs::remove_file(&path)?;
    samples.sort_by(f64::total_cmp);
    let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile).round() as usize];
    Ok((at(0.5), at(0.99)))
}
