//! Redis connections: one multiplexed, self-reconnecting connection per process, with timeouts.

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::readiness::Probe;
use crate::settings::SettingsError;

/// How to reach Redis.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`. Secret: it may carry a password.
    pub url: SecretString,
    /// Prefix of every key and channel, so several deployments (or tests) can share a Redis.
    pub key_prefix: String,
    /// Milliseconds allowed to open a connection.
    pub connect_timeout_ms: u64,
    /// Milliseconds allowed for one command's answer.
    pub response_timeout_ms: u64,
}

impl RedisSettings {
    /// Checks the URL parses; `section` is this struct's key (e.g. `redis`).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming `<section>.url` or a timeout.
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        redis::Client::open(self.url.expose_secret())
            .map_err(|e| SettingsError::invalid(format!("{section}.url"), e))?;
        let prefix_ok = (1..=64).contains(&self.key_prefix.len())
            && self
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !prefix_ok {
            return Err(SettingsError::invalid(
                format!("{section}.key_prefix"),
                "must be 1-64 letters, digits, '_', '-' or '.'",
            ));
        }
        for (key, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("response_timeout_ms", self.response_timeout_ms),
        ] {
            if !(1..=60_000).contains(&ms) {
                return Err(SettingsError::invalid(
                    format!("{section}.{key}"),
                    "must be between 1 and 60000",
                ));
            }
        }
        Ok(())
    }
}

/// A cheap-to-clone handle to one multiplexed Redis connection that connects lazily and
/// reconnects by itself, so a service starts (and reports not-ready) while Redis is down.
#[derive(Clone)]
pub struct RedisHandle {
    connection: ConnectionManager,
    client: redis::Client,
    settings: RedisSettings,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle").finish_non_exhaustive()
    }
}

impl RedisHandle {
    /// Prepares the connection without opening it.
    ///
    /// # Errors
    /// When the URL does not parse.
    pub fn new(settings: &RedisSettings) -> crate::Result<Self> {
        let client = redis::Client::open(settings.url.expose_secret())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
            .set_response_timeout(Some(Duration::from_millis(settings.response_timeout_ms)))
            // Fail fast and let the caller decide: a flash sale prefers a quick 503 to a queue.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            connection,
            client,
            settings: settings.clone(),
        })
    }

    /// A connection of its own, for commands that block (e.g. `XREADGROUP … BLOCK`) and would
    /// otherwise hold up every request pipelined on the shared connection. Its response timeout
    /// is the configured one plus `blocking_for`.
    ///
    /// # Errors
    /// When Redis cannot be reached in time.
    pub async fn dedicated_connection(
        &self,
        blocking_for: Duration,
    ) -> crate::Result<redis::aio::MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(
                self.settings.connect_timeout_ms,
            )))
            .set_response_timeout(Some(
                Duration::from_millis(self.settings.response_timeout_ms) + blocking_for,
            ));
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// A pub/sub connection of its own (a subscribed connection can run nothing else), opened
    /// within the connect timeout.
    ///
    /// # Errors
    /// When Redis cannot be reached in time.
    pub async fn pubsub(&self) -> crate::Result<redis::aio::PubSub> {
        let timeout = Duration::from_millis(self.settings.connect_timeout_ms);
        tokio::time::timeout(timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| crate::Error::Timeout(timeout, "a redis pub/sub connection"))?
            .map_err(Into::into)
    }

    /// The key prefix every key and channel of this deployment starts with.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.settings.key_prefix
    }

    /// The shared multiplexed connection (clone it freely; clones share one socket).
    #[must_use]
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

impl Probe for RedisHandle {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut connection = self.connection();
            let pong: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(format!("unexpected PING answer {pong:?}"))
            }
        })
    }
}
