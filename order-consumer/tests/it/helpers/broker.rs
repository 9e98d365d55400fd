//! The test's side of Kafka: producing events, reading the dead-letter topic, and reading or
//! resetting a consumer group's committed offsets.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sk_common::events::OrderEvent;
use sk_common::kafka::KafkaSettings;
use sk_common::testing::{DEADLINE, unique};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The trace context every produced message carries, as the relay's do.
pub const SENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Produces to the test's order topic and waits for every acknowledgement.
pub struct Events {
    producer: FutureProducer,
    topic: String,
}

impl Events {
    pub fn new(kafka: &KafkaSettings) -> Self {
        let producer = kafka
            .client_config()
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .create()
            .unwrap();
        Self {
            producer,
            topic: kafka.orders_topic.clone(),
        }
    }

    /// Produces `event` keyed by its order id, as the relay does; returns (partition, offset).
    pub async fn send(&self, event: &OrderEvent) -> (i32, i64) {
        let key = event.order_id.to_string();
        self.send_raw(None, Some(key.as_bytes()), &event.to_json().unwrap())
            .await
    }

    /// Produces each event in order, all in flight at once.
    pub async fn send_all(&self, events: &[OrderEvent]) {
        futures_util::future::join_all(events.iter().map(|e| self.send(e))).await;
    }

    /// Produces arbitrary bytes, with [`SENT_TRACEPARENT`]; returns (partition, offset).
    pub async fn send_raw(
        &self,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> (i32, i64) {
        let headers = OwnedHeaders::new().insert(Header {
            key: sk_common::trace::TRACEPARENT,
            value: Some(SENT_TRACEPARENT),
        });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic)
            .payload(payload)
            .headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        let delivery = self
            .producer
            .send(record, TIMEOUT)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        (delivery.partition, delivery.offset)
    }
}

/// Every partition of `topic`, each with `offset`.
fn all_partitions(consumer: &BaseConsumer, topic: &str, offset: Offset) -> TopicPartitionList {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).unwrap();
    let partitions = metadata.topics()[0].partitions();
    assert!(!partitions.is_empty(), "topic {topic} has no partitions");
    let mut list = TopicPartitionList::new();
    for partition in partitions {
        list.add_partition_offset(topic, partition.id(), offset)
            .unwrap();
    }
    list
}

fn group_client(kafka: &KafkaSettings, group: &str) -> BaseConsumer {
    kafka
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

/// Whether `group` has committed the end of every partition of the order topic.
pub async fn caught_up(kafka: &KafkaSettings, group: &str) -> bool {
    let (kafka, group) = (kafka.clone(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let client = group_client(&kafka, &group);
        let topic = &kafka.orders_topic;
        let wanted = all_partitions(&client, topic, Offset::Invalid);
        let Ok(committed) = client.committed_offsets(wanted, TIMEOUT) else {
            return false;
        };
        committed.elements().iter().all(|element| {
            let Ok((_, high)) = client.fetch_watermarks(topic, element.partition(), TIMEOUT) else {
                return false;
            };
            match element.offset() {
                Offset::Offset(offset) => offset == high,
                _ => high == 0,
            }
        })
    })
    .await
    .unwrap()
}

/// Rewinds `group` to offset 0 on every partition: a consumer of the same group assigns
/// itself every partition and commits 0. The group must have no live member.
pub async fn reset_group_to_earliest(kafka: &KafkaSettings, group: &str) {
    let (kafka, group) = (kafka.clone(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let client = group_client(&kafka, &group);
        let rewind = all_partitions(&client, &kafka.orders_topic, Offset::Offset(0));
        client.assign(&rewind).unwrap();
        client.commit(&rewind, CommitMode::Sync).unwrap();
        let check = all_partitions(&client, &kafka.orders_topic, Offset::Invalid);
        let committed = client.committed_offsets(check, TIMEOUT).unwrap();
        for element in committed.elements() {
            assert_eq!(
                element.offset(),
                Offset::Offset(0),
                "partition {}",
                element.partition()
            );
        }
    })
    .await
    .unwrap();
}

/// Reads `count` messages from the dead-letter topic (a fresh group, from the start).
pub async fn read_dead_letters(kafka: &KafkaSettings, count: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", unique("sk-test-dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&kafka.dlq_topic]).unwrap();
    let mut messages = Vec::new();
    while messages.len() < count {
        let message = tokio::time::timeout(DEADLINE, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} dead letters within {DEADLINE:?}", messages.len()))
            .unwrap();
        messages.push(message.detach());
    }
    messages
}
