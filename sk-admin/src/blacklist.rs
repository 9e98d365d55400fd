//! Blacklists of shoppers (user ids) and client addresses, refused by every sk-app.
//!
//! - `PUT`/`DELETE /admin/v1/blacklist/users/{user_id}` · `PUT`/`DELETE /admin/v1/blacklist/ips/{ip}`
//! - `GET /admin/v1/blacklist?kind=&limit=&cursor=`
//!
//! MySQL is the record; Redis holds the sets sk-app loads (`<prefix>:blacklist:users`,
//! `<prefix>:blacklist:ips`) and every change is published on `<prefix>:blacklist-events`, so
//! each sk-app applies it within a second. The scheduler re-mirrors the sets when Redis lost
//! them.

use std::net::IpAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use mysql_async::prelude::Queryable;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sk_common::cursor;
use sk_common::domain::UserId;
use sk_common::http::Json;
use sk_common::mysql::MysqlPool;

use crate::{Error, Result};

/// What a blacklist entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A shopper's user id.
    User,
    /// A client IP address.
    Ip,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Ip => "ip",
        }
    }
}

/// One blacklisted user or address.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// User or IP.
    pub kind: Kind,
    /// The user id, or the address in its canonical form.
    pub value: String,
    /// Why, as the admin said.
    pub reason: String,
}

/// The blacklists' storage.
#[derive(Debug, Clone)]
pub struct Blacklist {
    mysql: MysqlPool,
    redis: ConnectionManager,
    prefix: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<Kind>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryCursor {
    kind: String,
    value: String,
    filter: Option<Kind>,
}

/// The blacklist routes.
pub fn routes(blacklist: Blacklist) -> Router {
    Router::new()
        .route("/admin/v1/blacklist", get(list))
        .route(
            "/admin/v1/blacklist/users/{user_id}",
            put(add_user).delete(remove_user),
        )
        .route(
            "/admin/v1/blacklist/ips/{ip}",
            put(add_ip).delete(remove_ip),
        )
        .with_state(blacklist)
}

/// The optional `{"reason": "…"}` body of an add.
fn reason(body: &[u8]) -> Result<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let body: AddBody =
        serde_json::from_slice(body).map_err(|e| Error::invalid("body", e.to_string()))?;
    Ok(body.reason)
}

fn user(text: &str) -> Result<String> {
    Ok(UserId::parse(text)
        .map_err(|e| Error::invalid("user_id", e.to_string()))?
        .to_string())
}

fn ip(text: &str) -> Result<String> {
    let address: IpAddr = text
        .parse()
        .map_err(|_| Error::invalid("ip", "must be an IPv4 or IPv6 address"))?;
    // One spelling per address, so sk-app's lookup of the peer address matches.
    Ok(address.to_canonical().to_string())
}

async fn add_user(
    State(b): State<Blacklist>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Entry>> {
    let reason = reason(&body)?;
    Ok(Json(b.add(Kind::User, user(&id)?, reason).await?))
}

async fn remove_user(
    State(b): State<Blacklist>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    b.remove(Kind::User, user(&id)?).await
}

async fn add_ip(
    State(b): State<Blacklist>,
    Path(address): Path<String>,
    body: Bytes,
) -> Result<Json<Entry>> {
    let reason = reason(&body)?;
    Ok(Json(b.add(Kind::Ip, ip(&address)?, reason).await?))
}

async fn remove_ip(
    State(b): State<Blacklist>,
    Path(address): Path<String>,
) -> Result<Json<serde_json::Value>> {
    b.remove(Kind::Ip, ip(&address)?).await
}

/// One page of the blacklist.
#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Entry>,
    next_cursor: Option<String>,
}

