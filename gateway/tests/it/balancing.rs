//! Smooth weighted round-robin over healthy instances: shares, order, ejection, rejoining,
//! and a real sk-app behind the gateway.

use serde_json::Value;
use sk_common::testing::{TestServer, eventually};

use crate::helpers::{CountingUpstream, base_vars, gateway_vars, get, settings, spawn_gateway};

async fn three_instances() -> [CountingUpstream; 3] {
    [
        CountingUpstream::start("a").await,
        CountingUpstream::start("b").await,
        CountingUpstream::start("c").await,
    ]
}

fn weighted(upstreams: &[CountingUpstream], weights: &[u32]) -> Vec<String> {
    upstreams
        .iter()
        .zip(weights)
        .map(|(upstream, weight)| upstream.entry(*weight))
        .collect()
}

/// Who answered `n` sequential GETs, as a string of names; every answer must be a 200.
async fn who_answers(gateway: &TestServer, n: usize) -> String {
    let mut names = String::new();
    for _ in 0..n {
        let answer = get(gateway, "/api/v1/who").await;
        assert_eq!(answer.status, 200, "{answer:?}");
        names.push_str(answer.upstream().expect("an x-upstream header"));
    }
    names
}

#[tokio::test]
async fn weights_three_two_one_share_requests_in_smooth_order() {
    let upstreams = three_instances().await;
    let gateway = spawn_gateway(&gateway_vars(&weighted(&upstreams, &[3, 2, 1]))).await;

    assert_eq!(
        who_answers(&gateway, 6).await,
        "abacba",
        "nginx's smooth order"
    );

    let workers: Vec<_> = (0..6)
        .map(|_| {
            let client = gateway.client.clone();
            let url = gateway.url("/api/v1/who");
            tokio::spawn(async move {
                for _ in 0..999 {
                    let response = client.get(&url).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let total = 6 + 6 * 999;
    for (upstream, weight) in upstreams.iter().zip([3, 2, 1]) {
        let expected = total * weight / 6;
        let got = upstream.contacts();
        assert!(
            got.abs_diff(expected) <= expected / 20,
            "weight {weight}: {got} of {total}, expected {expected} ± 5 %"
        );
    }
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_dead_instance_is_ejected_and_rejoins_when_it_recovers() {
    let upstreams = three_instances().await;
    let [_, _, c] = &upstreams;
    let gateway = spawn_gateway(&gateway_vars(&weighted(&upstreams, &[3, 2, 1]))).await;
    who_answers(&gateway, 12).await;

    c.kill();
    // GETs that meet the dead instance are retried on another: clients see no 5xx at all.
    eventually("no request to reach the dead instance", || async {
        let before = c.contacts();
        let names = who_answers(&gateway, 30).await;
        !names.contains('c') && c.contacts() == before
    })
    .await;
    let names = who_answers(&gateway, 50).await;
    let a = names.matches('a').count();
    assert!(
        (28..=32).contains(&a),
        "a and b keep their 3:2 ratio: {names}"
    );

    c.recover();
    eventually("the recovered instance to rejoin", || async {
        who_answers(&gateway, 6).await.contains('c')
    })
    .await;
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_real_sk_app_answers_through_the_gateway() {
    let gateway = TestServer::spawn(settings(&base_vars().await), gateway::run).await;
    let answer = get(&gateway, "/api/v1/time").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.body["now_ms"].as_i64().is_some_and(|ms| ms > 0),
        "{answer:?}"
    );
    assert!(answer.header("x-request-id").is_some());

    let unknown = get(&gateway, "/api/v1/no-such-thing").await;
    assert_eq!(unknown.status, 404, "sk-app's own 404 passes through");
    assert_eq!(unknown.body["code"], Value::from("not_found"));
    gateway.stop().await.unwrap();
}

#[tokio::test]
async fn a_host_name_is_resolved_into_instances() {
    let upstream = CountingUpstream::start("a").await;
    let by_name = format!("http://localhost:{}", upstream.addr.port());
    let gateway = spawn_gateway(&gateway_vars(&[by_name])).await;
    // `localhost` may also resolve to ::1, where nothing listens: GETs retry past it.
    eventually("the name to resolve to the instance", || async {
        get(&gateway, "/api/v1/x").await.upstream() == Some("a")
    })
    .await;
    let (status, _) = gateway.get_json("/readyz").await;
    assert_eq!(status, 200);
    gateway.stop().await.unwrap();
}
