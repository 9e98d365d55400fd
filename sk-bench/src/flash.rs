//! `sk-bench flash`: a whole flash sale against a deployment, as its shoppers would make it.
//!
//! 1. Through the admin API: a product, a sale of it opening a few seconds from now, and one
//!    token per shopper.
//! 2. Once the sale is open, **wave 1**: every shopper tries to buy one unit, paced open loop
//!    (a target arrival rate, the default) or closed loop (a fixed concurrency).
//! 3. Each shopper who got an order then pays it, cancels it (its unit returns at once), or
//!    abandons it (the reaper expires it after the payment timeout and its unit returns), in
//!    the proportions asked for.
//! 4. **Wave 2** (when orders were abandoned): once they have expired, shoppers who were told
//!    `sold_out` try again and buy the returned units.
//!
//! The report has one table per wave (count, rate and latency per outcome) and the JSON form
//! lists every confirmed order, which `sk-bench verify --run FILE` checks against MySQL and
//! Redis.
//! Talks to: the gateway only (the public and admin APIs).

mod checkout;
mod wave;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};
use sk_common::time::now_ms;

use crate::bench_cli::run_command;
use crate::cpu_usage::CoresUsed;
use crate::load::{Outcome, Pace, Report};
use crate::load_args::{DeploymentArgs, OutputArgs, PaceArgs};
use crate::sale_api::{NewSale, SaleApi};

use checkout::{Checkout, Fates, Settlement};
use wave::{Bought, Wave};

/// Arguments of `flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    deployment: DeploymentArgs,
    /// Shoppers in wave 1, each trying to buy one unit once.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    shoppers: u64,
    /// Units for sale.
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    stock: u64,
    /// Units one shopper may hold.
    #[arg(long, default_value_t = 1, value_name = "N")]
    per_user_limit: u64,
    /// Seconds from now until the sale opens (time to mint tokens and get ready).
    #[arg(long, default_value_t = 3, value_name = "SECONDS")]
    start_in_secs: u64,
    /// Seconds the sale stays open.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    sale_secs: u64,
    /// Seconds a reservation waits for payment before it expires (10 at least).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    payment_timeout_secs: u64,
    /// Share (0–1) of buyers who pay their order at once.
    #[arg(long, default_value_t = 0.7, value_name = "FRACTION")]
    pay_fraction: f64,
    /// Share (0–1) of buyers who abandon their order; the rest cancel it at once.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    abandon_fraction: f64,
    /// Most shoppers refused `sold_out` in wave 1 who try again once abandoned orders have
    /// expired (0: no second wave).
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    second_wave: u64,
    /// Seconds a shopper keeps retrying a purchase, payment or cancellation whose answer
    /// settles nothing (no answer, a 5xx, a 429), each purchase with an `Idempotency-Key`, as
    /// a careful shopper app does; 0 sends each call once, without a key. A retried purchase
    /// skips sk-app's cheap sold-out refusal (only sk-core knows whether its first attempt
    /// succeeded), so retrying shoppers load sk-core more once the sale has sold out.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    retry_secs: u64,
    /// How hard to load (the default is open loop at 2,000 purchase attempts per second).
    #[command(flatten)]
    pace: PaceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs the sale; 0 when it ran and sold something.
pub fn main(args: Args) -> ExitCode {
    run_command("flash", args.pace.threads(), async move {
        let admin_token = args.deployment.admin_token()?;
        let report = run(&args, admin_token).await?;
        let waves: Vec<&Report> = report.waves.iter().collect();
        args.output.write(&report.to_json(), &waves)
    })
}

/// Default pace: open loop at 2,000 attempts/s, about what a 2-core machine running the
/// whole stack sustains with room to spare.
const DEFAULT_PACE: Pace = Pace::Open {
    per_sec: 2_000.0,
    max_in_flight: 4_096,
};

/// Connections opened to the gateway before the sale opens (see `SaleApi::watch_countdown`).
const COUNTDOWN_WATCHERS: usize = 256;

