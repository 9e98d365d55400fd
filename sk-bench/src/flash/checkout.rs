//! What buyers do after buying, while the wave goes on: pay at once, cancel at once (the unit
//! returns to stock and a later shopper of the same wave may get it), or abandon the order
//! (sk-core's reaper expires it after the payment timeout and the unit returns then).
//!
//! Each buyer's fate is drawn from their shopper number, so a rerun with the same settings
//! makes the same choices.

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::load::{Answer, Outcome};
use crate::sale_api::{SaleApi, ShopperToken};

use super::wave::Bought;

/// Payments and cancellations in flight at once.
const CHECKOUT_CONCURRENCY: usize = 64;
/// Time on top of the payment timeout for the reaper to expire abandoned orders.
const EXPIRY_GRACE: Duration = Duration::from_secs(60);

/// What one buyer does with their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Pays at once.
    Pay,
    /// Cancels at once.
    Cancel,
    /// Does nothing: the order expires.
    Abandon,
}

impl Fate {
    /// `pay`, `cancel` or `abandon`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Cancel => "cancel",
            Self::Abandon => "abandon",
        }
    }
}

/// The shares of buyers who pay and who abandon; the rest cancel.
#[derive(Debug, Clone, Copy)]
pub struct Fates {
    pay: f64,
    abandon: f64,
}

impl Fates {
    /// `pay` and `abandon` are shares in 0–1 that add up to at most 1.
    ///
    /// # Errors
    /// When they are out of range.
    pub fn new(pay: f64, abandon: f64) -> anyhow::Result<Self> {
        ensure!(
            (0.0..=1.0).contains(&pay) && (0.0..=1.0).contains(&abandon) && pay + abandon <= 1.0,
            "--pay-fraction and --abandon-fraction must be in 0–1 and add up to at most 1"
        );
        Ok(Self { pay, abandon })
    }

    /// Every buyer pays.
    #[must_use]
    pub const fn all_pay() -> Self {
        Self {
            pay: 1.0,
            abandon: 0.0,
        }
    }

    /// The fate of shopper number `shopper`.
    #[must_use]
    pub fn fate(&self, shopper: u64) -> Fate {
        let draw = unit_interval(shopper);
        if draw < self.pay {
            Fate::Pay
        } else if draw < self.pay + self.abandon {
            Fate::Abandon
        } else {
            Fate::Cancel
        }
    }
}

/// A number in [0, 1) from `n`, spread evenly (splitmix64's finaliser).
fn unit_interval(n: u64) -> f64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The running checkout: orders queued to it are paid, cancelled or left, in the background.
#[derive(Debug)]
pub struct Checkout {
    queue: CheckoutQueue,
    worker: tokio::task::JoinHandle<Settlement>,
}

/// Where a wave hands its orders to the checkout (cheap to clone, one per call).
#[derive(Debug, Clone)]
pub struct CheckoutQueue(mpsc::UnboundedSender<Bought>);

impl CheckoutQueue {
    /// Hands an order to the checkout.
    pub fn push(&self, bought: Bought) {
        // Fails only once the checkout has finished, when no wave is buying any more.
        let _ = self.0.send(bought);
    }
}

impl Checkout {
    /// Starts the background checkout.
    #[must_use]
    pub fn start(api: SaleApi, shoppers: Arc<Vec<ShopperToken>>) -> Self {
        let (queue, orders) = mpsc::unbounded_channel();
        Self {
            queue: CheckoutQueue(queue),
            worker: tokio::spawn(settle_all(api, shoppers, orders)),
        }
    }

    /// Where to hand orders.
    #[must_use]
    pub fn queue(&self) -> CheckoutQueue {
        self.queue.clone()
    }

    /// Waits until every queued order is settled and returns the tally. The queues handed
    /// out must be gone by then (the wave that used them has ended), or this waits for them.
    pub async fn finish(self) -> Settlement {
        drop(self.queue);
        self.worker.await.unwrap_or_default()
    }
}

async fn settle_all(
    api: SaleApi,
    shoppers: Arc<Vec<ShopperToken>>,
    mut orders: mpsc::UnboundedReceiver<Bought>,
) -> Settlement {
    let permits = Arc::new(Semaphore::new(CHECKOUT_CONCURRENCY));
    let mut running = JoinSet::new();
    let mut tally = Settlement::default();
    while let Some(bought) = orders.recv().await {
        if bought.fate == Fate::Abandon {
            tally.abandoned += 1;
            continue;
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let (api, shoppers) = (api.clone(), Arc::clone(&shoppers));
        running.spawn(async move {
            let answer = settle(&api, &shoppers, &bought).await;
            drop(permit);
            (bought.fate, answer)
        });
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok((fate, answer)) => tally.count(fate, &answer),
            Err(e) => tally.fail(format!("a checkout task failed: {e}")),
        }
    }
    tally
}

