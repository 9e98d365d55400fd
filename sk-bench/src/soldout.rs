//! `sk-bench soldout`: the rejection path. Purchases of a sale that has sold out, through the
//! gateway, from many shoppers: sk-app must answer `sold_out` from its own flag, without
//! calling sk-core or Redis, so this is the cheapest answer a shopper can get once a sale is
//! over — and the bulk of the traffic of a real flash sale.
//! Talks to: the gateway (the public and admin APIs).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};

use crate::load::{Answer, Outcome};
use crate::load_args::{DeploymentArgs, Measured, TimedArgs};
use crate::sale_api::{NewSale, SaleApi, ShopperToken};

/// Arguments of `soldout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    deployment: DeploymentArgs,
    /// A sale that has already sold out (default: create a one-unit sale and buy its unit).
    #[arg(long, value_name = "ID")]
    activity: Option<u64>,
    /// Distinct shoppers the purchases rotate through (one token each, minted up front).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    shoppers: u64,
    #[command(flatten)]
    timed: TimedArgs,
}

/// Runs the rejection load.
pub fn main(args: Args) -> ExitCode {
    args.timed.main("soldout", run(&args))
}

/// Loads purchases of a sold-out sale for the run length.
///
/// # Errors
/// When the sale cannot be made or is not sold out, or the engine fails.
pub async fn run(args: &Args) -> anyhow::Result<Measured> {
    let deployment = &args.deployment;
    let api = deployment.api(deployment.admin_token()?, args.timed.timeout_ms())?;
    let tag = api.server_now_ms().await?;
    let shoppers: Arc<[ShopperToken]> = api
        .mint_shoppers(&format!("soldout{tag}-"), args.shoppers.max(1))
        .await?
        .into();
    let activity = match args.activity {
        Some(id) => id,
        None => sold_out_sale(&api, &shoppers).await?,
    };
    await_sold_out(&api, &shoppers, activity).await?;
    args.timed
        .measure("sold-out", move |call| {
            let (api, shoppers) = (api.clone(), Arc::clone(&shoppers));
            async move {
                let index = usize::try_from(call).unwrap_or_default() % shoppers.len();
                api.buy(&shoppers[index], activity).await.0
            }
        })
        .await
}

/// Waits (at most 10 s) until a purchase by a shopper who bought nothing is told `sold_out`:
/// sk-app learns of the sell-out from sk-core's stock event.
async fn await_sold_out(
    api: &SaleApi,
    shoppers: &[ShopperToken],
    activity: u64,
) -> anyhow::Result<()> {
    let shopper = shoppers.last().context("no shoppers")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (answer, _) = api.buy(shopper, activity).await;
        if answer.outcome == Outcome::SoldOut {
            return Ok(());
        }
        ensure!(
            answer.outcome != Outcome::Ok && tokio::time::Instant::now() < deadline,
            "activity {activity} is not sold out: a purchase got {}",
            answer.outcome.name()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A one-unit sale, open now, whose unit the first shopper buys.
async fn sold_out_sale(api: &SaleApi, shoppers: &[ShopperToken]) -> anyhow::Result<u64> {
    let now = api.server_now_ms().await?;
    let sale = NewSale {
        name: format!("sk-bench sold-out {now}"),
        total_stock: 1,
        per_user_limit: 1,
        price_cents: 100,
        start_ms: now + 1_000,
        end_ms: now + 3_600_000,
        payment_timeout_secs: 3_600,
    };
    let activity = api.create_sale(&sale).await?;
    let buyer = shoppers.first().context("no shoppers")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (answer, _): (Answer, _) = api.buy(buyer, activity).await;
        match answer.outcome {
            Outcome::Ok => return Ok(activity),
            // Not open yet: the sale starts in a second.
            Outcome::Refused if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => anyhow::bail!(
                "buying the sold-out sale's only unit got {}: {}",
                other.name(),
                answer.detail.unwrap_or_default()
            ),
        }
    }
}
