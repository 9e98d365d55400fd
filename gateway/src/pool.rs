//! The instances behind one route family and the choice of one for each attempt.
//!
//! An instance takes traffic while it is not ejected and its circuit breaker admits the call;
//! among those, smooth weighted round-robin decides. Consecutive failures (passive: connect
//! errors, timeouts, 5xx other than 503; active: failed `/healthz` probes) eject an instance; only a
//! successful probe brings it back. DNS look-ups ([`discovery`]) replace the instance set,
//! keeping the state of addresses that stay.

pub mod discovery;
pub mod health;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sk_common::breaker::{Breaker, BreakerPermit, BreakerSettings};

use crate::balance::SmoothWeighted;
use crate::error::Error;
use crate::settings::UpstreamSpec;

/// `Retry-After` when no instance is up and no breaker says when one will be.
const UNKNOWN_WAIT: Duration = Duration::from_secs(1);

/// One upstream address.
#[derive(Debug)]
pub struct Instance {
    addr: SocketAddr,
    weight: u32,
    breaker: Breaker,
    failures: AtomicU32,
    ejected: AtomicBool,
}

impl Instance {
    fn new(addr: SocketAddr, weight: u32, breaker: BreakerSettings) -> Self {
        Self {
            addr,
            weight,
            breaker: Breaker::new(breaker),
            failures: AtomicU32::new(0),
            ejected: AtomicBool::new(false),
        }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its circuit breaker.
    #[must_use]
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Whether consecutive failures took it out of rotation.
    #[must_use]
    pub fn is_ejected(&self) -> bool {
        self.ejected.load(Ordering::Relaxed)
    }
}

/// The instances of one route family. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    family: &'static str,
    specs: Vec<UpstreamSpec>,
    breaker: BreakerSettings,
    eject_after: u32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    instances: Vec<Arc<Instance>>,
    rotation: SmoothWeighted,
}

impl Pool {
    /// A pool for `family` (`app`, `admin`) holding the IP-literal upstreams at once; host
    /// names join when [`discovery`] resolves them.
    #[must_use]
    pub fn new(
        family: &'static str,
        specs: Vec<UpstreamSpec>,
        breaker: BreakerSettings,
        eject_after: u32,
    ) -> Self {
        let literals: Vec<(SocketAddr, u32)> = specs
            .iter()
            .filter_map(|spec| Some((SocketAddr::new(spec.ip()?, spec.port()), spec.weight())))
            .collect();
        let pool = Self {
            inner: Arc::new(Inner {
                family,
                specs,
                breaker,
                eject_after,
                state: Mutex::new(State::default()),
            }),
        };
        pool.replace(&literals);
        pool
    }

    /// The route family, for logs and metric labels.
    #[must_use]
    pub fn family(&self) -> &'static str {
        self.inner.family
    }

    /// The configured upstreams.
    #[must_use]
    pub fn specs(&self) -> &[UpstreamSpec] {
        &self.inner.specs
    }

    /// The current instances, in configuration order.
    #[must_use]
    pub fn instances(&self) -> Vec<Arc<Instance>> {
        self.lock().instances.clone()
    }

    /// Sets the instances to `addrs` (address, weight); an address that stays keeps its
    /// health and breaker. The rotation restarts only when the set changed.
    pub fn replace(&self, addrs: &[(SocketAddr, u32)]) {
        let mut state = self.lock();
        let unchanged = state.instances.len() == addrs.len()
            && state
                .instances
                .iter()
                .zip(addrs)
                .all(|(old, (addr, weight))| old.addr == *addr && old.weight == *weight);
        if unchanged {
            return;
        }
        let instances: Vec<Arc<Instance>> = addrs
            .iter()
            .map(|&(addr, weight)| {
                state
                    .instances
                    .iter()
                    .find(|old| old.addr == addr && old.weight == weight)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Instance::new(addr, weight, self.inner.breaker)))
            })
            .collect();
        tracing::info!(family = self.inner.family, instances = ?addrs, "upstream instances changed");
        state.rotation = SmoothWeighted::new(instances.iter().map(|i| i.weight));
        state.instances = instances;
    }

    /// Chooses an instance for one attempt, skipping those already `tried`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when every instance is ejected, tried or refused by its breaker
    /// (the soonest breaker reopening sets `Retry-After`).
    pub fn lease(&self, tried: &[SocketAddr]) -> Result<Lease, Error> {
        let mut state = self.lock();
        let State {
            instances,
            rotation,
        } = &mut *state;
        let mut refused = vec![false; instances.len()];
        let mut wait: Option<Duration> = None;
        loop {
            let eligible = |i: usize| {
                let instance: &Instance = &instances[i];
                !refused[i] && !instance.is_ejected() && !tried.contains(&instance.addr)
            };
            let Some(chosen) = rotation.pick(eligible) else {
                return Err(Error::Unavailable {
                    family: self.inner.family,
                    retry_after: wait.unwrap_or(UNKNOWN_WAIT),
                });
            };
            let instance = &instances[chosen];
            match instance.breaker.try_acquire() {
                Ok(permit) => {
                    return Ok(Lease {
                        instance: Arc::clone(instance),
                        permit,
                        eject_after: self.inner.eject_after,
                        family: self.inner.family,
                    });
                }
                Err(open) => {
                    refused[chosen] = true;
                    wait = Some(wait.map_or(open.retry_after, |w| w.min(open.retry_after)));
                }
            }
        }
    }

    /// Records an active probe's result.
    pub fn probed(&self, instance: &Instance, healthy: bool) {
        if healthy {
            instance.failures.store(0, Ordering::Relaxed);
            if instance.ejected.swap(false, Ordering::Relaxed) {
                tracing::info!(family = self.inner.family, upstream = %instance.addr, "upstream instance back in rotation");
            }
        } else {
            failed(instance, self.inner.eject_after, self.inner.family);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update replaces the state in one step: still consistent after a panic.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a failure; the one that reaches `eject_after` takes the instance out of rotation.
fn failed(instance: &Instance, eject_after: u32, family: &'static str) {
    let failures = instance.failures.fetch_add(1, Ordering::Relaxed) + 1;
    if failures >= eject_after && !instance.ejected.swap(true, Ordering::Relaxed) {
        tracing::warn!(family, upstream = %instance.addr, failures, "upstream instance ejected");
    }
}

/// One attempt on one instance; report how it went with [`succeeded`](Self::succeeded) or
/// [`failed`](Self::failed). Dropped without a verdict (the client left), it counts nothing.
#[derive(Debug)]
pub struct Lease {
    instance: Arc<Instance>,
    permit: BreakerPermit,
    eject_after: u32,
    family: &'static str,
}

impl Lease {
    /// The instance's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.instance.addr
    }

    /// The instance answered (any status below 500).
    pub fn succeeded(self) {
        self.instance.failures.store(0, Ordering::Relaxed);
        self.permit.success();
    }

    /// The instance could not be reached, timed out or answered 5xx.
    pub fn failed(self) {
        failed(&self.instance, self.eject_after, self.family);
        self.permit.failure();
    }
}

#[cfg(test)]
mod tests;
