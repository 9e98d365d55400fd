//! A throw-away activity for the reserve benchmarks: open now, stock and per-user limit so
//! large that no call is refused, and a payment timeout longer than any run so the reaper
//! never restocks mid-measurement (which would add work and blur the stock check).
//! Talks to: Redis directly (the activity hash, the registry, the script cache).

use anyhow::Context as _;
use redis::aio::MultiplexedConnection;
use sk_common::domain::{ActivityId, PriceCents};
use sk_common::stock::{ActivityKeys, ActivitySpec, Inventory, RESERVE_SOURCE};
use sk_common::time::now_ms;

/// Units for sale: far more than any run reserves, within the script's integer range.
const STOCK: u32 = 2_000_000_000;
/// One hour: longer than any benchmark, so nothing expires while it runs.
const PAYMENT_TIMEOUT_MS: u64 = 3_600_000;
/// The sale window opens a minute ago and closes in a day (clock skew cannot matter).
const WINDOW_BEFORE_MS: u64 = 60_000;
const WINDOW_AFTER_MS: u64 = 86_400_000;

/// An activity created for one measurement, under some key prefix.
#[derive(Debug)]
pub struct BenchActivity {
    inventory: Inventory,
    id: ActivityId,
}

impl BenchActivity {
    /// Creates a fresh (never used) activity under `prefix`.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn create(conn: &mut MultiplexedConnection, prefix: &str) -> anyhow::Result<Self> {
        Self::create_with_stock(conn, prefix, STOCK).await
    }

    /// Creates a fresh activity under `prefix` with `stock` units (and the same generous
    /// per-user limit, so a small stock is sold out by the first buyers).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn create_with_stock(
        conn: &mut MultiplexedConnection,
        prefix: &str,
        stock: u32,
    ) -> anyhow::Result<Self> {
        let inventory = Inventory::new(prefix);
        // Ids from the clock are fresh across runs; the loop skips one still in Redis.
        let mut candidate = now_ms();
        let id = loop {
            let id = ActivityId::new(candidate).context("activity id out of range")?;
            if inventory.remaining(conn, id).await?.is_none() {
                break id;
            }
            candidate += 1;
        };
        inventory.put_activity(conn, id, &spec(stock)?).await?;
        Ok(Self { inventory, id })
    }

    /// The activity's id.
    #[must_use]
    pub const fn id(&self) -> ActivityId {
        self.id
    }

    /// Units left.
    ///
    /// # Errors
    /// When Redis fails or the activity has gone.
    pub async fn remaining(&self, conn: &mut MultiplexedConnection) -> anyhow::Result<i64> {
        self.inventory
            .remaining(conn, self.id)
            .await?
            .context("the bench activity disappeared from Redis")
    }

    /// The activity's outbox stream (sk-core's relay empties it into Kafka).
    #[must_use]
    pub fn outbox_key(&self) -> String {
        self.inventory.keys(self.id).outbox().to_owned()
    }

    /// The reserve script's `KEYS`, in order (see the top of `common/lua/order.lua`).
    #[must_use]
    pub fn script_keys(&self) -> [String; 7] {
        self.inventory.keys(self.id).script_keys().clone()
    }

    /// Deletes the activity's keys and unregisters it. Orders indexed by id outside the
    /// activity's slot (sk-core writes those) are left to the caller's prefix clean-up.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn remove(&self, conn: &mut MultiplexedConnection) -> anyhow::Result<()> {
        let keys: ActivityKeys = self.inventory.keys(self.id);
        redis::pipe()
            .cmd("UNLINK")
            .arg(&self.script_keys()[..])
            .arg(keys.outbox_dead_letters())
            .arg(keys.relay_lock())
            .ignore()
            .srem(self.inventory.registry(), self.id.get())
            .ignore()
            .query_async::<()>(conn)
            .await?;
        Ok(())
    }
}

/// Loads the reserve script into Redis's script cache and returns its SHA-1.
///
/// # Errors
/// When Redis fails.
pub async fn load_reserve_script(conn: &mut MultiplexedConnection) -> anyhow::Result<String> {
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(RESERVE_SOURCE)
        .query_async(conn)
        .await?;
    Ok(sha)
}

/// Opens one multiplexed connection to `url`.
///
/// # Errors
/// When the URL is invalid or Redis cannot be reached.
pub async fn connect(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let client = redis::Client::open(url).with_context(|| format!("bad Redis URL {url:?}"))?;
    client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("cannot connect to Redis at {url}"))
}

fn spec(stock: u32) -> anyhow::Result<ActivitySpec> {
    let now = now_ms();
    Ok(ActivitySpec {
        open: true,
        start_at_ms: now.saturating_sub(WINDOW_BEFORE_MS),
        end_at_ms: now + WINDOW_AFTER_MS,
        total_stock: stock,
        per_user_limit: STOCK,
        payment_timeout_ms: PAYMENT_TIMEOUT_MS,
        price_cents: PriceCents::new(100).context("price out of range")?,
        max_sold_per_sec: None,
        buy_rate_ppm: sk_common::stock::BUY_RATE_ALL_PPM,
    })
}
