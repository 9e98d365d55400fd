//! Admission: per-IP and per-route rate limits (429 + Retry-After), who the client is behind
//! `X-Forwarded-For`, exempt load generators, and load shedding at the concurrency limit.

use std::time::{Duration, Instant};

use sk_common::testing::{TestServer, Vars, eventually};

use crate::helpers::{Answer, CountingUpstream, gateway_vars, get, send, spawn_gateway};

async fn get_as(gateway: &TestServer, forwarded_for: &str) -> Answer {
    let request = gateway
        .client
        .get(gateway.url("/api/v1/x"))
        .header("x-forwarded-for", forwarded_for);
    send(request).await
}

/// A gateway whose per-IP bucket holds `burst` requests and refills once a minute.
fn per_ip_limited(upstream: &CountingUpstream, burst: u32) -> Vars {
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend([
        ("SK_LIMITS__PER_IP_PER_SEC", "1".to_owned()),
        ("SK_LIMITS__PER_IP_BURST", burst.to_string()),
    ]);
    vars
}

fn forwarded_for_seen(upstream: &CountingUpstream) -> Vec<String> {
    upstream
        .seen()
        .iter()
        .map(|seen| seen.headers["x-forwarded-for"].to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_per_ip_limit_ignores_forwarded_for_from_an_untrusted_peer() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = spawn_gateway(&per_ip_limited(&upstream, 3)).await;
    for n in 0..3 {
        let answer = get_as(&gateway, &format!("198.51.100.{n}")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    get_as(&gateway, "198.51.100.99")
        .await
        .assert_retry_later(429, "rate_limited");
    assert_eq!(
        upstream.contacts(),
        3,
        "a limited request never reaches the upstream"
    );
    assert_eq!(
        forwarded_for_seen(&upstream),
        vec!["127.0.0.1"; 3],
        "overwritten with the peer"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_trusted_proxy_forwarded_for_names_the_client() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = per_ip_limited(&upstream, 2);
    vars.push((
        "SK_PROXY__TRUSTED_PROXIES",
        "127.0.0.1, 10.0.0.0/8".to_owned(),
    ));
    let gateway = spawn_gateway(&vars).await;
    for _ in 0..2 {
        assert_eq!(get_as(&gateway, "203.0.113.1").await.status, 200);
    }
    get_as(&gateway, "203.0.113.1")
        .await
        .assert_retry_later(429, "rate_limited");
    let other = get_as(&gateway, "6.6.6.6, 203.0.113.2, 10.1.2.3").await;
    assert_eq!(
        other.status, 200,
        "another client behind the same proxies: {other:?}"
    );
    assert_eq!(
        forwarded_for_seen(&upstream).last().map(String::as_str),
        Some("6.6.6.6, 203.0.113.2, 10.1.2.3, 127.0.0.1"),
        "the chain grows by the trusted peer"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn an_exempt_address_is_not_limited_per_ip() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = per_ip_limited(&upstream, 1);
    vars.push(("SK_LIMITS__EXEMPT", "10.9.0.0/16,127.0.0.1".to_owned()));
    let gateway = spawn_gateway(&vars).await;
    for _ in 0..20 {
        assert_eq!(get(&gateway, "/api/v1/x").await.status, 200);
    }
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn the_route_limit_holds_for_every_client_together() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend([
        ("SK_ROUTES__APP__PER_SEC", "1".to_owned()),
        ("SK_ROUTES__APP__BURST", "2".to_owned()),
        ("SK_PROXY__TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ]);
    let gateway = spawn_gateway(&vars).await;
    assert_eq!(get_as(&gateway, "203.0.113.1").await.status, 200);
    assert_eq!(get_as(&gateway, "203.0.113.2").await.status, 200);
    get_as(&gateway, "203.0.113.3")
        .await
        .assert_retry_later(429, "rate_limited");
    let admin = get(&gateway, "/admin/v1/x").await;
    assert_ne!(
        admin.status, 429,
        "each route family has its own bucket: {admin:?}"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn at_the_concurrency_limit_one_more_request_is_shed_at_once() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend([
        ("SK_LIMITS__MAX_CONCURRENCY", "2".to_owned()),
        ("SK_ROUTES__APP__TIMEOUT_MS", "60000".to_owned()),
    ]);
    let gateway = spawn_gateway(&vars).await;
    upstream.stall();
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(gateway.client.get(gateway.url("/api/v1/slow")).send()))
        .collect();
    eventually("both slots to be held by the stalled upstream", || async {
        upstream.in_flight() == 2
    })
    .await;

    let started = Instant::now();
    let shed = get(&gateway, "/api/v1/x").await;
    let waited = started.elapsed();
    shed.assert_retry_later(503, "unavailable");
    assert_eq!(
        upstream.in_flight(),
        2,
        "answered while the slots were still held"
    );
    // Generous for a loaded CI box; a queue would wait for the stalled requests (forever).
    assert!(waited < Duration::from_secs(2), "shed after {waited:?}");
    assert_eq!(upstream.contacts(), 2);

    upstream.recover();
    for request in held {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(
        get(&gateway, "/api/v1/x").await.status,
        200,
        "slots come back"
    );
    gateway.stop().await.unwrap();
}
