//! Re-resolving upstream host names: every address a name resolves to is an instance (a
//! Kubernetes headless service lists one per ready pod). A failed look-up keeps the
//! addresses that name had, so a DNS hiccup never empties a pool.

use std::net::SocketAddr;
use std::time::Duration;

use sk_common::shutdown::CancellationToken;

use super::Pool;
use crate::settings::UpstreamSpec;

/// Resolves the pool's host names now and every `every` until `shutdown`. Returns at once
/// when every upstream is an IP literal.
///
/// # Errors
/// Never; the signature fits [`sk_common::shutdown::Tasks::spawn`].
pub async fn keep_resolved(
    pool: Pool,
    every: Duration,
    shutdown: CancellationToken,
) -> Result<(), String> {
    if pool.specs().iter().all(|spec| spec.ip().is_some()) {
        return Ok(());
    }
    let mut known: Vec<Vec<SocketAddr>> = vec![Vec::new(); pool.specs().len()];
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        for (spec, addrs) in pool.specs().iter().zip(&mut known) {
            match resolve(spec).await {
                Ok(found) => *addrs = found,
                Err(e) => tracing::warn!(
                    family = pool.family(), host = spec.host(), error = %e,
                    "cannot resolve upstream; keeping its last addresses"
                ),
            }
        }
        pool.replace(&instances(pool.specs(), &known));
    }
}

async fn resolve(spec: &UpstreamSpec) -> std::io::Result<Vec<SocketAddr>> {
    if let Some(ip) = spec.ip() {
        return Ok(vec![SocketAddr::new(ip, spec.port())]);
    }
    let mut found: Vec<SocketAddr> = tokio::net::lookup_host((spec.host(), spec.port()))
        .await?
        .collect();
    // A stable order keeps the rotation from restarting when DNS shuffles its answer.
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Every resolved address with its upstream's weight; an address listed twice counts once.
fn instances(specs: &[UpstreamSpec], resolved: &[Vec<SocketAddr>]) -> Vec<(SocketAddr, u32)> {
    let mut out: Vec<(SocketAddr, u32)> = Vec::new();
    for (spec, addrs) in specs.iter().zip(resolved) {
        for addr in addrs {
            if !out.iter().any(|(seen, _)| seen == addr) {
                out.push((*addr, spec.weight()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> UpstreamSpec {
        UpstreamSpec::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn literals_resolve_to_themselves_and_names_through_dns() {
        let literal = resolve(&spec("http://10.1.2.3:81")).await.ok();
        assert_eq!(
            literal,
            Some(vec![
                "10.1.2.3:81"
                    .parse()
                    .unwrap_or(SocketAddr::from(([0; 4], 0)))
            ])
        );
        let named = resolve(&spec("http://localhost:9"))
            .await
            .unwrap_or_default();
        assert!(!named.is_empty() && named.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }

    #[test]
    fn duplicate_addresses_count_once_with_the_first_weight() {
        let specs = [spec("http://a:1 weight=3"), spec("http://b:1")];
        let addr: SocketAddr = ([10, 0, 0, 1], 1).into();
        let other: SocketAddr = ([10, 0, 0, 2], 1).into();
        let resolved = [vec![addr], vec![addr, other]];
        assert_eq!(instances(&specs, &resolved), vec![(addr, 3), (other, 1)]);
    }
}
