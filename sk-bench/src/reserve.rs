//! `sk-bench reserve`: sk-core's reserve endpoint under closed-loop load, one concurrency after
//! another, each call signed exactly as sk-app signs it and made for a user of its own (so the
//! per-user limit never refuses). Creates a fresh activity with stock to spare first, and
//! checks at the end that the stock went down by exactly the reservations it was told about.
//! Prints requests/s and latency percentiles per concurrency, the CPU each `--watch`ed process
//! used meanwhile (and `--json`).
//! Talks to: sk-core over HTTP (keep-alive pool); Redis directly, for the activity and the
//! outbox length (it waits for sk-core's relay to catch up before each concurrency, so one
//! level's Kafka backlog does not slow the next).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use redis::aio::MultiplexedConnection;
use reqwest::header::CONTENT_TYPE;
use secrecy::SecretString;
use serde_json::json;
use sk_common::domain::ActivityId;
use sk_common::signing::{CallStamp, RequestSigner, SignedParts};
use tokio::time::Instant;

use crate::bench_activity::{self, BenchActivity};
use crate::bench_cli::{load_client, parse_concurrency, run_command};
use crate::cpu_usage::{CoresUsed, Snapshot, Watched, parse_watched};
use crate::load::{self, Answer, Outcome, Pace, Plan, Report, Until, answer_of};

/// Arguments of `reserve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the running sk-core.
    #[arg(long, default_value = "http://127.0.0.1:8082", value_name = "URL")]
    url: String,
    /// Name of the environment variable holding sk-core's `[security] internal_secret`
    /// (the signing secret is read from the environment so it never shows in `ps`).
    #[arg(
        long,
        default_value = "SK_SECURITY__INTERNAL_SECRET",
        value_name = "NAME"
    )]
    secret_env: String,
    /// The Redis sk-core uses; the bench activity is created there.
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// sk-core's Redis key prefix (its `[redis] key_prefix`).
    #[arg(long, default_value = "sk", value_name = "PREFIX")]
    key_prefix: String,
    /// Calls in flight at any time, one measurement per value, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_concurrency,
          default_value = "1,16,64,256", value_name = "N,N,…")]
    concurrency: Vec<usize>,
    /// Measured seconds per concurrency.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    seconds: u64,
    /// Seconds of unmeasured load before each measurement (connections open, caches fill).
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    warmup_secs: u64,
    /// Before each concurrency, wait at most this many seconds for sk-core's outbox relay to
    /// empty the activity's outbox stream (0: do not wait).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    settle_secs: u64,
    /// Time allowed per call, in milliseconds; a call that takes longer counts as failed.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,
    /// Threads generating load: 1 keeps the generator on one core and leaves the rest to
    /// sk-core and Redis; 0 means one per core.
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// A process whose CPU use to report per concurrency, as `name=pid` (repeatable; e.g.
    /// `--watch sk-core=1234 --watch redis=567`). sk-bench itself, the rest of the machine and
    /// idle time are always reported. Linux only.
    #[arg(long = "watch", value_parser = parse_watched, value_name = "NAME=PID")]
    watched: Vec<Watched>,
    /// Also print the result as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark; 0 when every concurrency completed and the stock check holds.
