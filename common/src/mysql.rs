//! MySQL (MariaDB locally): a lazily connecting pool with timeouts, and schema migrations.

mod migrate;

use std::time::Duration;

use futures_util::future::BoxFuture;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use migrate::{MIGRATIONS, Migration, migrate};

use crate::readiness::Probe;
use crate::settings::SettingsError;
use crate::{Error, Result};

/// How to reach MySQL.
#[derive(Debug, Clone, Deserialize)]
pub struct MysqlSettings {
    /// `mysql://user[:password]@host:port/database`. Secret: it may carry a password.
    pub url: SecretString,
    /// Milliseconds allowed to get a connection (open one or wait for a free one).
    pub connect_timeout_ms: u64,
    /// Most connections the pool keeps open.
    pub pool_max: usize,
    /// Create the database named in `url` when it is missing (needs the CREATE privilege).
    pub create_database: bool,
}

impl MysqlSettings {
    /// Checks the URL parses and names a plain database; `section` is this struct's key.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the offending key.
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let opts = Opts::from_url(self.url.expose_secret())
            .map_err(|e| SettingsError::invalid(format!("{section}.url"), e))?;
        match opts.db_name() {
            Some(name) if is_plain_identifier(name) => {}
            _ => {
                return Err(SettingsError::invalid(
                    format!("{section}.url"),
                    "must name a database of letters, digits and underscores",
                ));
            }
        }
        if !(1..=60_000).contains(&self.connect_timeout_ms) {
            let key = format!("{section}.connect_timeout_ms");
            return Err(SettingsError::invalid(key, "must be between 1 and 60000"));
        }
        if !(1..=1_000).contains(&self.pool_max) {
            let key = format!("{section}.pool_max");
            return Err(SettingsError::invalid(key, "must be between 1 and 1000"));
        }
        Ok(())
    }

    fn opts(&self) -> Result<Opts> {
        Ok(Opts::from_url(self.url.expose_secret()).map_err(mysql_async::Error::from)?)
    }
}

/// Database names are formatted into `CREATE DATABASE` (it takes no parameters),
/// so only plain identifiers are accepted.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A connection pool that opens connections on demand, so a service starts while MySQL is down.
#[derive(Debug, Clone)]
pub struct MysqlPool {
    pool: Pool,
    connect_timeout: Duration,
}

impl MysqlPool {
    /// Prepares the pool without connecting.
    ///
    /// # Errors
    /// When the URL does not parse.
    pub fn new(settings: &MysqlSettings) -> Result<Self> {
        let constraints = PoolConstraints::new(0, settings.pool_max)
            .unwrap_or_else(|| PoolConstraints::new(0, 1).unwrap_or_default());
        let opts = OptsBuilder::from_opts(settings.opts()?)
            .pool_opts(PoolOpts::default().with_constraints(constraints))
            // Every DATETIME we write or read is UTC, whatever the server's zone.
            .setup(vec!["SET time_zone = '+00:00'"])
            .tcp_nodelay(true);
        Ok(Self {
            pool: Pool::new(opts),
            connect_timeout: Duration::from_millis(settings.connect_timeout_ms),
        })
    }

    /// A connection from the pool, or an error after the connect timeout.
    ///
    /// # Errors
    /// [`Error::Timeout`] or the driver's error.
    pub async fn conn(&self) -> Result<Conn> {
        tokio::time::timeout(self.connect_timeout, self.pool.get_conn())
            .await
            .map_err(|_| Error::Timeout(self.connect_timeout, "a mysql connection"))?
            .map_err(Error::from)
    }

    /// Closes every connection.
    pub async fn disconnect(self) {
        if let Err(e) = self.pool.disconnect().await {
            tracing::debug!(error = %e, "mysql pool did not close cleanly");
        }
    }
}

impl Probe for MysqlPool {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.conn().await.map_err(|e| e.to_string())?;
            conn.ping().await.map_err(|e| e.to_string())
        })
    }
}

/// `9999-12-31 23:59:59.999` UTC, the last instant a `DATETIME(3)` column holds.
pub const DATETIME_MAX_MS: u64 = 253_402_300_799_999;

/// SQL reading the `DATETIME(3)` column `column` (written by [`utc_datetime`]) as Unix
/// milliseconds, over the column's whole range: `UNIX_TIMESTAMP` would answer NULL for any
/// instant after 2038-01-19 on MariaDB (a sale may well end later) and depends on the session's
/// zone, where this is plain arithmetic on the UTC value stored.
#[must_use]
pub fn unix_ms(column: &str) -> String {
    format!("CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', {column}) DIV 1000 AS UNSIGNED)")
}

/// A `DATETIME(3)` parameter for a Unix time in milliseconds (UTC; see the pool's session zone).
#[must_use]
pub fn utc_datetime(unix_ms: u64) -> mysql_async::Value {
    let t = crate::time::UtcTime::from_unix_ms(unix_ms);
    mysql_async::Value::Date(
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.millisecond * 1_000,
    )
}

/// Creates the database named in the settings' URL if it does not exist yet.
///
/// # Errors
/// When MySQL cannot be reached in time or refuses.
pub async fn ensure_database(settings: &MysqlSettings) -> Result<()> {
    let opts = settings.opts()?;
    let Some(name) = opts.db_name().filter(|n| is_plain_identifier(n)) else {
        return Ok(());
    };
    let create = format!("CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4");
    let server = OptsBuilder::from_opts(opts.clone()).db_name(None::<String>);
    let timeout = Duration::from_millis(settings.connect_timeout_ms);
    let mut conn = tokio::time::timeout(timeout, Conn::new(server))
        .await
        .map_err(|_| Error::Timeout(timeout, "a mysql connection"))??;
    conn.query_drop(create).await?;
    conn.disconnect().await?;
    Ok(())
}

/// Creates the database if allowed and applies [`MIGRATIONS`], retrying transient failures
/// with capped backoff until done or `shutdown`; `gate` opens once the schema is current.
///
/// # Errors
/// Only for a permanent failure: an applied migration was edited.
pub async fn migrate_until_done(
    settings: MysqlSettings,
    pool: MysqlPool,
    gate: crate::readiness::GateHandle,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<()> {
    let mut backoff =
        crate::backoff::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        let attempt = async {
            if settings.create_database {
                ensure_database(&settings).await?;
            }
            migrate(&pool, MIGRATIONS).await
        };
        let outcome = tokio::select! {
            outcome = attempt => outcome,
            () = shutdown.cancelled() => return Ok(()),
        };
        match outcome {
            Ok(applied) => {
                tracing::info!(applied, "database schema is current");
                gate.open();
                return Ok(());
            }
            Err(e @ Error::MigrationChanged { .. }) => {
                gate.fail(e.to_string());
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.next_ms(), "migrations not applied yet");
                gate.fail(format!("migrations not applied: {e}"));
            }
        }
        if !backoff.wait(&shutdown).await {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod datetime_tests {
    use super::*;

    #[test]
    fn unix_milliseconds_become_utc_datetimes() {
        assert_eq!(
            utc_datetime(0),
            mysql_async::Value::Date(1970, 1, 1, 0, 0, 0, 0)
        );
        // 2024-02-29T23:59:58.123Z: a leap day, the last second-ish of it.
        assert_eq!(
            utc_datetime(1_709_251_198_123),
            mysql_async::Value::Date(2024, 2, 29, 23, 59, 58, 123_000)
        );
        // 2026-11-22T00:00:00Z
        assert_eq!(
            utc_datetime(1_795_305_600_000),
            mysql_async::Value::Date(2026, 11, 22, 0, 0, 0, 0)
        );
    }
}
