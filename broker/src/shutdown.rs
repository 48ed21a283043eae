//! Stopping background work cleanly: a [`StopSwitch`] raised once by the owner, the
//! [`StopSignal`]s its tasks watch between units of work (never in the middle of one), and
//! [`BackgroundTasks`], the handles the owner joins so that nothing is left running.

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The owner's side: raising it tells every [`StopSignal`] made from it to stop.
#[derive(Debug)]
pub struct StopSwitch {
    raised: watch::Sender<bool>,
}

/// A task's side: resolves [`StopSignal::raised`] once the switch is raised, or once the switch
/// is gone (no owner is left to stop the task later).
#[derive(Debug, Clone)]
pub struct StopSignal {
    raised: watch::Receiver<bool>,
}

impl StopSwitch {
    /// A switch, not raised.
    pub fn new() -> Self {
        Self {
            raised: watch::Sender::new(false),
        }
    }

    /// A signal for one more task.
    pub fn signal(&self) -> StopSignal {
        StopSignal {
            raised: self.raised.subscribe(),
        }
    }

    /// Tells every signal to stop (again is harmless).
    pub fn raise(&self) {
        self.raised.send_replace(true);
    }
}

impl Default for StopSwitch {
    fn default() -> Self {
        Self::new()
    }
}

impl StopSignal {
    /// Waits until the switch is raised (or dropped). Cancel-safe: meant for `select!` against
    /// an idle wait.
    pub async fn raised(&mut self) {
        let _ = self.raised.wait_for(|raised| *raised).await;
    }

    /// Whether the switch is raised (or dropped) now.
    pub fn is_raised(&self) -> bool {
        *self.raised.borrow() || self.raised.has_changed().is_err()
    }
}

/// Spawned tasks, by name, to join at shutdown.
#[derive(Debug, Default)]
pub struct BackgroundTasks {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl BackgroundTasks {
    /// Adds a spawned task.
    pub fn push(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.tasks.push((name, task));
    }

    /// Waits for every task to end, in the order they were added. A task that panicked is
    /// logged; none is aborted.
    pub async fn join_all(self) {
        for (name, task) in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, task = name, "a background task failed");
            }
        }
    }
}
