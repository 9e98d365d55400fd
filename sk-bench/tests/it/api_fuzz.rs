//! Hostile input at scale (DESIGN §6, invariant 7): schemathesis, driven by the OpenAPI
//! documents the platform serves, sends more than 10,000 generated requests through the
//! gateway of the whole in-process platform — valid and invalid paths, queries, headers and
//! bodies, on made-up ids and on real activities and orders, with a shopper's token, an
//! admin's and none — and not one answer may be a 5xx (a panic is a 500, a hang a timeout);
//! afterwards every service still answers `/healthz`.
//!
//! The fuzzer is a pinned schemathesis in a virtualenv of its own: `scripts/test` installs it
//! (`scripts/api-fuzz-tools`) and names it in `SK_TEST_SCHEMATHESIS`. Every run is seeded; a
//! failure prints the run's command line, its findings with a `curl` each, and where its
//! configuration, output and JSON report are.

mod schemathesis;

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sk_common::domain::Role;
use sk_common::testing::TestServer;
use sk_common::time::{now_ms, rfc3339_from_ms};

use crate::helpers::Platform;
use crate::helpers::process::log_dir;
use schemathesis::{ALL_PHASES, RealValues, Run, fuzz, fuzzer};

/// Requests the runs must send through the gateway, together.
const MIN_REQUESTS: u64 = 10_000;
const HOUR_MS: u64 = 3_600_000;

