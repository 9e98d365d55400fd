//! The ceiling: the same rows written straight into a fresh `orders` table, 500-row
//! multi-row upserts, one transaction each, one connection — the fastest the ledger could be
//! filled on this machine, with none of Kafka, decoding or offset commits in the way.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Params, TxOpts, Value};
use sk_common::events::OrderEvent;
use sk_common::mysql::{MysqlPool, utc_datetime};

use crate::Result;

const COLUMNS: &str = "order_id, activity_id, user_id, quantity, price_cents, status, \
                       reserved_at, expires_at, paid_at, cancelled_at, cancel_reason";
const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Writes `events` as ledger rows, `rows_per_tx` per transaction; returns the time it took.
///
/// # Errors
/// When MySQL refuses.
pub async fn insert_all(
    pool: &MysqlPool,
    events: &[OrderEvent],
    rows_per_tx: usize,
) -> Result<Duration> {
    let mut conn = pool.conn().await?;
    let started = Instant::now();
    for chunk in events.chunks(rows_per_tx.max(1)) {
        let sql = format!(
            "INSERT INTO orders ({COLUMNS}) VALUES {} ON DUPLICATE KEY UPDATE status = VALUES(status)",
            vec![ROW; chunk.len()].join(", ")
        );
        let params: Vec<Value> = chunk.iter().flat_map(row).collect();
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(sql, Params::Positional(params)).await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

fn row(event: &OrderEvent) -> [Value; 11] {
    [
        Value::from(event.order_id.to_bytes().to_vec()),
        Value::from(event.activity_id.get()),
        Value::from(event.user_id.as_str()),
        Value::from(event.quantity.get()),
        Value::from(event.price_cents.get()),
        Value::from(event.status.as_str()),
        utc_datetime(event.reserved_at_ms),
        utc_datetime(event.expires_at_ms),
        Value::NULL,
        Value::NULL,
        Value::NULL,
    ]
}
