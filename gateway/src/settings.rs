//! The gateway's settings; `defaults.toml` beside this crate documents every key.

use reqwest::Url;
use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::settings::{ServiceSettings, SettingsError, string_list};
use sk_common::telemetry::LogSettings;

/// Everything the gateway can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener and shutdown.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// Where each route family is sent.
    pub upstreams: Upstreams,
}

/// Base URLs of the instances behind each route family.
#[derive(Debug, Clone, Deserialize)]
pub struct Upstreams {
    /// sk-app instances (shopper API, `/api`).
    #[serde(deserialize_with = "string_list")]
    pub app: Vec<String>,
    /// sk-admin instances (admin API, `/admin`).
    #[serde(deserialize_with = "string_list")]
    pub admin: Vec<String>,
}

impl Upstreams {
    fn validate(&self) -> Result<(), SettingsError> {
        for (key, urls) in [
            ("upstreams.app", &self.app),
            ("upstreams.admin", &self.admin),
        ] {
            if urls.is_empty() {
                return Err(SettingsError::invalid(
                    key,
                    "must list at least one base URL",
                ));
            }
            for url in urls {
                let parsed = Url::parse(url)
                    .map_err(|e| SettingsError::invalid(key, format!("{url:?}: {e}")))?;
                if parsed.scheme() != "http" || parsed.host_str().is_none() {
                    return Err(SettingsError::invalid(
                        key,
                        format!("{url:?}: expected http://host:port"),
                    ));
                }
            }
        }
        Ok(())
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
        self.upstreams.validate()
    }
}
