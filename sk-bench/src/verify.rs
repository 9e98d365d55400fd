//! `sk-bench verify`: the end-to-end consistency verdict on one flash sale.
//!
//! Waits (bounded) for the pipeline to drain — the activity's outbox stream in Redis empty and
//! every order in Redis's `orders` hash in the MySQL ledger with the same status — then judges
//! DESIGN §6 invariants 1–5 over one snapshot of both stores, the purchases the load run was
//! told succeeded (a `flash` run file, optional) and the admin API's own reconciliation:
//!
//! 1. not oversold: Redis stock ≥ 0; units out ≤ `total_stock` in Redis and in MySQL;
//! 2. every success is exactly one order row; no invented or duplicate orders;
//! 3. no shopper over `per_user_limit`, in MySQL or in Redis's `bought`;
//! 4. after the drain, MySQL non-cancelled units == `total_stock − remaining`, and the
//!    reconciliation endpoint says consistent;
//! 5. stock and `bought` equal what the non-cancelled orders hold; one status per order.
//!
//! Talks to: MySQL (catalog + ledger, read only), Redis (the activity's keys, read only) and the
//! admin API (`GET /admin/v1/activities/{id}/reconciliation`, through the gateway or sk-admin).

mod admin;
mod checks;
mod cli;
mod drain;
mod ledger;
mod redis_state;
mod report;
mod sale;
mod snapshot;

use std::time::Duration;

use anyhow::{Context as _, bail};
use sk_common::domain::ActivityId;
use sk_common::events::OrderStatus;
use tokio::time::Instant;

pub use cli::{Args, main};
pub use report::{Figures, Invariant, Verdict};
pub use sale::{Confirmed, Sale};

use ledger::Ledger;
use redis_state::RedisReader;
use snapshot::{Limits, Snapshot};

/// Where the deployment under test is: its admin API and read access to its MySQL and Redis.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL of the admin API (the gateway, or sk-admin itself).
    pub admin_url: String,
    /// An admin JWT for the admin API.
    pub admin_token: String,
    /// The catalog and ledger database (`mysql://user@host:port/db`).
    pub mysql_url: String,
    /// The Redis the services use.
    pub redis_url: String,
    /// The services' Redis key prefix (`[redis] key_prefix`).
    pub key_prefix: String,
}

/// Waits (at most `drain_timeout`) for the pipeline to drain, then checks DESIGN §6
/// invariants 1–5. Not draining in time is a breach of invariant 4, not an error.
///
/// # Errors
/// When it could not verify: MySQL, Redis or the admin API cannot be read, or neither knows
/// the activity.
pub async fn verify(
    target: &Target,
    sale: &Sale,
    drain_timeout: Duration,
) -> anyhow::Result<Verdict> {
    let activity_id = sale.activity_id;
    let id = ActivityId::new(activity_id)
        .with_context(|| format!("{activity_id} is not an activity id"))?;
    let mut ledger = Ledger::connect(&target.mysql_url).await?;
    let mut redis = RedisReader::connect(&target.redis_url, &target.key_prefix, id).await?;
    let limits = limits(&mut ledger, &mut redis, activity_id).await?;
    let deadline = Instant::now() + drain_timeout;
    let judged = async {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (snapshot, drain) =
                drain::wait(&mut redis, &mut ledger, activity_id, limits, left).await?;
            let reconciliation = admin::reconcile(target, activity_id).await?;
            if reconciliation.agrees() || !drain.drained || Instant::now() >= deadline {
                return anyhow::Ok((snapshot, drain, reconciliation));
            }
            // sk-admin disagreed with a drained snapshot. If the sale moved meanwhile (a
            // reservation expired, say), the two reads saw different sales: read both again.
            // If it stood still, the disagreement is real.
            if redis.state().await? == snapshot.redis {
                return Ok((snapshot, drain, reconciliation));
            }
        }
    }
    .await;
    ledger.close().await;
    let (snapshot, drain, reconciliation) = judged?;
    let invariants = checks::check(
        &snapshot,
        sale.confirmed.as_deref(),
        &drain,
        &reconciliation,
    );
    let figures = figures(&snapshot, sale, &drain, &reconciliation);
    Ok(Verdict {
        figures,
        invariants,
    })
}

/// The activity's limits from the MySQL catalog, else from its Redis hash.
async fn limits(
    ledger: &mut Ledger,
    redis: &mut RedisReader,
    activity_id: u64,
) -> anyhow::Result<Limits> {
    if let Some(limits) = ledger.limits(activity_id).await? {
        return Ok(limits);
    }
    let state = redis.state().await?;
    match (state.total, state.per_user_limit) {
        (Some(total_stock), Some(per_user_limit)) => Ok(Limits {
            total_stock,
            per_user_limit,
        }),
        _ => bail!(
            "activity {activity_id} is neither in MySQL's catalog nor fully in Redis (is the database right?)"
        ),
    }
}

fn figures(
    snapshot: &Snapshot,
    sale: &Sale,
    drain: &drain::Drain,
    reconciliation: &admin::Reconciliation,
) -> Figures {
    Figures {
        activity_id: snapshot.activity_id,
        total_stock: snapshot.limits.total_stock,
        per_user_limit: snapshot.limits.per_user_limit,
        remaining: snapshot.redis.remaining,
        redis_taken: snapshot.redis_taken(),
        redis_orders: snapshot.redis.orders.len(),
        mysql_orders: snapshot.ledger.len(),
        units_reserved: snapshot.ledger_units(OrderStatus::Reserved),
        units_paid: snapshot.ledger_units(OrderStatus::Paid),
        units_cancelled: snapshot.ledger_units(OrderStatus::Cancelled),
        confirmed: sale.confirmed.as_ref().map(Vec::len),
        drained: drain.drained,
        waited: drain.waited,
        reconciliation_difference: reconciliation.difference,
        reconciliation_backlog: reconciliation.outbox_backlog,
    }
}
