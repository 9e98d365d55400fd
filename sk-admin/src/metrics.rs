//! sk-admin's metrics (its rows of `METRICS.md`): names, help texts, the series that exist
//! from start-up, and the stock gauges the scheduler leader sets every round.
//!
//! Stock gauges are only ever set for live activities, and only by the leader: an activity
//! that ends, or an instance that stops leading, stops setting them, and the recorder's idle
//! timeout for gauges takes the series off `/metrics`.

use metrics::{counter, describe_counter, describe_gauge, gauge};

use crate::catalog::LiveStock;

/// Gauge: live activities (scheduled or selling).
pub const LIVE_ACTIVITIES: &str = "sk_admin_live_activities";
/// Gauge by `activity_id`: units left in Redis for a live activity.
pub const STOCK_REMAINING: &str = "sk_admin_stock_remaining_units";
/// Gauge by `activity_id`: total stock of a live activity.
pub const STOCK_TOTAL: &str = "sk_admin_stock_total_units";
/// Gauge by `activity_id`: Redis sold units minus MySQL non-cancelled units after a sale.
pub const RECONCILIATION_DIFFERENCE: &str = "sk_admin_reconciliation_difference_units";
/// Counter: activities whose missing Redis state was rebuilt from the ledger.
pub const ACTIVITY_REPAIRS: &str = "sk_admin_activity_repairs_total";

/// Describes sk-admin's metrics and registers its fixed series at zero.
pub fn register() {
    sk_common::http::install_metrics_recorder();
    describe_gauge!(
        LIVE_ACTIVITIES,
        "Activities scheduled or selling (not closed, not ended), as seen by the scheduler leader"
    );
    describe_gauge!(
        STOCK_REMAINING,
        "Units left in Redis for each live activity (set by the scheduler leader every round)"
    );
    describe_gauge!(
        STOCK_TOTAL,
        "Total stock of each live activity (set by the scheduler leader every round)"
    );
    describe_gauge!(
        RECONCILIATION_DIFFERENCE,
        "Redis sold units minus MySQL non-cancelled units for an ended activity not yet reconciled (0 = consistent)"
    );
    describe_counter!(
        ACTIVITY_REPAIRS,
        "Activities whose missing Redis state the scheduler rebuilt from the ledger"
    );
    counter!(ACTIVITY_REPAIRS).increment(0);
}

/// Sets the stock gauges of the `live` activities (those with state in Redis) and their
/// count.
pub fn record_stock(live: &[LiveStock]) {
    #[allow(clippy::cast_precision_loss, reason = "gauges of unit counts")]
    for activity in live {
        let id = activity.activity_id.to_string();
        gauge!(STOCK_TOTAL, "activity_id" => id.clone()).set(activity.total_stock as f64);
        if let Some(remaining) = activity.remaining {
            gauge!(STOCK_REMAINING, "activity_id" => id).set(remaining as f64);
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "at most one round's worth")]
    gauge!(LIVE_ACTIVITIES).set(live.len() as f64);
}
