//! A circuit breaker: after enough consecutive failures, stop calling a dependency for a while
//! and answer at once; then let a few probe calls through and close again when they succeed.
//!
//! The gateway keeps one per upstream instance and sk-app one for sk-core. Failing fast frees
//! the caller's slots and spares a struggling dependency the retries of a hundred thousand
//! shoppers; the half-open probes find out when it is back without a stampede.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::settings::{SettingsError, in_range};

/// How a breaker trips and recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// Milliseconds the breaker stays open before letting probes through.
    pub open_ms: u64,
    /// Probe calls allowed at once while half-open; that many successes in a row close it.
    pub half_open_probes: u32,
}

impl BreakerSettings {
    /// Checks the bounds of every field; `section` names them in the error (e.g. `breaker`).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the key.
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let key = |name: &str| format!("{section}.{name}");
        in_range(
            &key("failure_threshold"),
            self.failure_threshold.into(),
            1,
            10_000,
        )?;
        in_range(&key("open_ms"), self.open_ms, 10, 600_000)?;
        in_range(
            &key("half_open_probes"),
            self.half_open_probes.into(),
            1,
            1_000,
        )
    }

    fn open_for(&self) -> Duration {
        Duration::from_millis(self.open_ms)
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused until the open period ends.
    Open,
    /// A few probe calls pass; the rest are refused.
    HalfOpen,
}

impl BreakerState {
    /// A number for a gauge: 0 closed, 1 half-open, 2 open.
    #[must_use]
    pub const fn as_gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// A call refused because the breaker is open (or half-open with every probe slot taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerOpen {
    /// How long until the breaker lets probes through (at least a millisecond).
    pub retry_after: Duration,
}

#[derive(Debug)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probes: u32, successes: u32 },
}

#[derive(Debug)]
struct Inner {
    settings: BreakerSettings,
    phase: Phase,
}

/// A circuit breaker, shared by every clone.
#[derive(Debug, Clone)]
pub struct Breaker {
    inner: Arc<Mutex<Inner>>,
}

impl Breaker {
    /// A closed breaker.
    #[must_use]
    pub fn new(settings: BreakerSettings) -> Self {
        let inner = Inner {
            settings,
            phase: Phase::Closed { failures: 0 },
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// Asks to make one call.
    ///
    /// # Errors
    /// [`BreakerOpen`] when the call must not be made.
    pub fn try_acquire(&self) -> Result<BreakerPermit, BreakerOpen> {
        self.lock().acquire(Instant::now())?;
        Ok(BreakerPermit {
            breaker: self.clone(),
            settled: false,
        })
    }

    /// The current state (an open breaker whose period ended reports half-open).
    #[must_use]
    pub fn state(&self) -> BreakerState {
        match self.lock().phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } if Instant::now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is a few numbers updated in one step: still consistent after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn acquire(&mut self, now: Instant) -> Result<(), BreakerOpen> {
        if let Phase::Open { until } = self.phase {
            if now < until {
                return Err(BreakerOpen {
                    retry_after: (until - now).max(Duration::from_millis(1)),
                });
            }
            self.phase = Phase::HalfOpen {
                probes: 0,
                successes: 0,
            };
        }
        if let Phase::HalfOpen { probes, .. } = &mut self.phase {
            if *probes >= self.settings.half_open_probes {
                return Err(BreakerOpen {
                    retry_after: Duration::from_millis(1),
                });
            }
            *probes += 1;
        }
        Ok(())
    }

    fn settle(&mut self, verdict: Option<bool>, now: Instant) {
        let threshold = self.settings.failure_threshold;
        let needed = self.settings.half_open_probes;
        self.phase = match (&self.phase, verdict) {
            (Phase::Closed { .. }, Some(true)) => Phase::Closed { failures: 0 },
            (Phase::Closed { failures }, Some(false)) if failures + 1 < threshold => {
                Phase::Closed {
                    failures: failures + 1,
                }
            }
            (Phase::Closed { .. } | Phase::HalfOpen { .. }, Some(false)) => Phase::Open {
                until: now + self.settings.open_for(),
            },
            (&Phase::HalfOpen { successes, .. }, Some(true)) if successes + 1 >= needed => {
                Phase::Closed { failures: 0 }
            }
            (&Phase::HalfOpen { probes, successes }, Some(true)) => Phase::HalfOpen {
                probes: probes.saturating_sub(1),
                successes: successes + 1,
            },
            // A probe abandoned without an answer frees its slot and proves nothing.
            (&Phase::HalfOpen { probes, successes }, None) => Phase::HalfOpen {
                probes: probes.saturating_sub(1),
                successes,
            },
            (&Phase::Closed { failures }, None) => Phase::Closed { failures },
            // A call admitted before the breaker opened says nothing new.
            (&Phase::Open { until }, _) => Phase::Open { until },
        };
    }
}

/// Leave to make one call; say how it went with [`success`](Self::success) or
/// [`failure`](Self::failure). Dropped without a verdict (the caller gave up), it counts nothing.
#[derive(Debug)]
pub struct BreakerPermit {
    breaker: Breaker,
    settled: bool,
}

impl BreakerPermit {
    /// The call worked (the dependency answered, even with a client error).
    pub fn success(mut self) {
        self.settle(Some(true));
    }

    /// The call failed (no answer, a timeout, a server error).
    pub fn failure(mut self) {
        self.settle(Some(false));
    }

    fn settle(&mut self, verdict: Option<bool>) {
        self.settled = true;
        self.breaker.lock().settle(verdict, Instant::now());
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(None);
        }
    }
}

#[cfg(test)]
mod tests;
