//! A batch of consumed messages: decoded ledger rows, rejected messages for the dead-letter
//! topic, and the highest offset seen per partition.

use std::collections::BTreeMap;

use rdkafka::Message;
use rdkafka::message::Headers as _;
use sk_common::events::{EventError, OrderEvent};
use sk_common::trace::{TRACEPARENT, TraceParent, order_event_span};
use tracing::Span;

use crate::ledger::{LedgerRow, OutOfRange};

/// Why a message can never be applied: a permanent failure, dead-lettered and skipped.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("message has no payload")]
    MissingPayload,
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("message has no key; the key must be the order id")]
    MissingKey,
    #[error("message key {key:?} is not the event's order id {order_id}")]
    WrongKey { key: String, order_id: String },
    #[error("event does not fit the ledger: {0}")]
    OutOfRange(#[from] OutOfRange),
}

/// A message that goes to the dead-letter topic, with what is needed to find its origin.
#[derive(Debug)]
pub struct Rejected {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub reason: Rejection,
    /// The trace context it carried.
    pub trace: Option<TraceParent>,
}

/// Messages consumed together and settled together.
#[derive(Debug, Default)]
pub struct Batch {
    rows: Vec<LedgerRow>,
    rejected: Vec<Rejected>,
    highest: BTreeMap<i32, i64>,
    len: usize,
    /// One span per applicable event, continuing the trace its `traceparent` header names;
    /// they end when the batch is dropped, after it is settled and committed.
    spans: Vec<Span>,
}

impl Batch {
    /// Decodes `message` into a row or a rejection and remembers its offset.
    pub fn push(&mut self, message: &impl Message) {
        self.len += 1;
        let (partition, offset) = (message.partition(), message.offset());
        let highest = self.highest.entry(partition).or_insert(offset);
        *highest = (*highest).max(offset);
        match decode(message.key(), message.payload()) {
            Ok(row) => {
                let (span, _) =
                    order_event_span("ledger apply", "consumer", row.event(), trace_of(message));
                self.spans.push(span);
                self.rows.push(row);
            }
            Err(reason) => self.rejected.push(Rejected {
                partition,
                offset,
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec),
                reason,
                trace: trace_of(message),
            }),
        }
    }

    /// One debug line per applied event, inside its span (so with its trace and order id).
    pub fn log_applied(&self) {
        for span in &self.spans {
            span.in_scope(|| tracing::debug!("event in the ledger"));
        }
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The rows to write, in consumption order.
    pub fn rows(&self) -> &[LedgerRow] {
        &self.rows
    }

    /// The messages to dead-letter.
    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }

    /// `(partition, highest offset)` of every partition in the batch.
    pub fn highest_offsets(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.highest.iter().map(|(&p, &o)| (p, o))
    }
}

/// The trace context the relay sent with the message.
fn trace_of(message: &impl Message) -> Option<TraceParent> {
    message
        .headers()?
        .iter()
        .find(|header| header.key == TRACEPARENT)
        .and_then(|header| header.value)
        .and_then(TraceParent::from_bytes)
}

/// The relay keys every event by its order id (hyphenated), which is what keeps an order's
/// events in one partition and in order; a message without that key is not from the relay.
fn decode(key: Option<&[u8]>, payload: Option<&[u8]>) -> Result<LedgerRow, Rejection> {
    let event = OrderEvent::from_json(payload.ok_or(Rejection::MissingPayload)?)?;
    let key = key.ok_or(Rejection::MissingKey)?;
    let order_id = event.order_id.to_string();
    if key != order_id.as_bytes() {
        return Err(Rejection::WrongKey {
            key: String::from_utf8_lossy(key).into_owned(),
            order_id,
        });
    }
    Ok(LedgerRow::new(event)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rdkafka::Timestamp;
    use rdkafka::message::OwnedMessage;
    use sk_common::domain::OrderId;

    use super::*;
    use crate::test_events::reserved as event;

    fn message(partition: i32, offset: i64, key: Option<&str>, payload: &[u8]) -> OwnedMessage {
        OwnedMessage::new(
            Some(payload.to_vec()),
            key.map(|k| k.as_bytes().to_vec()),
            "t".into(),
            Timestamp::NotAvailable,
            partition,
            offset,
            None,
        )
    }

    #[test]
    fn good_and_bad_messages_are_sorted_and_offsets_tracked() {
        let good = event();
        let key = good.order_id.to_string();
        let mut batch = Batch::default();
        batch.push(&message(0, 7, Some(&key), &good.to_json().unwrap()));
        batch.push(&message(0, 5, Some(&key), b"not json"));
        batch.push(&message(2, 1, None, &event().to_json().unwrap()));
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.rows(), [LedgerRow::new(good).unwrap()]);
        let reasons: Vec<String> = batch
            .rejected()
            .iter()
            .map(|r| r.reason.to_string())
            .collect();
        assert!(reasons[0].contains("not valid JSON"), "{reasons:?}");
        assert!(reasons[1].contains("no key"), "{reasons:?}");
        assert_eq!(
            batch.rejected()[0].payload.as_deref(),
            Some(&b"not json"[..])
        );
        assert_eq!(
            batch.highest_offsets().collect::<Vec<_>>(),
            [(0, 7), (2, 1)]
        );
    }

    #[test]
    fn a_key_that_is_not_the_order_id_is_refused() {
        let payload = event().to_json().unwrap();
        let other = OrderId::generate().to_string();
        assert!(matches!(
            decode(Some(other.as_bytes()), Some(&payload)),
            Err(Rejection::WrongKey { .. })
        ));
        assert!(matches!(
            decode(Some(b"k"), None),
            Err(Rejection::MissingPayload)
        ));
    }
}
