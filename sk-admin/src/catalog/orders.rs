//! The order ledger as admins browse it: newest first (order ids are UUIDv7, so id order is
//! time order), filtered by activity and status on every page.

use serde::{Deserialize, Serialize};
use sk_common::catalog::{LedgerFilter, ledger_orders};
use sk_common::cursor::{self, next_page};
use sk_common::domain::OrderId;
use sk_common::events::{OrderEvent, OrderStatus};
use sk_common::time::rfc3339_from_ms;

use super::Catalog;
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

impl From<OrderEvent> for LedgerOrder {
    fn from(order: OrderEvent) -> Self {
        Self {
            order_id: order.order_id.to_string(),
            activity_id: order.activity_id.get(),
            user_id: order.user_id.as_str().to_owned(),
            quantity: order.quantity.get(),
            price_cents: order.price_cents.get(),
            status: order.status.as_str().to_owned(),
            reserved_at: rfc3339_from_ms(order.reserved_at_ms),
            expires_at: rfc3339_from_ms(order.expires_at_ms),
            cancel_reason: order.cancel_reason.map(|r| r.as_str().to_owned()),
        }
    }
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
        let after =
            cursor::decode_optional::<OrderCursor>(after).map_err(|_| Error::InvalidCursor)?;
        if after.as_ref().is_some_and(|c| c.filter != filter) {
            return Err(Error::InvalidCursor);
        }
        let before = after
            .map(|c| OrderId::parse(&c.order_id))
            .transpose()
            .map_err(|_| Error::InvalidCursor)?;
        let ledger = LedgerFilter {
            activity_id: filter.activity_id,
            user_id: None,
            status: filter.status,
        };
        let rows = ledger_orders(&self.mysql, &ledger, before, limit + 1).await?;
        let mut items: Vec<LedgerOrder> = rows.into_iter().map(LedgerOrder::from).collect();
        let next = next_page(&mut items, limit, |last| {
            cursor::encode(&OrderCursor {
                order_id: last.order_id.clone(),
                filter,
            })
        });
        Ok((items, next))
    }
}
