//! The real order-consumer binary draining the topic, watched from MySQL.

use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use secrecy::ExposeSecret;
use sk_common::kafka::KafkaSettings;
use sk_common::mysql::{MysqlPool, MysqlSettings};

use crate::{Error, Result};

/// How often the row count is read once rows arrive: often enough for a few-percent timing
/// error on a multi-second drain, rarely enough that counting does not slow MySQL down.
const COUNT_EVERY: Duration = Duration::from_millis(100);
/// How often the empty table is checked for its first row (a cheap query).
const FIRST_ROW_EVERY: Duration = Duration::from_millis(5);

/// When the consumer started and when rows arrived.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// Rows already there when the first row was seen.
    pub rows_at_first: usize,
    /// From the process start to the first row.
    pub to_first_row: Duration,
    /// From the process start to the last row.
    pub to_last_row: Duration,
}

/// The consumer process; killed when dropped.
struct Consumer(Child);

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` on the run's topic and database, and waits until `expected` rows are in.
///
/// # Errors
/// When the binary cannot start, exits early, or the rows are not all there by `timeout`.
pub async fn drain(
    binary: &Path,
    kafka: &KafkaSettings,
    mysql: &MysqlSettings,
    pool: &MysqlPool,
    expected: usize,
    timeout: Duration,
) -> Result<Drain> {
    let started = Instant::now();
    let mut consumer = Consumer(spawn(binary, kafka, mysql)?);
    let mut first: Option<(usize, Duration)> = None;
    loop {
        let rows = count(pool).await?;
        if rows > 0 && first.is_none() {
            first = Some((rows, started.elapsed()));
        }
        if rows >= expected {
            let (rows_at_first, to_first_row) = first.unwrap_or((rows, started.elapsed()));
            return Ok(Drain {
                rows_at_first,
                to_first_row,
                to_last_row: started.elapsed(),
            });
        }
        if let Some(status) = consumer.0.try_wait()? {
            return Err(Error::Failed(format!(
                "order-consumer exited early: {status}"
            )));
        }
        if started.elapsed() > timeout {
            return Err(Error::Failed(format!(
                "only {rows} of {expected} rows after {timeout:?}"
            )));
        }
        let pause = if first.is_some() {
            COUNT_EVERY
        } else {
            FIRST_ROW_EVERY
        };
        tokio::time::sleep(pause).await;
    }
}

fn spawn(binary: &Path, kafka: &KafkaSettings, mysql: &MysqlSettings) -> Result<Child> {
    let group = super::fixture::unique("sk-bench-drain");
    Command::new(binary)
        .env("SK_HTTP__LISTEN", "127.0.0.1:0")
        .env("SK_LOG__FORMAT", "json")
        .env("SK_LOG__FILTER", "warn")
        .env("SK_MYSQL__URL", mysql.url.expose_secret())
        .env("SK_KAFKA__BROKERS", &kafka.brokers)
        .env("SK_KAFKA__ORDERS_TOPIC", &kafka.orders_topic)
        .env("SK_KAFKA__DLQ_TOPIC", &kafka.dlq_topic)
        .env("SK_CONSUMER__GROUP_ID", group)
        // Its log goes to our stderr, so that our stdout stays the report.
        .stdout(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot start {}: {e}", binary.display())))
}

async fn count(pool: &MysqlPool) -> Result<usize> {
    let mut conn = pool.conn().await?;
    let rows: Option<usize> = conn.query_first("SELECT COUNT(*) FROM orders").await?;
    Ok(rows.unwrap_or(0))
}
