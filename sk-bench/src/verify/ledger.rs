//! MySQL reads for `verify`: the activity's limits from the catalog (`activities`) and its rows
//! in the order ledger (`orders`). One connection, bound parameters only, and one query for all
//! of an activity's rows (a sale of 100,000 orders is one round trip).

use anyhow::{Context as _, anyhow};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use sk_common::events::OrderStatus;
use uuid::Uuid;

use super::snapshot::{Limits, Order};

/// A connection to the deployment's catalog and ledger database.
#[derive(Debug)]
pub struct Ledger {
    conn: Conn,
}

/// One `orders` row as MySQL returns it.
type Row = (Vec<u8>, String, u32, String);

impl Ledger {
    /// Connects to `url` (`mysql://user@host:port/db`).
    ///
    /// # Errors
    /// When the URL is malformed or MySQL cannot be reached.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let opts = Opts::from_url(url).context("the MySQL URL is not valid")?;
        let conn = Conn::new(opts).await.context("cannot connect to MySQL")?;
        Ok(Self { conn })
    }

    /// The activity's limits from the catalog, or `None` when the catalog has no such activity.
    ///
    /// # Errors
    /// When MySQL fails.
    pub async fn limits(&mut self, activity_id: u64) -> anyhow::Result<Option<Limits>> {
        let row: Option<(u32, u32)> = self
            .conn
            .exec_first(
                "SELECT total_stock, per_user_limit FROM activities WHERE id = ?",
                (activity_id,),
            )
            .await
            .context("cannot read the activity from MySQL")?;
        Ok(row.map(|(total, limit)| Limits {
            total_stock: i64::from(total),
            per_user_limit: i64::from(limit),
        }))
    }

    /// How many ledger rows the activity has (a cheap progress probe while draining).
    ///
    /// # Errors
    /// When MySQL fails.
    pub async fn count(&mut self, activity_id: u64) -> anyhow::Result<u64> {
        let count: Option<u64> = self
            .conn
            .exec_first(
                "SELECT COUNT(*) FROM orders WHERE activity_id = ?",
                (activity_id,),
            )
            .await
            .context("cannot count the ledger's orders")?;
        Ok(count.unwrap_or(0))
    }

    /// Every ledger row of the activity.
    ///
    /// # Errors
    /// When MySQL fails or a row's status is not one the services write.
    pub async fn orders(&mut self, activity_id: u64) -> anyhow::Result<Vec<Order>> {
        let rows: Vec<Row> = self
            .conn
            .exec(
                "SELECT order_id, user_id, quantity, status FROM orders WHERE activity_id = ?",
                (activity_id,),
            )
            .await
            .context("cannot read the ledger's orders")?;
        rows.into_iter().map(order_of).collect()
    }

    /// Closes the connection (best effort: the verdict does not depend on it).
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

fn order_of((id, user, quantity, status): Row) -> anyhow::Result<Order> {
    let id = order_id_text(&id);
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| anyhow!("order {id} has the unknown status {status:?} in MySQL"))?;
    Ok(Order {
        id,
        user,
        quantity: i64::from(quantity),
        status,
    })
}

/// The hyphenated UUID of a `BINARY(16)` order id; anything else as `0x…` hex, so a malformed
/// row still shows up (as an order nobody knows) instead of stopping the verdict.
fn order_id_text(bytes: &[u8]) -> String {
    Uuid::from_slice(bytes).map_or_else(
        |_| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        },
        |id| id.hyphenated().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_order_ids_read_as_hyphenated_uuids() {
        let id = Uuid::now_v7();
        assert_eq!(order_id_text(id.as_bytes()), id.hyphenated().to_string());
        assert_eq!(order_id_text(&[0xab, 0x01]), "0xab01");
    }

    #[test]
    fn a_row_with_an_unknown_status_is_an_error() {
        let row = (
            Uuid::now_v7().as_bytes().to_vec(),
            "u-1".into(),
            1,
            "lost".into(),
        );
        assert!(order_of(row).is_err());
        let row = (
            Uuid::now_v7().as_bytes().to_vec(),
            "u-1".into(),
            2,
            "paid".into(),
        );
        let order = order_of(row).unwrap();
        assert_eq!((order.quantity, order.status), (2, OrderStatus::Paid));
    }
}
