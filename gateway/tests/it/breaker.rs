//! The circuit breaker of an upstream instance: open (fast 503, the instance is not
//! contacted), half-open (one probe request), closed again once the instance recovers. A 503
//! answer does not count against an instance.

use reqwest::StatusCode;
use sk_common::testing::eventually;

use crate::helpers::{CountingUpstream, gateway_vars, get, spawn_gateway};

#[tokio::test]
async fn a_failing_instance_opens_its_breaker_and_closes_it_when_it_recovers() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend([
        ("SK_BREAKER__FAILURE_THRESHOLD", "3".to_owned()),
        ("SK_BREAKER__OPEN_MS", "500".to_owned()),
        ("SK_BREAKER__HALF_OPEN_PROBES", "1".to_owned()),
        // The breaker alone decides here: no ejection, no retry.
        (
            "SK_UPSTREAM_HEALTH__EJECT_AFTER_FAILURES",
            "10000".to_owned(),
        ),
        ("SK_ROUTES__APP__GET_RETRIES", "0".to_owned()),
    ]);
    let gateway = spawn_gateway(&vars).await;
    upstream.fail_with(StatusCode::INTERNAL_SERVER_ERROR);

    for _ in 0..3 {
        let answer = get(&gateway, "/api/v1/x").await;
        assert_eq!(answer.status, 500, "the upstream's answer passes through");
        assert_eq!(answer.body["code"], "upstream_says_no", "{answer:?}");
    }
    assert_eq!(upstream.contacts(), 3);

    for _ in 0..5 {
        get(&gateway, "/api/v1/x")
            .await
            .assert_retry_later(503, "unavailable");
    }
    assert_eq!(
        upstream.contacts(),
        3,
        "an open breaker keeps requests away"
    );

    // Half-open: one probe request goes through; it fails, and the breaker opens again.
    eventually("a half-open probe to reach the instance", || async {
        get(&gateway, "/api/v1/x").await;
        upstream.contacts() > 3
    })
    .await;
    assert_eq!(upstream.contacts(), 4, "one probe at a time");
    get(&gateway, "/api/v1/x")
        .await
        .assert_retry_later(503, "unavailable");

    upstream.recover();
    eventually("the breaker to close after a good probe", || async {
        get(&gateway, "/api/v1/x").await.status == 200
    })
    .await;
    for _ in 0..10 {
        assert_eq!(get(&gateway, "/api/v1/x").await.status, 200);
    }
    gateway.stop().await.unwrap();
}

/// A 503 is a live instance saying "later" (sk-app says it when sk-core is down): it must not
/// open the breaker or eject the instance, or one sick dependency would cut the whole route.
#[tokio::test]
async fn an_instance_answering_503_stays_in_rotation() {
    let upstream = CountingUpstream::start("a").await;
    let mut vars = gateway_vars(&[upstream.entry(1)]);
    vars.extend([
        ("SK_BREAKER__FAILURE_THRESHOLD", "2".to_owned()),
        ("SK_UPSTREAM_HEALTH__EJECT_AFTER_FAILURES", "2".to_owned()),
        ("SK_ROUTES__APP__GET_RETRIES", "0".to_owned()),
    ]);
    let gateway = spawn_gateway(&vars).await;
    upstream.fail_with(StatusCode::SERVICE_UNAVAILABLE);
    for _ in 0..10 {
        let answer = get(&gateway, "/api/v1/x").await;
        assert_eq!(answer.body["code"], "upstream_says_no", "{answer:?}");
    }
    assert_eq!(
        upstream.contacts(),
        10,
        "every request reached the instance"
    );
    upstream.recover();
    assert_eq!(get(&gateway, "/api/v1/x").await.status, 200);
    gateway.stop().await.unwrap();
}
