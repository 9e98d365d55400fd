//! The shopper API (`/api/v1`, DESIGN §3), as far as it goes today:
//!
//! - `GET  /api/v1/time` (no token)
//! - `POST /api/v1/activities/{id}/purchase` `{quantity}` + optional `Idempotency-Key`
//! - `GET  /api/v1/orders/{order_id}` (owner only)
//! - `POST /api/v1/orders/{order_id}/pay` `{token}`
//! - `POST /api/v1/orders/{order_id}/cancel`
//! - `GET  /api/v1/activities` · `GET /api/v1/activities/{id}` (no token) · `GET /api/v1/orders`
//!   (the caller's own) · `GET /api/v1/openapi.json` (no token), served from MySQL and Redis
//!
//! Every route but `time`, the activity reads and `openapi.json` needs `Authorization: Bearer
//! <JWT>` (shopper or admin); the user id sent to sk-core is always the verified token's
//! `sub`, never anything from the request body. A purchase passes the cheap checks of
//! [`Admission`] (blacklist, activity cache, time window, sold-out flag, rate limit, in-flight
//! slot, `buy_rate`) before it costs sk-core anything. Talks to sk-core through [`CoreClient`] (behind its circuit breaker).

mod client_ip;
mod in_flight;
mod reads;
mod shopper;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sk_common::domain::{ActivityId, IdempotencyKey, OrderId, Quantity};
use sk_common::events::OrderView;
use sk_common::http::Json;
use sk_common::jwt::JwtKeys;
use sk_common::time::now_ms;

pub use client_ip::ClientIp;
pub use in_flight::{InFlight, InFlightGuard};
pub use shopper::Shopper;

use crate::admission::Admission;
use crate::browse::Browse;
use crate::core_client::{CoreClient, ReserveCall};
use crate::{Error, Result};

/// The header that makes a purchase retry-safe.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What every handler needs, shared: axum hands each extractor its own clone of the state,
/// so cloning must cost one reference count, not one per field.
#[derive(Debug, Clone)]
pub struct Api(Arc<ApiParts>);

impl Api {
    /// The state built from its parts.
    #[must_use]
    pub fn new(parts: ApiParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for Api {
    type Target = ApiParts;

    fn deref(&self) -> &ApiParts {
        &self.0
    }
}

/// The parts of [`Api`].
#[derive(Debug)]
pub struct ApiParts {
    /// Verifies bearer tokens.
    pub keys: JwtKeys,
    /// Calls sk-core.
    pub core: CoreClient,
    /// The cheap checks in front of sk-core.
    pub admission: Admission,
    /// The activity list and detail, and the caller's orders (MySQL and Redis, not sk-core).
    pub browse: Browse,
}

/// The `/api/v1` routes.
pub fn routes(api: Api) -> Router {
    Router::new()
        .route("/api/v1/time", get(time))
        .route("/api/v1/openapi.json", get(reads::openapi))
        .route("/api/v1/activities", get(reads::activities))
        .route("/api/v1/activities/{activity_id}", get(reads::activity))
        .route("/api/v1/orders", get(reads::my_orders))
        .route("/api/v1/activities/{activity_id}/purchase", post(purchase))
        .route("/api/v1/orders/{order_id}", get(order))
        .route("/api/v1/orders/{order_id}/pay", post(pay))
        .route("/api/v1/orders/{order_id}/cancel", post(cancel))
        .with_state(api)
}

#[derive(Debug, Serialize)]
struct TimeReply {
    now_ms: u64,
}

async fn time() -> Json<TimeReply> {
    Json(TimeReply { now_ms: now_ms() })
}

/// The purchase body. Unknown fields (a `user_id` above all) are refused, so nobody can
/// believe they chose who buys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PurchaseBody {
    quantity: Quantity,
}

/// The purchase answer: the public part of sk-core's reserve answer.
#[derive(Debug, Serialize, Deserialize)]
struct PurchaseReply {
    order_id: OrderId,
    token: String,
    expires_at: String,
    quantity: Quantity,
}

async fn purchase(
    State(api): State<Api>,
    shopper: Shopper,
    ClientIp(client): ClientIp,
    Path(activity_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<PurchaseBody>,
) -> Result<Json<PurchaseReply>> {
    let activity = ActivityId::parse(&activity_id).map_err(|_| Error::ActivityNotFound)?;
    let idempotency_key = idempotency_key(&headers)?;
    let _slot = api
        .admission
        .admit(&shopper.0, client, activity, idempotency_key.as_ref())
        .await?;
    let call = ReserveCall {
        user_id: &shopper.0,
        quantity: body.quantity,
        idempotency_key: idempotency_key.as_ref(),
    };
    let reply: PurchaseReply = api.core.reserve(activity, &call).await?;
    tracing::Span::current().record("order_id", tracing::field::display(&reply.order_id));
    Ok(Json(reply))
}

/// The `Idempotency-Key` header, if sent; present but invalid is a 400.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| IdempotencyKey::parse(text).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::InvalidRequest("Idempotency-Key: 1-128 visible ASCII characters".into())
        })
}

/// An order id from the path, named in the request's span; one that cannot exist is simply
/// not found.
fn order_id(text: &str) -> Result<OrderId> {
    let order = OrderId::parse(text).map_err(|_| Error::OrderNotFound)?;
    tracing::Span::current().record("order_id", tracing::field::display(&order));
    Ok(order)
}

/// The order's live state, from Redis (sk-core is not asked: reads add nothing to its load).
async fn order(
    State(api): State<Api>,
    shopper: Shopper,
    Path(order): Path<String>,
) -> Result<Json<OrderView>> {
    api.browse
        .order(order_id(&order)?, &shopper.0)
        .await
        .map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    token: String,
}

async fn pay(
    State(api): State<Api>,
    shopper: Shopper,
    Path(order): Path<String>,
    Json(body): Json<PayBody>,
) -> Result<Json<Value>> {
    let order = order_id(&order)?;
    api.core.pay(order, &shopper.0, &body.token).await.map(Json)
}

async fn cancel(
    State(api): State<Api>,
    shopper: Shopper,
    Path(order): Path<String>,
) -> Result<Json<Value>> {
    api.core
        .cancel(order_id(&order)?, &shopper.0)
        .await
        .map(Json)
}
