//! Keeps this instance's blacklists and activity cache in step with Redis (DESIGN §4 step 2).
//!
//! One task owns a Redis pub/sub connection subscribed to `<prefix>:blacklist-events`
//! (sk-admin), `<prefix>:activity-events` (sk-admin's catalog) and `<prefix>:stock-events`
//! (the order scripts: sold out, restocked). On every (re)connect it subscribes first and
//! only then reloads everything (both blacklist sets, every registered or cached activity), so
//! no change can fall between the two; events are applied as they arrive, and everything is
//! reloaded again every `cache.refresh_ms`. A lost connection is re-opened with capped
//! backoff. The instance is ready once the first reload has succeeded.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use sk_common::backoff::Backoff;
use sk_common::domain::ActivityId;
use sk_common::readiness::GateHandle;
use sk_common::redis::RedisHandle;
use sk_common::shutdown::CancellationToken;

use crate::admission::{ActivityCache, Admission, Blacklist, BlacklistEvent, StockEvent};
use crate::{Error, Result, Settings};

/// First pause before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The Redis names sk-admin and the order scripts write under one key prefix.
#[derive(Debug, Clone)]
struct Names {
    blacklist_events: String,
    activity_events: String,
    stock_events: String,
    blacklisted_users: String,
    blacklisted_ips: String,
}

impl Names {
    fn new(prefix: &str) -> Self {
        Self {
            blacklist_events: format!("{prefix}:blacklist-events"),
            activity_events: format!("{prefix}:activity-events"),
            stock_events: format!("{prefix}:stock-events"),
            blacklisted_users: format!("{prefix}:blacklist:users"),
            blacklisted_ips: format!("{prefix}:blacklist:ips"),
        }
    }
}

/// An activity change, as sk-admin publishes it (the `change` itself does not matter: the
/// activity is re-read whatever it was).
#[derive(Debug, serde::Deserialize)]
struct ActivityEvent {
    activity_id: u64,
}

/// The sync task's state.
#[derive(Debug)]
pub struct StateSync {
    redis: RedisHandle,
    blacklist: Blacklist,
    activities: ActivityCache,
    names: Names,
    refresh: Duration,
    response_timeout: Duration,
    loaded: GateHandle,
}

/// How a connection's session ended.
enum Ended {
    Shutdown,
    /// After the first reload of the session succeeded: reconnect without waiting long.
    Lost(Error),
    Failed(Error),
}

impl StateSync {
    /// A task that fills the blacklists and activity cache of `admission` from `redis`,
    /// reloads all every `cache.refresh_ms`, and opens `loaded` after the first full load.
    #[must_use]
    pub fn new(
        settings: &Settings,
        redis: RedisHandle,
        admission: &Admission,
        loaded: GateHandle,
    ) -> Self {
        let names = Names::new(redis.key_prefix());
        Self {
            redis,
            blacklist: admission.blacklist.clone(),
            activities: admission.activities.clone(),
            names,
            refresh: settings.cache.refresh(),
            response_timeout: Duration::from_millis(settings.redis.response_timeout_ms),
            loaded,
        }
    }

    /// Runs until `shutdown` fires.
    ///
    /// # Errors
    /// Never: Redis failures are retried; the type fits the service's task set.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
        loop {
            let ended = tokio::select! {
                () = shutdown.cancelled() => Ended::Shutdown,
                ended = self.session() => ended,
            };
            match ended {
                Ended::Shutdown => return Ok(()),
                Ended::Lost(e) => {
                    tracing::warn!(error = %e, "lost the redis event feed; reconnecting");
                    backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
                }
                Ended::Failed(e) => {
                    let retry_in_ms = backoff.next_ms();
                    tracing::warn!(error = %e, retry_in_ms, "cannot load state from redis");
                }
            }
            if !backoff.wait(&shutdown).await {
                return Ok(());
            }
        }
    }

    /// One connection: subscribe, reload, then follow the events until something fails.
    async fn session(&self) -> Ended {
        let (mut sink, mut stream) = match self.subscribe().await {
            Ok(halves) => halves,
            Err(e) => return Ended::Failed(e),
        };
        if let Err(e) = self.reload().await {
            return Ended::Failed(e);
        }
        self.loaded.open();
        let mut every = tokio::time::interval(self.refresh);
        every.reset();
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.apply(&message).await,
                    None => return Ended::Lost(Error::StateUnavailable("connection closed".into())),
                },
                _ = every.tick() => {
                    if let Err(e) = self.heartbeat(&mut sink).await {
                        return Ended::Lost(e);
                    }
                }
            }
        }
    }

    async fn subscribe(&self) -> Result<(PubSubSink, PubSubStream)> {
        let (mut sink, stream) = self.redis.pubsub().await?.split();
        let channels = [
            &self.names.blacklist_events,
            &self.names.activity_events,
            &self.names.stock_events,
        ];
        self.bounded(sink.subscribe(&channels)).await?;
        Ok((sink, stream))
    }

    /// The periodic check that the feed is alive, and the periodic full reload.
    async fn heartbeat(&self, sink: &mut PubSubSink) -> Result<()> {
        self.bounded(sink.ping::<redis::Value>()).await?;
        self.reload().await
    }

    /// Both blacklist sets and every activity, from Redis.
    async fn reload(&self) -> Result<()> {
        let mut redis: ConnectionManager = self.redis.connection();
        let (users, ips): (Vec<String>, Vec<String>) = redis::pipe()
            .smembers(&self.names.blacklisted_users)
            .smembers(&self.names.blacklisted_ips)
            .query_async(&mut redis)
            .await
            .map_err(|e| Error::StateUnavailable(e.to_string()))?;
        self.blacklist.replace(users, &ips);
        let activities = self.activities.reload().await?;
        let (users, ips) = self.blacklist.sizes();
        tracing::debug!(users, ips, activities, "reloaded blacklists and activities");
        Ok(())
    }

    /// Applies one event; a malformed one is logged and skipped.
    async fn apply(&self, message: &redis::Msg) {
        let channel = message.get_channel_name();
        let payload = message.get_payload_bytes();
        let applied = if channel == self.names.stock_events {
            serde_json::from_slice(payload).map(|e: StockEvent| self.activities.apply_stock(e))
        } else if channel == self.names.blacklist_events {
            serde_json::from_slice(payload).map(|e: BlacklistEvent| self.blacklist.apply(&e))
        } else {
            match serde_json::from_slice::<ActivityEvent>(payload) {
                Ok(event) => {
                    self.activity_changed(event).await;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        if let Err(e) = applied {
            tracing::warn!(channel, error = %e, "skipped a malformed event");
        }
    }

    async fn activity_changed(&self, event: ActivityEvent) {
        let activity_id = event.activity_id;
        let Ok(id) = ActivityId::new(activity_id) else {
            return;
        };
        // On failure the entry is dropped, so the next purchase re-reads it.
        if let Err(e) = self.activities.refresh(id).await {
            tracing::warn!(activity_id, error = %e, "cannot re-read a changed activity");
        }
    }

    /// `call`, bounded by the Redis response timeout (pub/sub connections have none).
    async fn bounded<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T> {
        match tokio::time::timeout(self.response_timeout, call).await {
            Ok(answer) => answer.map_err(|e| Error::StateUnavailable(e.to_string())),
            Err(_) => Err(Error::StateUnavailable(
                "redis did not answer in time".into(),
            )),
        }
    }
}
