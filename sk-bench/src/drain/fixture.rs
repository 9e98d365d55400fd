//! What one drain run works on: a fresh order topic, fresh databases with the ledger schema,
//! and the reserved events produced to the topic before anything consumes them.

use std::time::Duration;

use futures_util::future::try_join_all;
use mysql_async::prelude::Queryable;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use secrecy::SecretString;
use sk_common::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use sk_common::events::{OrderEvent, OrderStatus, SCHEMA_VERSION};
use sk_common::kafka::{KafkaSettings, create_topic};
use sk_common::mysql::{MIGRATIONS, MysqlPool, MysqlSettings, ensure_database, migrate};

use crate::{Error, Result};

/// Produce acknowledgements awaited together; bounds the memory of in-flight deliveries.
const PRODUCE_WINDOW: usize = 5_000;

/// A name no earlier run used.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        OrderId::generate().to_string().replace('-', "")
    )
}

/// Kafka settings for the bench's own topics.
pub fn kafka_settings(brokers: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: brokers.to_owned(),
        orders_topic: unique("sk.bench.orders"),
        dlq_topic: unique("sk.bench.dlq"),
        request_timeout_ms: 30_000,
    }
}

/// Creates the order topic with `partitions` partitions, and its dead-letter topic.
///
/// # Errors
/// When the broker cannot be reached or refuses.
pub async fn create_topics(kafka: &KafkaSettings, partitions: i32) -> Result<()> {
    create_topic(kafka, &kafka.orders_topic, partitions).await?;
    create_topic(kafka, &kafka.dlq_topic, 1).await?;
    Ok(())
}

/// Deletes the run's topics (best effort: a broker may not support it).
pub async fn delete_topics(kafka: &KafkaSettings) {
    let Ok(admin) = kafka
        .client_config()
        .create::<AdminClient<DefaultClientContext>>()
    else {
        return;
    };
    let topics = [kafka.orders_topic.as_str(), kafka.dlq_topic.as_str()];
    if let Err(e) = admin.delete_topics(&topics, &AdminOptions::new()).await {
        eprintln!("sk-bench: topics not deleted ({e}); delete them by hand: {topics:?}");
    }
}

/// `server_url` (no database) with a fresh database name.
pub fn mysql_settings(server_url: &str, database: &str) -> MysqlSettings {
    MysqlSettings {
        url: SecretString::from(format!("{}/{database}", server_url.trim_end_matches('/'))),
        connect_timeout_ms: 10_000,
        pool_max: 2,
        create_database: true,
    }
}

/// Creates the database and applies the ledger schema; returns a pool on it.
///
/// # Errors
/// When MySQL cannot be reached or refuses.
pub async fn migrated_database(settings: &MysqlSettings) -> Result<MysqlPool> {
    ensure_database(settings).await?;
    let pool = MysqlPool::new(settings)?;
    migrate(&pool, MIGRATIONS).await?;
    Ok(pool)
}

/// Drops the database behind `pool` (the run's own, by construction).
pub async fn drop_database(pool: MysqlPool, database: &str) {
    let dropped = async {
        let mut conn = pool.conn().await?;
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))
            .await?;
        Ok::<_, Error>(())
    };
    if let Err(e) = dropped.await {
        eprintln!("sk-bench: database {database} not dropped: {e}");
    }
    pool.disconnect().await;
}

/// `count` reserved orders of distinct users, as sk-core would emit them.
///
/// # Errors
/// Never for counts below 10^60; the domain checks are kept rather than bypassed.
pub fn reserved_events(count: usize) -> Result<Vec<OrderEvent>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let invalid = |e: sk_common::domain::DomainError| Error::Failed(e.to_string());
    let activity_id = ActivityId::new(1).map_err(invalid)?;
    let price_cents = PriceCents::new(1_999).map_err(invalid)?;
    (0..count)
        .map(|i| {
            Ok(OrderEvent {
                schema_version: SCHEMA_VERSION,
                order_id: OrderId::generate(),
                activity_id,
                user_id: UserId::parse(&format!("bench-{i}")).map_err(invalid)?,
                quantity: Quantity::ONE,
                price_cents,
                status: OrderStatus::Reserved,
                reserved_at_ms: now,
                expires_at_ms: now + 900_000,
                changed_at_ms: now,
                cancel_reason: None,
            })
        })
        .collect()
}

/// Produces `events` keyed by order id (as the relay does) and waits for every ack.
///
/// # Errors
/// When the broker refuses or does not acknowledge in time.
pub async fn produce(kafka: &KafkaSettings, events: &[OrderEvent]) -> Result<()> {
    let producer: FutureProducer = kafka
        .client_config()
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()?;
    for window in events.chunks(PRODUCE_WINDOW) {
        let deliveries = window
            .iter()
            .map(|event| send(&producer, &kafka.orders_topic, event));
        try_join_all(deliveries).await?;
    }
    Ok(())
}

async fn send(producer: &FutureProducer, topic: &str, event: &OrderEvent) -> Result<()> {
    let key = event.order_id.to_string();
    let payload = event
        .to_json()
        .map_err(|e| Error::Failed(format!("cannot encode an event: {e}")))?;
    let record = FutureRecord::to(topic).key(&key).payload(&payload);
    producer
        .send(record, Duration::from_secs(60))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}
