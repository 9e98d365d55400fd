//! Kafka clients with timeouts, a topic probe for `/readyz`, and topic creation.
//!
//! The local broker (tansu) and many managed clusters do not auto-create topics, so topics are
//! created explicitly (`scripts/stack up`, or [`create_topic`] in tests).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;

use crate::readiness::Probe;
use crate::settings::SettingsError;
use crate::{Error, Result};

/// How to reach Kafka and which topics the pipeline uses.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` bootstrap brokers.
    pub brokers: String,
    /// Topic of the order lifecycle events (key = order id).
    pub orders_topic: String,
    /// Dead-letter topic for events that cannot be applied.
    pub dlq_topic: String,
    /// Milliseconds allowed for one broker request (metadata, produce acknowledgement).
    pub request_timeout_ms: u64,
}

impl KafkaSettings {
    /// Checks brokers and topic names; `section` is this struct's key (e.g. `kafka`).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the offending key.
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        if self.brokers.split(',').all(|b| b.trim().is_empty()) {
            let key = format!("{section}.brokers");
            return Err(SettingsError::invalid(
                key,
                "must list at least one host:port",
            ));
        }
        for (key, topic) in [
            ("orders_topic", &self.orders_topic),
            ("dlq_topic", &self.dlq_topic),
        ] {
            if !is_topic_name(topic) {
                return Err(SettingsError::invalid(
                    format!("{section}.{key}"),
                    "must be 1-249 letters, digits, '.', '_' or '-'",
                ));
            }
        }
        if !(100..=300_000).contains(&self.request_timeout_ms) {
            let key = format!("{section}.request_timeout_ms");
            return Err(SettingsError::invalid(
                key,
                "must be between 100 and 300000",
            ));
        }
        Ok(())
    }

    /// Client configuration shared by producers, consumers and admin clients.
    #[must_use]
    pub fn client_config(&self) -> ClientConfig {
        // librdkafka refuses a connection-setup timeout under one second.
        let setup_timeout = self.request_timeout_ms.max(1_000).to_string();
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("socket.timeout.ms", self.request_timeout_ms.to_string())
            .set("socket.connection.setup.timeout.ms", setup_timeout)
            .set("allow.auto.create.topics", "false");
        config
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

fn is_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Readiness probe: the brokers answer and every listed topic exists with partitions.
#[derive(Clone)]
pub struct TopicProbe {
    client: Arc<BaseConsumer>,
    topics: Vec<String>,
    timeout: Duration,
}

impl std::fmt::Debug for TopicProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicProbe")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl TopicProbe {
    /// A probe for `topics` (it opens its own metadata-only client).
    ///
    /// # Errors
    /// When the client configuration is rejected.
    pub fn new(settings: &KafkaSettings, topics: Vec<String>) -> Result<Self> {
        Ok(Self {
            client: Arc::new(settings.client_config().create()?),
            topics,
            timeout: settings.request_timeout(),
        })
    }

    fn check_topic(&self, topic: String) -> BoxFuture<'static, Result<(), String>> {
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        Box::pin(async move {
            // librdkafka's metadata call blocks its thread.
            let metadata = tokio::task::spawn_blocking(move || {
                client
                    .fetch_metadata(Some(&topic), timeout)
                    .map(|m| (topic, m))
            })
            .await
            .map_err(|e| e.to_string())?;
            let (topic, metadata) = metadata.map_err(|e| e.to_string())?;
            match metadata.topics().iter().find(|t| t.name() == topic) {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => Ok(()),
                _ => Err(format!(
                    "topic {topic} does not exist (create it: scripts/stack up)"
                )),
            }
        })
    }
}

impl Probe for TopicProbe {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            for topic in &self.topics {
                self.check_topic(topic.clone()).await?;
            }
            Ok(())
        })
    }
}

/// Creates `topic` with `partitions` partitions (replication 1); an existing topic is fine.
///
/// # Errors
/// When the broker cannot be reached or refuses for another reason.
pub async fn create_topic(settings: &KafkaSettings, topic: &str, partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = settings.client_config().create()?;
    let options = AdminOptions::new().operation_timeout(Some(settings.request_timeout()));
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = admin.create_topics([&new_topic], &options).await?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(Error::Kafka(rdkafka::error::KafkaError::AdminOp(code))),
        }
    }
    Ok(())
}
