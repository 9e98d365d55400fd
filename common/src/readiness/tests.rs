use std::time::Duration;

use futures_util::future::BoxFuture;

use super::*;

/// A dependency whose answer the test decides (pure logic: nothing real is probed here).
struct Fixed(Result<(), &'static str>);

impl Probe for Fixed {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        let outcome = self.0.map_err(str::to_owned);
        Box::pin(async move { outcome })
    }
}

struct Hangs;

impl Probe for Hangs {
    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(std::future::pending())
    }
}

const TIMEOUT: Duration = Duration::from_millis(50);

#[tokio::test]
async fn an_observed_failure_is_reported_but_does_not_decide() {
    let report = Readiness::builder()
        .require("redis", Fixed(Ok(())))
        .observe("kafka", Fixed(Err("broker down")))
        .build(TIMEOUT)
        .report()
        .await;
    assert!(report.ready);
    let kafka = report.checks.iter().find(|c| c.name == "kafka").unwrap();
    assert!(!kafka.ok && !kafka.required);
    assert_eq!(kafka.error.as_deref(), Some("broker down"));
    assert_eq!(report.reason(), "");
}

#[tokio::test]
async fn a_required_failure_decides_and_names_itself() {
    let report = Readiness::builder()
        .require("redis", Fixed(Err("connection refused")))
        .require("mysql", Fixed(Ok(())))
        .build(TIMEOUT)
        .report()
        .await;
    assert!(!report.ready);
    assert_eq!(report.reason(), "redis: connection refused");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_probe_fails_after_the_timeout() {
    let report = Readiness::builder()
        .require("mysql", Hangs)
        .build(TIMEOUT)
        .report()
        .await;
    assert!(!report.ready);
    assert_eq!(report.reason(), "mysql: no answer within 50 ms");
}

#[tokio::test]
async fn any_of_a_pool_is_healthy_when_one_instance_is() {
    let pool = AnyOf(vec![Fixed(Err("a down")), Fixed(Ok(()))]);
    assert_eq!(pool.probe().await, Ok(()));
    let dead = AnyOf(vec![Fixed(Err("a down")), Fixed(Err("b down"))]);
    assert_eq!(
        dead.probe().await,
        Err("no instance answers (a down; b down)".to_owned())
    );
    assert!(AnyOf::<Fixed>(Vec::new()).probe().await.is_err());
}

#[tokio::test]
async fn a_gate_is_closed_until_its_handle_opens_it() {
    let (gate, handle) = Gate::closed("migrations pending");
    assert_eq!(gate.probe().await, Err("migrations pending".to_owned()));
    handle.fail("mysql down");
    assert_eq!(gate.probe().await, Err("mysql down".to_owned()));
    handle.open();
    assert_eq!(gate.probe().await, Ok(()));
}