pub fn main(args: Args) -> ExitCode {
    run_command("reserve", args.threads, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let secret = std::env::var(&args.secret_env).with_context(|| {
        format!(
            "set {} to sk-core's internal signing secret",
            args.secret_env
        )
    })?;
    let mut redis = bench_activity::connect(&args.redis_url).await?;
    let activity = BenchActivity::create(&mut redis, &args.key_prefix).await?;
    let client = ReserveClient::new(&args, SecretString::from(secret), activity.id())?;
    let before = activity.remaining(&mut redis).await?;
    client.probe().await?;
    println!("sk-core {} · activity {}", args.url, activity.id());
    println!("{}", Report::LEVEL_HEADER);
    let settle_time = Duration::from_secs(args.settle_secs);
    let mut rows = Vec::new();
    for &concurrency in &args.concurrency {
        settle(&mut redis, &activity, settle_time).await?;
        let (report, cpu) = measure(&args, &client, concurrency).await?;
        println!("{}", report.level_row("reserve", Outcome::Ok));
        let mut row = report.level_json(Outcome::Ok);
        if let Some(cpu) = cpu {
            println!("{:>21} cores used: {cpu}", "");
            row["cpu_cores"] = cpu.to_json();
        }
        rows.push(row);
    }
    // Leave the relay idle for whatever is measured next (the ceilings, in bench-reserve).
    settle(&mut redis, &activity, settle_time).await?;
    let after = activity.remaining(&mut redis).await?;
    check_stock(client.reserved.load(Ordering::Relaxed), before - after)?;
    if args.json {
        let report = json!({"activity_id": activity.id().get(), "levels": rows});
        println!("{report}");
    }
    Ok(())
}

/// One closed-loop measurement at `concurrency`, with the CPU each process used meanwhile.
async fn measure(
    args: &Args,
    client: &ReserveClient,
    concurrency: usize,
) -> anyhow::Result<(Report, Option<CoresUsed>)> {
    let plan = Plan {
        label: "reserve".to_owned(),
        pace: Pace::Closed { concurrency },
        until: Until::Elapsed(Duration::from_secs(args.seconds)),
        warmup: Duration::from_secs(args.warmup_secs),
        progress: false,
    };
    let client = client.clone();
    let start = Snapshot::take(&args.watched);
    let report = load::run(&plan, move |call| {
        let client = client.clone();
        async move { client.reserve(call).await }
    })
    .await?;
    let cpu = start.zip(Snapshot::take(&args.watched));
    let cpu = cpu.map(|(start, end)| end.cores_since(&start));
    if let Some(failure) = report.failure_example(Outcome::Ok) {
        let (_, failed) = report.refused_and_failed(Outcome::Ok);
        eprintln!(
            "sk-bench reserve: {failed} of the calls at concurrency {concurrency} failed, e.g. {failure}"
        );
    }
    ensure!(
        report.count(Outcome::Ok) > 0,
        "no reservation succeeded at concurrency {concurrency}"
    );
    Ok((report, cpu))
}

/// Waits until sk-core's relay has emptied the activity's outbox, or `patience` ran out.
async fn settle(
    redis: &mut MultiplexedConnection,
    activity: &BenchActivity,
    patience: Duration,
) -> anyhow::Result<()> {
    let outbox = activity.outbox_key();
    let deadline = Instant::now() + patience;
    loop {
        let backlog: u64 = redis::cmd("XLEN").arg(&outbox).query_async(redis).await?;
        if backlog == 0 || patience.is_zero() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            eprintln!(
                "sk-bench reserve: the outbox still holds {backlog} entries after {}s; is sk-core's relay reaching Kafka? Going on.",
                patience.as_secs()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every reservation sk-core confirmed (`confirmed`, the probe's and warm-ups' included) must
/// have taken exactly one unit of stock, no more: the benchmark is only valid if the endpoint
/// did the real work.
fn check_stock(confirmed: u64, stock_taken: i64) -> anyhow::Result<()> {
    if u64::try_from(stock_taken).ok() != Some(confirmed) {
        bail!(
            "sk-core confirmed {confirmed} reservations but the stock went down by {stock_taken}"
        );
    }
    println!("stock check: {confirmed} reservations confirmed, stock down by {stock_taken}");
    Ok(())
}

/// Signs and sends reserve calls for one activity, as sk-app does.
#[derive(Debug, Clone)]
struct ReserveClient {
    http: reqwest::Client,
    signer: RequestSigner,
    /// `/internal/v1/activities/{id}/reserve`: signed as is.
    path: Arc<str>,
    url: Arc<str>,
    /// Every reservation sk-core confirmed to any clone of this client. Counted here, not taken
    /// from the load engine's reports, because those leave out the warm-up calls, whose
    /// reservations took stock all the same.
    reserved: Arc<AtomicU64>,
}

impl ReserveClient {
    fn new(args: &Args, secret: SecretString, activity: ActivityId) -> anyhow::Result<Self> {
        let http = load_client(args.timeout_ms)?;
        let path = format!("/internal/v1/activities/{activity}/reserve");
        let url = format!("{}{path}", args.url.trim_end_matches('/'));
        Ok(Self {
            http,
            signer: RequestSigner::new(secret),
            path: path.into(),
            url: url.into(),
            reserved: Arc::default(),
        })
    }

    /// One call before the measurements, so a wrong URL or secret fails with its reason.
    async fn probe(&self) -> anyhow::Result<()> {
        let answer = self.reserve(u64::MAX).await;
        match (answer.outcome, answer.detail) {
            (Outcome::Ok, _) => Ok(()),
            (outcome, Some(why)) => {
                bail!("the first reserve call failed ({}): {why}", outcome.name())
            }
            (outcome, None) => bail!("sk-core refused the first reservation ({})", outcome.name()),
        }
    }

    /// Reserves one unit for the user `bench-<call>`: 2xx is a reservation, a 4xx (409 sold out
    /// or limit exceeded, …) a refusal, anything else a failure.
    async fn reserve(&self, call: u64) -> Answer {
        let body = json!({"user_id": format!("bench-{call}"), "quantity": 1}).to_string();
        let parts = SignedParts {
            method: "POST",
            path_and_query: &self.path,
            body: body.as_bytes(),
        };
        let mut request = self
            .http
            .post(&*self.url)
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in self.signer.headers(parts, CallStamp::now()) {
            request = request.header(name, value);
        }
        let sent = request.body(body).send().await;
        let (answer, _) = answer_of(sent).await;
        if answer.outcome == Outcome::Ok {
            self.reserved.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }
}
