//! The figures of one run: counts, rates and latency percentiles per outcome and for all calls,
//! as a table for people and as JSON for scripts and the report files; and the same run seen as
//! one level of a component benchmark, figured by the one outcome it wants.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};

use super::tally::latency_histogram;
use super::{Outcome, Pace, Plan};

/// The quantiles of the table and the JSON, with their column names.
const QUANTILES: [(f64, &str); 4] = [
    (0.50, "p50"),
    (0.90, "p90"),
    (0.99, "p99"),
    (0.999, "p99.9"),
];

/// The longest failure description printed under the table, in characters.
const DETAIL_CHARS: usize = 200;

/// The figures of one run.
#[derive(Debug)]
pub struct Report {
    label: String,
    pace: Pace,
    /// From the measured window's start until the last counted call answered.
    elapsed: Duration,
    /// Per outcome, in [`Outcome::ALL`] order, latencies in microseconds.
    latencies: Vec<Histogram<u64>>,
    /// Every counted call's latency.
    all: Histogram<u64>,
    /// Per outcome, in [`Outcome::ALL`] order: the first description a call gave.
    details: Vec<Option<String>>,
}

impl Report {
    /// Gathers a finished run's figures.
    ///
    /// # Errors
    /// When the histograms cannot be combined (they all share bounds, so never in practice).
    pub(super) fn new(
        plan: &Plan,
        elapsed: Duration,
        latencies: Vec<Histogram<u64>>,
        details: Vec<Option<String>>,
    ) -> anyhow::Result<Self> {
        let mut all = latency_histogram()?;
        for histogram in &latencies {
            all.add(histogram)?;
        }
        Ok(Self {
            label: plan.label.clone(),
            pace: plan.pace,
            elapsed,
            latencies,
            all,
            details,
        })
    }

    /// The run's name.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How the run was paced.
    #[must_use]
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// From the measured window's start until the last counted call answered.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Counted calls, all outcomes.
    #[must_use]
    pub fn attempts(&self) -> u64 {
        self.all.len()
    }

    /// Counted calls per second.
    #[must_use]
    pub fn attempts_per_sec(&self) -> f64 {
        per_second(self.attempts(), self.elapsed)
    }

