//! The read routes: browsing (no token) and the caller's own orders (token), served by
//! [`Browse`](crate::browse::Browse) from MySQL and Redis, never from sk-core; and the OpenAPI
//! document of the whole shopper API.
//!
//! - `GET /api/v1/activities?limit=&cursor=` · `GET /api/v1/activities/{activity_id}`
//! - `GET /api/v1/orders?limit=&cursor=` (the verified token's `sub` only)
//! - `GET /api/v1/openapi.json`

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sk_common::cursor::page_limit;
use sk_common::http::Json;

use super::{Api, Shopper};
use sk_common::events::OrderView;

use crate::browse::ShopperActivity;
use crate::{Error, Result};

/// The shopper API's OpenAPI 3.1 document (JSON: the workspace has no YAML crate).
const OPENAPI: &str = include_str!("../../openapi.json");

/// One page of a list.
#[derive(Debug, Serialize)]
pub(super) struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// `?limit=&cursor=`. Other parameters (a cache-buster) are ignored; an empty cursor is the
/// first page.
#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

impl PageQuery {
    fn parse(query: Result<Query<Self>, QueryRejection>) -> Result<(u32, Option<String>)> {
        let Query(query) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
        let limit = page_limit(query.limit).map_err(Error::InvalidRequest)?;
        Ok((limit, query.cursor.filter(|c| !c.is_empty())))
    }
}

pub(super) async fn activities(
    State(api): State<Api>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<ShopperActivity>>> {
    let (limit, cursor) = PageQuery::parse(query)?;
    let (items, next_cursor) = api.browse.activities(limit, cursor.as_deref()).await?;
    Ok(Json(Page { items, next_cursor }))
}

pub(super) async fn activity(
    State(api): State<Api>,
    Path(activity_id): Path<String>,
) -> Result<Json<ShopperActivity>> {
    api.browse.activity(&activity_id).await.map(Json)
}

pub(super) async fn my_orders(
    State(api): State<Api>,
    shopper: Shopper,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<OrderView>>> {
    let (limit, cursor) = PageQuery::parse(query)?;
    let (items, next_cursor) = api
        .browse
        .orders_of(&shopper.0, limit, cursor.as_deref())
        .await?;
    Ok(Json(Page { items, next_cursor }))
}

pub(super) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
