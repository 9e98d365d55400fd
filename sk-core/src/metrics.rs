//! sk-core's metrics (its rows of `METRICS.md`): names, help texts, and the series that exist
//! from start-up so their rates are defined before the first event.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, histogram};
use sk_common::stock::Rejection;

/// Counter by `outcome`: reserve decisions of the stock script.
pub const RESERVES: &str = "sk_core_reserve_total";
/// Counter: outbox entries produced to Kafka and acknowledged.
pub const RELAYED: &str = "sk_core_relayed_total";
/// Histogram: outbox entry written → acknowledged by Kafka.
pub const RELAY_LAG: &str = "sk_core_relay_lag_seconds";
/// Gauge by `activity_id`: entries left in the outbox stream (after each relay pass, and while
/// the relay waits or fails).
pub const OUTBOX_BACKLOG: &str = "sk_core_outbox_backlog";
/// Counter: outbox entries moved to the dead-letter stream.
pub const OUTBOX_DEAD_LETTERS: &str = "sk_core_outbox_dead_letters_total";
/// Counter: reservations expired by the payment-deadline reaper.
pub const RESERVATIONS_EXPIRED: &str = "sk_core_reservations_expired_total";

/// Counter by `reason`: internal calls refused before any work (`invalid_signature`,
/// `stale_request`, `replayed_request`): forgeries, clock skew or replays.
pub const CALLS_REFUSED: &str = "sk_core_calls_refused_total";

/// Every `reason` of [`CALLS_REFUSED`], as the refusals' error codes.
pub const REFUSAL_REASONS: [&str; 3] = ["invalid_signature", "stale_request", "replayed_request"];

/// Every `outcome` of [`RESERVES`]: the successes, then the script's refusals.
const RESERVE_OUTCOMES: [&str; 9] = [
    "reserved",
    "repeated",
    Rejection::ActivityNotFound.as_str(),
    Rejection::Closed.as_str(),
    Rejection::NotStarted.as_str(),
    Rejection::Ended.as_str(),
    Rejection::LimitExceeded.as_str(),
    Rejection::SoldOut.as_str(),
    Rejection::RateCapped.as_str(),
];

/// Describes sk-core's metrics and registers its fixed series at zero.
pub fn register() {
    sk_common::http::install_metrics_recorder();
    describe_counter!(
        RESERVES,
        "Reserve decisions of the stock Lua script, by outcome"
    );
    describe_counter!(RELAYED, "Outbox entries produced to Kafka and acknowledged");
    describe_histogram!(
        RELAY_LAG,
        "Time from an outbox entry's write in Redis to its acknowledgement by Kafka"
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Entries left in an activity's outbox stream (after each relay pass, and while the relay waits or fails)"
    );
    describe_counter!(
        OUTBOX_DEAD_LETTERS,
        "Outbox entries moved to the dead-letter stream because they could not be produced"
    );
    describe_counter!(
        RESERVATIONS_EXPIRED,
        "Reservations expired by the payment-deadline reaper (their units returned to stock)"
    );
    describe_counter!(
        CALLS_REFUSED,
        "Internal calls refused before any work: a bad or missing signature, a stale timestamp or a replay, by reason"
    );
    for reason in REFUSAL_REASONS {
        counter!(CALLS_REFUSED, "reason" => reason).increment(0);
    }
    for outcome in RESERVE_OUTCOMES {
        counter!(RESERVES, "outcome" => outcome).increment(0);
    }
    for name in [RELAYED, OUTBOX_DEAD_LETTERS, RESERVATIONS_EXPIRED] {
        counter!(name).increment(0);
    }
    // Registered, a histogram is rendered (empty) before its first sample.
    let _ = histogram!(RELAY_LAG);
}
