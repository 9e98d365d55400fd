//! The order ledger in MySQL: a batch of events becomes ONE transaction of multi-row
//! `INSERT … ON DUPLICATE KEY UPDATE` statements keyed on `order_id`.
//!
//! Status only moves forward (`reserved` → `paid` | `cancelled`), so replays, duplicates and
//! stale events leave a row exactly as it was — byte for byte, `updated_at` included, because
//! MySQL only touches `ON UPDATE` columns when some value really changed.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Params, TxOpts, Value};
use sk_common::events::{OrderEvent, OrderStatus};
use sk_common::mysql::{DATETIME_MAX_MS, MysqlPool, utc_datetime};

use crate::{Error, Result};

const COLUMNS: &str = "order_id, activity_id, user_id, quantity, price_cents, status, \
                       reserved_at, expires_at, paid_at, cancelled_at, cancel_reason";

/// One placeholder per column of [`COLUMNS`].
const ROW_PLACEHOLDERS: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Parameters bound per row.
const PARAMS_PER_ROW: usize = 11;

// MySQL evaluates these assignments left to right and later ones see the new values, so the
// timestamps and reason are decided while `status` still holds the stored (old) value.
const ON_DUPLICATE: &str = "ON DUPLICATE KEY UPDATE \
    paid_at = IF(status = 'reserved' AND VALUES(status) = 'paid', VALUES(paid_at), paid_at), \
    cancelled_at = IF(status = 'reserved' AND VALUES(status) = 'cancelled', \
                      VALUES(cancelled_at), cancelled_at), \
    cancel_reason = IF(status = 'reserved' AND VALUES(status) = 'cancelled', \
                       VALUES(cancel_reason), cancel_reason), \
    status = IF(status = 'reserved', VALUES(status), status)";

/// An event whose every value fits its ledger column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow(OrderEvent);

/// Why an event parsed but cannot be a ledger row (a permanent failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is past the largest DATETIME (year 9999)")]
pub struct OutOfRange(&'static str);

impl LedgerRow {
    /// Checks what the event schema does not: every timestamp fits a `DATETIME(3)`.
    ///
    /// # Errors
    /// [`OutOfRange`] naming the first timestamp that does not fit.
    pub fn new(event: OrderEvent) -> Result<Self, OutOfRange> {
        for (name, ms) in [
            ("reserved_at_ms", event.reserved_at_ms),
            ("expires_at_ms", event.expires_at_ms),
            ("changed_at_ms", event.changed_at_ms),
        ] {
            if ms > DATETIME_MAX_MS {
                return Err(OutOfRange(name));
            }
        }
        Ok(Self(event))
    }

    /// The event this row records.
    #[must_use]
    pub fn event(&self) -> &OrderEvent {
        &self.0
    }

    /// Appends this row's values in [`COLUMNS`] order.
    fn bind(&self, params: &mut Vec<Value>) {
        let event = &self.0;
        let at_if = |status: OrderStatus| {
            if event.status == status {
                utc_datetime(event.changed_at_ms)
            } else {
                Value::NULL
            }
        };
        params.extend([
            Value::from(event.order_id.to_bytes().to_vec()),
            Value::from(event.activity_id.get()),
            Value::from(event.user_id.as_str()),
            Value::from(event.quantity.get()),
            Value::from(event.price_cents.get()),
            Value::from(event.status.as_str()),
            utc_datetime(event.reserved_at_ms),
            utc_datetime(event.expires_at_ms),
            at_if(OrderStatus::Paid),
            at_if(OrderStatus::Cancelled),
            event
                .cancel_reason
                .map_or(Value::NULL, |r| Value::from(r.as_str())),
        ]);
    }
}

/// Writes batches of [`LedgerRow`]s.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: MysqlPool,
    chunk_max: usize,
    timeout: Duration,
}

impl Ledger {
    /// A writer whose batches hold at most `chunk_max` rows; one transaction may take `timeout`.
    #[must_use]
    pub fn new(pool: MysqlPool, chunk_max: usize, timeout: Duration) -> Self {
        Self {
            pool,
            chunk_max: chunk_max.max(1),
            timeout,
        }
    }

