//! Activities (flash sales): created with full validation, listed with keyset pages, closed.
//! An activity's status is derived from its times and `closed_at`, never stored.

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};
use serde::{Deserialize, Serialize};
use sk_common::catalog::{ActivityPosition, ActivityRow, activity_by_id, activity_page};
use sk_common::cursor::{self, next_page};
use sk_common::domain::{ActivityId, PriceCents, ProductId, Quantity};
use sk_common::mysql::{DATETIME_MAX_MS, utc_datetime};
use sk_common::stock::{ActivitySpec, BUY_RATE_ALL_PPM};
use sk_common::time::{now_ms, parse_rfc3339, rfc3339_from_ms};

use super::Catalog;
use super::stats::ActivityStats;
use crate::{Error, Result};

/// Bounds an admin may choose within.
const MAX_STOCK: u64 = 10_000_000;
const MIN_PAYMENT_TIMEOUT_SECS: u64 = 10;
const MAX_PAYMENT_TIMEOUT_SECS: u64 = 24 * 3600;

pub use sk_common::catalog::ActivityStatus;

/// A `status=` filter on the activity list.
pub type StatusFilter = Option<ActivityStatus>;

/// A flash sale as an admin asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// The product on sale.
    pub product_id: ProductId,
    /// 1–200 characters.
    pub name: String,
    /// RFC 3339.
    pub start_at: String,
    /// RFC 3339, after `start_at`.
    pub end_at: String,
    /// Units for sale, at least 1.
    pub total_stock: u64,
    /// Most units one shopper may hold.
    #[serde(default = "one")]
    pub per_user_limit: u64,
    /// Seconds a reservation waits for payment.
    #[serde(default = "fifteen_minutes")]
    pub payment_timeout_secs: u64,
    /// Share of purchase attempts admitted past sk-app (0 < rate ≤ 1).
    #[serde(default = "all")]
    pub buy_rate: f64,
    /// Most units sold per second, if capped.
    #[serde(default)]
    pub max_sold_per_sec: Option<u64>,
}

const fn one() -> u64 {
    1
}
const fn fifteen_minutes() -> u64 {
    900
}
const fn all() -> f64 {
    1.0
}

/// A validated [`NewActivity`].
#[derive(Debug, Clone)]
struct ValidActivity {
    start_ms: u64,
    end_ms: u64,
}

/// Checks a display name: 1–200 characters, not only spaces, no control characters.
pub(super) fn check_name(field: &'static str, name: &str) -> Result<()> {
    let length = name.chars().count();
    if name.trim().is_empty() || length > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be 1-200 characters without control characters",
        ));
    }
    Ok(())
}

impl NewActivity {
    /// The stored columns, in the order of the INSERT and UPDATE statements.
    fn columns(&self, valid: &ValidActivity) -> Vec<Value> {
        vec![
            self.product_id.get().into(),
            self.name.as_str().into(),
            utc_datetime(valid.start_ms),
            utc_datetime(valid.end_ms),
            self.total_stock.into(),
            self.per_user_limit.into(),
            self.payment_timeout_secs.into(),
            self.buy_rate.into(),
            self.max_sold_per_sec.into(),
        ]
    }

    fn validate(&self) -> Result<ValidActivity> {
        check_name("name", &self.name)?;
        // Only instants the catalog's DATETIME(3) columns hold (years 1970-9999 in UTC): MySQL
        // would refuse to store a later one, a failure that is the request's, not MySQL's.
        let time = |field, text: &str| {
            parse_rfc3339(text)
                .filter(|&ms| ms <= DATETIME_MAX_MS)
                .ok_or_else(|| Error::invalid(field, "must be an RFC 3339 time from 1970 to 9999"))
        };
        let start_ms = time("start_at", &self.start_at)?;
        let end_ms = time("end_at", &self.end_at)?;
        if end_ms <= start_ms {
            return Err(Error::invalid("end_at", "must be after start_at"));
        }
        if !(1..=MAX_STOCK).contains(&self.total_stock) {
            return Err(Error::invalid(
                "total_stock",
                "must be between 1 and 10000000",
            ));
        }
        if !(1..=u64::from(Quantity::MAX) * 1_000).contains(&self.per_user_limit) {
            return Err(Error::invalid(
                "per_user_limit",
                "must be between 1 and 100000",
            ));
        }
        if !(MIN_PAYMENT_TIMEOUT_SECS..=MAX_PAYMENT_TIMEOUT_SECS)
            .contains(&self.payment_timeout_secs)
        {
            return Err(Error::invalid(
                "payment_timeout_secs",
                "must be between 10 and 86400",
            ));
        }
        if !(self.buy_rate > 0.0 && self.buy_rate <= 1.0) {
            return Err(Error::invalid(
                "buy_rate",
                "must be greater than 0 and at most 1",
            ));
        }
        if self
            .max_sold_per_sec
            .is_some_and(|cap| !(1..=MAX_STOCK).contains(&cap))
        {
            return Err(Error::invalid(
                "max_sold_per_sec",
                "must be between 1 and 10000000",
            ));
        }
        Ok(ValidActivity { start_ms, end_ms })
    }
}

