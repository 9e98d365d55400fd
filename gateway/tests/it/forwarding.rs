//! What goes through and what does not: route prefixes, the gateway's own operational routes,
//! the body limit, ids and trace context, retries, timeouts and upstream errors.

use reqwest::StatusCode;
use sk_common::testing::{DEADLINE, TestServer};

use crate::helpers::{CountingUpstream, gateway_vars, get, raw, send, spawn_gateway};

async fn gateway_for(upstream: &CountingUpstream, extra: &[(&'static str, &str)]) -> TestServer {
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn_gateway(&vars).await
}

#[tokio::test]
async fn only_the_api_and_admin_prefixes_are_forwarded() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(&upstream, &[]).await;
    for path in ["/nope", "/apix/v1", "/api", "/v1/time"] {
        let answer = get(&gateway, path).await;
        assert_eq!((answer.status, answer.code()), (404, "not_found"), "{path}");
        assert!(answer.body["message"].is_string());
    }
    let text = gateway.get_text("/metrics").await;
    assert!(
        !text.contains("upstream_private_metric"),
        "the gateway's own metrics only"
    );
    assert_eq!(get(&gateway, "/healthz").await.body["status"], "ok");
    for path in [
        "/api/../metrics",
        "/api/%2e%2e/metrics",
        "/api/v1/./../../healthz",
    ] {
        let (status, _) = raw(gateway.addr, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(upstream.contacts(), 0);
    assert_eq!(
        upstream.metrics_hits(),
        0,
        "the upstream's metrics stay private"
    );
    let forwarded = get(&gateway, "/api/v1/x?y=1").await;
    assert_eq!(forwarded.body["path"], "/api/v1/x");
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408_and_never_forwarded() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(&upstream, &[("SK_PROXY__BODY_TIMEOUT_MS", "300")]).await;
    // 100 bytes announced, 5 sent, then nothing: a slowloris body.
    let slow = raw(
        gateway.addr,
        "POST /api/v1/x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100",
        b"{\"a\":",
    );
    let (status, text) = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("the gateway answers a stalled body instead of waiting for it");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    assert_eq!(upstream.contacts(), 0, "nothing of it went upstream");

    let whole = send(gateway.client.post(gateway.url("/api/v1/x")).body("{}")).await;
    assert_eq!(
        whole.status, 200,
        "a prompt body still goes through: {whole:?}"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_headers_are_a_431_before_any_upstream_is_contacted() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(&upstream, &[("SK_PROXY__MAX_HEADER_BYTES", "8192")]).await;
    let with_header = |len: usize| {
        gateway
            .client
            .get(gateway.url("/api/v1/x"))
            .header("x-padding", "p".repeat(len))
    };
    let fits = send(with_header(4_000)).await;
    assert_eq!(fits.status, 200, "{fits:?}");
    let huge = send(with_header(70_000)).await;
    assert_eq!(
        (huge.status, huge.code()),
        (431, "headers_too_large"),
        "{huge:?}"
    );
    let long_target = format!("/api/v1/x?q={}", "q".repeat(9_000));
    let long = send(gateway.client.get(gateway.url(&long_target))).await;
    assert_eq!((long.status, long.code()), (431, "headers_too_large"));
    assert_eq!(
        upstream.contacts(),
        1,
        "only the request that fits went upstream"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_before_any_upstream_is_contacted() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(&upstream, &[("SK_HTTP__BODY_LIMIT_BYTES", "1024")]).await;
    let post = |body: Vec<u8>| gateway.client.post(gateway.url("/api/v1/x")).body(body);

    let fits = send(post(vec![b'x'; 1024])).await;
    assert_eq!(fits.status, 200);
    assert_eq!(fits.body["body_len"], 1024, "the body arrives whole");

    let big = send(post(vec![b'x'; 1025])).await;
    assert_eq!(
        (big.status, big.code()),
        (413, "payload_too_large"),
        "{big:?}"
    );
    let chunk = format!("{:x}\r\n{}\r\n0\r\n\r\n", 2000, "y".repeat(2000));
    let (status, text) = raw(
        gateway.addr,
        "POST /api/v1/x HTTP/1.1\r\nTransfer-Encoding: chunked",
        chunk.as_bytes(),
    )
    .await;
    assert_eq!(status, 413, "chunked, no length declared: {text}");
    assert!(text.contains("payload_too_large"));
    assert_eq!(
        upstream.contacts(),
        1,
        "only the body that fits went upstream"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn request_ids_and_trace_context_are_propagated_or_created() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(&upstream, &[]).await;
    let created = get(&gateway, "/api/v1/x").await;
    let request_id = created
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");

    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = gateway
        .client
        .get(gateway.url("/api/v1/x"))
        .header("x-request-id", "client-chosen-42")
        .header("traceparent", traceparent);
    let propagated = send(request).await;
    assert_eq!(propagated.header("x-request-id"), Some("client-chosen-42"));

    let seen = upstream.seen();
    let header = |i: usize, name: &str| seen[i].headers[name].to_str().unwrap().to_owned();
    assert_eq!(header(0, "x-request-id"), request_id);
    let fresh = header(0, "traceparent");
    assert!(
        fresh.len() == 55 && fresh.starts_with("00-") && fresh.ends_with("-01"),
        "{fresh}"
    );
    assert_eq!(header(1, "x-request-id"), "client-chosen-42");
    assert_eq!(header(1, "traceparent"), traceparent);
    let unknown = get(&gateway, "/nope").await;
    assert!(
        unknown.header("x-request-id").is_some(),
        "404s carry one too"
    );
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_get_is_retried_on_another_instance_and_a_post_is_not() {
    let dead = CountingUpstream::start("dead").await;
    let alive = CountingUpstream::start("alive").await;
    let mut vars = gateway_vars(&[dead.entry(1), alive.entry(1)]);
    vars.extend([
        (
            "SK_UPSTREAM_HEALTH__EJECT_AFTER_FAILURES",
            "10000".to_owned(),
        ),
        ("SK_UPSTREAM_HEALTH__PROBE_INTERVAL_MS", "600000".to_owned()),
        ("SK_BREAKER__FAILURE_THRESHOLD", "10000".to_owned()),
    ]);
    let gateway = spawn_gateway(&vars).await;
    dead.kill();

    for _ in 0..4 {
        let answer = get(&gateway, "/api/v1/x").await;
        assert_eq!(answer.upstream(), Some("alive"), "{answer:?}");
    }
    assert!(dead.contacts() >= 1, "some GET met the dead instance first");

    let before = dead.contacts();
    let mut refused = 0;
    for _ in 0..4 {
        let answer = send(gateway.client.post(gateway.url("/api/v1/x")).body("{}")).await;
        match answer.status {
            200 => assert_eq!(answer.upstream(), Some("alive")),
            _ => {
                answer.assert_retry_later(503, "unavailable");
                refused += 1;
            }
        }
    }
    let posts_alive = alive.seen().iter().filter(|s| s.method == "POST").count();
    assert!(
        refused >= 1,
        "round-robin sent some POST to the dead instance"
    );
    assert_eq!(
        dead.contacts() - before,
        refused,
        "each refused POST was tried once"
    );
    assert_eq!(posts_alive + refused, 4, "and never again elsewhere");
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_and_upstream_errors_pass_through() {
    let upstream = CountingUpstream::start("a").await;
    let gateway = gateway_for(
        &upstream,
        &[
            ("SK_ROUTES__APP__TIMEOUT_MS", "200"),
            ("SK_ROUTES__APP__GET_RETRIES", "0"),
        ],
    )
    .await;
    upstream.stall();
    let slow = get(&gateway, "/api/v1/x").await;
    assert_eq!(
        (slow.status, slow.code()),
        (504, "upstream_timeout"),
        "{slow:?}"
    );

    upstream.fail_with(StatusCode::CONFLICT);
    let conflict = get(&gateway, "/api/v1/x").await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["code"], "upstream_says_no");
    assert_eq!(
        conflict.body["message"], "a",
        "the body is the upstream's, unchanged"
    );
    upstream.recover();
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn no_instance_at_all_is_a_503_with_retry_after() {
    let dead = CountingUpstream::start("dead").await;
    let gateway = gateway_for(&dead, &[]).await;
    dead.kill();
    get(&gateway, "/api/v1/x")
        .await
        .assert_retry_later(503, "unavailable");
    gateway.stop().await.unwrap();
}
