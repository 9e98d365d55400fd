//! The public HTTP contract (DESIGN §3) as sk-bench's load commands use it: the admin API to
//! create a sale and mint shoppers' tokens, the shopper API to buy, pay, cancel and look.
//! Everything goes through one base URL (the gateway), as an outside client's would.
//! Talks to: the gateway (`/api/v1/…`, `/admin/v1/…`).

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sk_common::time::rfc3339_from_ms;
use tokio::time::Instant;

use crate::load::{Answer, Outcome, answer_of};

/// Most tokens sk-admin mints per request (`MAX_TOKENS` there).
const TOKENS_PER_REQUEST: u64 = 100_000;
/// Tokens live an hour: longer than any sale sk-bench runs.
const TOKEN_TTL_SECS: u64 = 3_600;

/// First pause before a shopper retries; it doubles up to [`RETRY_PAUSE_MAX`].
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(50);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(1);

/// A client of one deployment's public API.
#[derive(Debug, Clone)]
pub struct SaleApi {
    http: reqwest::Client,
    base: String,
    admin_token: String,
    /// How long a shopper keeps retrying a call whose answer settled nothing (zero: never).
    retry_within: Duration,
}

/// The sale to create (the admin API's activity body, in sk-bench's units).
#[derive(Debug, Clone)]
pub struct NewSale {
    /// Shown in the admin API and the activity list.
    pub name: String,
    /// Units for sale.
    pub total_stock: u64,
    /// Units one shopper may hold.
    pub per_user_limit: u64,
    /// Price of one unit, in cents.
    pub price_cents: u64,
    /// Opening time (Unix ms, server clock).
    pub start_ms: u64,
    /// Closing time (Unix ms, server clock).
    pub end_ms: u64,
    /// Seconds a reservation waits for payment before it expires and its units return.
    pub payment_timeout_secs: u64,
}

/// One shopper's identity: the user id and the JWT that proves it.
#[derive(Debug, Clone)]
pub struct ShopperToken {
    /// The user id (`sub`).
    pub user_id: String,
    /// The bearer token.
    pub token: String,
}