/// A flash sale with its live figures.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// Its id.
    pub id: u64,
    /// The product on sale.
    pub product_id: u64,
    /// Name.
    pub name: String,
    /// Derived from the times and `closed_at`.
    pub status: ActivityStatus,
    /// RFC 3339.
    pub start_at: String,
    /// RFC 3339.
    pub end_at: String,
    /// Units for sale.
    pub total_stock: u64,
    /// Most units one shopper may hold.
    pub per_user_limit: u64,
    /// Seconds a reservation waits for payment.
    pub payment_timeout_secs: u64,
    /// Share of attempts admitted.
    pub buy_rate: f64,
    /// Per-second sold cap.
    pub max_sold_per_sec: Option<u64>,
    /// Unit price (the product's).
    pub price_cents: u64,
    /// When an admin closed it (RFC 3339).
    pub closed_at: Option<String>,
    /// Live figures from Redis and the ledger.
    #[serde(flatten)]
    pub stats: ActivityStats,
    #[serde(skip)]
    pub(super) start_ms: u64,
    #[serde(skip)]
    end_ms: u64,
}

impl Activity {
    /// The admin view of a catalog row at `now`, its live figures not filled in yet.
    fn from_row(row: ActivityRow, now: u64) -> Self {
        Self {
            status: row.status(now),
            start_at: rfc3339_from_ms(row.start_ms),
            end_at: rfc3339_from_ms(row.end_ms),
            closed_at: row.closed_ms.map(rfc3339_from_ms),
            id: row.id,
            product_id: row.product_id,
            name: row.name,
            total_stock: row.total_stock,
            per_user_limit: row.per_user_limit,
            payment_timeout_secs: row.payment_timeout_secs,
            buy_rate: row.buy_rate,
            max_sold_per_sec: row.max_sold_per_sec,
            price_cents: row.price_cents,
            stats: ActivityStats::default(),
            start_ms: row.start_ms,
            end_ms: row.end_ms,
        }
    }
}

impl Activity {
    pub(super) fn spec(&self) -> Result<ActivitySpec> {
        let small = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
        Ok(ActivitySpec {
            open: self.closed_at.is_none(),
            start_at_ms: self.start_ms,
            end_at_ms: self.end_ms,
            total_stock: small(self.total_stock),
            per_user_limit: small(self.per_user_limit),
            payment_timeout_ms: self.payment_timeout_secs * 1_000,
            price_cents: PriceCents::new(self.price_cents)
                .map_err(|e| Error::invalid("price_cents", e.to_string()))?,
            max_sold_per_sec: self.max_sold_per_sec.map(small),
            buy_rate_ppm: buy_rate_ppm(self.buy_rate),
        })
    }
}

/// `buy_rate` (validated 0 < rate ≤ 1) in parts per million, never 0: a sale admits someone.
fn buy_rate_ppm(rate: f64) -> u32 {
    let ppm = (rate * f64::from(BUY_RATE_ALL_PPM)).round();
    // Clamped first, so the cast is exact whatever the column holds.
    ppm.clamp(1.0, f64::from(BUY_RATE_ALL_PPM)) as u32
}

/// Where the next page of activities starts: after this row, with this filter.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityCursor {
    start_ms: u64,
    id: u64,
    status: StatusFilter,
}

