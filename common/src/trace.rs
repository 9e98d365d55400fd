//! The W3C trace context (`traceparent`) that ties one order's life into one trace: taken
//! from an incoming HTTP request, sent on to the next tier, stored with the order and each of
//! its outbox entries (so its later events join the purchase's trace), carried as a Kafka
//! header by the relay and continued by order-consumer.
//!
//! Spans get their OpenTelemetry identity from the `tracing-opentelemetry` layer that
//! [`crate::telemetry::init`] always installs (exporting only when OTLP is configured), so a
//! span's own context is what goes downstream. Without that layer (a test that installs no
//! subscriber) the incoming context is passed on unchanged, so the trace id still carries.

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::events::OrderEvent;

/// The header (HTTP and Kafka) that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// One W3C `traceparent`: the trace, the parent span in it, and whether it is being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

impl TraceParent {
    /// Parses `version-traceid-parentid-flags` (lowercase hex, neither id all zeros, version
    /// not `ff`; version 00 has exactly four fields, later versions may append more).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let extra = parts.next().is_some();
        let valid = is_hex(version, 2)
            && version != "ff"
            && (version != "00" || !extra)
            && is_hex(trace_id, 32)
            && is_hex(span_id, 16)
            && is_hex(flags, 2);
        if !valid {
            return None;
        }
        let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
        let span_id = u64::from_str_radix(span_id, 16).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        (trace_id != 0 && span_id != 0).then_some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// [`Self::parse`] on header bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        std::str::from_utf8(bytes).ok().and_then(Self::parse)
    }

    /// A new trace with random ids, marked sampled so the next tier records it.
    #[must_use]
    pub fn new_root() -> Self {
        Self {
            trace_id: fastrand::u128(1..),
            span_id: fastrand::u64(1..),
            sampled: true,
        }
    }

    /// The context of `span` as OpenTelemetry sees it; `None` when no OpenTelemetry layer
    /// is installed or the span is disabled.
    #[must_use]
    pub fn of(span: &Span) -> Option<Self> {
        let context = span.context();
        let span_context = context.span().span_context().clone();
        span_context.is_valid().then(|| Self {
            trace_id: u128::from_be_bytes(span_context.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(span_context.span_id().to_bytes()),
            sampled: span_context.is_sampled(),
        })
    }

    /// The 32 hex digits of the trace id, as logs and trace viewers show it.
    #[must_use]
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// This context as a remote parent.
    pub(crate) fn as_parent(self) -> Context {
        Context::new().with_remote_span_context(self.span_context())
    }

    fn span_context(self) -> SpanContext {
        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(
            TraceId::from_bytes(self.trace_id.to_be_bytes()),
            SpanId::from_bytes(self.span_id.to_be_bytes()),
            flags,
            true,
            TraceState::default(),
        )
    }
}

/// Always written as version 00.
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

fn is_hex(part: &str, len: usize) -> bool {
    part.len() == len
        && part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Makes `span` (not yet entered) continue the trace of `parent`, when there is one, and
/// records the trace id in its `trace_id` field (which the span must declare, empty), so every
/// log line inside it carries the id. Returns the context to send downstream from inside
/// `span`: its own, or `parent` unchanged when OpenTelemetry is not installed.
pub fn continue_trace(span: &Span, parent: Option<TraceParent>) -> Option<TraceParent> {
    if let Some(parent) = parent {
        // Fails only without the OpenTelemetry layer, which the fallback below covers.
        let _ = span.set_parent(parent.as_parent());
    }
    let own = TraceParent::of(span).or(parent);
    if let Some(own) = own {
        span.record("trace_id", own.trace_id());
    }
    own
}

/// The span of one order event on its way through the pipeline (`stage`: `outbox relay`,
/// `ledger apply`; `kind`: the OpenTelemetry span kind), continuing `parent`, with the
/// context to send on from inside it.
pub fn order_event_span(
    stage: &'static str,
    kind: &'static str,
    event: &OrderEvent,
    parent: Option<TraceParent>,
) -> (Span, Option<TraceParent>) {
    let span = tracing::info_span!(
        "order event",
        otel.name = stage,
        otel.kind = kind,
        order_id = %event.order_id,
        activity_id = event.activity_id.get(),
        status = event.status.as_str(),
        trace_id = tracing::field::Empty,
    );
    let sent = continue_trace(&span, parent);
    (span, sent)
}

/// Links `span` to `cause`: a span of another trace that led to it (a payment's request,
/// for the relay of the order's `paid` event, which belongs to the purchase's trace).
pub fn link(span: &Span, cause: TraceParent) {
    span.add_link(cause.span_context());
}

/// The context to send downstream from the current span, if it has one.
#[must_use]
pub fn current() -> Option<TraceParent> {
    TraceParent::of(&Span::current())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let parsed = TraceParent::parse(VALID);
        assert_eq!(parsed.map(|p| p.to_string()).as_deref(), Some(VALID));
        assert_eq!(
            parsed.map(|p| p.trace_id()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert_eq!(
            TraceParent::parse(unsampled)
                .map(|p| p.to_string())
                .as_deref(),
            Some(unsampled)
        );
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "nonsense",
            "",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn later_versions_may_carry_more_fields_and_are_sent_on_as_00() {
        let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever";
        assert_eq!(
            TraceParent::parse(future).map(|p| p.to_string()).as_deref(),
            Some(VALID)
        );
    }

    #[test]
    fn without_opentelemetry_the_parent_is_passed_on() {
        let parent = TraceParent::parse(VALID);
        let span = tracing::info_span!("test", trace_id = tracing::field::Empty);
        assert_eq!(continue_trace(&span, parent), parent);
        assert_eq!(continue_trace(&span, None), None);
    }

    #[test]
    fn new_roots_are_valid_and_sampled() {
        let root = TraceParent::new_root();
        assert_eq!(TraceParent::parse(&root.to_string()), Some(root));
        assert!(root.to_string().ends_with("-01"));
    }
}