impl SaleApi {
    /// A client for the deployment at `base` (the gateway), with `admin_token` for the admin
    /// API.
    #[must_use]
    pub fn new(http: reqwest::Client, base: &str, admin_token: String) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            admin_token,
            retry_within: Duration::ZERO,
        }
    }

    /// The same client whose shoppers behave as a careful app does when an answer is lost:
    /// each purchase carries an `Idempotency-Key`, and a purchase, payment or cancellation
    /// whose answer settles nothing (no answer, a 5xx, a 429) is sent again, with backoff,
    /// for up to `within`. The contract makes every such retry safe: the same key returns
    /// the same order, paying or cancelling twice answers as the first time did.
    #[must_use]
    pub const fn retrying_within(mut self, within: Duration) -> Self {
        self.retry_within = within;
        self
    }

    /// `base` + `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's clock (`GET /api/v1/time`), in Unix ms: sales are timed on it.
    ///
    /// # Errors
    /// When the call fails or the answer has no `now_ms`.
    pub async fn server_now_ms(&self) -> anyhow::Result<u64> {
        let body = self
            .expect(self.http.get(self.url("/api/v1/time")), StatusCode::OK)
            .await?;
        body["now_ms"]
            .as_u64()
            .context("GET /api/v1/time has no now_ms")
    }

    /// `watchers` concurrent `GET /api/v1/time`, as shoppers watching the countdown make: it
    /// leaves that many keep-alive connections in the client's pool. Failures do not matter.
    pub async fn watch_countdown(&self, watchers: usize) {
        let url = self.url("/api/v1/time");
        let polls = (0..watchers).map(|_| async {
            if let Ok(response) = self.http.get(&url).send().await {
                let _ = response.bytes().await;
            }
        });
        futures_util::future::join_all(polls).await;
    }

    /// Creates a product and a flash sale of it; returns the activity id.
    ///
    /// # Errors
    /// When the admin API refuses (the message says why) or cannot be reached.
    pub async fn create_sale(&self, sale: &NewSale) -> anyhow::Result<u64> {
        let product = json!({
            "name": sale.name,
            "description": "created by sk-bench",
            "price_cents": sale.price_cents,
        });
        let product = self
            .expect(
                self.admin_post("/admin/v1/products", &product),
                StatusCode::CREATED,
            )
            .await?;
        let product_id = product["id"].as_u64().context("the product has no id")?;
        let activity = json!({
            "product_id": product_id,
            "name": sale.name,
            "start_at": rfc3339_from_ms(sale.start_ms),
            "end_at": rfc3339_from_ms(sale.end_ms),
            "total_stock": sale.total_stock,
            "per_user_limit": sale.per_user_limit,
            "payment_timeout_secs": sale.payment_timeout_secs,
        });
        let activity = self
            .expect(
                self.admin_post("/admin/v1/activities", &activity),
                StatusCode::CREATED,
            )
            .await?;
        activity["id"].as_u64().context("the activity has no id")
    }

    /// Mints shopper tokens for `count` users `<prefix>000001`, `<prefix>000002`, … through
    /// the admin API (in requests of at most 100,000).
    ///
    /// # Errors
    /// When the admin API refuses or answers something else than tokens.
    pub async fn mint_shoppers(
        &self,
        prefix: &str,
        count: u64,
    ) -> anyhow::Result<Vec<ShopperToken>> {
        let mut shoppers = Vec::new();
        let mut first = 1;
        while first <= count {
            let batch = (count - first + 1).min(TOKENS_PER_REQUEST);
            let body = json!({
                "first_user_id": format!("{prefix}{first:06}"),
                "count": batch,
                "ttl_secs": TOKEN_TTL_SECS,
            });
            let minted = self
                .expect(self.admin_post("/admin/v1/tokens", &body), StatusCode::OK)
                .await?;
            shoppers.extend(tokens_of(&minted)?);
            first += batch;
        }
        Ok(shoppers)
    }

    /// The public view of an activity (`status`, `remaining`, …).
    ///
    /// # Errors
    /// When the call fails or does not answer 200.
    pub async fn activity(&self, activity_id: u64) -> anyhow::Result<Value> {
        let path = format!("/api/v1/activities/{activity_id}");
        self.expect(self.http.get(self.url(&path)), StatusCode::OK)
            .await
    }

    /// One purchase of one unit by `shopper`: the classified answer and its JSON body.
    pub async fn buy(&self, shopper: &ShopperToken, activity_id: u64) -> (Answer, Option<Value>) {
        self.buy_as(shopper, activity_id, "purchase").await
    }

    /// [`Self::buy`], where `intent` names this attempt to buy among the shopper's others:
    /// when retrying, it is the `Idempotency-Key`.
    pub async fn buy_as(
        &self,
        shopper: &ShopperToken,
        activity_id: u64,
        intent: &str,
    ) -> (Answer, Option<Value>) {
        let path = format!("/api/v1/activities/{activity_id}/purchase");
        self.persist(|| {
            let mut request = self
                .http
                .post(self.url(&path))
                .bearer_auth(&shopper.token)
                .json(&json!({"quantity": 1}));
            if !self.retry_within.is_zero() {
                request = request.header("idempotency-key", intent);
            }
            async move { answer_of(request.send().await).await }
        })
        .await
    }

    /// Pays `order_id` with its purchase token.
    pub async fn pay(&self, shopper: &ShopperToken, order_id: &str, token: &str) -> Answer {
        let path = format!("/api/v1/orders/{order_id}/pay");
        let paid = self.persist(|| {
            let request = self
                .http
                .post(self.url(&path))
                .bearer_auth(&shopper.token)
                .json(&json!({"token": token}));
            async move { answer_of(request.send().await).await }
        });
        paid.await.0
    }

    /// Cancels `order_id` (its units return at once).
    pub async fn cancel(&self, shopper: &ShopperToken, order_id: &str) -> Answer {
        let path = format!("/api/v1/orders/{order_id}/cancel");
        let cancelled = self.persist(|| {
            let request = self.http.post(self.url(&path)).bearer_auth(&shopper.token);
            async move { answer_of(request.send().await).await }
        });
        cancelled.await.0
    }

    /// Makes the call, and again after a pause while its answer settles nothing and
    /// [`Self::retrying_within`] allows (the pause is the client's backoff, not a wait for
    /// anything in particular).
    async fn persist<F, Fut>(&self, call: F) -> (Answer, Option<Value>)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = (Answer, Option<Value>)>,
    {
        let give_up = Instant::now() + self.retry_within;
        let mut pause = RETRY_PAUSE_FIRST;
        loop {
            let (answer, body) = call().await;
            if !settles_nothing(answer.outcome) || Instant::now() + pause > give_up {
                return (answer, body);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_PAUSE_MAX);
        }
    }

    /// The order as its owner sees it (`status`, …); `None` when the call did not answer 200.
    pub async fn order(&self, shopper: &ShopperToken, order_id: &str) -> Option<Value> {
        let path = format!("/api/v1/orders/{order_id}");
        let sent = self
            .http
            .get(self.url(&path))
            .bearer_auth(&shopper.token)
            .send()
            .await;
        match answer_of(sent).await {
            (answer, body) if answer.outcome == Outcome::Ok => body,
            _ => None,
        }
    }

    fn admin_post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(body)
    }

    /// Sends `request` and returns its JSON body when the status is `wanted`.
    async fn expect(
        &self,
        request: reqwest::RequestBuilder,
        wanted: StatusCode,
    ) -> anyhow::Result<Value> {
        let response = request
            .send()
            .await
            .context("the deployment cannot be reached")?;
        let (status, url) = (response.status(), response.url().path().to_owned());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != wanted {
            bail!("{url} answered {status}: {body}");
        }
        Ok(body)
    }
}

/// Whether an answer leaves the shopper not knowing what happened, or asks them to come back:
/// no answer, a 5xx, or a 429.
const fn settles_nothing(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Transport
            | Outcome::ServerError
            | Outcome::Unavailable
            | Outcome::TryAgain
            | Outcome::RateLimited
    )
}

fn tokens_of(minted: &Value) -> anyhow::Result<Vec<ShopperToken>> {
    let tokens = minted["tokens"]
        .as_array()
        .context("the admin API minted no tokens")?;
    tokens
        .iter()
        .map(|t| {
            Ok(ShopperToken {
                user_id: t["user_id"]
                    .as_str()
                    .context("a token without user_id")?
                    .to_owned(),
                token: t["token"]
                    .as_str()
                    .context("a token without token")?
                    .to_owned(),
            })
        })
        .collect()
}
