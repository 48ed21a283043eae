//! CPU time and peak memory of the processes under test, read from `/proc`.
//!
//! CPU seconds are `utime + stime` of `/proc/<pid>/stat`, summed over a process and its
//! direct children (nginx's workers); the difference of two samples is the CPU a phase used.
//! Peak RSS is `VmHWM` of `/proc/<pid>/status`. Before each measured phase the harness resets
//! the high-water mark (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0), so the peak belongs to
//! that phase; when the reset is refused the peak is the process's lifetime peak, and the
//! report says so.

use std::path::PathBuf;

use anyhow::Context;

/// One process (or process tree) whose resources are reported under a name.
#[derive(Debug, Clone)]
pub struct Monitored {
    /// The name in the report, e.g. `kruispunt` or `nginx`.
    pub name: String,
    /// The process id of the root process.
    pub pid: u32,
    /// Also count the direct children (nginx's master forks its workers).
    pub with_children: bool,
}

/// Resources of one monitored process tree at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Peak resident set size in bytes, summed over the tree (an upper bound for shared pages).
    pub peak_rss_bytes: u64,
}

impl Monitored {
    /// The benchmark process itself.
    pub fn this_process(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            pid: std::process::id(),
            with_children: false,
        }
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.pid];
        if self.with_children {
            pids.extend(children_of(self.pid));
        }
        pids
    }

    /// Reads the current usage.
    pub fn usage(&self) -> anyhow::Result<Usage> {
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let mut usage = Usage::default();
        for pid in self.pids() {
            usage.cpu_seconds += cpu_ticks(pid)? as f64 / ticks;
            usage.peak_rss_bytes += peak_rss_bytes(pid)?;
        }
        Ok(usage)
    }

    /// Resets the peak-RSS mark of every process in the tree. `false` when the kernel refused.
    pub fn reset_peak(&self) -> bool {
        self.pids()
            .into_iter()
            .all(|pid| std::fs::write(proc_path(pid, "clear_refs"), b"5").is_ok())
    }
}

fn proc_path(pid: u32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

/// CPU seconds every process on the machine has used since boot (the `cpu` line of
/// `/proc/stat`: user, nice, system, irq, softirq and steal; guest time is inside user).
pub fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let busy = parse_machine_busy_ticks(&stat).context("no cpu line in /proc/stat")?;
    Ok(busy as f64 / rustix::param::clock_ticks_per_second() as f64)
}

fn parse_machine_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal …
    let [user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = values[..] else {
        return None;
    };
    Some(user + nice + system + irq + softirq + steal)
}

/// `utime + stime` in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = proc_path(pid, "stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    parse_cpu_ticks(&stat).with_context(|| format!("parsing {path:?}"))
}

/// Fields after the command name (which may hold spaces and parentheses): state is field 3,
/// utime 14 and stime 15 (1-based, `proc(5)`).
fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let after_name = stat
        .rfind(')')
        .map(|end| &stat[end + 1..])
        .context("no command name")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| -> anyhow::Result<u64> {
        // `fields[0]` is field 3 (state).
        let text = fields.get(number - 3).context("too few fields")?;
        Ok(text.parse()?)
    };
    Ok(field(14)? + field(15)?)
}

/// `VmHWM` in bytes.
fn peak_rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = proc_path(pid, "status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    parse_kib_field(&status, "VmHWM:")
        .map(|kib| kib * 1024)
        .with_context(|| format!("no VmHWM in {path:?}"))
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status` or `/proc/meminfo`, in KiB.
pub fn parse_kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// Direct children of `parent` (scans `/proc`; processes that vanish meanwhile are skipped).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(proc_path(pid, "stat"))
                .ok()
                .and_then(|stat| parent_pid(&stat))
                == Some(parent)
        })
        .collect()
}

/// Field 4 of `/proc/<pid>/stat`.
fn parent_pid(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 90 0 0 0 \
                        17 5 0 0 20 0 1 0 1234 12345678 321 18446744073709551615";

    #[test]
    fn reads_cpu_ticks_and_parent_after_a_tricky_command_name() {
        assert_eq!(parse_cpu_ticks(STAT).ok(), Some(22));
        assert_eq!(parent_pid(STAT), Some(4241));
    }

    #[test]
    fn reads_machine_busy_ticks() {
        let stat = "cpu  10 1 5 900 7 2 3 4 0 0\ncpu0 5 0 2 450 3 1 1 2 0 0\n";
        assert_eq!(parse_machine_busy_ticks(stat), Some(25));
        assert_eq!(parse_machine_busy_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1536 kB\n";
        assert_eq!(parse_kib_field(status, "VmHWM:"), Some(1536));
        assert_eq!(parse_kib_field(status, "VmRSS:"), None);
    }

    #[test]
    fn measures_this_process() -> anyhow::Result<()> {
        let usage = Monitored::this_process("self").usage()?;
        assert!(usage.peak_rss_bytes > 0);
        Ok(())
    }
}
