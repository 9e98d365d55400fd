//! Who the client is behind proxies: `X-Forwarded-For` is believed only from trusted peers.
//!
//! Anybody can send an `X-Forwarded-For` header, so a service that took the client address from
//! it could be told any address (the go-kit seed took it from the request body). The rule here:
//! the TCP peer is the client unless the peer is a configured trusted proxy; then the chain is
//! walked from the right (the hop nearest to us) past trusted hops, and the first untrusted one
//! is the client. The gateway overwrites the header with that rule before forwarding.

use std::fmt;
use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Deserializer};

use crate::settings::string_list;

/// The request header carrying the chain of client and proxy addresses.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// One trusted network: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    base: IpAddr,
    prefix_len: u8,
}

impl Network {
    /// `10.0.0.0/8`, `::1/128`, or a bare address (all bits).
    fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?;
        let base = base.to_canonical();
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0-{max}"))?,
        };
        Ok(Self { base, prefix_len })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(v4.to_bits()) << 96,
            IpAddr::V6(v6) => v6.to_bits(),
        };
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.base.is_ipv4() {
            return false;
        }
        // IPv4 sits in the top 32 bits, so one mask of the leading bits serves both families.
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0);
        bits(ip) & mask == bits(self.base) & mask
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix_len)
    }
}

/// The proxies whose `X-Forwarded-For` is believed (empty: nobody's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Network>,
}

impl TrustedProxies {
    /// Parses addresses and CIDR networks (`127.0.0.1`, `10.0.0.0/8`, `::1`).
    ///
    /// # Errors
    /// The first entry that is neither, described.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|entry| Network::parse(entry))
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether `ip` is one of the trusted addresses or inside a trusted network.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }

    /// The client's address: `peer` unless `peer` is trusted; then the nearest untrusted hop
    /// of `X-Forwarded-For` (or the farthest hop when all are trusted). A malformed entry
    /// stops the walk at the hop that added it, which is trusted.
    #[must_use]
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        for hop in forwarded_hops(headers).rev() {
            let Ok(hop) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = hop.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }

    /// The `X-Forwarded-For` to send upstream: the incoming chain plus `peer` when `peer` is
    /// trusted, otherwise `peer` alone (an untrusted peer's claims are dropped).
    #[must_use]
    pub fn forwarded_for(&self, peer: IpAddr, headers: &HeaderMap) -> HeaderValue {
        let peer = peer.to_canonical();
        let mut chain: Vec<String> = if self.contains(peer) {
            forwarded_hops(headers).map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        let peer = peer.to_string();
        chain.push(peer.clone());
        // Hops came from readable header values and an address prints as ASCII, so the
        // joined chain is a valid value; the peer alone is the safe answer regardless.
        HeaderValue::from_str(&chain.join(", "))
            .or_else(|_| HeaderValue::from_str(&peer))
            .unwrap_or(HeaderValue::from_static("unknown"))
    }
}

/// Every hop of every `X-Forwarded-For` header, left to right, trimmed; unreadable headers are
/// skipped (they cannot name anybody).
fn forwarded_hops(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = &str> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = string_list(deserializer)?;
        Self::parse(&entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|&e| e.to_owned()).collect();
        TrustedProxies::parse(&entries).unwrap_or_default()
    }

    fn headers(chain: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(chain) {
            headers.insert(X_FORWARDED_FOR, value);
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn networks_match_by_prefix() {
        let proxies = trusted(&["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
        assert!(proxies.contains(ip("10.200.3.4")));
        assert!(!proxies.contains(ip("11.0.0.1")));
        assert!(proxies.contains(ip("192.168.1.7")));
        assert!(!proxies.contains(ip("192.168.1.8")));
        assert!(proxies.contains(ip("fd12::1")));
        assert!(!proxies.contains(ip("fe80::1")));
        assert!(proxies.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        assert!(trusted(&["0.0.0.0/0"]).contains(ip("8.8.8.8")));
        assert!(!trusted(&["0.0.0.0/0"]).contains(ip("::1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["10.0.0.0/33", "nonsense", "::1/129", "1.2.3.4/x"] {
            assert!(TrustedProxies::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let proxies = trusted(&["127.0.0.1"]);
        let spoofed = headers("1.2.3.4");
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        let sent = proxies.forwarded_for(ip("203.0.113.9"), &spoofed);
        assert_eq!(sent, "203.0.113.9");
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &spoofed),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_chain_is_walked_from_the_right() {
        let proxies = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let chain = headers("6.6.6.6, 198.51.100.2, 10.0.0.5");
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &chain),
            ip("198.51.100.2")
        );
        let sent = proxies.forwarded_for(ip("127.0.0.1"), &chain);
        assert_eq!(sent, "6.6.6.6, 198.51.100.2, 10.0.0.5, 127.0.0.1");
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &headers("junk, 10.0.0.5")),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn settings_accept_a_list_or_a_joined_string() {
        let from_list: TrustedProxies =
            serde_json::from_str(r#"["127.0.0.1", "10.0.0.0/8"]"#).unwrap_or_default();
        let joined: TrustedProxies =
            serde_json::from_str(r#""127.0.0.1, 10.0.0.0/8""#).unwrap_or_default();
        assert_eq!(from_list, joined);
        assert!(from_list.contains(ip("10.9.9.9")));
        assert!(serde_json::from_str::<TrustedProxies>(r#""10.0.0.0/99""#).is_err());
    }
}
