//! The catalog and the order ledger as MySQL holds them, read one way by every service that
//! reads them: sk-admin (adding live figures for admins) and sk-app (the shopper view).
//!
//! - [`ActivityRow`]: an activity joined with its product's price; its [`ActivityStatus`] is
//!   derived from the times and `closed_at` ([`status_of`]), never stored.
//! - [`activity_by_id`] and [`activity_page`] (latest start first, id as the tie-break).
//! - [`ledger_orders`]: ledger rows as whole [`OrderEvent`](crate::events::OrderEvent)s,
//!   newest first (order ids are UUIDv7, so id order is time order).
//!
//! Every value is bound as an SQL parameter, never formatted into the SQL.

mod activities;
mod ledger;

pub use activities::{
    ActivityPosition, ActivityRow, ActivityStatus, activity_by_id, activity_page, status_of,
};
pub use ledger::{LedgerFilter, ledger_orders};
