use std::net::SocketAddr;
use std::time::Duration;

use sk_common::breaker::BreakerSettings;

use super::*;

const BREAKER: BreakerSettings = BreakerSettings {
    failure_threshold: 5,
    open_ms: 60_000,
    half_open_probes: 1,
};

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], 80))
}

fn pool(weights: &[u32], eject_after: u32) -> Pool {
    let specs = weights
        .iter()
        .zip(1u8..)
        .map(|(weight, last)| {
            UpstreamSpec::parse(&format!("http://10.0.0.{last}:80 weight={weight}"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    Pool::new("app", specs, BREAKER, eject_after)
}

fn picks(pool: &Pool, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match pool.lease(&[]) {
            Ok(lease) => {
                let SocketAddr::V4(v4) = lease.addr() else {
                    return 0;
                };
                lease.succeeded();
                v4.ip().octets()[3]
            }
            Err(_) => 0,
        })
        .collect()
}

#[test]
fn leases_follow_the_smooth_weighted_order() {
    assert_eq!(picks(&pool(&[3, 2, 1], 3), 6), vec![1, 2, 1, 3, 2, 1]);
}

#[test]
fn consecutive_failures_eject_until_a_probe_passes() {
    let pool = pool(&[1, 1], 2);
    let failing = &pool.instances()[0];
    for _ in 0..2 {
        let lease = pool.lease(&[addr(2)]).unwrap_or_else(|e| panic!("{e}"));
        lease.failed();
    }
    assert!(failing.is_ejected());
    assert_eq!(picks(&pool, 4), vec![2, 2, 2, 2]);
    pool.probed(failing, true);
    assert!(!failing.is_ejected());
    assert!(picks(&pool, 4).contains(&1));
}

#[test]
fn failed_probes_eject_too() {
    let pool = pool(&[1], 2);
    let only = &pool.instances()[0];
    pool.probed(only, false);
    assert!(!only.is_ejected(), "one failure is not enough");
    pool.probed(only, false);
    let Err(Error::Unavailable { retry_after, .. }) = pool.lease(&[]) else {
        panic!("an ejected pool has nothing to lease");
    };
    assert_eq!(retry_after, UNKNOWN_WAIT);
}

#[test]
fn an_open_breaker_is_skipped_and_tells_when_to_come_back() {
    let pool = pool(&[1], 100);
    for _ in 0..BREAKER.failure_threshold {
        pool.lease(&[]).unwrap_or_else(|e| panic!("{e}")).failed();
    }
    let Err(Error::Unavailable { retry_after, .. }) = pool.lease(&[]) else {
        panic!("the breaker should be open");
    };
    assert!(retry_after > Duration::from_secs(50), "{retry_after:?}");
}

#[test]
fn tried_instances_are_not_chosen_again() {
    let pool = pool(&[5, 1], 3);
    let lease = pool.lease(&[addr(1)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lease.addr(), addr(2));
    assert!(pool.lease(&[addr(1), addr(2)]).is_err());
}

#[test]
fn replacing_keeps_the_state_of_addresses_that_stay() {
    let pool = pool(&[1, 1], 1);
    pool.lease(&[addr(2)])
        .unwrap_or_else(|e| panic!("{e}"))
        .failed();
    pool.replace(&[(addr(1), 1), (addr(9), 1)]);
    let instances = pool.instances();
    assert_eq!(instances.len(), 2);
    assert!(instances[0].is_ejected(), "10.0.0.1 keeps its ejection");
    assert!(!instances[1].is_ejected());
}
