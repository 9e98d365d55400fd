//! One wave of a flash sale: each listed shopper tries once to buy one unit, paced by the load
//! engine. Every order confirmed to a shopper is kept (verify checks each one reached the
//! ledger) and handed to the checkout, and the shoppers told `sold_out` are remembered for a
//! later wave.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use crate::load::{self, Answer, Outcome, Pace, Plan, Report, Until};
use crate::sale_api::{SaleApi, ShopperToken};

use super::checkout::{CheckoutQueue, Fate, Fates};

/// An order the deployment confirmed to a shopper (a 200 purchase answer).
#[derive(Debug, Clone)]
pub struct Bought {
    /// Index of the shopper in the run's token list.
    pub shopper: u64,
    /// The shopper's user id.
    pub user_id: String,
    /// The order id from the answer.
    pub order_id: String,
    /// The purchase token from the answer (what paying needs).
    pub token: String,
    /// Units in the order.
    pub quantity: u64,
    /// What the shopper does next.
    pub fate: Fate,
}

impl Bought {
    /// The confirmed order as `verify --run` reads it.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "user_id": self.user_id,
            "quantity": self.quantity,
            "fate": self.fate.name(),
        })
    }
}

/// Who buys what, and how the wave is reported.
#[derive(Debug, Clone)]
pub struct Wave {
    /// The deployment.
    pub api: SaleApi,
    /// Every shopper of the run (a wave names some of them by index).
    pub shoppers: Arc<Vec<ShopperToken>>,
    /// The sale.
    pub activity_id: u64,
    /// What buyers do after buying.
    pub fates: Fates,
    /// Draw a progress bar.
    pub progress: bool,
}

/// What a wave produced.
#[derive(Debug)]
pub struct WaveOutcome {
    /// Counts and latencies per outcome.
    pub report: Report,
    /// Orders confirmed to shoppers.
    pub bought: Vec<Bought>,
    /// Shoppers told `sold_out`, in the order they were told.
    pub sold_out: Vec<u64>,
}

/// What the calls of one wave gather while it runs.
#[derive(Debug, Default)]
struct Gathered {
    bought: Vec<Bought>,
    sold_out: Vec<u64>,
}

impl Wave {
    /// Runs the wave: shopper `who[i]` makes call `i`.
    ///
    /// # Errors
    /// When the load engine fails.
    pub async fn run(
        &self,
        label: &str,
        pace: Pace,
        who: Vec<u64>,
        checkout: CheckoutQueue,
    ) -> anyhow::Result<WaveOutcome> {
        let plan = Plan {
            label: label.to_owned(),
            pace,
            until: Until::Calls(who.len() as u64),
            warmup: std::time::Duration::ZERO,
            progress: self.progress,
        };
        let who: Arc<[u64]> = who.into();
        // The shopper's Idempotency-Key (when retrying) names the wave: a second wave is a
        // new attempt to buy, not a retry of the first.
        let intent: Arc<str> = label.replace(' ', "-").into();
        let gathered = Arc::new(Mutex::new(Gathered::default()));
        let (wave, sink) = (self.clone(), Arc::clone(&gathered));
        let report = load::run(&plan, move |call| {
            let (wave, who, sink, checkout, intent) = (
                wave.clone(),
                Arc::clone(&who),
                Arc::clone(&sink),
                checkout.clone(),
                Arc::clone(&intent),
            );
            async move {
                let shopper = usize::try_from(call)
                    .ok()
                    .and_then(|i| who.get(i).copied())
                    .unwrap_or_default();
                let intent = format!("{intent}-{shopper}");
                wave.buy(shopper, &intent, &sink, &checkout).await
            }
        })
        .await?;
        let gathered =
            std::mem::take(&mut *gathered.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(WaveOutcome {
            report,
            bought: gathered.bought,
            sold_out: gathered.sold_out,
        })
    }

    /// Shopper number `shopper` tries to buy one unit.
    async fn buy(
        &self,
        shopper: u64,
        intent: &str,
        sink: &Mutex<Gathered>,
        checkout: &CheckoutQueue,
    ) -> Answer {
        let Some(token) = usize::try_from(shopper)
            .ok()
            .and_then(|i| self.shoppers.get(i))
        else {
            return Answer::failed(Outcome::Transport, format!("no shopper number {shopper}"));
        };
        let (answer, body) = self.api.buy_as(token, self.activity_id, intent).await;
        match answer.outcome {
            Outcome::Ok => match confirmed(shopper, token, body.as_ref(), self.fates.fate(shopper))
            {
                Some(bought) => {
                    checkout.push(bought.clone());
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .bought
                        .push(bought);
                    answer
                }
                // A 200 without an order id breaks the contract: count it as a server error.
                None => Answer::failed(
                    Outcome::ServerError,
                    format!("200 without an order: {body:?}"),
                ),
            },
            Outcome::SoldOut => {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .sold_out
                    .push(shopper);
                answer
            }
            _ => answer,
        }
    }
}

/// The order of a 200 purchase answer.
fn confirmed(
    shopper: u64,
    token: &ShopperToken,
    body: Option<&Value>,
    fate: Fate,
) -> Option<Bought> {
    let body = body?;
    Some(Bought {
        shopper,
        user_id: token.user_id.clone(),
        order_id: body["order_id"].as_str()?.to_owned(),
        token: body["token"].as_str()?.to_owned(),
        quantity: body["quantity"].as_u64()?,
        fate,
    })
}
