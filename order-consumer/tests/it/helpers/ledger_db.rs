//! The test's direct view of the ledger database.

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, Value};
use sk_common::domain::OrderId;
use sk_common::events::{OrderEvent, OrderStatus};
use sk_common::mysql::utc_datetime;

/// One ledger row as the tests compare it: every column the writer sets, in table order.
pub type OrderRow = (
    u64,
    String,
    u32,
    u64,
    String,
    Value,
    Value,
    Value,
    Value,
    Option<String>,
);

/// The row `event` (the latest transition of an order) should have left in the ledger.
pub fn expected_row(event: &OrderEvent) -> OrderRow {
    let at_if = |status: OrderStatus| {
        if event.status == status {
            utc_datetime(event.changed_at_ms)
        } else {
            Value::NULL
        }
    };
    (
        event.activity_id.get(),
        event.user_id.as_str().to_owned(),
        event.quantity.get(),
        event.price_cents.get(),
        event.status.as_str().to_owned(),
        utc_datetime(event.reserved_at_ms),
        utc_datetime(event.expires_at_ms),
        at_if(OrderStatus::Paid),
        at_if(OrderStatus::Cancelled),
        event.cancel_reason.map(|r| r.as_str().to_owned()),
    )
}

/// A pool on the ledger database (UTC session, like the service's).
pub struct LedgerDb {
    pool: Pool,
}

impl LedgerDb {
    pub fn new(url: &str) -> Self {
        let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(url).unwrap())
            .setup(vec!["SET time_zone = '+00:00'"]);
        Self {
            pool: Pool::new(opts),
        }
    }

    /// The ledger row of `order_id`, if any.
    pub async fn row(&self, order_id: OrderId) -> Option<OrderRow> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec_first(
            "SELECT activity_id, user_id, quantity, price_cents, status, reserved_at, \
             expires_at, paid_at, cancelled_at, cancel_reason FROM orders WHERE order_id = ?",
            (order_id.to_bytes().to_vec(),),
        )
        .await
        .unwrap()
    }

    /// Every column of every row, in primary-key order: a byte-for-byte picture of the table.
    pub async fn snapshot(&self) -> Vec<Vec<Value>> {
        let mut conn = self.pool.get_conn().await.unwrap();
        let rows: Vec<mysql_async::Row> = conn
            .exec("SELECT * FROM orders ORDER BY order_id", ())
            .await
            .unwrap();
        rows.into_iter().map(mysql_async::Row::unwrap).collect()
    }

    /// `(order id, status)` of every row, in primary-key order.
    pub async fn statuses(&self) -> Vec<(OrderId, String)> {
        let mut conn = self.pool.get_conn().await.unwrap();
        let rows: Vec<(Vec<u8>, String)> = conn
            .exec("SELECT order_id, status FROM orders ORDER BY order_id", ())
            .await
            .unwrap();
        rows.into_iter()
            .map(|(id, status)| (OrderId::from_bytes(id.try_into().unwrap()).unwrap(), status))
            .collect()
    }

    /// Rows in the ledger (0 while the database or table does not exist yet).
    pub async fn count(&self) -> usize {
        let Ok(mut conn) = self.pool.get_conn().await else {
            return 0;
        };
        conn.exec_first("SELECT COUNT(*) FROM orders", ())
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
    }
}
