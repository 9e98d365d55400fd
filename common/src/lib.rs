//! What every flash-sale service shares, written once.
//!
//! - [`settings`]: typed settings, embedded defaults → optional TOML file → `SK_` environment.
//! - [`telemetry`]: `tracing` (pretty or JSON logs, `RUST_LOG`, optional OTLP export).
//! - [`shutdown`]: SIGINT/SIGTERM → one cancellation token → tasks drained under a grace period.
//! - [`http`]: the `{"code","message"}` error type, `/healthz`, `/readyz`, `/metrics`, serving.
//! - [`readiness`]: dependency probes behind `/readyz`.
//! - [`domain`]: newtypes that cannot hold an invalid value (`ActivityId`, `Quantity`, …).
//! - [`redis`], [`mysql`], [`kafka`]: connections with timeouts; MySQL migrations.
//! - [`service`]: the shared `main` of every service binary.

pub mod domain;
mod error;
pub mod http;
pub mod kafka;
pub mod mysql;
pub mod readiness;
pub mod redis;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
