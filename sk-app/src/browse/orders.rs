//! The caller's orders, never from sk-core: one order from the live state in Redis, the list
//! newest first from the MySQL ledger.
//!
//! `GET /api/v1/orders/{order_id}` reads the order record the Lua scripts keep (through the
//! order-id index), so it shows a purchase, payment or cancellation at once. The ledger
//! follows Redis through the outbox relay and order-consumer, so an order appears in the list
//! a moment (about a second) after its purchase, and a payment or cancellation likewise. Not
//! cached: each shopper reads their own rows, through the `(user_id, order_id)` index.

use serde::{Deserialize, Serialize};
use sk_common::catalog::{LedgerFilter, ledger_orders};
use sk_common::cursor::{self, next_page};
use sk_common::domain::{OrderId, UserId};
use sk_common::events::OrderView;

use super::{Browse, log_mysql};
use crate::{Error, Result};

/// Where the next page of a shopper's orders starts. The user is not in it: the next page is
/// always the caller's own, whoever made the cursor.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderCursor {
    order_id: OrderId,
}

impl Browse {
    /// `user`'s order `order_id` as it stands in Redis; someone else's is not found.
    ///
    /// # Errors
    /// [`Error::OrderNotFound`]; [`Error::StateUnavailable`] when Redis fails.
    pub async fn order(&self, order_id: OrderId, user: &UserId) -> Result<OrderView> {
        self.inventory
            .order_of_user(&mut self.redis.clone(), order_id, user)
            .await
            .map_err(|e| Error::StateUnavailable(e.to_string()))?
            .map(OrderView::from)
            .ok_or(Error::OrderNotFound)
    }

    /// A page of `user`'s orders, newest first, and the next cursor.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a cursor this list did not make; [`Error::MysqlUnavailable`].
    pub async fn orders_of(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<&str>,
    ) -> Result<(Vec<OrderView>, Option<String>)> {
        let before = cursor::decode_optional::<OrderCursor>(after)
            .map_err(|_| Error::InvalidCursor)?
            .map(|c| c.order_id);
        let filter = LedgerFilter {
            user_id: Some(user),
            ..LedgerFilter::default()
        };
        let rows = ledger_orders(&self.mysql, &filter, before, limit + 1)
            .await
            .inspect_err(log_mysql)
            .map_err(|e| Error::MysqlUnavailable(e.to_string()))?;
        let mut items: Vec<OrderView> = rows.into_iter().map(OrderView::from).collect();
        let next = next_page(&mut items, limit, |last| {
            cursor::encode(&OrderCursor {
                order_id: last.order_id,
            })
        });
        Ok((items, next))
    }
}
