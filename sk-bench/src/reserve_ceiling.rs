//! `sk-bench reserve-ceiling`: the same-run ceiling of the reserve path. `redis-benchmark`
//! runs sk-core's own reserve Lua script by `EVALSHA` with the same seven keys and the same
//! arguments sk-core passes (a random order id and user per call, one unit, no idempotency
//! key), plain and pipelined: what Redis alone sustains, with no HTTP, signing or Rust client
//! in the way. Checks that the calls really reserved (the activity's stock must go down by
//! exactly the number of calls) so an error reply or a refusal cannot pass for speed.
//! Talks to: Redis directly, and starts `redis-benchmark` (Debian package redis-tools).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail, ensure};
use serde_json::json;

use crate::bench_activity::{self, BenchActivity};
use crate::bench_cli::{parse_concurrency, run_command};

/// `__rand_int__` draws from `random() % N`, and `random()` stops at 2^31 - 1.
const RANDOM_RANGE: u32 = 2_000_000_000;

/// Arguments of `reserve-ceiling`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Redis to measure, as `redis://host:port` (passed to redis-benchmark's `-u`).
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// Key prefix of the throw-away activity. Keep it apart from a running sk-core's prefix,
    /// or its relay would start shipping this activity's outbox to Kafka mid-measurement.
    #[arg(long, default_value = "sk-bench-ceiling", value_name = "PREFIX")]
    key_prefix: String,
    /// Script calls per measurement (redis-benchmark `-n`).
    #[arg(long, default_value_t = 200_000, value_name = "CALLS")]
    requests: u64,
    /// Parallel connections (redis-benchmark `-c`).
    #[arg(long, default_value_t = 50, value_name = "N")]
    clients: u32,
    /// Pipeline depths, one measurement each, comma-separated (redis-benchmark `-P`; 1 means
    /// no pipelining: each connection waits for an answer before sending the next call).
    #[arg(long, value_delimiter = ',', value_parser = parse_concurrency,
          default_value = "1,16", value_name = "N,N,…")]
    pipeline: Vec<usize>,
    /// The redis-benchmark program.
    #[arg(long, default_value = "redis-benchmark", value_name = "PATH")]
    redis_benchmark: PathBuf,
    /// Also print the result as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

/// Runs the measurements; 0 when each one ran and really reserved.
pub fn main(args: Args) -> ExitCode {
    run_command("reserve-ceiling", 1, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut redis = bench_activity::connect(&args.redis_url).await?;
    let sha = bench_activity::load_reserve_script(&mut redis).await?;
    println!(
        "redis-benchmark EVALSHA reserve ({sha}), -c {}",
        args.clients
    );
    println!("pipeline     calls/s   p50 ms   p99 ms   max ms");
    let mut results = Vec::new();
    for &depth in &args.pipeline {
        let activity = BenchActivity::create(&mut redis, &args.key_prefix).await?;
        let measured = measure(&args, &mut redis, &activity, &sha, depth).await;
        // The activity holds one order per call: drop it whatever happened.
        activity.remove(&mut redis).await?;
        let figures = measured?;
        println!(
            "{depth:>8} {:>11.0} {:>8.3} {:>8.3} {:>8.3}",
            figures.rps, figures.p50_ms, figures.p99_ms, figures.max_ms
        );
        results.push(json!({
            "pipeline": depth,
            "clients": args.clients,
            "requests": args.requests,
            "rate": figures.rps,
            "p50_ms": figures.p50_ms,
            "p99_ms": figures.p99_ms,
            "max_ms": figures.max_ms,
        }));
    }
    if args.json {
        println!("{}", json!({"sha": sha, "runs": results}));
    }
    Ok(())
}

/// One redis-benchmark run at pipeline `depth`, checked against the stock it took.
async fn measure(
    args: &Args,
    redis: &mut redis::aio::MultiplexedConnection,
    activity: &BenchActivity,
    sha: &str,
    depth: usize,
) -> anyhow::Result<Figures> {
    let before = activity.remaining(redis).await?;
    let command = benchmark_command(args, activity, sha, depth)?;
    let output = tokio::task::spawn_blocking(move || run_benchmark(command))
        .await
        .context("the redis-benchmark runner panicked")??;
    let taken = before - activity.remaining(redis).await?;
    ensure!(
        u64::try_from(taken).ok() == Some(args.requests),
        "redis-benchmark sent {} calls but the stock went down by {taken}: the script did not reserve on every call",
        args.requests
    );
    parse_csv(&output)
}

/// `redis-benchmark … EVALSHA <sha> 7 <keys> <order> <user> 1 '' <activity> ''`.
fn benchmark_command(
    args: &Args,
    activity: &BenchActivity,
    sha: &str,
    depth: usize,
) -> anyhow::Result<Command> {
    let mut command = Command::new(&args.redis_benchmark);
    command
        .args(["-u", &args.redis_url])
        .args(["-c", &args.clients.to_string()])
        .args(["-n", &args.requests.to_string()])
        .args(["-P", &depth.to_string()])
        .args(["-r", &RANDOM_RANGE.to_string()])
        .arg("--csv")
        .args(["EVALSHA", sha, "7"])
        .args(activity.script_keys())
        // ARGV as sk-core passes them, with distinct order ids and users per call. The stock
        // channel is '' (no publish): with this much stock the script never announces anyway.
        .args(["order-__rand_int__", "user-__rand_int__", "1", ""])
        .arg(activity.id().to_string())
        .arg("");
    Ok(command)
}

fn run_benchmark(mut command: Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {:?}", command.get_program()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "redis-benchmark failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        );
    }
    Ok(stdout)
}

/// What one redis-benchmark run reports.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Reads the result row of `--csv` output:
/// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`.
fn parse_csv(output: &str) -> anyhow::Result<Figures> {
    let row = output
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .context("redis-benchmark printed nothing")?;
    // The test name (first column) is the command line; count the figures from the end.
    let fields: Vec<f64> = row
        .rsplit(',')
        .take(7)
        .map(|field| field.trim().trim_matches('"').parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("unexpected redis-benchmark output {row:?}"))?;
    let [max_ms, p99_ms, _p95, p50_ms, _min, _avg, rps] = fields[..] else {
        bail!("unexpected redis-benchmark output {row:?}");
    };
    Ok(Figures {
        rps,
        p50_ms,
        p99_ms,
        max_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_result_row() {
        let output = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"EVALSHA abc 7 k1 k2 \",\"39682.54\",\"0.874\",\"0.184\",\"0.831\",\"1.199\",\"3.239\",\"7.183\"\n";
        let figures = parse_csv(output).unwrap();
        assert!((figures.rps - 39_682.54).abs() < 1e-6);
        assert!((figures.p50_ms - 0.831).abs() < 1e-9);
        assert!((figures.p99_ms - 3.239).abs() < 1e-9);
        assert!((figures.max_ms - 7.183).abs() < 1e-9);
    }

    #[test]
    fn refuses_a_row_without_figures() {
        assert!(parse_csv("Error from server: ERR boom\n").is_err());
        assert!(parse_csv("").is_err());
    }
}