    /// Counted calls that ended with `outcome`.
    #[must_use]
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.latencies[outcome.index()].len()
    }

    /// Calls per second that ended with `outcome`.
    #[must_use]
    pub fn rate(&self, outcome: Outcome) -> f64 {
        per_second(self.count(outcome), self.elapsed)
    }

    /// The latency at `quantile` (0..=1) in milliseconds of the calls that ended with
    /// `outcome`, or of all calls with `None`; `None` when there are no such calls.
    #[must_use]
    pub fn latency_ms(&self, outcome: Option<Outcome>, quantile: f64) -> Option<f64> {
        self.histogram(outcome)
            .map(|histogram| ms(histogram.value_at_quantile(quantile)))
    }

    /// The longest latency in milliseconds, as [`Report::latency_ms`].
    #[must_use]
    pub fn max_ms(&self, outcome: Option<Outcome>) -> Option<f64> {
        self.histogram(outcome).map(|histogram| ms(histogram.max()))
    }

    /// The first description given by a call that ended with `outcome`.
    #[must_use]
    pub fn detail(&self, outcome: Outcome) -> Option<&str> {
        self.details[outcome.index()].as_deref()
    }

    /// The latencies of `outcome` (all calls with `None`), if there were any.
    pub(super) fn histogram(&self, outcome: Option<Outcome>) -> Option<&Histogram<u64>> {
        let histogram = match outcome {
            Some(outcome) => &self.latencies[outcome.index()],
            None => &self.all,
        };
        (!histogram.is_empty()).then_some(histogram)
    }

    /// Outcomes that occurred, in [`Outcome::ALL`] order.
    pub(super) fn occurred(&self) -> impl Iterator<Item = Outcome> + '_ {
        Outcome::ALL
            .into_iter()
            .filter(|&outcome| self.count(outcome) > 0)
    }

    /// Prints the title line, the table (one row per outcome that occurred, then `all`) and
    /// the first description of each failing outcome.
    pub fn print(&self) {
        print!("{}", self.render());
    }

    /// What [`Report::print`] prints.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = format!(
            "{}: {}, {} calls in {:.2} s, {:.1} attempts/s\n",
            self.label,
            describe_pace(self.pace),
            self.attempts(),
            self.elapsed.as_secs_f64(),
            self.attempts_per_sec(),
        );
        let mut header = format!("  {:<15} {:>10} {:>10}", "outcome", "count", "rate/s");
        let names = QUANTILES.iter().map(|&(_, name)| name).chain(["max"]);
        for name in names {
            let _ = write!(header, " {:>9}", format!("{name} ms"));
        }
        text.push_str(&header);
        text.push('\n');
        for outcome in self.occurred() {
            self.push_row(&mut text, outcome.name(), Some(outcome));
        }
        self.push_row(&mut text, "all", None);
        for outcome in self.occurred().filter(|outcome| outcome.is_failure()) {
            if let Some(detail) = self.detail(outcome) {
                let _ = writeln!(text, "  {}: {}", outcome.name(), truncate(detail));
            }
        }
        text
    }

    fn push_row(&self, text: &mut String, name: &str, outcome: Option<Outcome>) {
        let count = outcome.map_or_else(|| self.attempts(), |outcome| self.count(outcome));
        let rate = per_second(count, self.elapsed);
        let _ = write!(text, "  {name:<15} {count:>10} {rate:>10.1}");
        for (quantile, _) in QUANTILES {
            let _ = write!(text, " {:>9}", show_ms(self.latency_ms(outcome, quantile)));
        }
        let _ = writeln!(text, " {:>9}", show_ms(self.max_ms(outcome)));
    }

    /// The same figures as JSON: label, pace, seconds, attempts, attempts/s, and per outcome
    /// (all nine, so the shape is fixed) and for all calls: count, rate and latencies in ms
    /// (`null` when there were no such calls).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let outcomes: Map<String, Value> = Outcome::ALL
            .into_iter()
            .map(|outcome| (outcome.name().to_owned(), self.figures_json(Some(outcome))))
            .collect();
        json!({
            "label": self.label,
            "pace": pace_json(self.pace),
            "seconds": self.elapsed.as_secs_f64(),
            "attempts": self.attempts(),
            "attempts_per_sec": self.attempts_per_sec(),
            "outcomes": outcomes,
            "all": self.figures_json(None),
        })
    }

    fn figures_json(&self, outcome: Option<Outcome>) -> Value {
        let count = outcome.map_or_else(|| self.attempts(), |outcome| self.count(outcome));
        json!({
            "count": count,
            "rate": per_second(count, self.elapsed),
            "p50_ms": self.latency_ms(outcome, 0.50),
            "p90_ms": self.latency_ms(outcome, 0.90),
            "p99_ms": self.latency_ms(outcome, 0.99),
            "p999_ms": self.latency_ms(outcome, 0.999),
            "max_ms": self.max_ms(outcome),
        })
    }
}

/// A run as the component benchmarks (`edge`, `reserve`, `redis-clients`) report each of their
/// closed-loop levels: one *wanted* outcome (a reservation, or 409 `sold_out` when rejections
/// are measured) gives the count, rate and latencies; every other answer is a refusal (see
/// [`Outcome::is_refusal`]) or a failure (no answer, 5xx, 503, or a success not wanted).
impl Report {
    /// The header of [`Report::level_row`].
    pub const LEVEL_HEADER: &str =
        "                 conc       ok/s   p50 ms   p90 ms   p99 ms   max ms  refused  failed";

    /// Counted calls that did not end with `wanted`, as (refusals, failures).
    #[must_use]
    pub fn refused_and_failed(&self, wanted: Outcome) -> (u64, u64) {
        Outcome::ALL
            .into_iter()
            .filter(|&outcome| outcome != wanted)
            .fold((0, 0), |(refused, failed), outcome| {
                let count = self.count(outcome);
                if outcome.is_refusal() {
                    (refused + count, failed)
                } else {
                    (refused, failed + count)
                }
            })
    }

