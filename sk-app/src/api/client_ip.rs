//! Who is calling from where: the TCP peer, or, when the peer is a trusted proxy (the
//! gateway), the nearest untrusted hop of its `X-Forwarded-For`. Never anything the client
//! can simply claim.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::Api;

/// The client's address, as far as this service can tell.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<Api> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Self::Rejection> {
        // Served without connection info (a router called directly), the peer is unknown:
        // the unspecified address, which no proxy list trusts.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(Self(api.admission.proxies.client_ip(peer, &parts.headers)))
    }
}
