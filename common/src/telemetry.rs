//! Telemetry: `tracing` with pretty logs on a terminal and JSON logs otherwise (one flat
//! object per line, carrying the ids of every enclosing span), `RUST_LOG` honoured, and
//! OpenTelemetry spans: always given W3C ids so `traceparent` propagates
//! (see [`crate::trace`]), exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

mod json;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use serde::Deserialize;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use self::json::FlatJson;
use crate::settings::SettingsError;
use crate::{Error, Result};

/// How a service logs and samples traces.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `auto` (pretty on a terminal, JSON otherwise), `pretty` or `json`.
    pub format: LogFormat,
    /// Log filter in `RUST_LOG` syntax, used when `RUST_LOG` is not set.
    pub filter: String,
    /// Fraction (0–1) of new traces recorded and exported when OTLP export is on. A request
    /// whose `traceparent` says sampled (or not) keeps that decision.
    pub trace_sample_ratio: f64,
}

impl LogSettings {
    /// Checks the bounds serde cannot express.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming `log.filter` when it does not parse, or
    /// `log.trace_sample_ratio` when it is outside 0–1.
    pub fn validate(&self) -> Result<(), SettingsError> {
        EnvFilter::try_new(&self.filter).map_err(|e| SettingsError::invalid("log.filter", e))?;
        if (0.0..=1.0).contains(&self.trace_sample_ratio) {
            Ok(())
        } else {
            Err(SettingsError::invalid(
                "log.trace_sample_ratio",
                "must be between 0 and 1",
            ))
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

/// Flushes and stops trace export when dropped; keep it alive for the life of `main`.
#[derive(Debug)]
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("trace export did not flush: {e}");
        }
    }
}

/// Installs the global subscriber for `service`.
///
/// # Errors
/// When the filter does not parse, the sample ratio is outside 0–1, the OTLP exporter cannot
/// be built, or a subscriber is already installed.
pub fn init(service: &'static str, settings: &LogSettings) -> Result<TelemetryGuard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(from_env),
        _ => EnvFilter::try_new(&settings.filter),
    }
    .map_err(|e| Error::Telemetry(format!("log filter: {e}")))?;
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    // Settings loaded through `settings::load` were checked already; a caller that built them
    // by hand gets the same refusal here.
    settings
        .validate()
        .map_err(|e| Error::Telemetry(e.to_string()))?;
    let provider = tracer_provider(service, settings.trace_sample_ratio)?;
    Registry::default()
        .with(log_layer(json))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer(service)))
        .with(filter)
        .try_init()
        .map_err(|e| Error::Telemetry(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// The log output: [`FlatJson`] lines or the pretty human format.
#[must_use]
pub fn log_layer<S>(json: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    if json {
        tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    }
}

/// Without an exporter every span is a non-recording one: ids only, at next to no cost. With
/// one, a new trace is recorded with probability `ratio`, and a continued one as its caller
/// decided (the `sampled` flag of its `traceparent`).
fn sampler(exporting: bool, ratio: f64) -> Sampler {
    if exporting {
        Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
    } else {
        Sampler::AlwaysOff
    }
}

/// Spans always get trace and span ids; they are recorded and exported over OTLP/HTTP only
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the other `OTEL_*`
/// variables itself), for `ratio` of new traces.
fn tracer_provider(service: &'static str, ratio: f64) -> Result<SdkTracerProvider> {
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty());
    let builder = SdkTracerProvider::builder()
        .with_sampler(sampler(exporting, ratio))
        .with_resource(Resource::builder().with_service_name(service).build());
    if !exporting {
        return Ok(builder.build());
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| Error::Telemetry(format!("otlp exporter: {e}")))?;
    Ok(builder.with_batch_exporter(exporter).build())
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample as _};

    use super::*;
    use crate::trace::TraceParent;

    /// What `sampler` decides for a span of trace `trace_id` whose parent is `parent`.
    fn decision(sampler: &Sampler, parent: Option<&str>, trace_id: u128) -> SamplingDecision {
        let parent = parent
            .and_then(TraceParent::parse)
            .map(TraceParent::as_parent);
        sampler
            .should_sample(
                parent.as_ref(),
                TraceId::from_bytes(trace_id.to_be_bytes()),
                "request",
                &SpanKind::Server,
                &[],
                &[],
            )
            .decision
    }

    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const NOT_SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    #[test]
    fn without_an_exporter_nothing_is_recorded() {
        let off = sampler(false, 1.0);
        assert_eq!(decision(&off, None, 7), SamplingDecision::Drop);
        assert_eq!(decision(&off, Some(SAMPLED), 7), SamplingDecision::Drop);
    }

    #[test]
    fn new_traces_follow_the_ratio_and_continued_ones_their_caller() {
        let none = sampler(true, 0.0);
        assert_eq!(decision(&none, None, 7), SamplingDecision::Drop);
        assert_eq!(
            decision(&none, Some(SAMPLED), 7),
            SamplingDecision::RecordAndSample
        );
        let all = sampler(true, 1.0);
        assert_eq!(decision(&all, None, 7), SamplingDecision::RecordAndSample);
        assert_eq!(decision(&all, Some(NOT_SAMPLED), 7), SamplingDecision::Drop);
        let half = sampler(true, 0.5);
        let recorded = (1..=1_000_u128)
            .map(|i| {
                decision(
                    &half,
                    None,
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                )
            })
            .filter(|d| *d == SamplingDecision::RecordAndSample)
            .count();
        assert!((350..=650).contains(&recorded), "{recorded} of 1000");
    }

    #[test]
    fn a_ratio_outside_0_to_1_or_a_bad_filter_is_refused() {
        let settings = |filter: &str, ratio| LogSettings {
            format: LogFormat::Json,
            filter: filter.into(),
            trace_sample_ratio: ratio,
        };
        assert!(settings("info", 0.5).validate().is_ok());
        for ratio in [-0.1, 1.5, f64::NAN] {
            assert!(settings("info", ratio).validate().is_err(), "{ratio}");
        }
        assert!(settings("info,[", 1.0).validate().is_err());
    }
}
