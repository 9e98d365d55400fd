//! One purchase is one trace: the whole platform runs in-process under an OpenTelemetry layer
//! that exports into memory, a shopper buys a unit through the gateway, and the spans of that
//! order must form one chain with one trace id: the gateway's request → sk-app's request →
//! sk-core's request → the outbox relay (which sends the context as a Kafka header) →
//! order-consumer's ledger apply, which continued the trace from that header. The order's later
//! events stay in that trace: paying it adds the relay and ledger spans of the `paid` event to
//! the purchase's trace, and the relay's span links to the payment request's own trace.

use std::sync::{Mutex, OnceLock};

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use sk_bench::load::Outcome;
use sk_bench::sale_api::{NewSale, SaleApi, ShopperToken};
use sk_common::domain::Role;
use sk_common::testing::{PIPELINE_DEADLINE, eventually, eventually_within};
use sk_common::time::now_ms;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::helpers::Platform;

/// Every span of the process, exported as it ends. Installed once: the services run on the
/// runtime's worker threads, so the subscriber must be the global one.
fn exported_spans() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("sk-bench-it")))
            .with(tracing_subscriber::EnvFilter::new("info"));
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        exporter
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_purchase_is_one_trace_from_the_gateway_to_the_ledger() {
    let exporter = exported_spans();
    let platform = Platform::start().await;
    let api = SaleApi::new(
        reqwest::Client::builder().no_proxy().build().unwrap(),
        &platform.gateway_url(),
        platform.token("ops", Role::Admin),
    );
    let now = now_ms();
    let sale = NewSale {
        name: "Traced sale".into(),
        total_stock: 5,
        per_user_limit: 1,
        price_cents: 1_999,
        start_ms: now - 1_000,
        end_ms: now + 3_600_000,
        payment_timeout_secs: 900,
    };
    let activity = api.create_sale(&sale).await.unwrap();
    eventually("the sale to open", || async {
        api.activity(activity)
            .await
            .is_ok_and(|a| a["status"] == "open")
    })
    .await;
    let shopper = ShopperToken {
        user_id: "tracy".into(),
        token: platform.token("tracy", Role::Shopper),
    };
    let (answer, body) = api.buy(&shopper, activity).await;
    assert_eq!(answer.outcome, Outcome::Ok, "{answer:?} {body:?}");
    let body = body.unwrap();
    let order_id = body["order_id"].as_str().unwrap().to_owned();

    let applied = wait_for_span(exporter, "ledger apply", &order_id, "reserved").await;
    let spans = exporter.get_finished_spans().unwrap();
    let trace: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == applied.span_context.trace_id())
        .collect();
    let chain = chain_to_root(&trace, &applied);
    let names: Vec<String> = chain.iter().map(|s| describe(s)).collect();
    assert_eq!(
        names,
        [
            "ledger apply",
            "outbox relay",
            "POST /internal/v1/activities/{activity_id}/reserve",
            "POST /api/v1/activities/{activity_id}/purchase",
            "POST /api/{*rest}",
        ],
        "from the consumer up to the gateway, one parent at a time"
    );
    let root = chain.last().unwrap();
    assert_eq!(
        root.parent_span_id,
        SpanId::INVALID,
        "the gateway began the trace"
    );
    assert_ne!(applied.span_context.trace_id(), TraceId::INVALID);
    for span in &chain[..3] {
        assert_eq!(
            attribute(span, "order_id").as_deref(),
            Some(order_id.as_str())
        );
    }

    let token = body["token"].as_str().unwrap().to_owned();
    let paid = api.pay(&shopper, &order_id, &token).await;
    assert_eq!(paid.outcome, Outcome::Ok, "{paid:?}");
    let paid = wait_for_span(exporter, "ledger apply", &order_id, "paid").await;
    assert_eq!(
        paid.span_context.trace_id(),
        applied.span_context.trace_id(),
        "the paid event continues the purchase's trace"
    );
    let spans = exporter.get_finished_spans().unwrap();
    let relayed = spans
        .iter()
        .find(|s| s.span_context.span_id() == paid.parent_span_id)
        .expect("the paid event's relay span");
    assert_eq!(describe(relayed), "outbox relay");
    let cause = relayed
        .links
        .iter()
        .next()
        .expect("a link to the payment's own trace");
    let payment: Vec<String> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == cause.span_context.trace_id())
        .map(describe)
        .collect();
    assert!(
        payment.contains(&"POST /internal/v1/orders/{order_id}/pay".to_owned())
            && payment.contains(&"POST /api/{*rest}".to_owned()),
        "the link leads to the payment request's trace: {payment:?}"
    );
}

/// The finished span named `name` of `order_id`'s event with `status`, once it has ended.
async fn wait_for_span(
    exporter: &InMemorySpanExporter,
    name: &str,
    order_id: &str,
    status: &str,
) -> SpanData {
    let found = Mutex::new(None);
    eventually_within(
        &format!("the {name} span of the {status} event"),
        PIPELINE_DEADLINE,
        || async {
            *found.lock().unwrap() = span_of(exporter, name, order_id, status);
            found.lock().unwrap().is_some()
        },
    )
    .await;
    found.into_inner().unwrap().unwrap()
}

fn span_of(
    exporter: &InMemorySpanExporter,
    name: &str,
    order_id: &str,
    status: &str,
) -> Option<SpanData> {
    exporter.get_finished_spans().ok()?.into_iter().find(|s| {
        s.name == name
            && attribute(s, "order_id").as_deref() == Some(order_id)
            && attribute(s, "status").as_deref() == Some(status)
    })
}

/// `span`, its parent, the parent's parent … up to the root, within `trace`.
fn chain_to_root<'a>(trace: &[&'a SpanData], span: &'a SpanData) -> Vec<&'a SpanData> {
    let mut chain = vec![span];
    let mut current = span;
    while current.parent_span_id != SpanId::INVALID {
        let parent = trace
            .iter()
            .find(|s| s.span_context.span_id() == current.parent_span_id)
            .unwrap_or_else(|| {
                panic!(
                    "the parent of {:?} is missing from the trace: {:#?}",
                    current.name,
                    trace.iter().map(|s| describe(s)).collect::<Vec<_>>()
                )
            });
        chain.push(parent);
        current = parent;
    }
    chain
}

fn describe(span: &SpanData) -> String {
    span.name.to_string()
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}
