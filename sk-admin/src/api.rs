//! The admin API's catalog routes (behind the admin-token check):
//!
//! - `POST /admin/v1/products` · `GET /admin/v1/products?limit=&cursor=`
//! - `POST /admin/v1/activities` → 201 · `GET /admin/v1/activities?limit=&cursor=&status=`
//! - `GET /admin/v1/activities/{id}` · `PUT /admin/v1/activities/{id}` (before it starts)
//! - `POST /admin/v1/activities/{id}/close`
//! - `GET /admin/v1/activities/{id}/reconciliation`: Redis against the ledger, now
//! - `GET /admin/v1/orders?activity_id=&status=&limit=&cursor=`: the ledger, newest first
//! - `GET /admin/v1/scheduler`: whether this instance leads the scheduler
//!
//! And, without a token ([`public_routes`]): `GET /admin/v1/openapi.json`, the OpenAPI 3.1
//! document of the whole admin API (`sk-admin/openapi.json`).

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sk_common::cursor::page_limit;
use sk_common::http::Json;

use crate::catalog::{
    Activity, Catalog, LedgerOrder, NewActivity, NewProduct, OrderFilter, Product, Reconciliation,
    StatusFilter,
};
use crate::scheduler::{Leadership, LeadershipView};
use crate::{Error, Result};

/// The admin API's OpenAPI 3.1 document (every `/admin/v1` route; `tests/it/openapi.rs` checks
/// that it keeps up with the routers).
const OPENAPI: &str = include_str!("../openapi.json");

/// The routes that need no token: only the API's description, which holds no data. Merge them
/// after [`crate::auth::protect`], so its layer does not cover them.
pub fn public_routes() -> Router {
    Router::new().route("/admin/v1/openapi.json", get(openapi))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The catalog routes and the scheduler's state.
pub fn routes(catalog: Catalog, leadership: Leadership) -> Router {
    let scheduler = Router::new()
        .route("/admin/v1/scheduler", get(scheduler))
        .with_state(leadership);
    Router::new()
        .route("/admin/v1/products", post(create_product).get(products))
        .route(
            "/admin/v1/activities",
            post(create_activity).get(activities),
        )
        .route("/admin/v1/activities/{id}", get(activity).put(edit))
        .route("/admin/v1/activities/{id}/close", post(close))
        .route(
            "/admin/v1/activities/{id}/reconciliation",
            get(reconciliation),
        )
        .route("/admin/v1/orders", get(orders))
        .with_state(catalog)
        .merge(scheduler)
}

/// Whether this instance leads the scheduler.
async fn scheduler(State(leadership): State<Leadership>) -> Json<LeadershipView> {
    Json(leadership.view())
}

/// One page of a list.
#[derive(Debug, Serialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<String>,
}

impl PageQuery {
    fn parse(
        query: Result<Query<Self>, QueryRejection>,
    ) -> Result<(u32, Option<String>, StatusFilter)> {
        let Query(query) = query.map_err(|e| Error::invalid("query", e.body_text()))?;
        let limit = page_limit(query.limit).map_err(|reason| Error::invalid("limit", reason))?;
        let status = query
            .status
            .map(|s| {
                serde_json::from_value(serde_json::Value::String(s)).map_err(|_| {
                    Error::invalid("status", "must be scheduled, open, ended or closed")
                })
            })
            .transpose()?;
        Ok((limit, query.cursor, status))
    }
}

async fn create_product(
    State(catalog): State<Catalog>,
    Json(new): Json<NewProduct>,
) -> Result<(StatusCode, Json<Product>)> {
    new.validate()?;
    Ok((
        StatusCode::CREATED,
        Json(catalog.create_product(&new).await?),
    ))
}

async fn products(
    State(catalog): State<Catalog>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Product>>> {
    let (limit, cursor, status) = PageQuery::parse(query)?;
    if status.is_some() {
        return Err(Error::invalid("status", "products have no status"));
    }
    let (items, next_cursor) = catalog.products(limit, cursor.as_deref()).await?;
    Ok(Json(Page { items, next_cursor }))
}

async fn create_activity(
    State(catalog): State<Catalog>,
    Json(new): Json<NewActivity>,
) -> Result<(StatusCode, Json<Activity>)> {
    Ok((
        StatusCode::CREATED,
        Json(catalog.create_activity(&new).await?),
    ))
}

async fn activities(
    State(catalog): State<Catalog>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Activity>>> {
    let (limit, cursor, status) = PageQuery::parse(query)?;
    let (items, next_cursor) = catalog.activities(limit, status, cursor.as_deref()).await?;
    Ok(Json(Page { items, next_cursor }))
}

async fn activity(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> Result<Json<Activity>> {
    let id = id.parse().map_err(|_| Error::ActivityNotFound)?;
    Ok(Json(catalog.activity(id).await?))
}

async fn close(State(catalog): State<Catalog>, Path(id): Path<String>) -> Result<Json<Activity>> {
    let id = id.parse().map_err(|_| Error::ActivityNotFound)?;
    Ok(Json(catalog.close_activity(id).await?))
}

async fn reconciliation(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> Result<Json<Reconciliation>> {
    let id = id.parse().map_err(|_| Error::ActivityNotFound)?;
    Ok(Json(catalog.reconcile(id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    activity_id: Option<u64>,
    status: Option<sk_common::events::OrderStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn orders(
    State(catalog): State<Catalog>,
    query: Result<Query<OrdersQuery>, QueryRejection>,
) -> Result<Json<Page<LedgerOrder>>> {
    let Query(query) = query.map_err(|e| Error::invalid("query", e.body_text()))?;
    let limit = page_limit(query.limit).map_err(|reason| Error::invalid("limit", reason))?;
    let filter = OrderFilter {
        activity_id: query.activity_id,
        status: query.status,
    };
    let (items, next_cursor) = catalog
        .orders(filter, limit, query.cursor.as_deref())
        .await?;
    Ok(Json(Page { items, next_cursor }))
}

async fn edit(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    Json(new): Json<NewActivity>,
) -> Result<Json<Activity>> {
    let id = id.parse().map_err(|_| Error::ActivityNotFound)?;
    Ok(Json(catalog.edit_activity(id, &new).await?))
}