async fn settle(api: &SaleApi, shoppers: &[ShopperToken], bought: &Bought) -> Answer {
    let Some(shopper) = usize::try_from(bought.shopper)
        .ok()
        .and_then(|i| shoppers.get(i))
    else {
        return Answer::failed(Outcome::Transport, "unknown shopper");
    };
    match bought.fate {
        Fate::Pay => api.pay(shopper, &bought.order_id, &bought.token).await,
        Fate::Cancel => api.cancel(shopper, &bought.order_id).await,
        Fate::Abandon => Answer::of(Outcome::Ok),
    }
}

/// How the orders ended up.
#[derive(Debug, Default, Clone)]
pub struct Settlement {
    paid: u64,
    cancelled: u64,
    abandoned: u64,
    expired: u64,
    failed: u64,
    first_failure: Option<String>,
}

impl Settlement {
    fn count(&mut self, fate: Fate, answer: &Answer) {
        match (fate, answer.outcome) {
            (Fate::Pay, Outcome::Ok) => self.paid += 1,
            (Fate::Cancel, Outcome::Ok) => self.cancelled += 1,
            (_, outcome) => {
                let detail = answer
                    .detail
                    .clone()
                    .unwrap_or_else(|| outcome.name().to_owned());
                self.fail(format!("{} failed: {detail}", fate.name()));
            }
        }
    }

    fn fail(&mut self, why: String) {
        self.failed += 1;
        self.first_failure.get_or_insert(why);
    }

    /// Orders paid.
    #[must_use]
    pub const fn paid(&self) -> u64 {
        self.paid
    }

    /// Orders cancelled by their buyer.
    #[must_use]
    pub const fn cancelled(&self) -> u64 {
        self.cancelled
    }

    /// Orders left unpaid.
    #[must_use]
    pub const fn abandoned(&self) -> u64 {
        self.abandoned
    }

    /// Abandoned orders seen expired.
    #[must_use]
    pub const fn expired(&self) -> u64 {
        self.expired
    }

    /// Notes that `n` abandoned orders have expired.
    pub fn record_expired(&mut self, n: u64) {
        self.expired += n;
    }

    /// Adds a later wave's tally.
    pub fn absorb(&mut self, other: &Self) {
        self.paid += other.paid;
        self.cancelled += other.cancelled;
        self.abandoned += other.abandoned;
        self.expired += other.expired;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure.clone_from(&other.first_failure);
        }
    }

    /// One line: what the buyers did.
    pub fn print(&self) {
        println!(
            "checkout: {} paid · {} cancelled · {} abandoned · {} failed",
            self.paid, self.cancelled, self.abandoned, self.failed
        );
        if let Some(why) = &self.first_failure {
            println!("  first failure: {why}");
        }
    }

    /// The tally as JSON.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "paid": self.paid,
            "cancelled": self.cancelled,
            "abandoned": self.abandoned,
            "expired": self.expired,
            "failed": self.failed,
            "first_failure": self.first_failure,
        })
    }
}

/// Waits until every abandoned order in `bought` shows `cancelled` to its owner (the reaper
/// expired it), at most the payment timeout plus a minute; returns how many expired.
///
/// # Errors
/// When some are still reserved at the deadline.
pub async fn await_expiry(
    api: &SaleApi,
    shoppers: &[ShopperToken],
    bought: &[Bought],
    payment_timeout_secs: u64,
) -> anyhow::Result<u64> {
    let mut waiting: Vec<&Bought> = bought.iter().filter(|b| b.fate == Fate::Abandon).collect();
    let total = waiting.len() as u64;
    println!(
        "waiting for {total} abandoned orders to expire (payment timeout {payment_timeout_secs} s)…"
    );
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(payment_timeout_secs) + EXPIRY_GRACE;
    while !waiting.is_empty() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{} abandoned orders were still reserved {} s after the payment timeout",
            waiting.len(),
            EXPIRY_GRACE.as_secs()
        );
        let mut still = Vec::new();
        for order in waiting {
            if !has_expired(api, shoppers, order).await {
                still.push(order);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(total)
}

async fn has_expired(api: &SaleApi, shoppers: &[ShopperToken], order: &Bought) -> bool {
    let Some(shopper) = usize::try_from(order.shopper)
        .ok()
        .and_then(|i| shoppers.get(i))
    else {
        return true;
    };
    api.order(shopper, &order.order_id)
        .await
        .is_some_and(|o| o["status"] == "cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_follow_the_shares() {
        let fates = Fates::new(0.7, 0.2).unwrap();
        let n = 100_000;
        let count = |fate| (0..n).filter(|&i| fates.fate(i) == fate).count() as f64 / n as f64;
        assert!((count(Fate::Pay) - 0.7).abs() < 0.01);
        assert!((count(Fate::Abandon) - 0.2).abs() < 0.01);
        assert!((count(Fate::Cancel) - 0.1).abs() < 0.01);
    }

    #[test]
    fn shares_out_of_range_are_refused() {
        assert!(Fates::new(0.8, 0.3).is_err());
        assert!(Fates::new(-0.1, 0.0).is_err());
        assert!(Fates::new(1.0, 0.0).is_ok());
    }
}
