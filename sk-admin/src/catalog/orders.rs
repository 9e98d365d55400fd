//! The order ledger as admins browse it: newest first (order ids are UUIDv7, so id order is
//! time order), filtered by activity and status on every page.

use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};
use sk_common::cursor;
use sk_common::domain::OrderId;
use sk_common::events::OrderStatus;
use sk_common::time::rfc3339_from_ms;

use super::Catalog;
use super::products::next_page;
use crate::{Error, Result};

/// A row of the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerOrder {
    /// The order.
    pub order_id: String,
    /// Its activity.
    pub activity_id: u64,
    /// Its shopper.
    pub user_id: String,
    /// Units.
    pub quantity: u32,
    /// Unit price.
    pub price_cents: u64,
    /// `reserved`, `paid` or `cancelled`.
    pub status: String,
    /// RFC 3339.
    pub reserved_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// `cancelled` or `expired` when cancelled.
    pub cancel_reason: Option<String>,
}

/// Which orders a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    /// Only this activity's.
    pub activity_id: Option<u64>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderCursor {
    order_id: String,
    filter: OrderFilter,
}

type Row = (
    Vec<u8>,
    u64,
    String,
    u32,
    u64,
    String,
    u64,
    u64,
    Option<String>,
);

fn ledger_order(row: Row) -> Option<LedgerOrder> {
    let (id, activity_id, user_id, quantity, price_cents, status, reserved, expires, reason) = row;
    Some(LedgerOrder {
        order_id: OrderId::from_bytes(id.try_into().ok()?).ok()?.to_string(),
        activity_id,
        user_id,
        quantity,
        price_cents,
        status,
        reserved_at: rfc3339_from_ms(reserved),
        expires_at: rfc3339_from_ms(expires),
        cancel_reason: reason,
    })
}

impl Catalog {
    /// A page of the ledger matching `filter`, newest first.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a cursor made by another list or with another filter.
    pub async fn orders(
        &self,
        filter: OrderFilter,
        limit: u32,
        after: Option<&str>,
    ) -> Result<(Vec<LedgerOrder>, Option<String>)> {
        let after = after
            .map(cursor::decode::<OrderCursor>)
            .transpose()
            .map_err(|_| Error::InvalidCursor)?;
        if after.as_ref().is_some_and(|c| c.filter != filter) {
            return Err(Error::InvalidCursor);
        }
        let after_id = match after {
            Some(c) => OrderId::parse(&c.order_id)
                .map_err(|_| Error::InvalidCursor)?
                .to_bytes()
                .to_vec(),
            None => vec![0xff; 16],
        };
        let ms = |column: &str| format!("CAST(ROUND(UNIX_TIMESTAMP({column}) * 1000) AS UNSIGNED)");
        let sql = format!(
            "SELECT order_id, activity_id, user_id, quantity, price_cents, CAST(status AS CHAR), {}, {}, \
             cancel_reason FROM orders WHERE (? IS NULL OR activity_id = ?) AND (? IS NULL OR status = ?) \
             AND order_id < ? ORDER BY order_id DESC LIMIT ?",
            ms("reserved_at"),
            ms("expires_at"),
        );
        let status = filter.status.map(OrderStatus::as_str);
        let mut conn = self.mysql.conn().await?;
        let rows: Vec<Row> = conn
            .exec(
                sql,
                (
                    filter.activity_id,
                    filter.activity_id,
                    status,
                    status,
                    after_id,
                    limit + 1,
                ),
            )
            .await
            .map_err(sk_common::Error::from)?;
        let mut items: Vec<LedgerOrder> = rows.into_iter().filter_map(ledger_order).collect();
        let next = next_page(&mut items, limit, |last| {
            cursor::encode(&OrderCursor {
                order_id: last.order_id.clone(),
                filter,
            })
        });
        Ok((items, next))
    }
}
