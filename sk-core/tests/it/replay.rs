//! Each signed call is served once, by whichever sk-core gets it first; genuine calls alike in
//! every other part (same path, body and millisecond) differ by their nonces and are all served.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sk_common::signing::{CallStamp, Nonce};

use crate::helpers::{Core, Sale, Signature, closed_vars, open_activity, settings};

const RESERVE: &str = "/internal/v1/activities/1/reserve";

/// `body` to `path` on `core`, signed with exactly `stamp`.
async fn send_stamped(core: &Core, path: &str, body: &Value, stamp: CallStamp) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let (status, answer) = core
        .send_raw(Method::POST, path, body, Signature::Stamped(stamp))
        .await;
    (status.as_u16(), answer)
}

/// `sk_core_calls_refused_total{reason="replayed_request"}` as `core` reports it.
async fn replays_refused(core: &Core) -> u64 {
    let metrics = core.server.get_text("/metrics").await;
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(r#"sk_core_calls_refused_total{reason="replayed_request"} "#)
        })
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no replayed_request series in:\n{metrics}"))
}

#[tokio::test]
async fn a_replayed_call_is_refused_by_every_instance_and_sells_once() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10, 5)).await;
    let core = sale.spawn_core(&[]).await;
    let other = sale.spawn_core(&[]).await;
    let body = json!({"user_id": "bob", "quantity": 1});
    let stamp = CallStamp::now();

    let refused_before = replays_refused(&core).await;
    let (status, first) = send_stamped(&core, RESERVE, &body, stamp).await;
    assert_eq!(status, 200, "{first}");
    for (which, instance) in [("the same instance", &core), ("another instance", &other)] {
        let (status, replay) = send_stamped(instance, RESERVE, &body, stamp).await;
        assert_eq!(
            (status, replay["code"].as_str()),
            (401, Some("replayed_request")),
            "a replay to {which}: {replay}"
        );
    }
    assert_eq!(sale.remaining(1).await, 9, "one unit sold, once");
    // Both in-process instances report to this test process's one metrics recorder.
    assert_eq!(
        replays_refused(&core).await - refused_before,
        2,
        "each replay is counted"
    );
    assert_eq!(sale.redis_orders(1).await.len(), 1, "one order");

    let (status, fresh) = other.reserve(1, "bob", 1).await;
    assert_eq!(status, 200, "a new call is still served: {fresh}");
    assert_eq!(sale.remaining(1).await, 8);
    core.server.stop().await.unwrap();
    other.server.stop().await.unwrap();
}

/// The reverted guard keyed on the signature and refused the second of two such calls; with
/// a nonce in each, both are served (paying twice is 200 again).
#[tokio::test]
async fn calls_alike_in_the_same_millisecond_but_for_their_nonces_are_all_served() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10, 5)).await;
    let core = sale.spawn_core(&[]).await;
    let other = sale.spawn_core(&[]).await;

    let reserve = json!({"user_id": "alice", "quantity": 1});
    let at = CallStamp::now().timestamp_ms;
    let mut orders = Vec::new();
    for instance in [&core, &other] {
        let stamp = CallStamp {
            timestamp_ms: at,
            nonce: Nonce::generate(),
        };
        let (status, order) = send_stamped(instance, RESERVE, &reserve, stamp).await;
        assert_eq!(status, 200, "{order}");
        orders.push(order);
    }
    assert_ne!(orders[0]["order_id"], orders[1]["order_id"]);
    assert_eq!(
        sale.remaining(1).await,
        8,
        "two genuine reserve calls, two units"
    );

    let order = &orders[0];
    let pay_path = format!(
        "/internal/v1/orders/{}/pay",
        order["order_id"].as_str().unwrap()
    );
    let pay = json!({"user_id": "alice", "token": order["token"]});
    let at = CallStamp::now().timestamp_ms;
    for instance in [&core, &core, &other] {
        let stamp = CallStamp {
            timestamp_ms: at,
            nonce: Nonce::generate(),
        };
        let (status, paid) = send_stamped(instance, &pay_path, &pay, stamp).await;
        assert_eq!((status, &paid), (200, &json!({"status": "paid"})));
    }
    core.server.stop().await.unwrap();
    other.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_call_without_its_nonce_or_with_another_is_refused_and_burns_no_nonce() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10, 5)).await;
    let core = sale.spawn_core(&[]).await;
    let body = json!({"user_id": "bob", "quantity": 1});
    let bytes = serde_json::to_vec(&body).unwrap();
    let someone_elses = Nonce::generate();

    for (what, signature) in [
        ("no nonce", Signature::NoNonce),
        ("another nonce", Signature::TamperedNonce(someone_elses)),
        ("a malformed nonce", Signature::MalformedNonce),
    ] {
        let (status, refused) = core
            .send_raw(Method::POST, RESERVE, bytes.clone(), signature)
            .await;
        assert_eq!(
            (status.as_u16(), refused["code"].as_str()),
            (401, Some("invalid_signature")),
            "{what}: {refused}"
        );
    }
    assert_eq!(sale.remaining(1).await, 10, "nothing sold");
    // The signature is checked before Redis is asked: a forged nonce is never marked, so it
    // cannot take a genuine call's nonce away from it.
    assert!(!sale.served(someone_elses).await);
    let genuine = CallStamp {
        timestamp_ms: CallStamp::now().timestamp_ms,
        nonce: someone_elses,
    };
    let (status, served) = send_stamped(&core, RESERVE, &body, genuine).await;
    assert_eq!(status, 200, "{served}");
    assert!(sale.served(someone_elses).await);
    core.server.stop().await.unwrap();
}

/// The replay guard needs Redis like the stock scripts do: without it a genuine call is
/// answered 503 (retry shortly), never served unchecked.
#[tokio::test]
async fn a_genuine_call_is_unavailable_while_redis_is_down() {
    let core = Core {
        server: sk_common::testing::TestServer::spawn(settings(&closed_vars().await), sk_core::run)
            .await,
    };
    let (status, answer) = core.reserve(1, "bob", 1).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "{answer}"
    );
    core.server.stop().await.unwrap();
}