/// Everything a run produced.
#[derive(Debug)]
pub struct FlashReport {
    activity_id: u64,
    settings: Value,
    waves: Vec<Report>,
    confirmed: Vec<Bought>,
    settlement: Settlement,
    remaining: Option<u64>,
    /// Cores each watched process used during wave 1.
    cpu: Option<CoresUsed>,
    started_at_ms: u64,
    finished_at_ms: u64,
}

impl Args {
    /// Parses `flash`'s flags from `argv` (without the program and subcommand names), as the
    /// command line would.
    ///
    /// # Errors
    /// When a flag is unknown or its value invalid.
    pub fn parse_from<'a>(argv: impl IntoIterator<Item = &'a str>) -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Flash {
            #[command(flatten)]
            args: Args,
        }
        let argv = std::iter::once("flash").chain(argv);
        <Flash as clap::Parser>::try_parse_from(argv).map(|flash| flash.args)
    }
}

/// Runs a flash sale as `args` say, with `admin_token` for the admin API, and prints its
/// tables.
///
/// # Errors
/// When the sale cannot be created or opened, or nothing could be bought.
pub async fn run(args: &Args, admin_token: String) -> anyhow::Result<FlashReport> {
    let fates = Fates::new(args.pay_fraction, args.abandon_fraction)?;
    let api = args
        .deployment
        .api(admin_token, args.pace.timeout_ms())?
        .retrying_within(Duration::from_secs(args.retry_secs));
    let pace = args.pace.pace(DEFAULT_PACE);
    let (activity_id, shoppers) = prepare(&api, args).await?;
    println!(
        "flash sale: activity {activity_id} · {} shoppers · {} units · limit {} · {}",
        args.shoppers, args.stock, args.per_user_limit, pace
    );
    let started_at_ms = now_ms();
    let shoppers = Arc::new(shoppers);
    let checkout = Checkout::start(api.clone(), Arc::clone(&shoppers));
    let first = Wave {
        api: api.clone(),
        shoppers: Arc::clone(&shoppers),
        activity_id,
        fates,
        progress: !args.output.no_progress,
    };
    let mut waves = Vec::new();
    let wave_1 = first.run(
        "wave 1",
        pace,
        (0..args.shoppers).collect(),
        checkout.queue(),
    );
    let (outcome, cpu) = args.output.watching(wave_1).await;
    let outcome = outcome?;
    outcome.report.print();
    waves.push(outcome.report);
    let mut settlement = checkout.finish().await;
    settlement.print();
    let mut confirmed = outcome.bought;

    let retry = outcome.sold_out;
    let retry = &retry[..retry
        .len()
        .min(usize::try_from(args.second_wave).unwrap_or(usize::MAX))];
    if settlement.abandoned() > 0 && !retry.is_empty() {
        let expired =
            checkout::await_expiry(&api, &shoppers, &confirmed, args.payment_timeout_secs).await?;
        settlement.record_expired(expired);
        let second = Wave {
            fates: Fates::all_pay(),
            ..first
        };
        let checkout = Checkout::start(api.clone(), Arc::clone(&shoppers));
        let outcome = second
            .run("wave 2", pace, retry.to_vec(), checkout.queue())
            .await?;
        outcome.report.print();
        waves.push(outcome.report);
        let later = checkout.finish().await;
        later.print();
        settlement.absorb(&later);
        confirmed.extend(outcome.bought);
    }
    let remaining = api
        .activity(activity_id)
        .await
        .ok()
        .and_then(|a| a["remaining"].as_u64());
    let report = FlashReport {
        activity_id,
        settings: settings_json(args, pace),
        waves,
        confirmed,
        settlement,
        remaining,
        cpu,
        started_at_ms,
        finished_at_ms: now_ms(),
    };
    report.print_summary(args.stock);
    ensure!(!report.confirmed.is_empty(), "no purchase succeeded");
    Ok(report)
}

