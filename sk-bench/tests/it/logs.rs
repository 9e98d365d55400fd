//! The services' logs, as an SRE searches them: the five real binaries log JSON, every line of
//! every log is a JSON object, and one purchase can be followed across them by its ids — the
//! gateway's access line by `request_id` and `trace_id`, sk-app's and sk-core's lines by those
//! and the `order_id`, order-consumer's by `trace_id` and `order_id`. And no line holds a
//! secret: not a bearer token (good or forged), a purchase token, or a configured key.

use std::path::Path;

use serde_json::{Value, json};
use sk_bench::sale_api::{NewSale, SaleApi};
use sk_common::domain::Role;
use sk_common::testing::{PIPELINE_DEADLINE, eventually, eventually_within};
use sk_common::time::now_ms;

use crate::helpers::{Cluster, Isolated, Service};

const REQUEST_ID: &str = "logs-test-purchase-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_are_json_carry_the_ids_of_their_order_and_no_secret() {
    // Each request's own line (the HTTP middleware's, at debug) and the consumer's per event.
    let filter = "info,sk_common::http=debug,order_consumer=debug".to_owned();
    let cluster = Cluster::start_with("logs", &[("SK_LOG__FILTER", filter)]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let api = SaleApi::new(
        http.clone(),
        &cluster.gateway_url(),
        cluster.token("ops", Role::Admin),
    );
    let now = now_ms();
    let activity = api
        .create_sale(&NewSale {
            name: "Logged sale".into(),
            total_stock: 3,
            per_user_limit: 1,
            price_cents: 500,
            start_ms: now - 1_000,
            end_ms: now + 3_600_000,
            payment_timeout_secs: 900,
        })
        .await
        .unwrap();
    eventually("the sale to open", || async {
        api.activity(activity)
            .await
            .is_ok_and(|a| a["status"] == "open")
    })
    .await;
    let shopper_token = cluster.token("logan", Role::Shopper);
    let bought: Value = http
        .post(api.url(&format!("/api/v1/activities/{activity}/purchase")))
        .bearer_auth(&shopper_token)
        .header("x-request-id", REQUEST_ID)
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = bought["order_id"].as_str().expect("a purchase").to_owned();
    let purchase_token = bought["token"]
        .as_str()
        .expect("a purchase token")
        .to_owned();
    // Refusals log too: a forged token, a wrong purchase token.
    let forged = format!("{shopper_token}x");
    let refused = http
        .post(api.url(&format!("/api/v1/activities/{activity}/purchase")))
        .bearer_auth(&forged)
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let wrong_pay = http
        .post(api.url(&format!("/api/v1/orders/{order_id}/pay")))
        .bearer_auth(&shopper_token)
        .json(&json!({"token": format!("{purchase_token}x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_pay.status(), 403);

    let log = |service: Service| cluster.service(service).log_path().to_owned();
    eventually_within(
        "the consumer to log the order",
        PIPELINE_DEADLINE,
        || async {
            lines_of(&log(Service::OrderConsumer))
                .iter()
                .any(|line| line["order_id"] == order_id.as_str())
        },
    )
    .await;

    let access = find(&log(Service::Gateway), |line| {
        line["target"] == "access" && line["request_id"] == REQUEST_ID
    });
    let trace_id = access["trace_id"].as_str().unwrap().to_owned();
    assert!(
        trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{access}"
    );
    for service in [Service::SkApp, Service::SkCore] {
        let line = find(&log(service), |line| line["order_id"] == order_id.as_str());
        assert_eq!(line["request_id"], REQUEST_ID, "{service:?}: {line}");
        assert_eq!(line["trace_id"], trace_id.as_str(), "{service:?}: {line}");
    }
    let consumed = find(&log(Service::OrderConsumer), |line| {
        line["order_id"] == order_id.as_str()
    });
    assert_eq!(consumed["trace_id"], trace_id.as_str(), "{consumed}");

    let secrets: Vec<(&str, String)> = [
        ("the shopper's bearer token", shopper_token.clone()),
        ("a forged bearer token", forged),
        ("the purchase token", purchase_token),
    ]
    .into_iter()
    .chain(
        [
            Isolated::jwt_secret(),
            Isolated::internal_secret(),
            Isolated::purchase_token_secret(),
        ]
        .concat(),
    )
    .collect();
    for service in Service::ALL {
        let path = log(service);
        let text = std::fs::read_to_string(&path).unwrap();
        for (what, secret) in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{} logs {what}",
                path.display()
            );
        }
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let parsed: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", path.display()));
            assert!(parsed.is_object(), "{}: {line}", path.display());
            for field in ["timestamp", "level", "target"] {
                assert!(
                    parsed.get(field).is_some(),
                    "{}: no {field}: {line}",
                    path.display()
                );
            }
        }
    }
}

/// The log's lines that parse as JSON.
fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The first line of the log that matches, or a failure that shows the log.
fn find(path: &Path, matches: impl Fn(&Value) -> bool) -> Value {
    let lines = lines_of(path);
    lines
        .iter()
        .find(|line| matches(line))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no matching line in {}:\n{}",
                path.display(),
                lines
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}
