//! The load engine of the `flash`, `soldout`, `browse` and `ceiling` subcommands and of the
//! component benchmarks `edge`, `reserve` and `redis-clients`: it runs a caller's call (HTTP,
//! or a Redis script) again and again as a [`Plan`] says, sorts every answer by the public
//! contract ([`Outcome`]), and reports counts, rates and HDR latency percentiles per outcome
//! ([`Report`]), as a table, as JSON and as an SVG plot.
//!
//! Two paces, because they answer different questions:
//! - **Open loop** ([`Pace::Open`]) models a crowd: calls are *scheduled* at a fixed rate,
//!   whatever the server does, and each latency is measured from the call's intended send time.
//!   A closed loop stops sending while the server stalls, so the stall shows up in one call and
//!   vanishes from the percentiles (*coordinated omission*); measuring from the intended time
//!   charges the stall to every call that should have been sent during it, as a user would feel
//!   it. This is what the flash-sale waves use.
//! - **Closed loop** ([`Pace::Closed`]) models a fixed number of clients each waiting for its
//!   answer: it finds the throughput the system sustains (`ceiling`), and its latency is
//!   measured from the actual send.
//!
//! The engine runs on the caller's Tokio runtime (some subcommands use a current-thread one to
//! keep the load generator on one core); it never builds its own.
//! Talks to: nothing itself; the caller's `call` does the HTTP (or Redis) work.

mod outcome;
mod pace;
mod plot;
mod progress;
mod report;
mod tally;

use std::fmt;
use std::future::Future;
use std::time::Duration;

pub use outcome::{Answer, Outcome, answer_of};
pub use plot::write_latency_svg;
pub use report::Report;

/// How calls are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Open loop: calls are *scheduled* at `per_sec` (call i intended at start + i/per_sec)
    /// whatever the server does; latency is measured from the intended send time, so a stalled
    /// server shows its stall in every call that waited (no coordinated omission). At most
    /// `max_in_flight` calls run at once; when that cap is reached the dispatcher waits, and the
    /// wait still counts in the latency (it is measured from the intended time).
    Open {
        /// Calls scheduled per second.
        per_sec: f64,
        /// The most calls running at once.
        max_in_flight: usize,
    },
    /// Closed loop: `concurrency` workers, each starting its next call when the last answered;
    /// latency from the actual send.
    Closed {
        /// Workers, hence calls in flight.
        concurrency: usize,
    },
}

impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { per_sec, .. } => write!(f, "open loop {per_sec}/s"),
            Self::Closed { concurrency } => write!(f, "closed loop ×{concurrency}"),
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// Exactly this many calls, numbered `0..n`; the run ends when all have answered.
    Calls(u64),
    /// The calls started (open loop: scheduled) within this measured time, after the warm-up.
    Elapsed(Duration),
}

/// What to run: pace, length, warm-up and display.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Names the run in tables, JSON and plots (e.g. "wave 1", "sold-out").
    pub label: String,
    /// How calls are paced.
    pub pace: Pace,
    /// When the run stops.
    pub until: Until,
    /// Unmeasured load before the measured part: its calls run but are not counted (connections
    /// open, caches fill). Only meaningful with [`Until::Elapsed`]; ignored with
    /// [`Until::Calls`], which counts every call.
    pub warmup: Duration,
    /// Draw a live progress bar on stderr (rate, errors so far); nothing is drawn when stderr
    /// is not a terminal.
    pub progress: bool,
}

/// Runs `call(i)` for i = 0, 1, 2, … as `plan` says and gathers per-outcome counts and HDR
/// latency histograms (microseconds, 3 significant digits, 1 µs..60 s, saturating). `i` is
/// unique within the run, for making distinct users or order ids.
///
/// # Errors
/// When the plan is invalid (a rate that is not positive and finite, a zero concurrency or
/// in-flight cap) or a call panicked.
pub async fn run<F, Fut>(plan: &Plan, call: F) -> anyhow::Result<Report>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let tally = match plan.pace {
        Pace::Open {
            per_sec,
            max_in_flight,
        } => pace::open_loop(plan, per_sec, max_in_flight, call).await?,
        Pace::Closed { concurrency } => pace::closed_loop(plan, concurrency, call).await?,
    };
    tally.into_report(plan)
}
