//! Where answered calls are counted: one latency histogram per outcome, the first description
//! of each, and when the last counted call answered. Calls record through a [`Recorder`], one short mutex-held update per
//! call: at ~20,000 calls/s on two cores the lock is nearly always free, and a histogram
//! record is a few nanoseconds, so a collector task or per-task shards would cost more than
//! they save.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::{Answer, Outcome, Plan, Report};

/// The longest latency the histograms hold, in microseconds (longer ones are clamped).
const MAX_LATENCY_US: u64 = 60_000_000;

/// A latency histogram in microseconds: 1 µs..60 s, 3 significant digits (0.1 % resolution,
/// ~140 KB).
///
/// # Errors
/// Never with these bounds; the error is hdrhistogram's.
pub(super) fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).context("cannot make a latency histogram")
}

/// The figures of a run so far.
#[derive(Debug, Clone)]
pub(super) struct Tally {
    /// Per outcome, in [`Outcome::ALL`] order: latencies in microseconds (its length is the
    /// outcome's count).
    pub(super) latencies: Vec<Histogram<u64>>,
    /// Per outcome, in [`Outcome::ALL`] order: the first description a call gave.
    pub(super) details: Vec<Option<String>>,
    /// The measured window's start.
    window_start: Instant,
    /// When the last counted call answered.
    last_answer: Option<Instant>,
}

impl Tally {
    fn new(window_start: Instant) -> anyhow::Result<Self> {
        let latencies = Outcome::ALL
            .iter()
            .map(|_| latency_histogram())
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            latencies,
            details: vec![None; Outcome::ALL.len()],
            window_start,
            last_answer: None,
        })
    }

    fn record(&mut self, answer: Answer, latency: Duration, answered: Instant) {
        let at = answer.outcome.index();
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latencies[at].saturating_record(us.max(1));
        if let Some(detail) = answer.detail {
            self.details[at].get_or_insert(detail);
        }
        self.last_answer = self.last_answer.max(Some(answered));
    }

    /// Counted calls of `outcome`.
    pub(super) fn count(&self, outcome: Outcome) -> u64 {
        self.latencies[outcome.index()].len()
    }

    /// Counted calls, and how many of them the system failed (see [`Outcome::is_error`]).
    pub(super) fn attempts_and_errors(&self) -> (u64, u64) {
        Outcome::ALL.iter().fold((0, 0), |(all, errors), &outcome| {
            let count = self.count(outcome);
            let error = if outcome.is_error() { count } else { 0 };
            (all + count, errors + error)
        })
    }

    /// The measured time: from the window's start until the last counted call answered.
    pub(super) fn elapsed(&self) -> Duration {
        self.last_answer.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(self.window_start)
        })
    }

    /// The report of a finished run.
    ///
    /// # Errors
    /// When the histograms cannot be combined.
    pub(super) fn into_report(self, plan: &Plan) -> anyhow::Result<Report> {
        Report::new(plan, self.elapsed(), self.latencies, self.details)
    }
}

/// Shared by every call of a run: records answers of calls in the measured window.
#[derive(Debug)]
pub(super) struct Recorder {
    tally: Mutex<Tally>,
}

impl Recorder {
    /// A recorder counting calls whose start is at or after `window_start`.
    ///
    /// # Errors
    /// When the histograms cannot be made.
    pub(super) fn new(window_start: Instant) -> anyhow::Result<Self> {
        Ok(Self {
            tally: Mutex::new(Tally::new(window_start)?),
        })
    }

    /// Records `answer` of a call that started (or was meant to start) at `started`, if that is
    /// inside the measured window; warm-up calls only ran.
    pub(super) fn record(&self, answer: Answer, started: Instant) {
        let answered = Instant::now();
        let mut tally = self.lock();
        if started >= tally.window_start {
            tally.record(answer, answered - started, answered);
        }
    }

    /// Counted calls and errors so far, for the progress bar.
    pub(super) fn attempts_and_errors(&self) -> (u64, u64) {
        self.lock().attempts_and_errors()
    }

    /// A copy of the figures, taken once every call has answered. A copy rather than the
    /// recorder's own: the progress ticker may still hold a reference for a moment after it
    /// was told to stop.
    pub(super) fn tally(&self) -> Tally {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Tally> {
        // Nothing inside the lock panics; if something did, its figures are still sound.
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_calls_run_uncounted_and_elapsed_ends_at_the_last_answer() {
        let start = Instant::now();
        let recorder = Recorder::new(start + Duration::from_secs(3600)).unwrap();
        recorder.record(Answer::of(Outcome::Ok), start);
        assert_eq!(recorder.attempts_and_errors(), (0, 0));

        let recorder = Recorder::new(start).unwrap();
        recorder.record(Answer::of(Outcome::Ok), start);
        recorder.record(Answer::failed(Outcome::Transport, "first"), start);
        recorder.record(Answer::failed(Outcome::Transport, "second"), start);
        recorder.record(Answer::of(Outcome::SoldOut), start);
        assert_eq!(recorder.attempts_and_errors(), (4, 2));
        let tally = recorder.tally();
        assert_eq!(tally.count(Outcome::Transport), 2);
        assert_eq!(
            tally.details[Outcome::Transport.index()].as_deref(),
            Some("first")
        );
        assert_eq!(tally.count(Outcome::Refused), 0);
        assert!(tally.elapsed() <= start.elapsed());
    }
}
