//! The two ways of driving calls. The open loop's dispatcher keeps a schedule and times each
//! call from its slot in it, so a server stall is charged to every call it delayed; the closed
//! loop's workers time each call from its actual send and so measure service time only.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::progress::Progress;
use super::tally::{Recorder, Tally};
use super::{Answer, Plan, Until};

/// Which calls a run makes and which it counts.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Calls starting (open loop: scheduled) before this are warm-up: they run uncounted.
    start: Instant,
    /// No call starts at or after this ([`Until::Elapsed`]).
    end: Option<Instant>,
    /// No call is numbered this or higher ([`Until::Calls`]).
    calls: Option<u64>,
}

impl Window {
    /// The window of `plan` for a run beginning at `begin`.
    fn of(plan: &Plan, begin: Instant) -> Self {
        match plan.until {
            // Every call counts: the caller asked for exactly `n` of them.
            Until::Calls(n) => Self {
                start: begin,
                end: None,
                calls: Some(n),
            },
            Until::Elapsed(measure) => {
                let start = begin + plan.warmup;
                Self {
                    start,
                    end: Some(start + measure),
                    calls: None,
                }
            }
        }
    }

    /// Whether call `i`, starting at `at`, is made at all.
    fn makes(&self, i: u64, at: Instant) -> bool {
        self.calls.is_none_or(|n| i < n) && self.end.is_none_or(|end| at < end)
    }
}

/// The open loop: call `i` is intended at `begin + i / per_sec`, sent then (or as soon as one of
/// the `max_in_flight` slots frees) and timed from its intended instant.
///
/// # Errors
/// When the rate is not positive and finite, the cap is zero, or a call panicked.
pub(super) async fn open_loop<F, Fut>(
    plan: &Plan,
    per_sec: f64,
    max_in_flight: usize,
    call: F,
) -> anyhow::Result<Tally>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Answer> + Send + 'static,
{
    ensure!(
        per_sec.is_finite() && per_sec > 0.0,
        "the open-loop rate must be positive, not {per_sec}"
    );
    ensure!(max_in_flight > 0, "the in-flight cap must be positive");
    let begin = Instant::now();
    let window = Window::of(plan, begin);
    let recorder = Arc::new(Recorder::new(window.start)?);
    let progress = Progress::start(plan, &recorder, window.start);
    let slots = Arc::new(Semaphore::new(max_in_flight.min(Semaphore::MAX_PERMITS)));
    let mut calls = JoinSet::new();
    for i in 0.. {
        let intended = begin + Duration::from_secs_f64(i as f64 / per_sec);
        if !window.makes(i, intended) {
            break;
        }
        // Tokio's timers tick in milliseconds, so a call goes out up to ~1 ms after its instant
        // and that lateness is in its latency: pessimistic by design, as sending early would
        // hide time. Behind schedule (a full cap, a busy core) the late calls go out at once,
        // back to back: they are late, and their latency says so.
        if intended > Instant::now() {
            tokio::time::sleep_until(intended).await;
        }
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .context("the in-flight cap was closed")?;
        let (answer, recorder) = (call(i), Arc::clone(&recorder));
        calls.spawn(async move {
            recorder.record(answer.await, intended);
            drop(slot);
        });
        // Reap answered calls as we go, so a long run does not keep every finished task.
        while let Some(joined) = calls.try_join_next() {
            joined.context("a load call panicked")?;
        }
    }
    finish(calls, &recorder, progress).await
}

/// The closed loop: `concurrency` workers, each sending its next call when the last answered,
/// timed from the actual send.
///
/// # Errors
/// When the concurrency is zero or a call panicked.
pub(super) async fn closed_loop<F, Fut>(
    plan: &Plan,
    concurrency: usize,
    call: F,
) -> anyhow::Result<Tally>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    ensure!(
        concurrency > 0,
        "the closed-loop concurrency must be positive"
    );
    let window = Window::of(plan, Instant::now());
    let recorder = Arc::new(Recorder::new(window.start)?);
    let progress = Progress::start(plan, &recorder, window.start);
    let sequence = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let worker = Worker {
            window,
            sequence: Arc::clone(&sequence),
            recorder: Arc::clone(&recorder),
        };
        workers.spawn(worker.run(call.clone()));
    }
    finish(workers, &recorder, progress).await
}

