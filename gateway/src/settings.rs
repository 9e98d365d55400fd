//! The gateway's settings; `defaults.toml` beside this crate documents every key.

mod upstream;

use std::time::Duration;

use serde::Deserialize;
use sk_common::breaker::BreakerSettings;
use sk_common::forwarded::TrustedProxies;
use sk_common::http::HttpSettings;
use sk_common::settings::{ServiceSettings, SettingsError, in_range};
use sk_common::telemetry::LogSettings;

pub use upstream::{MAX_WEIGHT, UpstreamSpec};

/// Everything the gateway can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener, shutdown and the request body limit.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// Where each route family is sent.
    pub upstreams: Upstreams,
    /// Timeouts, retries and rate limits of each route family.
    pub routes: Routes,
    /// Active probes, passive ejection and DNS re-resolution of upstream instances.
    pub upstream_health: HealthSettings,
    /// The circuit breaker of every upstream instance.
    pub breaker: BreakerSettings,
    /// Per-client limits and load shedding.
    pub limits: LimitSettings,
    /// The forwarding itself: trusted proxies and the upstream connection pool.
    pub proxy: ProxySettings,
}

/// The instances behind each route family.
#[derive(Debug, Clone, Deserialize)]
pub struct Upstreams {
    /// sk-app instances (shopper API, `/api/…`).
    #[serde(deserialize_with = "upstream::upstream_list")]
    pub app: Vec<UpstreamSpec>,
    /// sk-admin instances (admin API, `/admin/…`).
    #[serde(deserialize_with = "upstream::upstream_list")]
    pub admin: Vec<UpstreamSpec>,
}

/// The per-route settings of both families.
#[derive(Debug, Clone, Deserialize)]
pub struct Routes {
    /// `/api/…` → sk-app.
    pub app: RouteSettings,
    /// `/admin/…` → sk-admin.
    pub admin: RouteSettings,
}

/// How one route family is forwarded and limited.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteSettings {
    /// Milliseconds one attempt may wait for the upstream's response headers (then 504).
    pub timeout_ms: u64,
    /// Extra attempts, each on another instance, for a GET or HEAD that could not connect,
    /// timed out or got 502/503/504. Other methods are never retried.
    pub get_retries: u32,
    /// Requests per second the route accepts from all clients together.
    pub per_sec: u32,
    /// Requests the route accepts at once above its steady rate.
    pub burst: u32,
}

impl RouteSettings {
    fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let key = |name: &str| format!("{section}.{name}");
        in_range(&key("timeout_ms"), self.timeout_ms, 10, 600_000)?;
        in_range(&key("get_retries"), self.get_retries.into(), 0, 5)?;
        in_range(&key("per_sec"), self.per_sec.into(), 1, 10_000_000)?;
        in_range(&key("burst"), self.burst.into(), 1, 10_000_000)
    }

    /// How long one attempt may wait for response headers.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// How instances are found and judged.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthSettings {
    /// Milliseconds between active `GET /healthz` probes of every instance.
    pub probe_interval_ms: u64,
    /// Milliseconds one probe may take.
    pub probe_timeout_ms: u64,
    /// Consecutive failures (connect errors, timeouts, 5xx but 503, failed probes) that eject an
    /// instance until a probe succeeds.
    pub eject_after_failures: u32,
    /// Milliseconds between DNS look-ups of upstream host names.
    pub resolve_interval_ms: u64,
}

impl HealthSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        let key = |name: &str| format!("upstream_health.{name}");
        in_range(
            &key("probe_interval_ms"),
            self.probe_interval_ms,
            10,
            600_000,
        )?;
        in_range(&key("probe_timeout_ms"), self.probe_timeout_ms, 10, 60_000)?;
        in_range(
            &key("eject_after_failures"),
            self.eject_after_failures.into(),
            1,
            10_000,
        )?;
        in_range(
            &key("resolve_interval_ms"),
            self.resolve_interval_ms,
            100,
            3_600_000,
        )
    }
}

/// Per-client rate limits and the concurrency limit.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Requests per second one client address may make (steady rate).
    pub per_ip_per_sec: u32,
    /// Requests one client address may make at once above its steady rate.
    pub per_ip_burst: u32,
    /// Client addresses and networks the per-IP limit does not apply to (load generators).
    pub exempt: TrustedProxies,
    /// Requests forwarded at once; one more is answered 503 at once, never queued.
    pub max_concurrency: u32,
}

impl LimitSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        in_range(
            "limits.per_ip_per_sec",
            self.per_ip_per_sec.into(),
            1,
            10_000_000,
        )?;
        in_range(
            "limits.per_ip_burst",
            self.per_ip_burst.into(),
            1,
            10_000_000,
        )?;
        in_range(
            "limits.max_concurrency",
            self.max_concurrency.into(),
            1,
            1_000_000,
        )
    }
}

/// The forwarding itself.
#[derive(Debug, Clone, Deserialize)]
pub struct ProxySettings {
    /// Peers whose `X-Forwarded-For` is believed (addresses or CIDR networks; empty: nobody).
    pub trusted_proxies: TrustedProxies,
    /// Milliseconds to open a connection to an upstream instance.
    pub connect_timeout_ms: u64,
    /// Idle keep-alive connections kept per upstream instance.
    pub max_idle_per_instance: usize,
    /// Seconds an idle keep-alive connection is kept.
    pub idle_timeout_secs: u64,
    /// Milliseconds a client may take to send the whole request body.
    pub body_timeout_ms: u64,
    /// Most bytes of request target plus headers accepted from a client.
    pub max_header_bytes: usize,
}

impl ProxySettings {
    fn validate(&self) -> Result<(), SettingsError> {
        in_range(
            "proxy.connect_timeout_ms",
            self.connect_timeout_ms,
            10,
            60_000,
        )?;
        in_range(
            "proxy.max_idle_per_instance",
            u64::try_from(self.max_idle_per_instance).unwrap_or(u64::MAX),
            0,
            100_000,
        )?;
        in_range("proxy.idle_timeout_secs", self.idle_timeout_secs, 1, 3_600)?;
        in_range("proxy.body_timeout_ms", self.body_timeout_ms, 10, 600_000)?;
        in_range(
            "proxy.max_header_bytes",
            u64::try_from(self.max_header_bytes).unwrap_or(u64::MAX),
            1_024,
            1_048_576,
        )
    }
}

impl ServiceSettings for Settings {
    const DEFAULTS: &'static str = include_str!("../defaults.toml");

    fn http(&self) -> &HttpSettings {
        &self.http
    }

    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.http.validate()?;
        self.routes.app.validate("routes.app")?;
        self.routes.admin.validate("routes.admin")?;
        self.upstream_health.validate()?;
        self.breaker.validate("breaker")?;
        self.limits.validate()?;
        self.proxy.validate()
    }
}