    /// A failure to show the reader: the first failing outcome (in [`Outcome::ALL`] order) with
    /// the first description its calls gave, if any.
    #[must_use]
    pub fn failure_example(&self, wanted: Outcome) -> Option<String> {
        let outcome = self
            .occurred()
            .find(|&outcome| outcome != wanted && !outcome.is_refusal())?;
        Some(match self.detail(outcome) {
            Some(detail) => format!("{}: {}", outcome.name(), truncate(detail)),
            None => format!("an unwanted `{}` answer", outcome.name()),
        })
    }

    /// The level as JSON: `concurrency` (`null` for an open loop), `seconds`, `ok` (calls that
    /// ended with `wanted`), `refused`, `failed`, and `wanted`'s `rate` and latencies `p50_ms`,
    /// `p90_ms`, `p99_ms`, `max_ms` (0 when no call ended with it).
    #[must_use]
    pub fn level_json(&self, wanted: Outcome) -> Value {
        let (refused, failed) = self.refused_and_failed(wanted);
        json!({
            "concurrency": self.concurrency(),
            "seconds": self.elapsed.as_secs_f64(),
            "ok": self.count(wanted),
            "refused": refused,
            "failed": failed,
            "rate": self.rate(wanted),
            "p50_ms": self.wanted_ms(wanted, 0.50),
            "p90_ms": self.wanted_ms(wanted, 0.90),
            "p99_ms": self.wanted_ms(wanted, 0.99),
            "max_ms": self.max_ms(Some(wanted)).unwrap_or(0.0),
        })
    }

    /// The level as one line under [`Report::LEVEL_HEADER`].
    #[must_use]
    pub fn level_row(&self, label: &str, wanted: Outcome) -> String {
        let (refused, failed) = self.refused_and_failed(wanted);
        let concurrency = self
            .concurrency()
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        format!(
            "{label:<14} {concurrency:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {refused:>8} {failed:>7}",
            self.rate(wanted),
            self.wanted_ms(wanted, 0.50),
            self.wanted_ms(wanted, 0.90),
            self.wanted_ms(wanted, 0.99),
            self.max_ms(Some(wanted)).unwrap_or(0.0),
        )
    }

    fn concurrency(&self) -> Option<usize> {
        match self.pace {
            Pace::Closed { concurrency } => Some(concurrency),
            Pace::Open { .. } => None,
        }
    }

    /// The latency at `quantile` of the `wanted` calls; 0 when there were none, so a level's
    /// row and JSON keep their numeric shape.
    fn wanted_ms(&self, wanted: Outcome, quantile: f64) -> f64 {
        self.latency_ms(Some(wanted), quantile).unwrap_or(0.0)
    }
}

/// "open loop 2000/s (≤512 in flight)" or "closed loop ×64".
fn describe_pace(pace: Pace) -> String {
    match pace {
        Pace::Open { max_in_flight, .. } => format!("{pace} (≤{max_in_flight} in flight)"),
        Pace::Closed { .. } => pace.to_string(),
    }
}

fn pace_json(pace: Pace) -> Value {
    match pace {
        Pace::Open {
            per_sec,
            max_in_flight,
        } => json!({ "mode": "open", "per_sec": per_sec, "max_in_flight": max_in_flight }),
        Pace::Closed { concurrency } => json!({ "mode": "closed", "concurrency": concurrency }),
    }
}

/// `count` per second over `elapsed` (0 when nothing was measured).
fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Microseconds as milliseconds.
pub(super) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn show_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"))
}