/// One closed-loop worker.
struct Worker {
    window: Window,
    /// Hands out call numbers, so they are unique across workers.
    sequence: Arc<AtomicU64>,
    recorder: Arc<Recorder>,
}

impl Worker {
    async fn run<F, Fut>(self, call: F)
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = Answer>,
    {
        loop {
            let i = self.sequence.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            if !self.window.makes(i, started) {
                return;
            }
            let answer = call(i);
            self.recorder.record(answer.await, started);
        }
    }
}

/// Waits for every task, clears the progress bar and hands back the figures.
async fn finish(
    mut tasks: JoinSet<()>,
    recorder: &Recorder,
    progress: Option<Progress>,
) -> anyhow::Result<Tally> {
    while let Some(joined) = tasks.join_next().await {
        joined.context("a load call panicked")?;
    }
    drop(progress);
    Ok(recorder.tally())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::load::{self, Outcome, Pace};

    fn plan(pace: Pace, until: Until, warmup: Duration) -> Plan {
        Plan {
            label: "test".to_owned(),
            pace,
            until,
            warmup,
            progress: false,
        }
    }

    /// Runs `plan` with calls that answer at once, returning the report and the numbers called.
    async fn numbers_called(plan: &Plan) -> anyhow::Result<(load::Report, Vec<u64>)> {
        let called = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&called);
        let report = load::run(plan, move |i| {
            seen.lock().unwrap().push(i);
            async { Answer::of(Outcome::Ok) }
        })
        .await?;
        let mut numbers = called.lock().unwrap().clone();
        numbers.sort_unstable();
        Ok((report, numbers))
    }

    #[tokio::test]
    async fn each_pace_makes_exactly_the_calls_asked_numbered_once_each() {
        let paces = [
            Pace::Open {
                per_sec: 20_000.0,
                max_in_flight: 16,
            },
            Pace::Closed { concurrency: 4 },
        ];
        for pace in paces {
            let (report, numbers) = numbers_called(&plan(pace, Until::Calls(500), Duration::ZERO))
                .await
                .unwrap();
            assert_eq!(numbers, (0..500).collect::<Vec<_>>(), "{pace}");
            assert_eq!(report.attempts(), 500, "{pace}");
        }
    }

    #[tokio::test]
    async fn open_loop_warmup_calls_run_but_are_not_counted() {
        let pace = Pace::Open {
            per_sec: 1000.0,
            max_in_flight: 16,
        };
        let plan = plan(
            pace,
            Until::Elapsed(Duration::from_millis(200)),
            Duration::from_millis(100),
        );
        let (report, numbers) = numbers_called(&plan).await.unwrap();
        // 300 ms of schedule at 1/ms, the first 100 ms of it warm-up (±1 for float rounding
        // at the window's edges).
        assert!((299..=301).contains(&numbers.len()), "{}", numbers.len());
        assert!(
            (199..=201).contains(&report.attempts()),
            "{}",
            report.attempts()
        );
    }

    #[tokio::test]
    async fn invalid_plans_and_panicking_calls_are_errors() {
        let open = |per_sec, max_in_flight| Pace::Open {
            per_sec,
            max_in_flight,
        };
        for pace in [
            open(0.0, 1),
            open(f64::NAN, 1),
            open(10.0, 0),
            Pace::Closed { concurrency: 0 },
        ] {
            let plan = plan(pace, Until::Calls(1), Duration::ZERO);
            assert!(numbers_called(&plan).await.is_err(), "{pace:?}");
        }
        let plan = plan(open(1000.0, 4), Until::Calls(3), Duration::ZERO);
        let panicking = load::run(&plan, |_| async { panic!("a call failed hard") }).await;
        assert!(panicking.is_err());
    }
}
