//! `sk-bench redis-clients`: which Redis client should sk-core's hot path use? Runs sk-core's
//! reserve Lua script in a closed loop, at each concurrency, through
//!
//! - **multiplexed**: one `ConnectionManager` shared by every task, built by the same
//!   `sk_common::redis::RedisHandle` sk-core uses, so concurrent calls are pipelined on one
//!   socket; and
//! - **bb8 pool**: a `bb8-redis` pool of `min(concurrency, --pool-size)` connections, each
//!   checked out by one call at a time (no `PING` on checkout, which would double the round
//!   trips and make the pool look worse than it can be).
//!
//! Each measurement gets a fresh activity, checked afterwards (stock down by exactly the calls
//! that reserved) and then deleted. Prints calls/s and latency percentiles (and `--json`).
//! Talks to: Redis only.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use bb8_redis::RedisConnectionManager;
use bb8_redis::bb8::Pool;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::{RedisError, Script};
use secrecy::SecretString;
use serde_json::json;
use sk_common::domain::OrderId;
use sk_common::redis::{RedisHandle, RedisSettings};
use sk_common::stock::RESERVE_SOURCE;

use crate::bench_activity::{self, BenchActivity};
use crate::bench_cli::{parse_concurrency, run_command};
use crate::load::{self, Answer, Outcome, Pace, Plan, Report, Until};

/// sk-core's defaults (`[redis]` in sk-core/defaults.toml), so both clients wait as long.
const CONNECT_TIMEOUT_MS: u64 = 1000;
const RESPONSE_TIMEOUT_MS: u64 = 1000;

/// Arguments of `redis-clients`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Redis to measure.
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// Key prefix of the throw-away activities. Keep it apart from a running sk-core's prefix,
    /// or its relay would start shipping their outboxes to Kafka mid-measurement.
    #[arg(long, default_value = "sk-bench-clients", value_name = "PREFIX")]
    key_prefix: String,
    /// Calls in flight at any time, one measurement per value and client, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_concurrency,
          default_value = "16,64,256", value_name = "N,N,…")]
    concurrency: Vec<usize>,
    /// Measured seconds per concurrency and client.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    seconds: u64,
    /// Seconds of unmeasured load before each measurement (connections open, script loads).
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    warmup_secs: u64,
    /// Most connections in the bb8 pool; the pool has min(concurrency, this) connections.
    #[arg(long, default_value_t = 32, value_name = "CONNECTIONS")]
    pool_size: usize,
    /// Threads running the calls: 0 means one per core, as sk-core's runtime has; 1 means a
    /// single thread.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// Also print the result as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

/// Runs the comparison; 0 when every measurement completed and really reserved.
pub fn main(args: Args) -> ExitCode {
    run_command("redis-clients", args.threads, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut admin = bench_activity::connect(&args.redis_url).await?;
    println!(
        "reserve script through each Redis client, {}",
        args.redis_url
    );
    println!("{}", Report::LEVEL_HEADER);
    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        let pool_size = concurrency.min(args.pool_size).max(1);
        for client in [
            Client::multiplexed(&args)?,
            Client::pool(&args, pool_size).await?,
        ] {
            let report = measure(&args, &mut admin, &client, concurrency).await?;
            println!("{}", report.level_row(&client.label(), Outcome::Ok));
            let mut row = report.level_json(Outcome::Ok);
            row["client"] = json!(client.name());
            row["pool_size"] = json!(client.pool_size());
            results.push(row);
        }
    }
    if args.json {
        println!("{}", json!({"levels": results}));
    }
    Ok(())
}

/// One measurement on a fresh activity, which is deleted afterwards.
async fn measure(
    args: &Args,
    admin: &mut MultiplexedConnection,
    client: &Client,
    concurrency: usize,
) -> anyhow::Result<Report> {
    let activity = BenchActivity::create(admin, &args.key_prefix).await?;
    let call = ReserveCall::new(&activity)?;
    let before = activity.remaining(admin).await?;
    let plan = Plan {
        label: client.label(),
        pace: Pace::Closed { concurrency },
        until: Until::Elapsed(Duration::from_secs(args.seconds)),
        warmup: Duration::from_secs(args.warmup_secs),
        progress: false,
    };
    let (client_for_load, call_for_load) = (client.clone(), Arc::clone(&call));
    let report = load::run(&plan, move |n| {
        let (client, call) = (client_for_load.clone(), Arc::clone(&call_for_load));
        async move { client.reserve(&call, n).await }
    })
    .await;
    let taken = before - activity.remaining(admin).await?;
    activity.remove(admin).await?;
    let report = report?;
    if let Some(failure) = report.failure_example(Outcome::Ok) {
        let (_, failed) = report.refused_and_failed(Outcome::Ok);
        eprintln!(
            "sk-bench redis-clients: {failed} {} calls failed, e.g. {failure}",
            client.label()
        );
    }
    let reserved = call.reserved.load(Ordering::Relaxed);
    ensure!(
        u64::try_from(taken).ok() == Some(reserved),
        "{reserved} reservations succeeded but the stock went down by {taken}"
    );
    Ok(report)
}