async fn list(
    State(b): State<Blacklist>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page>> {
    let Query(query) = query.map_err(|e| Error::invalid("query", e.body_text()))?;
    let limit =
        cursor::page_limit(query.limit).map_err(|reason| Error::invalid("limit", reason))?;
    let after = query
        .cursor
        .as_deref()
        .map(cursor::decode::<EntryCursor>)
        .transpose()
        .map_err(|_| Error::InvalidCursor)?;
    if after.as_ref().is_some_and(|c| c.filter != query.kind) {
        return Err(Error::InvalidCursor);
    }
    let (items, next_cursor) = b.page(query.kind, limit, after).await?;
    Ok(Json(Page { items, next_cursor }))
}

impl Blacklist {
    /// Blacklists stored in `mysql`, mirrored into Redis under `prefix`.
    #[must_use]
    pub fn new(mysql: MysqlPool, redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            mysql,
            redis,
            prefix: prefix.to_owned(),
        }
    }

    fn set_key(&self, kind: Kind) -> String {
        format!("{}:blacklist:{}s", self.prefix, kind.as_str())
    }

    async fn add(&self, kind: Kind, value: String, reason: String) -> Result<Entry> {
        if reason.chars().count() > 200 {
            return Err(Error::invalid("reason", "must be at most 200 characters"));
        }
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "INSERT INTO blacklist (kind, value, reason) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE reason = VALUES(reason)",
            (kind.as_str(), &value, &reason),
        )
        .await
        .map_err(sk_common::Error::from)?;
        self.mirror(kind, &value, true).await?;
        Ok(Entry {
            kind,
            value,
            reason,
        })
    }

    async fn remove(&self, kind: Kind, value: String) -> Result<Json<serde_json::Value>> {
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "DELETE FROM blacklist WHERE kind = ? AND value = ?",
            (kind.as_str(), &value),
        )
        .await
        .map_err(sk_common::Error::from)?;
        self.mirror(kind, &value, false).await?;
        Ok(Json(
            serde_json::json!({"kind": kind, "value": value, "removed": true}),
        ))
    }

    /// Applies one change to the Redis set and announces it.
    async fn mirror(&self, kind: Kind, value: &str, added: bool) -> Result<()> {
        let event = serde_json::json!({
            "kind": kind,
            "value": value,
            "action": if added { "added" } else { "removed" },
        });
        let mut pipe = redis::pipe();
        if added {
            pipe.sadd(self.set_key(kind), value).ignore();
        } else {
            pipe.srem(self.set_key(kind), value).ignore();
        }
        pipe.publish(
            format!("{}:blacklist-events", self.prefix),
            event.to_string(),
        )
        .ignore();
        pipe.query_async::<()>(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        Ok(())
    }

    async fn page(
        &self,
        kind: Option<Kind>,
        limit: u32,
        after: Option<EntryCursor>,
    ) -> Result<(Vec<Entry>, Option<String>)> {
        let (after_kind, after_value) =
            after.map_or((String::new(), String::new()), |c| (c.kind, c.value));
        let mut conn = self.mysql.conn().await?;
        let rows: Vec<(String, String, String)> = conn
            .exec(
                "SELECT CAST(kind AS CHAR), value, reason FROM blacklist \
                 WHERE (? IS NULL OR kind = ?) AND (CAST(kind AS CHAR) > ? OR (CAST(kind AS CHAR) = ? AND value > ?)) \
                 ORDER BY CAST(kind AS CHAR), value LIMIT ?",
                (
                    kind.map(Kind::as_str),
                    kind.map(Kind::as_str),
                    &after_kind,
                    &after_kind,
                    &after_value,
                    limit + 1,
                ),
            )
            .await
            .map_err(sk_common::Error::from)?;
        let mut items: Vec<Entry> = rows
            .into_iter()
            .map(|(k, value, reason)| Entry {
                kind: if k == "ip" { Kind::Ip } else { Kind::User },
                value,
                reason,
            })
            .collect();
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| {
                cursor::encode(&EntryCursor {
                    kind: last.kind.as_str().to_owned(),
                    value: last.value.clone(),
                    filter: kind,
                })
            })
        } else {
            None
        };
        Ok((items, next))
    }

    /// Re-mirrors a Redis set from MySQL when their sizes differ (Redis lost it, or a write
    /// to Redis failed after MySQL committed). Returns whether anything was rebuilt.
    ///
    /// # Errors
    /// MySQL or Redis failures.
    pub async fn resync(&self) -> Result<bool> {
        let mut rebuilt = false;
        for kind in [Kind::User, Kind::Ip] {
            let mut conn = self.mysql.conn().await?;
            let values: Vec<String> = conn
                .exec(
                    "SELECT value FROM blacklist WHERE kind = ?",
                    (kind.as_str(),),
                )
                .await
                .map_err(sk_common::Error::from)?;
            drop(conn);
            let key = self.set_key(kind);
            let mut redis = self.redis.clone();
            let size: usize = redis::cmd("SCARD")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .map_err(sk_common::Error::from)?;
            if size == values.len() {
                continue;
            }
            let mut pipe = redis::pipe();
            pipe.atomic().del(&key).ignore();
            if !values.is_empty() {
                pipe.sadd(&key, &values).ignore();
            }
            pipe.query_async::<()>(&mut redis)
                .await
                .map_err(sk_common::Error::from)?;
            tracing::warn!(
                kind = kind.as_str(),
                entries = values.len(),
                "re-mirrored the blacklist into Redis"
            );
            rebuilt = true;
        }
        Ok(rebuilt)
    }
}