    /// Applies `rows` in one transaction; nothing is written unless all of it is.
    ///
    /// # Errors
    /// When MySQL cannot be reached, refuses, or takes longer than the timeout: all transient
    /// for a well-formed row, so the caller retries the same rows.
    pub async fn apply(&self, rows: &[LedgerRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        tokio::time::timeout(self.timeout, self.apply_in_transaction(rows))
            .await
            .map_err(|_| Error::Timeout(self.timeout, "the ledger transaction"))??;
        metrics::histogram!(crate::metrics::APPLY_DURATION).record(started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn apply_in_transaction(&self, rows: &[LedgerRow]) -> Result<()> {
        let mut conn = self.pool.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let mut rest = rows;
        for size in chunk_sizes(rows.len(), self.chunk_max) {
            let (chunk, tail) = rest.split_at(size);
            let mut params = Vec::with_capacity(size * PARAMS_PER_ROW);
            for row in chunk {
                row.bind(&mut params);
            }
            tx.exec_drop(upsert_sql(size), Params::Positional(params))
                .await?;
            rest = tail;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The upsert of `rows` rows.
fn upsert_sql(rows: usize) -> String {
    let values = vec![ROW_PLACEHOLDERS; rows].join(", ");
    format!("INSERT INTO orders ({COLUMNS}) VALUES {values} {ON_DUPLICATE}")
}

/// Splits `total` rows into statements of `chunk_max` rows, then powers of two, so a
/// connection prepares at most `1 + log2(chunk_max)` distinct statements, however ragged
/// the batches are, while a full batch is a single statement.
fn chunk_sizes(total: usize, chunk_max: usize) -> impl Iterator<Item = usize> {
    let full = total / chunk_max;
    let rest = total % chunk_max;
    let powers = (0..usize::BITS)
        .rev()
        .map(|bit| 1_usize << bit)
        .filter(move |power| rest & power != 0);
    std::iter::repeat_n(chunk_max, full).chain(powers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use super::*;
    use crate::test_events::reserved;

    #[test]
    fn chunks_cover_every_row_with_few_distinct_sizes() {
        let mut sizes = BTreeSet::new();
        for total in 0..=1_200 {
            let chunks: Vec<usize> = chunk_sizes(total, 500).collect();
            assert_eq!(chunks.iter().sum::<usize>(), total, "{total}: {chunks:?}");
            assert!(chunks.iter().all(|&c| (1..=500).contains(&c)));
            sizes.extend(chunks);
        }
        // 500 plus the powers of two below it.
        assert_eq!(sizes.len(), 1 + 9, "{sizes:?}");
        assert_eq!(chunk_sizes(500, 500).collect::<Vec<_>>(), [500]);
        assert_eq!(chunk_sizes(7, 500).collect::<Vec<_>>(), [4, 2, 1]);
    }

    #[test]
    fn the_upsert_has_one_placeholder_per_parameter() {
        let sql = upsert_sql(3);
        assert_eq!(sql.matches('?').count(), 3 * PARAMS_PER_ROW);
        assert_eq!(COLUMNS.split(',').count(), PARAMS_PER_ROW);
    }

    #[test]
    fn the_status_is_assigned_last() {
        // Moving `status` earlier would make the timestamp conditions see the new status.
        let status = ON_DUPLICATE.find("status = IF").unwrap();
        for column in ["paid_at = IF", "cancelled_at = IF", "cancel_reason = IF"] {
            assert!(ON_DUPLICATE.find(column).unwrap() < status, "{column}");
        }
    }

    fn event(changed_at_ms: u64) -> OrderEvent {
        OrderEvent {
            status: OrderStatus::Paid,
            changed_at_ms,
            ..reserved()
        }
    }

    #[test]
    fn timestamps_past_year_9999_are_refused() {
        assert!(LedgerRow::new(event(DATETIME_MAX_MS)).is_ok());
        assert_eq!(
            LedgerRow::new(event(DATETIME_MAX_MS + 1)),
            Err(OutOfRange("changed_at_ms"))
        );
    }

    #[test]
    fn a_paid_row_binds_its_payment_time_only() {
        let mut params = Vec::new();
        LedgerRow::new(event(1_500)).unwrap().bind(&mut params);
        assert_eq!(params.len(), PARAMS_PER_ROW);
        assert_eq!(params[5], Value::from("paid"));
        assert_eq!(params[8], utc_datetime(1_500));
        assert_eq!(params[9], Value::NULL);
        assert_eq!(params[10], Value::NULL);
    }
}