/// At most [`DETAIL_CHARS`] characters of `detail` on one line.
fn truncate(detail: &str) -> String {
    let line = detail.replace('\n', " ");
    match line.char_indices().nth(DETAIL_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Until;

    fn report(pace: Pace) -> Report {
        let mut latencies: Vec<_> = Outcome::ALL
            .iter()
            .map(|_| latency_histogram().unwrap())
            .collect();
        for us in 1..=1000 {
            latencies[Outcome::Ok.index()].record(us * 1000).unwrap();
        }
        latencies[Outcome::Transport.index()]
            .record(5_000_000)
            .unwrap();
        let mut details = vec![None; Outcome::ALL.len()];
        details[Outcome::Transport.index()] = Some(format!("connect refused {}", "x".repeat(500)));
        let plan = Plan {
            label: "wave 1".to_owned(),
            pace,
            until: Until::Calls(1001),
            warmup: Duration::ZERO,
            progress: false,
        };
        Report::new(&plan, Duration::from_secs(2), latencies, details).unwrap()
    }

    fn open() -> Pace {
        Pace::Open {
            per_sec: 500.0,
            max_in_flight: 64,
        }
    }

    #[test]
    fn percentiles_are_per_outcome_and_overall() {
        let report = report(open());
        assert_eq!(report.attempts(), 1001);
        assert_eq!(report.count(Outcome::Ok), 1000);
        assert!((report.rate(Outcome::Ok) - 500.0).abs() < 1e-9);
        let p50 = report.latency_ms(Some(Outcome::Ok), 0.5).unwrap();
        assert!((p50 - 500.0).abs() < 1.0, "p50 {p50}");
        let max = report.max_ms(None).unwrap();
        assert!((max - 5000.0).abs() < 5.0, "max {max}");
        assert_eq!(report.latency_ms(Some(Outcome::SoldOut), 0.5), None);
    }

    #[test]
    fn json_has_a_fixed_shape() {
        let json = report(open()).to_json();
        assert_eq!(json["label"], "wave 1");
        assert_eq!(json["pace"]["mode"], "open");
        assert_eq!(json["pace"]["max_in_flight"], 64);
        assert_eq!(json["attempts"], 1001);
        let outcomes = json["outcomes"].as_object().unwrap();
        assert_eq!(outcomes.len(), Outcome::ALL.len());
        assert_eq!(outcomes["ok"]["count"], 1000);
        assert!(outcomes["sold_out"]["p50_ms"].is_null());
        for field in [
            "count", "rate", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms",
        ] {
            assert!(json["all"][field].is_number(), "{field}");
        }
        let closed = report(Pace::Closed { concurrency: 8 }).to_json();
        assert_eq!(
            closed["pace"],
            json!({ "mode": "closed", "concurrency": 8 })
        );
    }

    #[test]
    fn a_level_figures_the_wanted_outcome_and_splits_the_rest() {
        let closed = report(Pace::Closed { concurrency: 8 });
        let json = closed.level_json(Outcome::Ok);
        assert_eq!(json["concurrency"], 8);
        assert_eq!(
            (&json["ok"], &json["refused"], &json["failed"]),
            (&json!(1000), &json!(0), &json!(1))
        );
        assert!((json["rate"].as_f64().unwrap() - 500.0).abs() < 1e-9);
        assert!((json["p50_ms"].as_f64().unwrap() - 500.0).abs() < 1.0);
        let example = closed.failure_example(Outcome::Ok).unwrap();
        assert!(
            example.starts_with("transport: connect refused"),
            "{example}"
        );
        assert_eq!(
            closed.level_row("reserve", Outcome::Ok).len(),
            Report::LEVEL_HEADER.len(),
            "columns align"
        );

        // Where 409 `sold_out` is wanted, a success is a failure, and no latencies read 0.
        let json = closed.level_json(Outcome::SoldOut);
        assert_eq!((&json["ok"], &json["failed"]), (&json!(0), &json!(1001)));
        assert_eq!(json["p99_ms"], 0.0);
        assert_eq!(closed.refused_and_failed(Outcome::Transport), (0, 1000));
        let open = report(open()).level_json(Outcome::Ok);
        assert!(open["concurrency"].is_null());
    }

    #[test]
    fn the_table_shows_occurred_outcomes_and_truncated_failures() {
        let text = report(Pace::Closed { concurrency: 8 }).render();
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("wave 1: closed loop ×8, 1001 calls in 2.00 s"));
        assert!(lines[2].trim_start().starts_with("ok"));
        assert!(lines[3].trim_start().starts_with("transport"));
        assert!(lines[4].trim_start().starts_with("all"));
        assert_eq!(lines[1].len(), lines[4].len(), "columns align");
        assert!(lines[5].starts_with("  transport: connect refused"));
        assert!(lines[5].chars().count() < 230);
        assert_eq!(lines.len(), 6);
    }
}