impl Catalog {
    /// Validates and stores a new activity, then pushes it into Redis.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field; MySQL or Redis failures.
    pub async fn create_activity(&self, new: &NewActivity) -> Result<Activity> {
        let valid = new.validate()?;
        if self.product_price(new.product_id).await?.is_none() {
            return Err(Error::invalid("product_id", "no such product"));
        }
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "INSERT INTO activities (product_id, name, start_at, end_at, total_stock, \
             per_user_limit, payment_timeout_secs, buy_rate, max_sold_per_sec) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            Params::Positional(new.columns(&valid)),
        )
        .await
        .map_err(sk_common::Error::from)?;
        let id = conn.last_insert_id().unwrap_or_default();
        drop(conn);
        let activity = self
            .load_activity(id)
            .await?
            .ok_or(Error::ActivityNotFound)?;
        self.push(&activity, "created").await?;
        self.with_stats(activity).await
    }

    /// Replaces an activity's settings; only before it starts (and while not closed), when no
    /// unit can have been sold, so its stock starts again from the new `total_stock`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field, [`Error::AlreadyStarted`], [`Error::ActivityNotFound`];
    /// MySQL or Redis failures.
    pub async fn edit_activity(&self, id: u64, new: &NewActivity) -> Result<Activity> {
        let valid = new.validate()?;
        if valid.start_ms <= now_ms() {
            return Err(Error::invalid("start_at", "must be in the future"));
        }
        if self.product_price(new.product_id).await?.is_none() {
            return Err(Error::invalid("product_id", "no such product"));
        }
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "UPDATE activities SET product_id = ?, name = ?, start_at = ?, end_at = ?, \
             total_stock = ?, per_user_limit = ?, payment_timeout_secs = ?, buy_rate = ?, \
             max_sold_per_sec = ? WHERE id = ? AND closed_at IS NULL AND start_at > ?",
            Params::Positional(
                [new.columns(&valid), vec![id.into(), utc_datetime(now_ms())]].concat(),
            ),
        )
        .await
        .map_err(sk_common::Error::from)?;
        let changed = conn.affected_rows() > 0;
        drop(conn);
        let activity = self
            .load_activity(id)
            .await?
            .ok_or(Error::ActivityNotFound)?;
        if !changed && activity.status != ActivityStatus::Scheduled {
            return Err(Error::AlreadyStarted);
        }
        let activity_id = ActivityId::new(id).map_err(|_| Error::ActivityNotFound)?;
        let total = i64::try_from(activity.total_stock).unwrap_or(i64::MAX);
        self.inventory
            .restore_activity(
                &mut self.redis.clone(),
                activity_id,
                &activity.spec()?,
                total,
                &[],
            )
            .await?;
        self.announce(activity_id, "changed").await?;
        self.with_stats(activity).await
    }

    /// One activity with its live figures.
    ///
    /// # Errors
    /// [`Error::ActivityNotFound`]; MySQL or Redis failures.
    pub async fn activity(&self, id: u64) -> Result<Activity> {
        let activity = self
            .load_activity(id)
            .await?
            .ok_or(Error::ActivityNotFound)?;
        self.with_stats(activity).await
    }

    /// `activity` with its live figures filled in.
    async fn with_stats(&self, mut activity: Activity) -> Result<Activity> {
        self.fill_stats(std::slice::from_mut(&mut activity)).await?;
        Ok(activity)
    }

    pub(super) async fn load_activity(&self, id: u64) -> Result<Option<Activity>> {
        let row = activity_by_id(&self.mysql, id).await?;
        Ok(row.map(|row| Activity::from_row(row, now_ms())))
    }

    /// Stops selling now: marks it closed in MySQL and in Redis (sk-core refuses reservations
    /// from then on). Closing a closed activity changes nothing.
    ///
    /// # Errors
    /// [`Error::ActivityNotFound`]; MySQL or Redis failures.
    pub async fn close_activity(&self, id: u64) -> Result<Activity> {
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "UPDATE activities SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
            (utc_datetime(now_ms()), id),
        )
        .await
        .map_err(sk_common::Error::from)?;
        drop(conn);
        let activity = self
            .load_activity(id)
            .await?
            .ok_or(Error::ActivityNotFound)?;
        self.push(&activity, "closed").await?;
        self.with_stats(activity).await
    }

    /// Writes the activity's selling state into Redis and announces the change.
    async fn push(&self, activity: &Activity, change: &str) -> Result<()> {
        let id = ActivityId::new(activity.id).map_err(|_| Error::ActivityNotFound)?;
        self.inventory
            .put_activity(&mut self.redis.clone(), id, &activity.spec()?)
            .await?;
        self.announce(id, change).await
    }

    /// A page of activities (latest start first, id as the tie-break) matching `status`.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a cursor made by another list or with another filter.
    pub async fn activities(
        &self,
        limit: u32,
        status: StatusFilter,
        after: Option<&str>,
    ) -> Result<(Vec<Activity>, Option<String>)> {
        let after =
            cursor::decode_optional::<ActivityCursor>(after).map_err(|_| Error::InvalidCursor)?;
        if after.as_ref().is_some_and(|c| c.status != status) {
            return Err(Error::InvalidCursor);
        }
        let now = now_ms();
        let position = after.map(|c| ActivityPosition {
            start_ms: c.start_ms,
            id: c.id,
        });
        let rows = activity_page(&self.mysql, status, position, limit + 1, now).await?;
        let mut items: Vec<Activity> = rows
            .into_iter()
            .map(|row| Activity::from_row(row, now))
            .collect();
        let next = next_page(&mut items, limit, |last| {
            cursor::encode(&ActivityCursor {
                start_ms: last.start_ms,
                id: last.id,
                status,
            })
        });
        self.fill_stats(&mut items).await?;
        Ok((items, next))
    }
}
