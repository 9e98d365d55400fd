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

/// Spans always get trace and span ids; they are recorded and exported over OTLP/HTTP only
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the other `OTEL_*`
/// variables itself), for `ratio` of new traces.
fn tracer_provider(service: &'static str, ratio: f64) -> Result<SdkTracerProvider> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::Telemetry(format!(
            "log.trace_sample_ratio (SK_LOG__TRACE_SAMPLE_RATIO) must be between 0 and 1, not {ratio}"
        )));
    }
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty());
    // Without an exporter every span is a non-recording one: ids only, at next to no cost.
    let sampler = if exporting {
        Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
    } else {
        Sampler::AlwaysOff
    };
    let builder = SdkTracerProvider::builder()
        .with_sampler(sampler)
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
