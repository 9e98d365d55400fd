//! The outbox relay: moves each activity's outbox stream to Kafka, exactly one owner at a time.
//!
//! Every sk-core instance runs a relay. It looks for registered activities whose relay lock is
//! free, takes the lock (self-renewing, fenced: see `sk_common::lock`) and pumps that outbox:
//! first the stream's PENDING entries (read by an earlier owner but never acknowledged), then
//! new ones. A batch is produced to Kafka (idempotent producer, `acks=all`, key = order id, the
//! fence in a header), every acknowledgement is awaited, and only then are the entries
//! acknowledged and trimmed in Redis, by a script that first checks we still hold the lock.
//! Each event travels in a span that continues its order's trace (the purchase's), linked to
//! the span that caused a later transition, and carries that context on in a `traceparent`
//! header.
//! An entry that cannot be encoded goes to the activity's dead-letter stream, never dropped.
//! The moment the lease is lost, the pump stops.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamReadOptions, StreamReadReply};
use sk_common::backoff::Backoff;
use sk_common::domain::ActivityId;
use sk_common::events::FENCE_HEADER;
use sk_common::kafka::KafkaSettings;
use sk_common::lock::{Lease, RedisLock};
use sk_common::redis::RedisHandle;
use sk_common::stock::{
    ActivityKeys, Inventory, OUTBOX_CONSUMER, OUTBOX_GROUP, ack_relayed, decode_outbox_entry,
    entry_cause, entry_trace,
};
use sk_common::time::now_ms;
use sk_common::trace::{TRACEPARENT, link, order_event_span};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::settings::RelaySettings;
use crate::{Error, Result};

/// The relay of one sk-core instance.
#[derive(Clone)]
pub struct OutboxRelay {
    inventory: Inventory,
    redis: RedisHandle,
    producer: FutureProducer,
    topic: String,
    settings: RelaySettings,
    owner: String,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("owner", &self.owner)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    /// A relay producing to `kafka.orders_topic`.
    ///
    /// # Errors
    /// When the producer configuration is refused.
    pub fn new(
        inventory: Inventory,
        redis: RedisHandle,
        kafka: &KafkaSettings,
        settings: RelaySettings,
    ) -> Result<Self> {
        let mut config = kafka.client_config();
        if settings.idempotent_producer {
            config.set("enable.idempotence", "true");
        } else {
            config
                .set("enable.idempotence", "false")
                .set("max.in.flight.requests.per.connection", "1");
        }
        let producer: FutureProducer = config
            .set("acks", "all")
            .set("linger.ms", "2")
            .set(
                "message.timeout.ms",
                settings.produce_timeout_ms.to_string(),
            )
            .create()?;
        Ok(Self {
            inventory,
            redis,
            producer,
            topic: kafka.orders_topic.clone(),
            settings,
            owner: uuid::Uuid::now_v7().to_string(),
        })
    }

