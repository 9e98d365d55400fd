//! The internal API sk-app calls (every request signed and served once, see [`signature`]):
//!
//! - `POST /internal/v1/activities/{id}/reserve` `{user_id, quantity, idempotency_key?}`
//! - `POST /internal/v1/orders/{order_id}/pay` `{user_id, token}`
//! - `POST /internal/v1/orders/{order_id}/cancel` `{user_id}`
//! - `GET  /internal/v1/orders/{order_id}?user_id=`
//!
//! `user_id` comes from the shopper's verified JWT at sk-app; the signature vouches for it.

mod replay_guard;
mod signature;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sk_common::domain::{ActivityId, IdempotencyKey, OrderId, Quantity, UserId};
use sk_common::events::{OrderStatus, OrderView};
use sk_common::http::{HttpError, Json};
use sk_common::purchase_token::{PurchaseClaims, PurchaseTokens};
use sk_common::shutdown::TaskFailed;
use sk_common::stock::{
    CancelOutcome, Inventory, PayOutcome, Reservation, ReserveOutcome, ReserveRequest,
};
use sk_common::time::rfc3339_from_ms;
use tracing::Instrument as _;

pub use replay_guard::ReplayGuard;
pub use signature::Verifier;

use crate::{Error, Result};

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct Api {
    /// Stock operations under the configured key prefix.
    pub inventory: Inventory,
    /// The shared multiplexed Redis connection (pipelines concurrent requests).
    pub redis: ConnectionManager,
    /// Issues and checks purchase tokens.
    pub tokens: PurchaseTokens,
}

impl Api {
    /// The order named in a path and the activity it belongs to (an unknown or malformed id is
    /// simply not found).
    async fn locate(&self, order_id: &str) -> Result<(OrderId, ActivityId)> {
        let order_id = OrderId::parse(order_id).map_err(|_| Error::OrderNotFound)?;
        tracing::Span::current().record("order_id", tracing::field::display(&order_id));
        let activity_id = self
            .inventory
            .activity_of(&mut self.redis.clone(), order_id)
            .await?
            .ok_or(Error::OrderNotFound)?;
        Ok((order_id, activity_id))
    }
}

