//! Active health: every instance's `GET /healthz` on an interval (a success brings an ejected
//! instance back), the per-instance gauges, and the pool as a `/readyz` dependency.

use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use sk_common::readiness::{AnyOf, HttpProbe, Probe};
use sk_common::shutdown::CancellationToken;

use super::{Instance, Pool};

fn health_probe(client: &reqwest::Client, instance: &Instance) -> HttpProbe {
    HttpProbe::new(
        client.clone(),
        format!("http://{}/healthz", instance.addr()),
    )
}

/// Probes every instance of `pool` every `every` until `shutdown`; `client` bounds
/// each probe with its timeout.
///
/// # Errors
/// Never; the signature fits [`sk_common::shutdown::Tasks::spawn`].
pub async fn keep_probing(
    pool: Pool,
    client: reqwest::Client,
    every: Duration,
    shutdown: CancellationToken,
) -> Result<(), String> {
    // Instances start in rotation; the first probe comes one interval after start-up.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => probe_all(&pool, &client).await,
        }
    }
}

async fn probe_all(pool: &Pool, client: &reqwest::Client) {
    let instances = pool.instances();
    let outcomes = join_all(
        instances
            .iter()
            .map(|instance| async move { health_probe(client, instance).probe().await }),
    )
    .await;
    for (instance, outcome) in instances.iter().zip(outcomes) {
        if let Err(reason) = &outcome {
            tracing::debug!(family = pool.family(), upstream = %instance.addr(), %reason, "health probe failed");
        }
        pool.probed(instance, outcome.is_ok());
        record_gauges(pool.family(), instance);
    }
}

fn record_gauges(family: &'static str, instance: &Instance) {
    let upstream = instance.addr().to_string();
    metrics::gauge!(crate::metrics::UPSTREAM_EJECTED, "route" => family, "upstream" => upstream.clone())
        .set(f64::from(u8::from(instance.is_ejected())));
    metrics::gauge!(crate::metrics::BREAKER_STATE, "route" => family, "upstream" => upstream)
        .set(instance.breaker().state().as_gauge());
}

/// The pool as a readiness dependency: ready when any current instance answers `/healthz`.
#[derive(Debug, Clone)]
pub struct PoolReadiness {
    pool: Pool,
    client: reqwest::Client,
}

impl PoolReadiness {
    /// Probes `pool`'s instances over `client`.
    #[must_use]
    pub fn new(pool: Pool, client: reqwest::Client) -> Self {
        Self { pool, client }
    }
}

impl Probe for PoolReadiness {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        let probes = self
            .pool
            .instances()
            .iter()
            .map(|instance| health_probe(&self.client, instance))
            .collect();
        Box::pin(async move {
            let pool = AnyOf(probes);
            if pool.0.is_empty() {
                return Err("no instance resolved yet".to_owned());
            }
            pool.probe().await
        })
    }
}