    /// Finds unowned outboxes and relays them until `shutdown`; then releases every lock.
    ///
    /// # Errors
    /// Never: Redis and Kafka failures are retried.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let relay = Arc::new(self);
        let mut owned: JoinSet<ActivityId> = JoinSet::new();
        // Each pump runs under a child token, so a retired activity's pump can be stopped alone.
        let mut running: Vec<(ActivityId, CancellationToken)> = Vec::new();
        let scan = Duration::from_millis(relay.settings.scan_interval_ms);
        loop {
            while let Some(done) = owned.try_join_next() {
                if let Ok(activity_id) = done {
                    running.retain(|(a, _)| *a != activity_id);
                }
            }
            if let Err(e) = relay
                .claim_free_outboxes(&mut owned, &mut running, &shutdown)
                .await
            {
                tracing::warn!(error = %e, "cannot look for outboxes to relay");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(scan) => {}
            }
        }
        // Each pump sees the same token, stops and releases its lock.
        while owned.join_next().await.is_some() {}
        Ok(())
    }

    async fn claim_free_outboxes(
        self: &Arc<Self>,
        owned: &mut JoinSet<ActivityId>,
        running: &mut Vec<(ActivityId, CancellationToken)>,
        shutdown: &CancellationToken,
    ) -> Result<()> {
        let conn = self.redis.connection();
        let activities = self.inventory.activities(&mut conn.clone()).await?;
        // A sale taken off the registry (reconciled, nothing left to relay) needs no pump.
        for (activity_id, stop) in running.iter() {
            if !activities.contains(activity_id) {
                stop.cancel();
            }
        }
        for activity_id in activities {
            if running.iter().any(|(a, _)| *a == activity_id) {
                continue;
            }
            let keys = self.inventory.keys(activity_id);
            let lock = RedisLock::new(keys.relay_lock(), &self.owner, self.settings.lock_ttl());
            let Some(lease) = lock.try_acquire(&conn).await? else {
                continue;
            };
            tracing::info!(activity_id = %activity_id, fence = lease.fence(), "relaying this outbox");
            let stop = shutdown.child_token();
            running.push((activity_id, stop.clone()));
            let relay = Arc::clone(self);
            owned.spawn(async move {
                relay.own(keys, lease, stop).await;
                activity_id
            });
        }
        Ok(())
    }

    /// Pumps one outbox while the lease holds; transient failures restart the pump (which
    /// re-reads PENDING first, so nothing read is ever skipped).
    async fn own(&self, keys: ActivityKeys, lease: Lease, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            match self.pump(&keys, &lease, &shutdown).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(activity_id = %keys.activity_id(), error = %e, retry_in_ms = backoff.next_ms(), "outbox relay failed; retrying");
                    self.report_backlog(&keys).await;
                }
            }
            let waited = tokio::select! {
                () = shutdown.cancelled() => false,
                waited = backoff.wait(lease.lost()) => waited,
            };
            if !waited {
                break;
            }
        }
        if lease.lost().is_cancelled() {
            tracing::warn!(activity_id = %keys.activity_id(), "outbox lease lost; stopped relaying");
        } else {
            lease.release(&self.redis.connection()).await;
        }
    }

    /// Sets the backlog gauge from the stream's length while nothing is relayed (idle, or
    /// failing), so the gauge stays current, and does not drop off `/metrics` after the idle
    /// timeout, exactly when Kafka is down and the backlog matters.
    async fn report_backlog(&self, keys: &ActivityKeys) {
        let length: redis::RedisResult<u64> = redis::cmd("XLEN")
            .arg(keys.outbox())
            .query_async(&mut self.redis.connection())
            .await;
        if let Ok(length) = length {
            set_backlog(keys.activity_id(), length);
        }
    }

    /// Relays until shutdown or the lease is lost (`Ok`), or a failure (`Err`).
    async fn pump(
        &self,
        keys: &ActivityKeys,
        lease: &Lease,
        shutdown: &CancellationToken,
    ) -> Result<()> {
        let block = Duration::from_millis(self.settings.read_block_ms);
        let mut reader = self.redis.dedicated_connection(block).await?;
        ensure_group(&mut reader, keys).await?;
        // "0": our own PENDING entries, i.e. whatever any earlier owner read and never acked.
        let mut cursor = "0";
        loop {
            let read = self.read(&mut reader, keys, cursor, block);
            let entries = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = lease.lost().cancelled() => return Ok(()),
                entries = read => entries?,
            };
            if entries.is_empty() {
                cursor = ">";
                self.report_backlog(keys).await;
                continue;
            }
            let publish = self.publish(keys, lease, &entries);
            let still_owner = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = lease.lost().cancelled() => return Ok(()),
                published = publish => published?,
            };
            if !still_owner {
                return Ok(());
            }
        }
    }

    async fn read(
        &self,
        reader: &mut MultiplexedConnection,
        keys: &ActivityKeys,
        cursor: &str,
        block: Duration,
    ) -> Result<Vec<StreamId>> {
        let mut options = StreamReadOptions::default()
            .group(OUTBOX_GROUP, OUTBOX_CONSUMER)
            .count(self.settings.batch_max);
        if cursor == ">" {
            options = options.block(usize::try_from(block.as_millis()).unwrap_or(usize::MAX));
        }
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg(&options)
            .arg("STREAMS")
            .arg(keys.outbox())
            .arg(cursor)
            .query_async(reader)
            .await
            .map_err(sk_common::Error::from)?;
        Ok(reply
            .and_then(|r| r.keys.into_iter().next())
            .map(|k| k.ids)
            .unwrap_or_default())
    }

    /// Produces `entries` and waits for every acknowledgement, then acks and trims them.
    /// Returns false when the lock turned out to belong to someone else.
    async fn publish(
        &self,
        keys: &ActivityKeys,
        lease: &Lease,
        entries: &[StreamId],
    ) -> Result<bool> {
        let fence = lease.fence().to_string();
        let mut deliveries = Vec::with_capacity(entries.len());
        let mut dead = Vec::new();
        for entry in entries {
            match decode_outbox_entry(&entry.map) {
                Ok(event) => {
                    let payload = event.to_json().map_err(|e| Error::Encode(e.to_string()))?;
                    let key = event.order_id.to_string();
                    let (span, trace) = order_event_span(
                        "outbox relay",
                        "producer",
                        &event,
                        entry_trace(&entry.map),
                    );
                    if let Some(cause) = entry_cause(&entry.map) {
                        link(&span, cause);
                    }
                    let trace = trace.map(|t| t.to_string());
                    let mut headers = OwnedHeaders::new().insert(Header {
                        key: FENCE_HEADER,
                        value: Some(fence.as_str()),
                    });
                    if let Some(trace) = &trace {
                        headers = headers.insert(Header {
                            key: TRACEPARENT,
                            value: Some(trace.as_str()),
                        });
                    }
                    let record = FutureRecord::to(&self.topic)
                        .key(&key)
                        .payload(&payload)
                        .headers(headers);
                    let delivery = self
                        .producer
                        .send_result(record)
                        .map_err(|(e, _)| Error::Kafka(e))?;
                    deliveries.push((delivery, span));
                }
                Err(reason) => dead.push((entry, reason.to_string())),
            }
        }
        // Each event's span ends when Kafka has acknowledged it.
        for (delivery, _span) in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(Error::Kafka(e)),
                Err(_) => return Err(Error::Encode("delivery was cancelled".into())),
            }
        }
        self.bury(keys, &dead).await?;
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        let last = ids.last().cloned().unwrap_or_default();
        let mut conn = self.redis.connection();
        let Some(backlog) = ack_relayed(&mut conn, keys, lease.value(), &ids, &last).await? else {
            return Ok(false);
        };
        record_progress(keys.activity_id(), entries, backlog);
        Ok(true)
    }

    /// Copies entries that cannot be encoded to the dead-letter stream, with the reason.
    async fn bury(&self, keys: &ActivityKeys, dead: &[(&StreamId, String)]) -> Result<()> {
        if dead.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (entry, reason) in dead {
            tracing::error!(activity_id = %keys.activity_id(), entry = %entry.id, %reason, "outbox entry cannot be encoded; moved to the dead-letter stream");
            let mut fields: Vec<(String, Vec<u8>)> = vec![
                ("source_id".into(), entry.id.clone().into_bytes()),
                ("error".into(), reason.clone().into_bytes()),
            ];
            for (name, value) in &entry.map {
                if let redis::Value::BulkString(bytes) = value {
                    fields.push((format!("field.{name}"), bytes.clone()));
                }
            }
            pipe.xadd(keys.outbox_dead_letters(), "*", &fields).ignore();
        }
        pipe.query_async::<()>(&mut self.redis.connection())
            .await
            .map_err(sk_common::Error::from)?;
        metrics::counter!(crate::metrics::OUTBOX_DEAD_LETTERS).increment(dead.len() as u64);
        Ok(())
    }
}

