//! The activity outbox streams: decoding their entries into Kafka events, and the fenced
//! acknowledge-and-trim the relay runs after Kafka has acknowledged a batch.

use std::collections::HashMap;

use redis::Value;
use redis::aio::ConnectionLike;

use super::{ActivityKeys, scripts};
use crate::Result;
use crate::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use crate::events::{CancelReason, OrderEvent, OrderStatus, SCHEMA_VERSION};
use crate::trace::{TRACEPARENT, TraceParent};

/// The consumer group of the relay on every outbox stream.
pub const OUTBOX_GROUP: &str = "relay";

/// The consumer name inside [`OUTBOX_GROUP`]. Only the lock holder reads, and every holder uses
/// this one name, so a new owner finds the old owner's unacknowledged entries as its own
/// PENDING entries and re-reads them first.
pub const OUTBOX_CONSUMER: &str = "relay";

/// Why an outbox entry cannot become an [`OrderEvent`] (it goes to the dead-letter stream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbox entry field {field}: {reason}")]
pub struct OutboxEntryError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Decodes one outbox entry (as written by `order.lua`'s `emit`).
///
/// # Errors
/// [`OutboxEntryError`] naming the first missing or invalid field.
pub fn decode_outbox_entry(
    fields: &HashMap<String, Value>,
) -> Result<OrderEvent, OutboxEntryError> {
    let text = |field: &'static str| -> Result<String, OutboxEntryError> {
        match fields.get(field) {
            Some(Value::BulkString(bytes)) => String::from_utf8(bytes.clone())
                .map_err(|_| OutboxEntryError::new(field, "not UTF-8")),
            Some(Value::SimpleString(s)) => Ok(s.clone()),
            Some(Value::Int(n)) => Ok(n.to_string()),
            _ => Err(OutboxEntryError::new(field, "missing")),
        }
    };
    let number = |field: &'static str| -> Result<u64, OutboxEntryError> {
        text(field)?
            .parse()
            .map_err(|_| OutboxEntryError::new(field, "not a number"))
    };
    let invalid = |field: &'static str| move |_| OutboxEntryError::new(field, "invalid");
    let status = OrderStatus::parse(&text("status")?)
        .ok_or_else(|| OutboxEntryError::new("status", "unknown"))?;
    let reason = text("cancel_reason")?;
    let cancel_reason = match (status, reason.as_str()) {
        (OrderStatus::Cancelled, r) => Some(
            CancelReason::parse(r)
                .ok_or_else(|| OutboxEntryError::new("cancel_reason", "unknown"))?,
        ),
        (_, "") => None,
        _ => {
            return Err(OutboxEntryError::new(
                "cancel_reason",
                "set on an order that is not cancelled",
            ));
        }
    };
    let quantity = u32::try_from(number("quantity")?).unwrap_or(0);
    Ok(OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id: OrderId::parse(&text("order_id")?).map_err(invalid("order_id"))?,
        activity_id: ActivityId::new(number("activity_id")?).map_err(invalid("activity_id"))?,
        user_id: UserId::parse(&text("user_id")?).map_err(invalid("user_id"))?,
        quantity: Quantity::new(quantity).map_err(invalid("quantity"))?,
        price_cents: PriceCents::new(number("price_cents")?).map_err(invalid("price_cents"))?,
        status,
        reserved_at_ms: number("reserved_at_ms")?,
        expires_at_ms: number("expires_at_ms")?,
        changed_at_ms: number("changed_at_ms")?,
        cancel_reason,
    })
}

/// The trace an outbox entry belongs to (its order's purchase), if it carries a valid one.
#[must_use]
pub fn entry_trace(fields: &HashMap<String, Value>) -> Option<TraceParent> {
    trace_field(fields, TRACEPARENT)
}

/// The span that caused a later transition (a payment, a cancellation, the reaper), when it
/// is not part of the order's own trace.
#[must_use]
pub fn entry_cause(fields: &HashMap<String, Value>) -> Option<TraceParent> {
    trace_field(fields, "cause")
}

