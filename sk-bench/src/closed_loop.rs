//! Closed-loop load: `concurrency` workers each start their next call as soon as the last one
//! answered, for a fixed time, so the offered load adapts to what the system under test
//! sustains (no coordinated-omission fiction of a fixed arrival rate). Latencies of the calls
//! that start inside the measured window go into an HDR histogram; calls that start during the
//! warm-up (connections opening, caches filling) still run but are not counted in the figures.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The longest latency the histogram holds, in microseconds (longer ones are clamped).
const MAX_LATENCY_US: u64 = 60_000_000;

/// How one call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The system did what was asked (a reservation was made).
    Done,
    /// The system answered but refused (sold out, limit exceeded, …): a valid, cheaper answer.
    Refused,
    /// Transport error, timeout, or an answer that is neither success nor refusal.
    Failed(String),
}

/// How long to load and how hard.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Calls in flight at any time.
    pub concurrency: usize,
    /// Time before the measured window, whose calls are not counted.
    pub warmup: Duration,
    /// Length of the measured window.
    pub measure: Duration,
}

/// The figures of one closed-loop run at one concurrency.
#[derive(Debug)]
pub struct LevelReport {
    /// Calls in flight at any time.
    pub concurrency: usize,
    /// From the window's start until the last counted call answered.
    pub elapsed: Duration,
    /// Successful calls started inside the window.
    pub done: u64,
    /// Refused calls started inside the window.
    pub refused: u64,
    /// Failed calls started inside the window.
    pub failed: u64,
    /// Successful calls in all, warm-up included (what the stock check must account for).
    pub done_with_warmup: u64,
    /// The first failure's description, to show when something failed.
    pub first_failure: Option<String>,
    /// Latency of the successful calls, in microseconds.
    latencies: Histogram<u64>,
}

impl LevelReport {
    /// Successful calls per second inside the window.
    #[must_use]
    pub fn rate(&self) -> f64 {
        per_second(self.done, self.elapsed)
    }

    /// The latency at `quantile` (0..=1) in milliseconds.
    #[must_use]
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        ms(self.latencies.value_at_quantile(quantile))
    }

    /// The longest latency in milliseconds.
    #[must_use]
    pub fn max_ms(&self) -> f64 {
        ms(self.latencies.max())
    }

    /// The report as JSON (rates per second, latencies in milliseconds).
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "concurrency": self.concurrency,
            "seconds": self.elapsed.as_secs_f64(),
            "ok": self.done,
            "refused": self.refused,
            "failed": self.failed,
            "rate": self.rate(),
            "p50_ms": self.latency_ms(0.50),
            "p90_ms": self.latency_ms(0.90),
            "p99_ms": self.latency_ms(0.99),
            "max_ms": self.max_ms(),
        })
    }

    /// One line of the human-readable table (see [`TABLE_HEADER`]).
    #[must_use]
    pub fn table_row(&self, label: &str) -> String {
        format!(
            "{label:<14} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>7}",
            self.concurrency,
            self.rate(),
            self.latency_ms(0.50),
            self.latency_ms(0.90),
            self.latency_ms(0.99),
            self.max_ms(),
            self.refused,
            self.failed,
        )
    }
}

/// The header matching [`LevelReport::table_row`].
pub const TABLE_HEADER: &str =
    "               conc     ok/s   p50 ms   p90 ms   p99 ms   max ms  refused  failed";

/// Runs `call` in a closed loop under `load`. `call` receives a number unique within this run
/// (0, 1, 2, …), for making distinct users or order ids.
///
/// # Errors
/// When the histogram cannot be made or a worker panicked.
pub async fn run<F, Fut>(load: Load, call: F) -> anyhow::Result<LevelReport>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let window_start = Instant::now() + load.warmup;
    let window_end = window_start + load.measure;
    let sequence = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let (call, sequence) = (call.clone(), Arc::clone(&sequence));
        let tally = Tally::new()?;
        workers.spawn(async move { worker(call, sequence, tally, window_start, window_end).await });
    }
    let mut total = Tally::new()?;
    while let Some(joined) = workers.join_next().await {
        total.merge(joined.context("a load worker panicked")?)?;
    }
    Ok(total.into_report(load.concurrency, window_start))
}

/// One worker: call after call until the window closes.
async fn worker<F, Fut>(
    call: F,
    sequence: Arc<AtomicU64>,
    mut tally: Tally,
    window_start: Instant,
    window_end: Instant,
) -> Tally
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Outcome>,
{
    loop {
        let started = Instant::now();
        if started >= window_end {
            return tally;
        }
        let outcome = call(sequence.fetch_add(1, Ordering::Relaxed)).await;
        let finished = Instant::now();
        if started < window_start {
            tally.done_with_warmup += u64::from(outcome == Outcome::Done);
        } else {
            tally.record(outcome, finished - started, finished);
        }
    }
}

/// What one worker (then all of them) counted.
struct Tally {
    done: u64,
    refused: u64,
    failed: u64,
    done_with_warmup: u64,
    first_failure: Option<String>,
    last_finish: Option<Instant>,
    latencies: Histogram<u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        // Three significant digits: 0.1 % resolution, ~200 KB per histogram.
        let latencies = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
            .context("cannot make a latency histogram")?;
        Ok(Self {
            done: 0,
            refused: 0,
            failed: 0,
            done_with_warmup: 0,
            first_failure: None,
            last_finish: None,
            latencies,
        })
    }

    fn record(&mut self, outcome: Outcome, latency: Duration, finished: Instant) {
        self.last_finish = Some(finished);
        match outcome {
            Outcome::Done => {
                self.done += 1;
                self.done_with_warmup += 1;
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.latencies
                    .saturating_record(us.clamp(1, MAX_LATENCY_US));
            }
            Outcome::Refused => self.refused += 1,
            Outcome::Failed(why) => {
                self.failed += 1;
                self.first_failure.get_or_insert(why);
            }
        }
    }

    fn merge(&mut self, other: Self) -> anyhow::Result<()> {
        self.done += other.done;
        self.refused += other.refused;
        self.failed += other.failed;
        self.done_with_warmup += other.done_with_warmup;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.last_finish = self.last_finish.max(other.last_finish);
        self.latencies
            .add(&other.latencies)
            .context("cannot merge latency histograms")
    }

    fn into_report(self, concurrency: usize, window_start: Instant) -> LevelReport {
        let elapsed = self.last_finish.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(window_start)
        });
        LevelReport {
            concurrency,
            elapsed,
            done: self.done,
            refused: self.refused,
            failed: self.failed,
            done_with_warmup: self.done_with_warmup,
            first_failure: self.first_failure,
            latencies: self.latencies,
        }
    }
}

/// `count` per second over `elapsed` (0 when nothing was measured).
#[must_use]
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Microseconds as milliseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
