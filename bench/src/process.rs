//! Server processes started by the harness, and the guarantee that none outlives it.
//!
//! Every server runs in its own process group (so nginx's workers go with their master), with
//! its output in a log file in the run's work directory. Dropping a [`ServerProcess`] kills the
//! whole group with `SIGKILL` and reaps the child, on success, on error and on Ctrl-C alike.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal, kill_process_group};

use crate::procstat::Monitored;

/// A running server; killed (with its process group) when dropped.
pub struct ServerProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` in a new process group, stdout and stderr to `<log_dir>/<name>.log`.
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> anyhow::Result<Self> {
        let log = log_dir.join(format!("{name}.log"));
        let output = File::create(&log).with_context(|| format!("creating {log:?}"))?;
        command
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
        })
    }

    /// What to measure: this process, with its children when `with_children`.
    pub fn monitored(&self, with_children: bool) -> Monitored {
        Monitored {
            name: self.name.clone(),
            pid: self.child.id(),
            with_children,
        }
    }

    /// Waits until the server accepts TCP connections on `address`, failing early if it exits.
    pub fn wait_listening(&mut self, address: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before listening on {address}; its log {:?}:\n{}",
                    self.name,
                    self.log,
                    self.log_tail()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} is not listening on {address} after {timeout:?}; its log {:?}:\n{}",
                    self.name,
                    self.log,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fails if the server has exited (e.g. crashed under load).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!(
                "{} exited ({status}); its log {:?}:\n{}",
                self.name,
                self.log,
                self.log_tail()
            ),
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // The child leads its own group (`process_group(0)`), so its pid is the group id.
        if let Some(group) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process_group(group, Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound and released; the server started next binds it).
pub fn free_loopback_address() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

/// Runs a short command to completion, failing with its output if it fails.
pub fn run_to_completion(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{:?} failed ({}): {}{}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
