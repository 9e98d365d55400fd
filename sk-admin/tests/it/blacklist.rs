//! Blacklists: stored in MySQL, mirrored into Redis, announced, paged, and re-mirrored by the
//! scheduler when Redis loses them.

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sk_common::testing::{eventually, unique};

use crate::helpers::Admin;

async fn members(admin: &Admin, set: &str) -> Vec<String> {
    let mut members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("{}:blacklist:{set}", admin.prefix))
        .query_async(&mut admin.redis().await)
        .await
        .unwrap();
    members.sort();
    members
}

#[tokio::test]
async fn blacklisting_reaches_redis_and_every_subscriber_and_can_be_undone() {
    let admin = Admin::start_with(
        &unique("skt"),
        &[("SK_SCHEDULER__INTERVAL_MS", "100".into())],
    )
    .await;
    let client = redis::Client::open(sk_common::testing::redis_url()).unwrap();
    let mut events = client.get_async_pubsub().await.unwrap();
    events
        .subscribe(format!("{}:blacklist-events", admin.prefix))
        .await
        .unwrap();
    let mut events = events.into_on_message();
    let mut next_event = async || -> Value {
        let message = tokio::time::timeout(sk_common::testing::DEADLINE, events.next())
            .await
            .unwrap()
            .unwrap();
        serde_json::from_slice(message.get_payload_bytes()).unwrap()
    };

    let (status, entry) = admin
        .call(
            Method::PUT,
            "/admin/v1/blacklist/users/mallory",
            Some(json!({"reason": "bot"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(
        entry,
        json!({"kind": "user", "value": "mallory", "reason": "bot"})
    );
    assert_eq!(
        next_event().await,
        json!({"kind": "user", "value": "mallory", "action": "added"})
    );
    let (status, entry) = admin
        .call(Method::PUT, "/admin/v1/blacklist/ips/::ffff:10.0.0.7", None)
        .await;
    assert_eq!(
        (status, &entry["value"]),
        (StatusCode::OK, &json!("10.0.0.7")),
        "{entry}"
    );
    admin
        .call(Method::PUT, "/admin/v1/blacklist/ips/2001:db8::1", None)
        .await;
    assert_eq!(members(&admin, "users").await, ["mallory"]);
    assert_eq!(members(&admin, "ips").await, ["10.0.0.7", "2001:db8::1"]);

    for (path, field) in [
        ("/admin/v1/blacklist/users/bad%20user", "user_id"),
        ("/admin/v1/blacklist/ips/10.0.0.999", "ip"),
        ("/admin/v1/blacklist/ips/%27%20OR%201=1", "ip"),
    ] {
        let (status, error) = admin.call(Method::PUT, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }

    // Pages of one, with and without a filter.
    let mut seen = Vec::new();
    let mut path = "/admin/v1/blacklist?limit=1".to_owned();
    loop {
        let (_, page) = admin.get(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["value"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/v1/blacklist?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [json!("10.0.0.7"), json!("2001:db8::1"), json!("mallory")]
    );
    let (_, users) = admin.get("/admin/v1/blacklist?kind=user").await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);

    // Redis loses the sets: the scheduler mirrors them back from MySQL.
    redis::cmd("DEL")
        .arg(format!("{}:blacklist:ips", admin.prefix))
        .query_async::<()>(&mut admin.redis().await)
        .await
        .unwrap();
    eventually("the scheduler to re-mirror the blacklist", || async {
        members(&admin, "ips").await.len() == 2
    })
    .await;

    let (status, _) = admin
        .call(Method::DELETE, "/admin/v1/blacklist/users/mallory", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(members(&admin, "users").await.is_empty());
    // The two address events first, then the removal.
    assert_eq!(next_event().await["value"], "10.0.0.7");
    assert_eq!(next_event().await["value"], "2001:db8::1");
    assert_eq!(next_event().await["action"], "removed");
    admin.server.stop().await.unwrap();
}
