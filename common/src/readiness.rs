//! Readiness: the probes behind `/readyz`, run concurrently, each under a timeout.
//!
//! A *required* dependency failing makes the service not ready (503); an *observed* one is
//! reported but does not, so that, say, the admin API being down never takes shoppers offline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, join_all};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Something `/readyz` can ask "do you answer?".
pub trait Probe: Send + Sync + 'static {
    /// `Ok` when the dependency answers; otherwise a reason a person can act on.
    fn probe(&self) -> BoxFuture<'_, Result<(), String>>;
}

#[derive(Clone)]
struct Check {
    name: &'static str,
    required: bool,
    probe: Arc<dyn Probe>,
}

/// The set of dependency checks of one service. Cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    checks: Arc<[Check]>,
    timeout: Duration,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|c| c.name).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

/// Builds a [`Readiness`].
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct ReadinessBuilder {
    checks: Vec<Check>,
}

impl ReadinessBuilder {
    /// Adds a dependency the service cannot serve without.
    #[must_use]
    pub fn require(mut self, name: &'static str, probe: impl Probe) -> Self {
        self.checks.push(Check {
            name,
            required: true,
            probe: Arc::new(probe),
        });
        self
    }

    /// Adds a dependency that is reported but does not decide readiness.
    #[must_use]
    pub fn observe(mut self, name: &'static str, probe: impl Probe) -> Self {
        self.checks.push(Check {
            name,
            required: false,
            probe: Arc::new(probe),
        });
        self
    }

    /// Finishes; every probe gets `timeout` per `/readyz` call.
    #[must_use]
    pub fn build(self, timeout: Duration) -> Readiness {
        Readiness {
            checks: self.checks.into(),
            timeout,
        }
    }
}

/// The outcome of one check, as served by `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckReport {
    pub name: String,
    pub required: bool,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// The outcome of all checks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReadinessReport {
    pub ready: bool,
    pub checks: Vec<CheckReport>,
}

impl ReadinessReport {
    /// `name: reason` of every failed required check, joined for a human.
    #[must_use]
    pub fn reason(&self) -> String {
        self.checks
            .iter()
            .filter(|c| c.required && !c.ok)
            .map(|c| format!("{}: {}", c.name, c.error.as_deref().unwrap_or("failed")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Readiness {
    /// Starts building a set of checks.
    #[must_use]
    pub fn builder() -> ReadinessBuilder {
        ReadinessBuilder::default()
    }

    /// Runs every probe concurrently, each bounded by the timeout.
    pub async fn report(&self) -> ReadinessReport {
        let checks = join_all(self.checks.iter().map(|check| self.run(check))).await;
        let ready = checks.iter().all(|c| c.ok || !c.required);
        ReadinessReport { ready, checks }
    }

    async fn run(&self, check: &Check) -> CheckReport {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, check.probe.probe()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        CheckReport {
            name: check.name.to_owned(),
            required: check.required,
            ok: outcome.is_ok(),
            error: outcome.err(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// A condition that a background task reports on, e.g. "migrations applied".
#[derive(Debug, Clone)]
pub struct Gate {
    state: watch::Receiver<Result<(), String>>,
}

/// The side of a [`Gate`] held by the task doing the work.
#[derive(Debug)]
pub struct GateHandle {
    state: watch::Sender<Result<(), String>>,
}

impl Gate {
    /// A closed gate that says `pending` until its handle opens it.
    #[must_use]
    pub fn closed(pending: impl Into<String>) -> (Self, GateHandle) {
        let (tx, rx) = watch::channel(Err(pending.into()));
        (Self { state: rx }, GateHandle { state: tx })
    }
}

impl GateHandle {
    /// Opens the gate.
    pub fn open(&self) {
        let _previous = self.state.send_replace(Ok(()));
    }

    /// Keeps the gate closed with a new reason.
    pub fn fail(&self, reason: impl Into<String>) {
        let _previous = self.state.send_replace(Err(reason.into()));
    }
}

impl Probe for Gate {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        let state = self.state.borrow().clone();
        Box::pin(async move { state })
    }
}

/// Probes an HTTP endpoint (another service's `/healthz`): any 2xx is healthy.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    client: reqwest::Client,
    url: String,
}

impl HttpProbe {
    /// A probe of `url` over `client`.
    #[must_use]
    pub fn new(client: reqwest::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl Probe for HttpProbe {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let response = self
                .client
                .get(&self.url)
                .send()
                .await
                .map_err(|e| format!("{}: {}", self.url, error_chain(&e)))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("{} answered {}", self.url, response.status()))
            }
        })
    }
}

/// An error and its sources on one line ("error sending request: connection refused").
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Healthy when any one of several probes is (a pool of upstream instances).
#[derive(Debug, Clone)]
pub struct AnyOf<P>(pub Vec<P>);

impl<P: Probe> Probe for AnyOf<P> {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let outcomes = join_all(self.0.iter().map(Probe::probe)).await;
            if outcomes.iter().any(Result::is_ok) {
                return Ok(());
            }
            let reasons: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
            if reasons.is_empty() {
                Err("no instances configured".to_owned())
            } else {
                Err(format!("no instance answers ({})", reasons.join("; ")))
            }
        })
    }
}

/// An HTTP client for probing other services: short timeouts, no proxy.
#[must_use]
pub fn probe_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
