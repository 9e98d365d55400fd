//! What every flash-sale service shares, written once.
//!
//! - [`backoff`]: capped exponential backoff that gives way to shutdown.
//! - [`breaker`]: the circuit breaker of gateway upstreams and of sk-app's calls to sk-core.
//! - [`forwarded`]: the client address behind trusted proxies (`X-Forwarded-For`).
//! - [`settings`]: typed settings, embedded defaults → optional TOML file → `SK_` environment.
//! - [`telemetry`]: `tracing` (pretty or JSON logs, `RUST_LOG`, optional OTLP export).
//! - [`shutdown`]: SIGINT/SIGTERM → one cancellation token → tasks drained under a grace period.
//! - [`http`]: the `{"code","message"}` error type, `/healthz`, `/readyz`, `/metrics`, serving.
//! - [`readiness`]: dependency probes behind `/readyz`.
//! - [`events`]: the order lifecycle events on Kafka (schema version 1).
//! - [`catalog`]: activities and the order ledger as MySQL holds them, read one shared way.
//! - [`cursor`]: opaque keyset cursors for paginated lists.
//! - [`domain`]: newtypes that cannot hold an invalid value (`ActivityId`, `Quantity`, …).
//! - [`redis`], [`mysql`], [`kafka`]: connections with timeouts; MySQL migrations.
//! - [`stock`]: the Redis key layout of an activity and the Lua scripts that decide on stock.
//! - [`lock`]: the self-renewing, fenced Redis lock (one relay or scheduler at a time).
//! - [`signing`], [`purchase_token`]: HMAC-SHA256 on internal calls and on purchase tokens.
//! - [`jwt`]: HS256 bearer tokens (`sub`, `role`, `exp`) with rotating keys, minted and checked.
//! - [`service`]: the shared `main` of every service binary.

pub mod backoff;
pub mod breaker;
pub mod catalog;
pub mod cursor;
pub mod domain;
mod error;
pub mod events;
pub mod forwarded;
pub mod http;
pub mod jwt;
pub mod kafka;
pub mod lock;
pub mod mysql;
pub mod purchase_token;
pub mod readiness;
pub mod redis;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod signing;
pub mod stock;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod trace;

#[cfg(test)]
mod outside_input;

pub use error::{Error, Result};
