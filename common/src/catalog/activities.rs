//! Activities (flash sales) as the catalog stores them: the row, its derived status, and the
//! keyset page (latest start first, id as the tie-break).

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::mysql::{DATETIME_MAX_MS, MysqlPool, unix_ms, utc_datetime};

/// Where a sale stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// Before `start_at`.
    Scheduled,
    /// Selling.
    Open,
    /// After `end_at`.
    Ended,
    /// Closed by an admin.
    Closed,
}

/// Where a sale stands at `now` (Unix ms): closed wins, then the time window.
#[must_use]
pub const fn status_of(start_ms: u64, end_ms: u64, closed: bool, now: u64) -> ActivityStatus {
    if closed {
        ActivityStatus::Closed
    } else if now < start_ms {
        ActivityStatus::Scheduled
    } else if now < end_ms {
        ActivityStatus::Open
    } else {
        ActivityStatus::Ended
    }
}

/// An activity with its product's unit price, times in Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// Its id.
    pub id: u64,
    /// The product on sale.
    pub product_id: u64,
    /// Name.
    pub name: String,
    /// First millisecond of the sale.
    pub start_ms: u64,
    /// First millisecond after the sale.
    pub end_ms: u64,
    /// Units for sale.
    pub total_stock: u64,
    /// Most units one shopper may hold.
    pub per_user_limit: u64,
    /// Seconds a reservation waits for payment.
    pub payment_timeout_secs: u64,
    /// Share of purchase attempts admitted past sk-app.
    pub buy_rate: f64,
    /// Most units sold per second, if capped.
    pub max_sold_per_sec: Option<u64>,
    /// When an admin closed it, if one did.
    pub closed_ms: Option<u64>,
    /// Unit price (the product's).
    pub price_cents: u64,
}

impl ActivityRow {
    /// Where the sale stands at `now` (Unix ms).
    #[must_use]
    pub const fn status(&self, now: u64) -> ActivityStatus {
        status_of(self.start_ms, self.end_ms, self.closed_ms.is_some(), now)
    }

    /// This row's place in the list, for the cursor of the page it ends.
    #[must_use]
    pub const fn position(&self) -> ActivityPosition {
        ActivityPosition {
            start_ms: self.start_ms,
            id: self.id,
        }
    }
}

/// A place in the activity list: a page continues with the rows after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActivityPosition {
    /// The row's `start_at` (Unix ms).
    pub start_ms: u64,
    /// The row's id (the tie-break).
    pub id: u64,
}

/// The columns of [`Row`], then `WHERE …` follows.
fn select() -> String {
    format!(
        "SELECT a.id, a.product_id, a.name, {}, {}, a.total_stock, a.per_user_limit, \
         a.payment_timeout_secs, a.buy_rate, a.max_sold_per_sec, {}, p.price_cents \
         FROM activities a JOIN products p ON p.id = a.product_id",
        unix_ms("a.start_at"),
        unix_ms("a.end_at"),
        unix_ms("a.closed_at"),
    )
}

type Row = (
    u64,
    u64,
    String,
    u64,
    u64,
    u64,
    u64,
    u64,
    f64,
    Option<u64>,
    Option<u64>,
    u64,
);

impl From<Row> for ActivityRow {
    fn from(row: Row) -> Self {
        let (
            id,
            product_id,
            name,
            start_ms,
            end_ms,
            total_stock,
            per_user_limit,
            payment_timeout_secs,
            buy_rate,
            max_sold_per_sec,
            closed_ms,
            price_cents,
        ) = row;
        Self {
            id,
            product_id,
            name,
            start_ms,
            end_ms,
            total_stock,
            per_user_limit,
            payment_timeout_secs,
            buy_rate,
            max_sold_per_sec,
            closed_ms,
            price_cents,
        }
    }
}

/// One activity, if it exists.
///
/// # Errors
/// When MySQL fails.
pub async fn activity_by_id(mysql: &MysqlPool, id: u64) -> Result<Option<ActivityRow>> {
    let mut conn = mysql.conn().await?;
    let row: Option<Row> = conn
        .exec_first(format!("{} WHERE a.id = ?", select()), (id,))
        .await?;
    Ok(row.map(ActivityRow::from))
}

/// Up to `fetch` activities after `after` (from the start without one), latest start first
/// with the id as the tie-break, in `status` at `now` (Unix ms) when a status is given.
///
/// # Errors
/// When MySQL fails.
pub async fn activity_page(
    mysql: &MysqlPool,
    status: Option<ActivityStatus>,
    after: Option<ActivityPosition>,
    fetch: u32,
    now: u64,
) -> Result<Vec<ActivityRow>> {
    let (filter, mut params) = status_sql(status, now);
    // Before any cursor: after the last instant a DATETIME can hold.
    let after = after.unwrap_or(ActivityPosition {
        start_ms: DATETIME_MAX_MS,
        id: u64::MAX,
    });
    params.extend([
        utc_datetime(after.start_ms),
        utc_datetime(after.start_ms),
        after.id.into(),
        fetch.into(),
    ]);
    let sql = format!(
        "{} WHERE {filter} AND (a.start_at < ? OR (a.start_at = ? AND a.id < ?)) \
         ORDER BY a.start_at DESC, a.id DESC LIMIT ?",
        select()
    );
    let mut conn = mysql.conn().await?;
    let rows: Vec<Row> = conn.exec(sql, Params::Positional(params)).await?;
    Ok(rows.into_iter().map(ActivityRow::from).collect())
}

/// The `WHERE` condition of a status filter, with its parameters (`now` bound, never
/// formatted into the SQL).
fn status_sql(status: Option<ActivityStatus>, now: u64) -> (&'static str, Vec<Value>) {
    let now = utc_datetime(now);
    match status {
        None => ("TRUE", vec![]),
        Some(ActivityStatus::Closed) => ("a.closed_at IS NOT NULL", vec![]),
        Some(ActivityStatus::Scheduled) => ("a.closed_at IS NULL AND a.start_at > ?", vec![now]),
        Some(ActivityStatus::Open) => (
            "a.closed_at IS NULL AND a.start_at <= ? AND a.end_at > ?",
            vec![now.clone(), now],
        ),
        Some(ActivityStatus::Ended) => ("a.closed_at IS NULL AND a.end_at <= ?", vec![now]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_wins_then_the_time_window_decides() {
        let status = |now, closed| status_of(100, 200, closed, now);
        assert_eq!(status(99, false), ActivityStatus::Scheduled);
        assert_eq!(status(100, false), ActivityStatus::Open);
        assert_eq!(status(199, false), ActivityStatus::Open);
        assert_eq!(status(200, false), ActivityStatus::Ended);
        assert_eq!(status(50, true), ActivityStatus::Closed);
        assert_eq!(status(150, true), ActivityStatus::Closed);
    }
}
