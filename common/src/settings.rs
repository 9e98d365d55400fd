//! Typed settings: embedded defaults → optional TOML file → `SK_`-prefixed environment.
//!
//! Each service keeps its defaults in a commented `defaults.toml` next to its `Settings` struct;
//! that file is the reference for every key. A key `a.b_c` is overridden by the environment
//! variable `SK_A__B_C` (sections are joined with a double underscore).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, ConfigError, Environment, File, FileFormat};
use serde::Deserialize as _;
use serde::de::{self, DeserializeOwned, Deserializer};

use crate::http::HttpSettings;
use crate::telemetry::LogSettings;

/// Prefix of every environment variable the services read.
pub const ENV_PREFIX: &str = "SK";

/// How the development secrets in `defaults.toml` begin, so a service can warn when it runs
/// with one.
pub const DEV_SECRET_PREFIX: &str = "dev-only-";

/// What every service's settings struct offers to the shared `main`.
pub trait ServiceSettings: DeserializeOwned + Send + 'static {
    /// The embedded defaults: a TOML document that documents and sets every key.
    const DEFAULTS: &'static str;

    /// Where the HTTP side listens and how it shuts down.
    fn http(&self) -> &HttpSettings;

    /// How the service logs and exports traces.
    fn log(&self) -> &LogSettings;

    /// Checks serde cannot express. Called once after loading.
    ///
    /// # Errors
    /// A [`SettingsError::Invalid`] naming the offending key.
    fn validate(&self) -> Result<(), SettingsError> {
        self.http().validate()
    }
}

/// Where environment overrides come from: the process, or a fixed map (tests).
#[derive(Debug, Clone, Default)]
pub enum EnvSource {
    /// The process environment.
    #[default]
    Process,
    /// A fixed set of variables, e.g. `{"SK_HTTP__LISTEN": "127.0.0.1:0"}`.
    Vars(HashMap<String, String>),
}

impl EnvSource {
    /// A fixed environment from `(name, value)` pairs.
    pub fn vars<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Vars(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

/// A setting that could not be loaded; its message names the key and its variable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error(
        "invalid setting `{key}` (environment variable {}): {reason}",
        env_var(key)
    )]
    Invalid { key: String, reason: String },
    #[error("invalid settings: {0}")]
    Other(String),
}

impl SettingsError {
    /// An invalid value for `key` (a dotted path such as `redis.url`).
    pub fn invalid(key: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

/// Checks `min ≤ value ≤ max` for the setting `key`.
///
/// # Errors
/// [`SettingsError::Invalid`] naming `key` and the bounds.
pub fn in_range(key: &str, value: u64, min: u64, max: u64) -> Result<(), SettingsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SettingsError::invalid(
            key,
            format!("must be between {min} and {max}"),
        ))
    }
}

/// The environment variable that overrides the dotted `key`.
#[must_use]
pub fn env_var(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.replace('.', "__").to_uppercase())
}

/// Loads and validates `S`: embedded defaults, then `file` if given, then the environment.
///
/// # Errors
/// [`SettingsError`] naming the file or the key that is wrong.
pub fn load<S: ServiceSettings>(file: Option<&Path>, env: EnvSource) -> Result<S, SettingsError> {
    let mut builder = Config::builder().add_source(File::from_str(S::DEFAULTS, FileFormat::Toml));
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
    }
    let environment = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .ignore_empty(true);
    let environment = match env {
        EnvSource::Process => environment,
        EnvSource::Vars(vars) => environment.source(Some(vars.into_iter().collect())),
    };
    let settings: S = builder
        .add_source(environment)
        .build()
        .and_then(Config::try_deserialize)
        .map_err(|e| from_config_error(e, file))?;
    settings.log().validate()?;
    settings.validate()?;
    Ok(settings)
}

fn from_config_error(error: ConfigError, file: Option<&Path>) -> SettingsError {
    match error {
        ConfigError::Type {
            key: Some(ref key), ..
        } => SettingsError::Invalid {
            key: key.clone(),
            reason: error.to_string(),
        },
        ConfigError::At {
            key: Some(key),
            error,
            ..
        } => SettingsError::Invalid {
            key,
            reason: error.to_string(),
        },
        ConfigError::FileParse { cause, .. } => SettingsError::File {
            path: file.map(Path::to_owned).unwrap_or_default(),
            reason: cause.to_string(),
        },
        other => SettingsError::Other(other.to_string()),
    }
}

/// Deserializes a list given either as a TOML array or as one comma-separated string
/// (the only way to write a list in an environment variable).
///
/// # Errors
/// When the value is neither a string nor a sequence of strings.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Joined(String),
        List(Vec<String>),
    }
    let items = match OneOrMany::deserialize(deserializer)
        .map_err(|_| de::Error::custom("expected a list of strings or a comma-separated string"))?
    {
        OneOrMany::Joined(joined) => joined.split(',').map(str::to_owned).collect(),
        OneOrMany::List(list) => list,
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

#[cfg(test)]
mod tests;
