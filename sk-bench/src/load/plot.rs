//! The latency-by-percentile plot of one or more runs, as SVG. The x axis counts "nines"
//! (−log₁₀(1 − q): 90 %, 99 %, 99.9 % are evenly spaced), because the tail is where a stall or a
//! queue shows and a linear percentile axis squeezes it into the last pixel.

use std::path::Path;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use plotters::prelude::*;

use super::Report;
use super::report::ms;

/// The plot's size in pixels.
const SIZE: (u32, u32) = (1000, 600);
/// Samples per nine along each curve.
const SAMPLES_PER_NINE: u32 = 50;
/// The deepest percentile drawn: 99.999 %.
const MAX_NINES: f64 = 5.0;

/// One line of the plot: the latency (ms) at each number of nines.
struct Curve {
    name: String,
    points: Vec<(f64, f64)>,
}

/// Writes an SVG plot of latency (ms) by percentile of every outcome with calls, one line per
/// (report label, outcome), with a legend. If drawing text fails (plotters without a font
/// feature), the curves are drawn without axis labels or legend rather than not at all.
///
/// # Errors
/// When the file cannot be written.
pub fn write_latency_svg(reports: &[&Report], path: &Path) -> anyhow::Result<()> {
    let curves: Vec<Curve> = reports
        .iter()
        .flat_map(|report| {
            report.occurred().filter_map(|outcome| {
                let histogram = report.histogram(Some(outcome))?;
                Some(Curve {
                    name: format!("{} {}", report.label(), outcome.name()),
                    points: curve_points(histogram),
                })
            })
        })
        .collect();
    draw_labelled(&curves, path)
        .or_else(|_| draw_plain(&curves, path))
        .with_context(|| format!("cannot write the latency plot {}", path.display()))
}

/// Latency by nines, from the median's left (0 nines) to the deepest quantile the calls
/// resolve (one call in 10ⁿ needs n nines), ending on the maximum.
fn curve_points(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    let depth = nines_resolved(histogram.len());
    let samples = (depth * f64::from(SAMPLES_PER_NINE)).floor() as u32;
    let mut points: Vec<(f64, f64)> = (0..=samples)
        .map(|step| {
            let nines = f64::from(step) / f64::from(SAMPLES_PER_NINE);
            let quantile = 1.0 - 10f64.powf(-nines);
            (nines, ms(histogram.value_at_quantile(quantile)))
        })
        .collect();
    points.push((depth, ms(histogram.max())));
    points
}

/// How many nines `count` calls resolve, within the plot's range.
fn nines_resolved(count: u64) -> f64 {
    (count.max(1) as f64).log10().min(MAX_NINES)
}

/// The axes' ranges: whole nines, and latency up to a little above the slowest call.
fn ranges(curves: &[Curve]) -> (f64, f64) {
    let points = curves.iter().flat_map(|curve| &curve.points);
    let (nines, latency) = points.fold((0.0_f64, 0.0_f64), |(n, l), &(x, y)| (n.max(x), l.max(y)));
    (nines.ceil().max(1.0), (latency * 1.05).max(1.0))
}

/// A percentile tick: 0 nines → "0%", 2 → "99%", 3 → "99.9%".
fn percentile_label(nines: f64) -> String {
    let percent = 100.0 * (1.0 - 10f64.powf(-nines));
    let decimals = (nines.ceil() as usize).saturating_sub(2);
    format!("{percent:.decimals$}%")
}

fn draw_labelled(curves: &[Curve], path: &Path) -> anyhow::Result<()> {
    let (max_nines, max_ms) = ranges(curves);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("latency by percentile", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_nines, 0.0..max_ms)?;
    chart
        .configure_mesh()
        .x_labels(max_nines as usize + 1)
        .x_label_formatter(&|nines| percentile_label(*nines))
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .draw()?;
    for (at, curve) in curves.iter().enumerate() {
        let colour = Palette99::pick(at).stroke_width(2);
        chart
            .draw_series(LineSeries::new(curve.points.iter().copied(), colour))?
            .label(curve.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn draw_plain(curves: &[Curve], path: &Path) -> anyhow::Result<()> {
    let (max_nines, max_ms) = ranges(curves);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(15)
        .build_cartesian_2d(0.0..max_nines, 0.0..max_ms)?;
    for (at, curve) in curves.iter().enumerate() {
        let colour = Palette99::pick(at).stroke_width(2);
        chart.draw_series(LineSeries::new(curve.points.iter().copied(), colour))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::load::tally::Recorder;
    use crate::load::{Answer, Outcome, Pace, Plan, Until};

    #[test]
    fn the_plot_has_a_legend_entry_per_run_and_outcome() {
        let start = Instant::now();
        let recorder = Recorder::new(start).unwrap();
        for _ in 0..100 {
            recorder.record(Answer::of(Outcome::Ok), start);
            recorder.record(Answer::of(Outcome::SoldOut), start);
        }
        let plan = Plan {
            label: "wave 1".to_owned(),
            pace: Pace::Closed { concurrency: 1 },
            until: Until::Calls(200),
            warmup: Duration::ZERO,
            progress: false,
        };
        let report = recorder.tally().into_report(&plan).unwrap();
        let path = std::env::temp_dir().join(format!("sk-bench-plot-{}.svg", std::process::id()));
        write_latency_svg(&[&report], &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("wave 1 ok\n"));
        assert!(svg.contains("wave 1 sold_out\n"));
        assert!(svg.contains("99%"));
    }

    #[test]
    fn percentile_ticks_read_as_nines() {
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(4.0), "99.99%");
    }

    #[test]
    fn a_curve_reaches_the_resolved_depth_and_ends_on_the_maximum() {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for us in 1..=1000 {
            histogram.record(us).unwrap();
        }
        let points = curve_points(&histogram);
        let &(depth, last) = points.last().unwrap();
        assert!((depth - 3.0).abs() < 1e-9);
        assert!((last - 1.0).abs() < 0.01);
        assert!(points.windows(2).all(|pair| pair[0].1 <= pair[1].1));
    }
}
