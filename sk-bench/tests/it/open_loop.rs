//! The load engine must not hide a server stall (coordinated omission). A local server answers
//! at once except during a one-second window, when every request waits until the window ends.
//! Scheduled at a fixed rate, the open loop charges that wait to every call meant to go out
//! during the window; the closed loop sends nothing while its call hangs, so the stall shows in
//! one call only.
//!
//! The thresholds come from the arithmetic below, with wide margins for a slow, busy machine:
//! lateness only ever adds latency, so the lower bounds hold however late calls go out.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use sk_bench::load::{self, Answer, Outcome, Pace, Plan, Report, Until};
use tokio::time::Instant;

/// When the stall begins, after the run's start.
const STALL_FROM: Duration = Duration::from_secs(1);
/// When the stall ends: requests arriving in the window are answered then.
const STALL_UNTIL: Duration = Duration::from_secs(2);

/// Open loop: 200 calls/s for 3 s, so a third of the calls (those intended in the stall) wait
/// until it ends, uniformly 0–1 s. The 10 % slowest of all calls are the 30 % slowest of the
/// stalled ones (≥ ~700 ms), and the first stalled call waits ~1 s.
const RATE: f64 = 200.0;
const CALLS: u64 = 600;

/// Starts a server whose requests arriving in `[t0 + STALL_FROM, t0 + STALL_UNTIL)` wait until
/// `t0 + STALL_UNTIL`; returns its base URL.
async fn stalling_server(t0: Instant) -> anyhow::Result<String> {
    let handler = move || async move {
        let now = Instant::now();
        if now >= t0 + STALL_FROM && now < t0 + STALL_UNTIL {
            tokio::time::sleep_until(t0 + STALL_UNTIL).await;
        }
        "ok"
    };
    let router = Router::new().route("/", get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // Should serving fail, the calls fail and the test says so through their outcomes.
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{address}/"))
}

/// Runs `pace` until `until` against a fresh stalling server whose clock starts with the run.
async fn run_against_stall(pace: Pace, until: Until) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let plan = Plan {
        label: "stall".to_owned(),
        pace,
        until,
        warmup: Duration::ZERO,
        progress: false,
    };
    // The server's clock starts just before the engine's, so calls intended from ~1 s into the
    // run are the stalled ones.
    let url = stalling_server(Instant::now()).await?;
    let report = load::run(&plan, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move { call(&client, &url).await }
    })
    .await?;
    report.print();
    Ok(report)
}

async fn call(client: &reqwest::Client, url: &str) -> Answer {
    load::answer_of(client.get(url).send().await).await.0
}

/// The slowest call and the 90th percentile of the successful ones, in ms.
fn max_and_p90(report: &Report) -> anyhow::Result<(f64, f64)> {
    let max = report.max_ms(None).context("no calls")?;
    let p90 = report
        .latency_ms(Some(Outcome::Ok), 0.90)
        .context("no ok calls")?;
    Ok((max, p90))
}

fn assert_open_loop_shows_the_stall(report: &Report) -> anyhow::Result<()> {
    assert_eq!(report.attempts(), CALLS, "every call is counted");
    assert_eq!(report.count(Outcome::Ok), CALLS, "every call succeeds");
    let (max, p90) = max_and_p90(report)?;
    assert!(
        max >= 900.0,
        "the first stalled call waited ~1 s, max {max} ms"
    );
    assert!(
        p90 >= 400.0,
        "a third of the calls waited 0–1 s, p90 {p90} ms"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_loop_charges_a_stall_to_every_call_it_delayed() -> anyhow::Result<()> {
    let pace = Pace::Open {
        per_sec: RATE,
        max_in_flight: 1000,
    };
    let report = run_against_stall(pace, Until::Calls(CALLS)).await?;
    assert_open_loop_shows_the_stall(&report)?;
    // 600 calls at 200/s take 3 s of schedule; the stall cannot shorten that.
    assert!(report.elapsed() >= Duration::from_millis(2900));
    Ok(())
}

/// With one call in flight, the calls queued behind the stalled one wait for the slot, and
/// that wait counts too: the latency starts at the intended time, not at the slot.
#[tokio::test]
async fn waiting_for_an_in_flight_slot_counts_as_latency() -> anyhow::Result<()> {
    let pace = Pace::Open {
        per_sec: RATE,
        max_in_flight: 1,
    };
    let report = run_against_stall(pace, Until::Calls(CALLS)).await?;
    assert_open_loop_shows_the_stall(&report)
}

/// One worker sends nothing while its call hangs, so only that call shows the stall: the
/// maximum sees it, the percentiles do not. This is why the waves run open loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_loop_shows_the_stall_in_one_call_only() -> anyhow::Result<()> {
    let pace = Pace::Closed { concurrency: 1 };
    let report = run_against_stall(pace, Until::Elapsed(Duration::from_secs(3))).await?;
    let (max, p90) = max_and_p90(&report)?;
    assert!(
        max >= 900.0,
        "the call sent at ~1 s waited ~1 s, max {max} ms"
    );
    // Two unstalled seconds of back-to-back local calls are hundreds at the very least, and
    // only one of them stalled.
    assert!(p90 < 100.0, "only one call stalled, p90 {p90} ms");
    assert_eq!(report.count(Outcome::Ok), report.attempts());
    Ok(())
}
