//! The live progress bar of a run, on stderr. Calls never touch it: a ticker task reads the
//! recorder's counts a few times a second and moves the bar, so the hot path pays nothing and
//! indicatif redraws at its own pace.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::tally::Recorder;
use super::{Plan, Until};

/// How often the ticker refreshes the bar.
const REFRESH: Duration = Duration::from_millis(200);

/// A progress bar kept up to date until dropped (then cleared, so the table prints clean).
#[derive(Debug)]
pub(super) struct Progress {
    bar: ProgressBar,
    ticker: JoinHandle<()>,
}

impl Progress {
    /// Starts the bar and its ticker when the plan asks for one and stderr is a terminal.
    pub(super) fn start(
        plan: &Plan,
        recorder: &Arc<Recorder>,
        window_start: Instant,
    ) -> Option<Self> {
        if !plan.progress {
            return None;
        }
        let bar = new_bar(plan);
        if bar.is_hidden() {
            return None;
        }
        let view = View {
            bar: bar.clone(),
            until: plan.until,
            window_start,
        };
        let recorder = Arc::clone(recorder);
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(REFRESH);
            interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                view.show(recorder.attempts_and_errors());
            }
        });
        Some(Self { bar, ticker })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// The bar of [`Until::Calls`]: calls answered of all; the message carries rate and errors.
const CALLS_TEMPLATE: &str = "{prefix} {elapsed_precise} [{bar:30}] {pos}/{len} calls, {msg}";
/// The bar of [`Until::Elapsed`], in measured milliseconds; the message carries the seconds,
/// calls and their rate.
const ELAPSED_TEMPLATE: &str = "{prefix} {elapsed_precise} [{bar:30}] {msg}";

/// A bar over calls for [`Until::Calls`], over measured time for [`Until::Elapsed`].
fn new_bar(plan: &Plan) -> ProgressBar {
    let (len, template) = match plan.until {
        Until::Calls(n) => (n, CALLS_TEMPLATE),
        Until::Elapsed(measure) => (millis(measure), ELAPSED_TEMPLATE),
    };
    // The templates are constants (tested below); a bad one would show as a plain bar rather
    // than stop the run.
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(len)
        .with_style(style)
        .with_prefix(plan.label.clone())
}

/// What the ticker needs to draw one refresh.
struct View {
    bar: ProgressBar,
    until: Until,
    window_start: Instant,
}

impl View {
    fn show(&self, (attempts, errors): (u64, u64)) {
        let now = Instant::now();
        if now < self.window_start {
            self.bar.set_message("warming up");
            return;
        }
        let measured = now - self.window_start;
        // indicatif's own {per_sec} prints four decimals; whole calls per second read better.
        let rate = format!(
            "{:.0}/s {errors} errors",
            attempts as f64 / measured.as_secs_f64().max(1e-3)
        );
        match self.until {
            Until::Calls(_) => {
                // Message first: each setter may redraw, and a redraw should pair new figures.
                self.bar.set_message(rate);
                self.bar.set_position(attempts);
            }
            Until::Elapsed(measure) => {
                let measured = measured.min(measure);
                self.bar.set_message(format!(
                    "{:.1}/{:.0} s, {attempts} calls {rate}",
                    measured.as_secs_f64(),
                    measure.as_secs_f64()
                ));
                self.bar.set_position(millis(measured));
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        for template in [CALLS_TEMPLATE, ELAPSED_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