/// The two ways to reach Redis being compared.
#[derive(Clone)]
enum Client {
    /// One multiplexed, self-reconnecting connection shared by all (what sk-core uses).
    Multiplexed(ConnectionManager),
    /// A pool; each call checks a connection out and has it to itself.
    Pool(Pool<RedisConnectionManager>, usize),
}

impl Client {
    fn multiplexed(args: &Args) -> anyhow::Result<Self> {
        let settings = RedisSettings {
            url: SecretString::from(args.redis_url.clone()),
            key_prefix: args.key_prefix.clone(),
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
            response_timeout_ms: RESPONSE_TIMEOUT_MS,
        };
        Ok(Self::Multiplexed(RedisHandle::new(&settings)?.connection()))
    }

    async fn pool(args: &Args, size: usize) -> anyhow::Result<Self> {
        let manager = RedisConnectionManager::new(args.redis_url.as_str())?;
        let max_size = u32::try_from(size).context("pool size too large")?;
        let pool = Pool::builder()
            .max_size(max_size)
            // Open every connection up front, so the pool is not still growing while measured.
            .min_idle(Some(max_size))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
            .build(manager)
            .await?;
        Ok(Self::Pool(pool, size))
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Multiplexed(_) => "multiplexed",
            Self::Pool(..) => "bb8",
        }
    }

    fn pool_size(&self) -> Option<usize> {
        match self {
            Self::Multiplexed(_) => None,
            Self::Pool(_, size) => Some(*size),
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Multiplexed(_) => "multiplexed".to_owned(),
            Self::Pool(_, size) => format!("bb8 pool({size})"),
        }
    }

    async fn reserve(&self, call: &ReserveCall, n: u64) -> Answer {
        match self {
            // A clone per call, as sk-core's handlers do: clones share the one socket.
            Self::Multiplexed(shared) => call.invoke(&mut shared.clone(), n).await,
            Self::Pool(pool, _) => match pool.get().await {
                Ok(mut conn) => call.invoke(&mut *conn, n).await,
                // A checkout timeout: the call never reached Redis.
                Err(e) => Answer::failed(Outcome::Transport, format!("no pooled connection: {e}")),
            },
        }
    }
}

/// The reserve script with one activity's keys: sk-core's arguments but a user per call.
struct ReserveCall {
    script: Script,
    keys: [String; 7],
    activity: u64,
    /// Every reservation made, for the stock check. Counted here, not taken from the load
    /// engine's report, because that leaves out the warm-up calls, whose reservations took
    /// stock all the same.
    reserved: AtomicU64,
}

impl ReserveCall {
    fn new(activity: &BenchActivity) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            script: Script::new(RESERVE_SOURCE),
            keys: activity.script_keys(),
            activity: activity.id().get(),
            reserved: AtomicU64::new(0),
        }))
    }

    /// `EVALSHA` (loading the script on `NOSCRIPT`) for the user `bench-<n>`: `ok` is a
    /// reservation, any other code a refusal, an error a failure.
    async fn invoke<C: ConnectionLike + Send>(&self, conn: &mut C, n: u64) -> Answer {
        let answer: redis::RedisResult<Vec<String>> = self
            .script
            .key(&self.keys)
            .arg(OrderId::generate().to_string())
            .arg(format!("bench-{n}"))
            .arg(1)
            .arg("")
            .arg(self.activity)
            .arg("")
            .invoke_async(conn)
            .await;
        match answer {
            Ok(reply) if reply.first().is_some_and(|status| status == "ok") => {
                self.reserved.fetch_add(1, Ordering::Relaxed);
                Answer::of(Outcome::Ok)
            }
            Ok(_) => Answer::of(Outcome::Refused),
            Err(e) => redis_failure(&e),
        }
    }
}

/// A Redis error as the load engine counts it: no answer (connection lost, refused, timed out)
/// or an error Redis itself answered (a script error, `NOSCRIPT` twice, …).
fn redis_failure(e: &RedisError) -> Answer {
    let outcome = if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
        Outcome::Transport
    } else {
        Outcome::ServerError
    };
    Answer::failed(outcome, e.to_string())
}