/// The internal API's routes, all behind the signature check.
pub fn routes(api: Api, verifier: Verifier) -> Router {
    Router::new()
        .route(
            "/internal/v1/activities/{activity_id}/reserve",
            post(reserve),
        )
        .route("/internal/v1/orders/{order_id}/pay", post(pay))
        .route("/internal/v1/orders/{order_id}/cancel", post(cancel))
        .route("/internal/v1/orders/{order_id}", get(order))
        .with_state(api)
        .layer(axum::middleware::from_fn_with_state(
            verifier,
            signature::verify,
        ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveBody {
    user_id: UserId,
    quantity: Quantity,
    idempotency_key: Option<IdempotencyKey>,
}

/// The reserve answer: the order and the token that pays it.
#[derive(Debug, Serialize)]
struct ReserveReply {
    order_id: OrderId,
    token: String,
    expires_at: String,
    expires_at_ms: u64,
    quantity: Quantity,
    status: OrderStatus,
}

async fn reserve(
    State(api): State<Api>,
    Path(activity_id): Path<String>,
    Json(body): Json<ReserveBody>,
) -> Result<JsonResponse<ReserveReply>> {
    let activity_id = ActivityId::parse(&activity_id).map_err(|_| Error::ActivityNotFound)?;
    let order_id = OrderId::generate();
    tracing::Span::current().record("order_id", tracing::field::display(&order_id));
    // The script and the order's index are two Redis calls. They run in a task of their own,
    // so a caller hanging up between them (an sk-app killed mid-call) cannot cancel the index
    // and leave an order its shopper cannot look up or cancel.
    let (inventory, mut redis) = (api.inventory.clone(), api.redis.clone());
    let user_id = body.user_id.clone();
    let outcome = tokio::spawn(
        async move {
            let request = ReserveRequest {
                order_id,
                user_id: &body.user_id,
                quantity: body.quantity,
                idempotency_key: body.idempotency_key.as_ref(),
            };
            inventory.reserve(&mut redis, activity_id, &request).await
        }
        .in_current_span(),
    )
    .await
    .map_err(|e| TaskFailed {
        task: "reserve",
        reason: e.to_string(),
    })??;
    metrics::counter!(crate::metrics::RESERVES, "outcome" => outcome_label(outcome)).increment(1);
    let (reservation, status) = match outcome {
        ReserveOutcome::Reserved(r) => (r, OrderStatus::Reserved),
        ReserveOutcome::Repeated(r, status) => (r, status),
        ReserveOutcome::Rejected(rejection) => return Err(Error::Rejected(rejection)),
    };
    let claims = claims(&reservation, &user_id, activity_id);
    Ok(JsonResponse(ReserveReply {
        order_id: reservation.order_id,
        token: api.tokens.issue(&claims),
        expires_at: rfc3339_from_ms(reservation.expires_at_ms),
        expires_at_ms: reservation.expires_at_ms,
        quantity: reservation.quantity,
        status,
    }))
}

/// A bounded label for the reserve outcome metric.
const fn outcome_label(outcome: ReserveOutcome) -> &'static str {
    match outcome {
        ReserveOutcome::Reserved(_) => "reserved",
        ReserveOutcome::Repeated(..) => "repeated",
        ReserveOutcome::Rejected(rejection) => rejection.as_str(),
    }
}

fn claims(reservation: &Reservation, user_id: &UserId, activity_id: ActivityId) -> PurchaseClaims {
    PurchaseClaims {
        order_id: reservation.order_id,
        user_id: user_id.clone(),
        activity_id,
        quantity: reservation.quantity,
        expires_at_ms: reservation.expires_at_ms,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    user_id: UserId,
    token: String,
}

/// The status an order has after pay or cancel.
#[derive(Debug, Serialize)]
struct StatusReply {
    status: OrderStatus,
}

async fn pay(
    State(api): State<Api>,
    Path(order_id): Path<String>,
    Json(body): Json<PayBody>,
) -> Result<JsonResponse<StatusReply>> {
    let order_id = OrderId::parse(&order_id).map_err(|_| Error::OrderNotFound)?;
    tracing::Span::current().record("order_id", tracing::field::display(&order_id));
    // The token is checked before Redis is touched: forgeries cost nothing downstream.
    let claims = api
        .tokens
        .verify(&body.token, order_id, &body.user_id)
        .map_err(|_| Error::InvalidToken)?;
    let reservation = Reservation {
        order_id,
        quantity: claims.quantity,
        expires_at_ms: claims.expires_at_ms,
    };
    let outcome = api
        .inventory
        .pay(
            &mut api.redis.clone(),
            claims.activity_id,
            &reservation,
            &body.user_id,
        )
        .await?;
    match outcome {
        PayOutcome::Paid => Ok(JsonResponse(StatusReply {
            status: OrderStatus::Paid,
        })),
        PayOutcome::NotFound => Err(Error::OrderNotFound),
        PayOutcome::Cancelled => Err(Error::Cancelled),
        PayOutcome::Expired => Err(Error::Expired),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    user_id: UserId,
}

async fn cancel(
    State(api): State<Api>,
    Path(order_id): Path<String>,
    Json(body): Json<CancelBody>,
) -> Result<JsonResponse<StatusReply>> {
    let (order_id, activity_id) = api.locate(&order_id).await?;
    let outcome = api
        .inventory
        .cancel(&mut api.redis.clone(), activity_id, order_id, &body.user_id)
        .await?;
    match outcome {
        CancelOutcome::Cancelled => Ok(JsonResponse(StatusReply {
            status: OrderStatus::Cancelled,
        })),
        CancelOutcome::NotFound => Err(Error::OrderNotFound),
        CancelOutcome::AlreadyPaid => Err(Error::AlreadyPaid),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderQuery {
    user_id: UserId,
}

async fn order(
    State(api): State<Api>,
    Path(order_id): Path<String>,
    query: Result<Query<OrderQuery>, QueryRejection>,
) -> Result<JsonResponse<OrderView>, Response> {
    let Query(query) =
        query.map_err(|e| HttpError::invalid_request(e.body_text()).into_response())?;
    lookup_order(&api, &order_id, &query.user_id)
        .await
        .map(JsonResponse)
        .map_err(IntoResponse::into_response)
}

async fn lookup_order(api: &Api, order_id: &str, user_id: &UserId) -> Result<OrderView> {
    let order_id = OrderId::parse(order_id).map_err(|_| Error::OrderNotFound)?;
    let record = api
        .inventory
        .order_of_user(&mut api.redis.clone(), order_id, user_id)
        .await?
        .ok_or(Error::OrderNotFound)?;
    Ok(record.into())
}