/// The platform's real objects, for the generator to mix in with the ids it makes up.
struct Sales {
    /// Open, with stock to spare, for the shopper runs.
    open: u64,
    /// Starts in an hour: shoppers get `not_started`, admins may still edit it.
    scheduled: u64,
    /// Open, for the admin run (which may close it).
    admin_open: u64,
    /// The shopper's order of one unit of `open` that the fuzzer may cancel.
    to_cancel: String,
    /// The shopper's order of one unit of `open` that the fuzzer may pay, and its token.
    to_pay: (String, String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_generated_requests_get_no_server_error() {
    let fuzzer = fuzzer();
    let platform = Platform::start_with(
        // One shopper buys again and again: keep sk-app's per-user limit out of the way, so
        // purchases reach sk-core instead of stopping at 429.
        vec![
            ("SK_LIMITS__USER_PER_SEC", "1000000".into()),
            ("SK_LIMITS__USER_BURST", "1000000".into()),
        ],
        // A debug build signs the 100,000 tokens one mint may ask for in seconds, more than
        // the gateway's 10 s under a loaded test run.
        vec![("SK_ROUTES__ADMIN__TIMEOUT_MS", "30000".into())],
    )
    .await;
    let sales = sales(&platform).await;
    let dir = log_dir("api-fuzz");
    let before = request_counts(&platform.gateway).await;
    let started = Instant::now();
    let mut test_cases = 0;
    for run in runs(&platform, &sales) {
        let outcome = fuzz(&fuzzer, &run, &platform.gateway_url(), &dir).await;
        eprintln!(
            "{}: {} test cases in {:.0?} (schemathesis {})",
            run.name, outcome.test_cases, outcome.took, outcome.version
        );
        test_cases += outcome.test_cases;
    }
    let after = request_counts(&platform.gateway).await;
    let requests = proxied(&after) - proxied(&before);
    eprintln!(
        "{requests} requests through the gateway ({test_cases} test cases) in {:.0?}; by \
         method, route and status: {:#?}",
        started.elapsed(),
        grown(&before, &after, |_| true)
    );
    let server_errors = server_errors(&before, &after);
    assert!(server_errors.is_empty(), "5xx answers: {server_errors:#?}");
    assert!(
        requests >= MIN_REQUESTS,
        "only {requests} requests reached the gateway; expected at least {MIN_REQUESTS}"
    );
    for (name, server) in platform.servers() {
        let (status, body) = server.get_json("/healthz").await;
        assert_eq!(status, StatusCode::OK, "{name} after the fuzzing: {body}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shopper API with a shopper's token, then without one, then the admin API.
fn runs(platform: &Platform, sales: &Sales) -> Vec<Run> {
    let pay = "/api/v1/orders/{order_id}/pay";
    let shopper_values = vec![
        RealValues::new(
            "path.activity_id",
            vec![sales.open.to_string(), sales.scheduled.to_string()],
        ),
        RealValues::new("path.order_id", vec![sales.to_cancel.clone()]),
        // An order (and its token) given to payments only, so one can pay it (then pay it again).
        RealValues::new("path.order_id", vec![sales.to_pay.0.clone()]).only_for(pay),
        RealValues::new("body.token", vec![sales.to_pay.1.clone()]).only_for(pay),
    ];
    vec![
        Run {
            name: "shopper",
            document: "/api/v1/openapi.json",
            bearer: Some(platform.token("fuzz-shopper", Role::Shopper)),
            max_examples: 480,
            phases: ALL_PHASES,
            real_values: shopper_values.clone(),
            // The order to pay is in the order list too, where the fuzzer finds ids to cancel:
            // no ids from answers in the coverage phase (it runs first), and the random phase
            // in the document's order, payments before cancellations.
            extra: "[phases.coverage.extra-data-sources]\nresponses = false\n\
                    [phases.fuzzing]\noperation-ordering = \"none\"\n",
        },
        Run {
            name: "anonymous",
            document: "/api/v1/openapi.json",
            bearer: None,
            max_examples: 250,
            // Without a token the chains of calls (buy, then pay or cancel) end at the first.
            phases: "examples,coverage,fuzzing",
            real_values: shopper_values,
            extra: "",
        },
        Run {
            name: "admin",
            document: "/admin/v1/openapi.json",
            bearer: Some(platform.token("ops", Role::Admin)),
            max_examples: 140,
            phases: ALL_PHASES,
            real_values: vec![
                RealValues::new(
                    "path.id",
                    vec![sales.scheduled.to_string(), sales.admin_open.to_string()],
                ),
                // Addresses of the documentation ranges (RFC 5737, RFC 3849), one IPv4-mapped.
                RealValues::new(
                    "path.ip",
                    ["192.0.2.7", "2001:db8::1", "::ffff:198.51.100.9"]
                        .map(String::from)
                        .into(),
                ),
            ],
            // Minting up to 100,000 tokens a call is slow in a debug build: fewer examples.
            extra: "[[operations]]\ninclude-path = \"/admin/v1/tokens\"\n\
                    generation.max-examples = 25\n",
        },
    ]
}

/// The product, the three sales and the shopper's orders, made through the gateway.
async fn sales(platform: &Platform) -> Sales {
    let admin = platform.token("ops", Role::Admin);
    let product = json!({"name": "Fuzzed phone", "description": "A phone", "price_cents": 1999});
    let product = call(platform, &admin, "/admin/v1/products", product).await["id"].clone();
    let now = now_ms();
    let sale = async |name: &str, start_ms: u64| {
        let body = json!({
            "product_id": product, "name": name,
            "start_at": rfc3339_from_ms(start_ms), "end_at": rfc3339_from_ms(now + 2 * HOUR_MS),
            "total_stock": 1_000_000, "per_user_limit": 100_000,
        });
        let activity = call(platform, &admin, "/admin/v1/activities", body).await;
        activity["id"].as_u64().unwrap()
    };
    let open = sale("Open sale", now - 1_000).await;
    let scheduled = sale("Later sale", now + HOUR_MS).await;
    let admin_open = sale("Admin's open sale", now - 1_000).await;
    // sk-admin pushed the sale into Redis before it answered: sk-app sells it at once.
    let shopper = platform.token("fuzz-shopper", Role::Shopper);
    let purchase = format!("/api/v1/activities/{open}/purchase");
    let buy = async || {
        let order = call(platform, &shopper, &purchase, json!({"quantity": 1})).await;
        let text = |field: &str| order[field].as_str().unwrap().to_owned();
        (text("order_id"), text("token"))
    };
    Sales {
        open,
        scheduled,
        admin_open,
        to_cancel: buy().await.0,
        to_pay: buy().await,
    }
}

/// POST `body` to `path` through the gateway with `token`; the answer of a 200 or 201.
async fn call(platform: &Platform, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = platform.post(token, path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// `http_requests_total` by its labels (`method`, `route`, `status`): every service of the
/// in-process platform records into the one registry each of them serves.
async fn request_counts(gateway: &TestServer) -> Vec<(String, u64)> {
    gateway
        .get_text("/metrics")
        .await
        .lines()
        .filter_map(|line| line.strip_prefix("http_requests_total{"))
        .filter_map(|line| line.split_once("} "))
        .filter_map(|(labels, value)| Some((labels.to_owned(), value.parse().ok()?)))
        .collect()
}

/// Requests the gateway forwarded or refused on the API routes.
fn proxied(counts: &[(String, u64)]) -> u64 {
    counts
        .iter()
        .filter(|(labels, _)| {
            labels.contains("route=\"/api/{*rest}\"") || labels.contains("route=\"/admin/{*rest}\"")
        })
        .map(|(_, count)| count)
        .sum()
}

/// The series (of any service) whose 5xx count grew from `before` to `after`, and by how much.
fn server_errors(before: &[(String, u64)], after: &[(String, u64)]) -> Vec<(String, u64)> {
    grown(before, after, |labels| labels.contains("status=\"5"))
}

/// The series matching `wanted` that grew from `before` to `after`, and by how much.
fn grown(
    before: &[(String, u64)],
    after: &[(String, u64)],
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, u64)> {
    after
        .iter()
        .filter(|(labels, _)| wanted(labels))
        .filter_map(|(labels, count)| {
            let earlier = before
                .iter()
                .find(|(l, _)| l == labels)
                .map_or(0, |(_, c)| *c);
            (*count > earlier).then(|| (labels.clone(), count - earlier))
        })
        .collect()
}