fn trace_field(fields: &HashMap<String, Value>, name: &str) -> Option<TraceParent> {
    match fields.get(name)? {
        Value::BulkString(bytes) => TraceParent::from_bytes(bytes),
        Value::SimpleString(text) => TraceParent::parse(text),
        _ => None,
    }
}

impl OutboxEntryError {
    const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// The smallest stream id after `id` (`ms-seq` → `ms-(seq+1)`): trimming with `MINID` at it
/// removes `id` and everything before it.
#[must_use]
pub fn next_stream_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let ms: u64 = ms.parse().ok()?;
    let seq: u64 = seq.parse().ok()?;
    Some(match seq.checked_add(1) {
        Some(seq) => format!("{ms}-{seq}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}

/// Acknowledges `ids` (all relayed) and trims the stream up to and including `last_id`, but only
/// while `lock_value` still holds the relay lock. Returns the stream's length afterwards, or
/// `None` when the lock has passed to someone else (then nothing was acknowledged).
///
/// # Errors
/// When Redis fails.
pub async fn ack_relayed<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &ActivityKeys,
    lock_value: &str,
    ids: &[String],
    last_id: &str,
) -> Result<Option<u64>> {
    let trim_to = next_stream_id(last_id).unwrap_or_else(|| last_id.to_owned());
    let length: i64 = scripts::ACK_RELAYED
        .key(keys.relay_lock())
        .key(keys.outbox())
        .arg(lock_value)
        .arg(OUTBOX_GROUP)
        .arg(trim_to)
        .arg(ids)
        .invoke_async(conn)
        .await?;
    Ok(u64::try_from(length).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_stream_id_follows_the_sequence() {
        assert_eq!(next_stream_id("1700-0").as_deref(), Some("1700-1"));
        assert_eq!(
            next_stream_id(&format!("5-{}", u64::MAX)).as_deref(),
            Some("6-0")
        );
        assert_eq!(next_stream_id("nonsense"), None);
    }

    fn entry(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::BulkString(v.as_bytes().to_vec())))
            .collect()
    }

    fn valid() -> Vec<(&'static str, String)> {
        vec![
            ("order_id", OrderId::generate().to_string()),
            ("activity_id", "3".into()),
            ("user_id", "u-9".into()),
            ("quantity", "2".into()),
            ("price_cents", "1500".into()),
            ("status", "cancelled".into()),
            ("reserved_at_ms", "1000".into()),
            ("expires_at_ms", "2000".into()),
            ("changed_at_ms", "2000".into()),
            ("cancel_reason", "expired".into()),
        ]
    }

    fn decode(pairs: &[(&'static str, String)]) -> Result<OrderEvent, OutboxEntryError> {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        decode_outbox_entry(&entry(&borrowed))
    }

    #[test]
    fn a_whole_entry_becomes_an_event() {
        let event = decode(&valid()).map_err(|e| e.to_string());
        let event = event
            .as_ref()
            .map(|e| (e.status, e.cancel_reason, e.quantity.get()));
        assert_eq!(
            event,
            Ok((OrderStatus::Cancelled, Some(CancelReason::Expired), 2))
        );
    }

    #[test]
    fn a_broken_entry_names_its_field() {
        for (field, value) in [
            ("order_id", "not-a-uuid"),
            ("quantity", "0"),
            ("status", "lost"),
            ("cancel_reason", ""),
        ] {
            let mut pairs = valid();
            for pair in &mut pairs {
                if pair.0 == field {
                    pair.1 = value.to_owned();
                }
            }
            let error = decode(&pairs).err().map(|e| e.field);
            assert_eq!(error, Some(field), "{field}={value}");
        }
        let missing: Vec<_> = valid().into_iter().filter(|p| p.0 != "user_id").collect();
        assert_eq!(decode(&missing).err().map(|e| e.field), Some("user_id"));
    }
}