/// Creates the sale, mints the shoppers' tokens, and waits until the sale is open.
async fn prepare(
    api: &SaleApi,
    args: &Args,
) -> anyhow::Result<(u64, Vec<crate::sale_api::ShopperToken>)> {
    let now = api.server_now_ms().await?;
    let start_ms = now + args.start_in_secs.max(1) * 1_000;
    let sale = NewSale {
        name: format!("sk-bench flash {now}"),
        total_stock: args.stock,
        per_user_limit: args.per_user_limit,
        price_cents: 1_999,
        start_ms,
        end_ms: start_ms + args.sale_secs.max(1) * 1_000,
        payment_timeout_secs: args.payment_timeout_secs,
    };
    let activity_id = api.create_sale(&sale).await?;
    let shoppers = api
        .mint_shoppers(&format!("flash{activity_id}-"), args.shoppers.max(1))
        .await?;
    // Shoppers watch the countdown before the opening (`GET /api/v1/time`), so their
    // connections are open when they press "buy"; so are the load generator's.
    api.watch_countdown(COUNTDOWN_WATCHERS).await;
    wait_open(
        api,
        activity_id,
        Duration::from_secs(args.start_in_secs + 30),
    )
    .await?;
    Ok((activity_id, shoppers))
}

/// Polls the public activity view until its status is `open` (bounded by `patience`).
async fn wait_open(api: &SaleApi, activity_id: u64, patience: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let activity = api.activity(activity_id).await?;
        if activity["status"] == "open" {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "activity {activity_id} did not open within {patience:?}: {activity}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn settings_json(args: &Args, pace: Pace) -> Value {
    json!({
        "shoppers": args.shoppers,
        "stock": args.stock,
        "per_user_limit": args.per_user_limit,
        "payment_timeout_secs": args.payment_timeout_secs,
        "pay_fraction": args.pay_fraction,
        "abandon_fraction": args.abandon_fraction,
        "second_wave": args.second_wave,
        "retry_secs": args.retry_secs,
        "pace": pace.to_string(),
    })
}

impl FlashReport {
    /// The sale's activity id.
    #[must_use]
    pub const fn activity_id(&self) -> u64 {
        self.activity_id
    }

    /// Purchases answered 200, in all waves.
    #[must_use]
    pub fn ok(&self) -> u64 {
        self.waves.iter().map(|w| w.count(Outcome::Ok)).sum()
    }

    /// Units still held when the run ended: bought, minus cancelled and expired.
    #[must_use]
    pub fn units_held(&self) -> u64 {
        let returned = self.settlement.cancelled() + self.settlement.expired();
        self.ok().saturating_sub(returned)
    }

    fn print_summary(&self, stock: u64) {
        let remaining = self.remaining.map_or("?".to_owned(), |r| r.to_string());
        println!(
            "sale: {} purchases confirmed · {} units held of {stock} · {remaining} remaining · {:.1} s",
            self.ok(),
            self.units_held(),
            (self.finished_at_ms.saturating_sub(self.started_at_ms)) as f64 / 1000.0,
        );
    }

    /// The report as JSON: what `verify --run` reads (`activity_id`, `confirmed`) and the
    /// figures for dashboards.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "activity_id": self.activity_id,
            "settings": self.settings,
            "waves": self.waves.iter().map(Report::to_json).collect::<Vec<_>>(),
            "settlement": self.settlement.to_json(),
            "counts": {
                "ok": self.ok(),
                "paid": self.settlement.paid(),
                "cancelled": self.settlement.cancelled(),
                "abandoned": self.settlement.abandoned(),
                "expired": self.settlement.expired(),
                "units_held": self.units_held(),
                "remaining": self.remaining,
            },
            "cpu": self.cpu.as_ref().map(CoresUsed::to_json),
            "confirmed": self.confirmed.iter().map(Bought::to_json).collect::<Vec<_>>(),
            "started_at_ms": self.started_at_ms,
            "finished_at_ms": self.finished_at_ms,
        })
    }
}
