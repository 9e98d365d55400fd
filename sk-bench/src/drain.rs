//! `sk-bench drain`: how fast order-consumer fills the ledger from a backlog, against the
//! fastest this machine's MySQL takes the same rows (DESIGN §8: at least 0.5×).
//!
//! Each run: a fresh topic and two fresh databases; 100,000 reserved events produced before
//! anything consumes them; the ceiling (the same rows as raw 500-row upserts into one
//! database); the broker's bare read rate (a consumer that writes nothing); then the real
//! order-consumer binary draining the topic into the other database, timed from its first row
//! to its last. Prints one line per run, then the medians (and `--json`).
//! Talks to: Kafka and MySQL directly, and starts the order-consumer binary.

pub(crate) mod ceiling;
mod consumer;
pub(crate) mod fixture;
mod read_rate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::{Error, Result};

/// Arguments of `drain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reserved events (= ledger rows) per run.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Runs; the report gives each and the medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Partitions of the bench topic (the local stack's `sk.orders` has 8).
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// Rows per transaction of the ceiling (order-consumer's default `batch_max`).
    #[arg(long, default_value_t = 500)]
    ceiling_rows_per_tx: usize,
    /// Kafka bootstrap brokers.
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    /// MySQL server URL, without a database.
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    mysql_url: String,
    /// The order-consumer binary (default: next to this one, e.g. target/release/).
    #[arg(long, value_name = "PATH")]
    consumer: Option<PathBuf>,
    /// Give up on a drain after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Also print the result as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct RunReport {
    /// Rows per second from the consumer's first row to its last.
    drain_per_sec: f64,
    /// Rows per second from the consumer's start (incl. start-up and group join) to its last row.
    end_to_end_per_sec: f64,
    /// Rows per second of the raw batched upsert.
    ceiling_per_sec: f64,
    /// Messages per second a bare consumer reads the same backlog at (no MySQL).
    read_per_sec: f64,
    /// Seconds from the consumer's start to its first row.
    first_row_secs: f64,
}

/// Runs the benchmark; 0 when every run drained completely.
pub async fn run(args: Args) -> ExitCode {
    match run_all(&args).await {
        Ok(reports) => {
            print_summary(&args, &reports);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sk-bench drain: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_all(args: &Args) -> Result<Vec<RunReport>> {
    let binary = consumer_binary(args)?;
    let mut reports = Vec::with_capacity(args.runs);
    for index in 1..=args.runs {
        let report = run_once(args, &binary).await?;
        println!(
            "run {index}: drain {:.0} rows/s (end to end {:.0}/s, first row after {:.2} s), \
             ceiling {:.0} rows/s, bare read {:.0} msg/s, ratio {:.2}",
            report.drain_per_sec,
            report.end_to_end_per_sec,
            report.first_row_secs,
            report.ceiling_per_sec,
            report.read_per_sec,
            report.drain_per_sec / report.ceiling_per_sec,
        );
        reports.push(report);
    }
    Ok(reports)
}

fn consumer_binary(args: &Args) -> Result<PathBuf> {
    let binary = match &args.consumer {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("order-consumer"),
    };
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(Error::Failed(format!(
            "no order-consumer binary at {} (cargo build --release, or --consumer PATH)",
            binary.display()
        )))
    }
}

async fn run_once(args: &Args, binary: &std::path::Path) -> Result<RunReport> {
    let kafka = fixture::kafka_settings(&args.brokers);
    fixture::create_topics(&kafka, args.partitions).await?;
    let events = fixture::reserved_events(args.events)?;
    fixture::produce(&kafka, &events).await?;

    let ceiling_db = fixture::unique("sk_bench_ceiling");
    let ceiling_settings = fixture::mysql_settings(&args.mysql_url, &ceiling_db);
    let ceiling_pool = fixture::migrated_database(&ceiling_settings).await?;
    let ceiling = ceiling::insert_all(&ceiling_pool, &events, args.ceiling_rows_per_tx).await;
    fixture::drop_database(ceiling_pool, &ceiling_db).await;
    let ceiling = ceiling?;

    let timeout = Duration::from_secs(args.timeout_secs);
    let read = read_rate::read_all(&kafka, args.events, timeout).await?;

    let drain_db = fixture::unique("sk_bench_drain");
    let drain_settings = fixture::mysql_settings(&args.mysql_url, &drain_db);
    let drain_pool = fixture::migrated_database(&drain_settings).await?;
    let drained = consumer::drain(
        binary,
        &kafka,
        &drain_settings,
        &drain_pool,
        args.events,
        timeout,
    )
    .await;
    fixture::drop_database(drain_pool, &drain_db).await;
    fixture::delete_topics(&kafka).await;
    let drained = drained?;

    #[allow(clippy::cast_precision_loss, reason = "row counts far below 2^52")]
    let per_sec = |rows: usize, took: Duration| rows as f64 / took.as_secs_f64().max(1e-9);
    Ok(RunReport {
        drain_per_sec: per_sec(
            args.events - drained.rows_at_first,
            drained.to_last_row.saturating_sub(drained.to_first_row),
        ),
        end_to_end_per_sec: per_sec(args.events, drained.to_last_row),
        ceiling_per_sec: per_sec(args.events, ceiling),
        read_per_sec: per_sec(args.events.saturating_sub(1), read),
        first_row_secs: drained.to_first_row.as_secs_f64(),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

fn print_summary(args: &Args, reports: &[RunReport]) {
    let pick = |f: fn(&RunReport) -> f64| median(reports.iter().map(f).collect());
    let drain = pick(|r| r.drain_per_sec);
    let end_to_end = pick(|r| r.end_to_end_per_sec);
    let ceiling = pick(|r| r.ceiling_per_sec);
    let first_row = pick(|r| r.first_row_secs);
    let read = pick(|r| r.read_per_sec);
    let ratio = drain / ceiling;
    println!(
        "median of {} runs × {} events: drain {drain:.0} rows/s, end to end {end_to_end:.0} rows/s, \
         ceiling {ceiling:.0} rows/s, bare read {read:.0} msg/s, ratio {ratio:.2} (budget ≥ 0.5)",
        reports.len(),
        args.events
    );
    if args.json {
        let runs: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "drain_per_sec": r.drain_per_sec,
                    "end_to_end_per_sec": r.end_to_end_per_sec,
                    "ceiling_per_sec": r.ceiling_per_sec,
                    "first_row_secs": r.first_row_secs,
                    "read_per_sec": r.read_per_sec,
                })
            })
            .collect();
        let summary = json!({
            "events": args.events,
            "partitions": args.partitions,
            "ceiling_rows_per_tx": args.ceiling_rows_per_tx,
            "runs": runs,
            "median": {
                "drain_per_sec": drain,
                "end_to_end_per_sec": end_to_end,
                "ceiling_per_sec": ceiling,
                "first_row_secs": first_row,
                "read_per_sec": read,
                "ratio": ratio,
            },
        });
        println!("{summary}");
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_value() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
        assert!(median(Vec::new()).is_nan());
    }
}
