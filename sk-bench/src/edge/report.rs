//! What `sk-bench edge` reports besides the phases' own figures: the work the sold-out phase
//! caused in sk-core and Redis, and the same-run ratios.

use anyhow::Context as _;
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};

use crate::load::{Outcome, Report};

/// Counters of the work that reached sk-core and Redis.
#[derive(Debug, Clone, Copy, Default)]
pub struct Touches {
    /// Sum of sk-core's `sk_core_reserve_total` over every outcome.
    core_reserves: f64,
    /// Redis's `total_commands_processed`.
    redis_commands: u64,
}

impl Touches {
    pub async fn read(
        http: &reqwest::Client,
        core: &str,
        redis: &mut MultiplexedConnection,
    ) -> anyhow::Result<Self> {
        let url = format!("{}/metrics", core.trim_end_matches('/'));
        let metrics = http.get(&url).send().await?.text().await?;
        let core_reserves = metrics
            .lines()
            .filter(|line| line.starts_with("sk_core_reserve_total"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        let info: String = redis::cmd("INFO").arg("stats").query_async(redis).await?;
        let redis_commands = info
            .lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .context("INFO stats has no total_commands_processed")?;
        Ok(Self {
            core_reserves,
            redis_commands,
        })
    }

    /// What happened between `before` and `self`; the INFO command that read `self` is not
    /// counted.
    pub fn since(&self, before: &Self) -> Self {
        Self {
            core_reserves: self.core_reserves - before.core_reserves,
            redis_commands: self
                .redis_commands
                .saturating_sub(before.redis_commands + 1),
        }
    }
}

/// The four figures and their ratios. The first three phases want 200 ([`Outcome::Ok`]), the
/// sold-out phase 409 `sold_out` ([`Outcome::SoldOut`]); each phase's figures are those of the
/// answer it wants.
pub struct Summary<'a> {
    pub healthz: &'a Report,
    pub direct: &'a Report,
    pub through: &'a Report,
    pub rejected: &'a Report,
    pub touched: Touches,
}

impl Summary<'_> {
    fn ratios(&self) -> [(&'static str, f64); 3] {
        let ceiling = self.healthz.rate(Outcome::Ok);
        let ratio = |rate: f64, base: f64| if base > 0.0 { rate / base } else { 0.0 };
        let purchases = self.through.rate(Outcome::Ok);
        [
            (
                "purchase via gateway / healthz ceiling",
                ratio(purchases, ceiling),
            ),
            (
                "purchase via gateway / direct to sk-app",
                ratio(purchases, self.direct.rate(Outcome::Ok)),
            ),
            (
                "sold-out rejection / healthz ceiling",
                ratio(self.rejected.rate(Outcome::SoldOut), ceiling),
            ),
        ]
    }

    pub fn print(&self) {
        for (name, value) in self.ratios() {
            println!("{name:<42} {value:.2}");
        }
        let rejected = self.rejected.attempts();
        println!(
            "during the sold-out phase: {} reserve calls reached sk-core, Redis ran {} commands (for ~{rejected} rejections measured)",
            self.touched.core_reserves, self.touched.redis_commands
        );
    }

    pub fn to_json(&self) -> Value {
        let ratios: serde_json::Map<String, Value> = self
            .ratios()
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        json!({
            "healthz": self.healthz.level_json(Outcome::Ok),
            "buy_direct": self.direct.level_json(Outcome::Ok),
            "buy_gateway": self.through.level_json(Outcome::Ok),
            "sold_out": self.rejected.level_json(Outcome::SoldOut),
            "ratios": ratios,
            "sold_out_core_reserves": self.touched.core_reserves,
            "sold_out_redis_commands": self.touched.redis_commands,
        })
    }
}