/// Creates the relay's consumer group (and the stream) if missing.
async fn ensure_group(conn: &mut MultiplexedConnection, keys: &ActivityKeys) -> Result<()> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(keys.outbox())
        .arg(OUTBOX_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(sk_common::Error::from(e).into()),
        _ => Ok(()),
    }
}

/// Relay lag (entry written → Kafka acknowledged) and the backlog left in the stream.
fn record_progress(activity_id: ActivityId, entries: &[StreamId], backlog: u64) {
    let now = now_ms();
    let lag = metrics::histogram!(crate::metrics::RELAY_LAG);
    for entry in entries {
        let written_ms = entry
            .id
            .split_once('-')
            .and_then(|(ms, _)| ms.parse::<u64>().ok())
            .unwrap_or(now);
        #[allow(clippy::cast_precision_loss, reason = "a lag in seconds needs no more")]
        lag.record(now.saturating_sub(written_ms) as f64 / 1_000.0);
    }
    metrics::counter!(crate::metrics::RELAYED).increment(entries.len() as u64);
    set_backlog(activity_id, backlog);
}

fn set_backlog(activity_id: ActivityId, backlog: u64) {
    #[allow(clippy::cast_precision_loss, reason = "a gauge")]
    metrics::gauge!(crate::metrics::OUTBOX_BACKLOG, "activity_id" => activity_id.to_string())
        .set(backlog as f64);
}
