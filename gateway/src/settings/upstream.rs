//! One configured upstream: `http://host:port`, optionally followed by ` weight=N`.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;
use serde::de::{self, Deserializer};
use sk_common::settings::string_list;

/// Largest weight an upstream may carry.
pub const MAX_WEIGHT: u32 = 100;

/// A parsed upstream entry. A host name stands for every address it resolves to, each an
/// instance of the same weight; an IP literal is one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    host: String,
    port: u16,
    weight: u32,
}

impl UpstreamSpec {
    /// Parses `http://host:port` or `http://host:port weight=N` (1 ≤ N ≤ 100, default 1).
    ///
    /// # Errors
    /// What is wrong with `text`, for a person.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let url = words.next().ok_or("an empty upstream")?;
        let (host, port) = host_and_port(url)?;
        let mut weight = 1;
        for word in words {
            weight = parse_weight(word).map_err(|e| format!("{text:?}: {e}"))?;
        }
        Ok(Self { host, port, weight })
    }

    /// The host name or IP literal (without IPv6 brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The share of requests relative to the other instances of the route.
    #[must_use]
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// The address when the host is an IP literal (no DNS needed).
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for UpstreamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip() {
            Some(IpAddr::V6(ip)) => write!(f, "http://[{ip}]:{}", self.port)?,
            _ => write!(f, "http://{}:{}", self.host, self.port)?,
        }
        write!(f, " weight={}", self.weight)
    }
}

fn host_and_port(url: &str) -> Result<(String, u16), String> {
    let parsed = Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    let expected = || format!("{url:?}: expected http://host:port");
    if parsed.scheme() != "http" || !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
        return Err(expected());
    }
    let host = parsed
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(expected)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port_or_known_default().ok_or_else(expected)?;
    Ok((host, port))
}

fn parse_weight(word: &str) -> Result<u32, String> {
    let value = word
        .strip_prefix("weight=")
        .ok_or_else(|| format!("unknown option {word:?} (expected weight=N)"))?;
    value
        .parse::<u32>()
        .ok()
        .filter(|w| (1..=MAX_WEIGHT).contains(w))
        .ok_or_else(|| format!("weight must be a whole number from 1 to {MAX_WEIGHT}"))
}

/// Deserializes a list of upstreams from a TOML array or one comma-separated string.
///
/// # Errors
/// The first entry that does not parse, or an empty list.
pub fn upstream_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<UpstreamSpec>, D::Error> {
    let entries = string_list(deserializer)?;
    if entries.is_empty() {
        return Err(de::Error::custom("must list at least one upstream"));
    }
    entries
        .iter()
        .map(|entry| UpstreamSpec::parse(entry).map_err(de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_weights_parse() {
        let plain = UpstreamSpec::parse("http://sk-app:8081").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (plain.host(), plain.port(), plain.weight()),
            ("sk-app", 8081, 1)
        );
        assert_eq!(plain.ip(), None);
        let weighted =
            UpstreamSpec::parse("http://10.0.0.7:81/ weight=3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(weighted.weight(), 3);
        assert_eq!(weighted.ip(), "10.0.0.7".parse().ok());
        let v6 = UpstreamSpec::parse("http://[::1]:9000").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v6.ip(), "::1".parse().ok());
        assert_eq!(v6.to_string(), "http://[::1]:9000 weight=1");
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for bad in [
            "not a url",
            "https://a:1",
            "http://a:1/api",
            "http://a:1 weight=0",
            "http://a:1 weight=101",
            "http://a:1 heavy",
            "",
        ] {
            assert!(UpstreamSpec::parse(bad).is_err(), "{bad:?}");
        }
    }
}
