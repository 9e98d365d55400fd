//! One shutdown story: SIGINT/SIGTERM → one [`CancellationToken`] handed down explicitly →
//! every task of the service in one [`Tasks`] set → drained under a grace period → whatever is
//! still running is aborted and counted in the log.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
pub use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. Only binaries call this; libraries
/// receive the token they are given.
#[must_use]
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutting down");
        cancel.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the process with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}

/// Runs `chore` every `period` (the first time one period from now) until `shutdown` fires:
/// the housekeeping of in-memory state (idle rate-limit buckets, histogram samples).
pub async fn every(period: Duration, shutdown: CancellationToken, mut chore: impl FnMut()) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => chore(),
        }
    }
}

/// A task of a service stopped with an error (or panicked).
#[derive(Debug, thiserror::Error)]
#[error("task {task} failed: {reason}")]
pub struct TaskFailed {
    pub task: &'static str,
    pub reason: String,
}

/// The long-running tasks of one service (HTTP server, relays, reapers, …).
#[derive(Debug)]
pub struct Tasks {
    set: JoinSet<(&'static str, Result<(), String>)>,
    shutdown: CancellationToken,
}

impl Tasks {
    /// An empty set; `shutdown` is the token every task watches.
    #[must_use]
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            set: JoinSet::new(),
            shutdown,
        }
    }

    /// The token every task of this set watches.
    #[must_use]
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts `task`. A task that returns `Ok` early simply ends; one that fails shuts the
    /// whole service down.
    pub fn spawn<F, E>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        self.set
            .spawn(async move { (name, task.await.map_err(|e| e.to_string())) });
    }

    /// Runs until the token fires or a task fails, then gives the rest `grace` to finish and
    /// aborts what remains.
    ///
    /// # Errors
    /// The first task failure, if any.
    pub async fn run(mut self, grace: Duration) -> Result<(), TaskFailed> {
        let mut failure = self.until_shutdown().await;
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => {
                    let aborted = self.set.len();
                    self.set.abort_all();
                    tracing::warn!(aborted, grace_secs = grace.as_secs(), "grace period over; aborted the remaining tasks");
                    break;
                }
                joined = self.set.join_next() => match joined {
                    None => break,
                    Some(outcome) => {
                        if let Some(failed) = settle(outcome) {
                            failure.get_or_insert(failed);
                        }
                    }
                },
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn until_shutdown(&mut self) -> Option<TaskFailed> {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                joined = self.set.join_next() => match joined {
                    None => return None,
                    Some(outcome) => {
                        if let Some(failed) = settle(outcome) {
                            tracing::error!(error = %failed, "shutting down");
                            self.shutdown.cancel();
                            return Some(failed);
                        }
                    }
                },
            }
        }
    }
}

type Joined = Result<(&'static str, Result<(), String>), tokio::task::JoinError>;

fn settle(outcome: Joined) -> Option<TaskFailed> {
    match outcome {
        Ok((task, Ok(()))) => {
            tracing::debug!(task, "task finished");
            None
        }
        Ok((task, Err(reason))) => Some(TaskFailed { task, reason }),
        Err(e) if e.is_cancelled() => None,
        Err(e) => Some(TaskFailed {
            task: "unknown",
            reason: format!("panicked: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests;
