//! `sk-bench edge`: what the edge costs, in one run, each figure next to the same-run HTTP
//! ceiling of this stack (the gateway's own `/healthz`):
//!
//! 1. `healthz`: `GET /healthz` on the gateway — the ceiling.
//! 2. `buy direct`: purchases sent straight to sk-app (auth, checks, signed call to sk-core).
//! 3. `buy gateway`: the same purchases through the gateway; 3 ÷ 2 is the gateway's overhead.
//! 4. `sold-out`: purchases of a sold-out sale through the gateway, which sk-app must refuse
//!    from its local flag. sk-core's reserve counter (its `/metrics`) and Redis's command
//!    counter are read before and after, to show the rejections touched neither.
//!
//! Each purchase is made by a user of its own (tokens minted here with the deployment's JWT
//! key), so neither the per-user limit nor the per-user rate limit refuses; the gateway's
//! per-IP limit must exempt this machine (the script that runs this configures it).
//! Talks to: the gateway and sk-app over HTTP; sk-core's `/metrics`; Redis directly (the two
//! bench activities, `INFO stats`).

mod report;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use redis::aio::MultiplexedConnection;
use secrecy::SecretString;
use serde_json::json;
use sk_common::domain::{ActivityId, Role, UserId};
use sk_common::jwt::{JwtKeys, JwtSettings};

use crate::bench_activity::{self, BenchActivity};
use crate::bench_cli::{load_client, run_command};
use crate::load::{self, Answer, Outcome, Pace, Plan, Report, Until, answer_of};

use report::{Summary, Touches};

/// Arguments of `edge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    gateway: String,
    /// Base URL of one sk-app instance (for the direct purchases).
    #[arg(long, default_value = "http://127.0.0.1:8081", value_name = "URL")]
    app: String,
    /// Base URL of the sk-core behind that sk-app (its `/metrics` is read).
    #[arg(long, default_value = "http://127.0.0.1:8082", value_name = "URL")]
    core: String,
    /// Name of the environment variable holding the services' `[jwt] secret` (read from the
    /// environment so it never shows in `ps`).
    #[arg(long, default_value = "SK_JWT__SECRET", value_name = "NAME")]
    jwt_secret_env: String,
    /// The `[jwt] kid` of that secret.
    #[arg(long, default_value = "dev-1", value_name = "KID")]
    jwt_kid: String,
    /// The Redis the services use; the bench activities are created there.
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// The services' Redis key prefix (`[redis] key_prefix`).
    #[arg(long, default_value = "sk", value_name = "PREFIX")]
    key_prefix: String,
    /// Requests in flight at any time, in every phase.
    #[arg(long, default_value_t = 64, value_name = "N")]
    concurrency: usize,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    seconds: u64,
    /// Seconds of unmeasured load before each phase.
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    warmup_secs: u64,
    /// Distinct shoppers the purchases rotate through (one token each, minted up front).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    users: usize,
    /// Time allowed per request, in milliseconds; a slower one counts as failed.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,
    /// Threads generating load (1 leaves the other cores to the services; 0 = one per core).
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Also print the result as one JSON object on the last line.
    #[arg(long)]
    json: bool,
}

/// Runs the four phases; 0 when every phase measured something and no phase failed calls.
pub fn main(args: Args) -> ExitCode {
    run_command("edge", args.threads, run(args))
}

/// Sends one phase's requests.
#[derive(Debug, Clone)]
struct Shopper {
    http: reqwest::Client,
    tokens: Arc<[String]>,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let http = load_client(args.timeout_ms)?;
    let shopper = Shopper {
        http,
        tokens: mint_tokens(&args)?.into(),
    };
    let mut redis = bench_activity::connect(&args.redis_url).await?;
    let stocked = BenchActivity::create(&mut redis, &args.key_prefix).await?;
    let sold_out = BenchActivity::create_with_stock(&mut redis, &args.key_prefix, 1).await?;
    let result = phases(&args, &shopper, &mut redis, &stocked, sold_out.id()).await;
    stocked.remove(&mut redis).await?;
    sold_out.remove(&mut redis).await?;
    result
}

async fn phases(
    args: &Args,
    shopper: &Shopper,
    redis: &mut MultiplexedConnection,
    stocked: &BenchActivity,
    sold_out: ActivityId,
) -> anyhow::Result<()> {
    let gateway = args.gateway.trim_end_matches('/');
    let app = args.app.trim_end_matches('/');
    let buy = |base: &str, id: ActivityId| format!("{base}/api/v1/activities/{id}/purchase");
    // The one unit goes first: from then on sk-core has announced the sale sold out.
    shopper
        .probe(&buy(gateway, sold_out), Outcome::Ok)
        .await
        .context("buying the sold-out sale's only unit")?;
    shopper.probe(&buy(app, stocked.id()), Outcome::Ok).await?;
    shopper
        .probe(&buy(gateway, stocked.id()), Outcome::Ok)
        .await?;
    shopper
        .probe(&buy(gateway, sold_out), Outcome::SoldOut)
        .await?;

    println!(
        "gateway {gateway} · sk-app {app} · concurrency {}",
        args.concurrency
    );
    println!("{}", Report::LEVEL_HEADER);
    let healthz = shopper
        .measure(args, "healthz", format!("{gateway}/healthz"), None)
        .await?;
    let direct = shopper
        .measure(
            args,
            "buy direct",
            buy(app, stocked.id()),
            Some(Outcome::Ok),
        )
        .await?;
    let through = shopper
        .measure(
            args,
            "buy gateway",
            buy(gateway, stocked.id()),
            Some(Outcome::Ok),
        )
        .await?;
    // The relay ships the purchases above meanwhile; let it finish, or its Redis work would
    // be counted against the rejections.
    settle(redis, stocked).await?;
    let before = Touches::read(&shopper.http, &args.core, redis).await?;
    let rejected = shopper
        .measure(
            args,
            "sold-out",
            buy(gateway, sold_out),
            Some(Outcome::SoldOut),
        )
        .await?;
    let touched = Touches::read(&shopper.http, &args.core, redis)
        .await?
        .since(&before);
    let summary = Summary {
        healthz: &healthz,
        direct: &direct,
        through: &through,
        rejected: &rejected,
        touched,
    };
    summary.print();
    if args.json {
        println!("{}", summary.to_json());
    }
    Ok(())
}

/// Waits (at most a minute) until sk-core's relay has emptied the activity's outbox.
async fn settle(redis: &mut MultiplexedConnection, activity: &BenchActivity) -> anyhow::Result<()> {
    let outbox = activity.outbox_key();
    for _ in 0..600 {
        let backlog: u64 = redis::cmd("XLEN").arg(&outbox).query_async(redis).await?;
        if backlog == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("sk-core's relay did not empty the outbox within a minute; is Kafka reachable?")
}

impl Shopper {
    /// One closed-loop phase against `url`: a GET wanting 200 when `expect` is `None`, else
    /// purchases wanting the `expect`ed answer; the phase's figures are those of that answer.
    async fn measure(
        &self,
        args: &Args,
        label: &str,
        url: String,
        expect: Option<Outcome>,
    ) -> anyhow::Result<Report> {
        let plan = Plan {
            label: label.to_owned(),
            pace: Pace::Closed {
                concurrency: args.concurrency,
            },
            until: Until::Elapsed(Duration::from_secs(args.seconds)),
            warmup: Duration::from_secs(args.warmup_secs),
            progress: false,
        };
        let (shopper, url): (Self, Arc<str>) = (self.clone(), url.into());
        let report = load::run(&plan, move |call| {
            let (shopper, url) = (shopper.clone(), Arc::clone(&url));
            async move {
                match expect {
                    None => shopper.get(&url).await,
                    Some(_) => shopper.buy(&url, call).await,
                }
            }
        })
        .await?;
        let wanted = expect.unwrap_or(Outcome::Ok);
        println!("{}", report.level_row(label, wanted));
        if let Some(failure) = report.failure_example(wanted) {
            let (_, failed) = report.refused_and_failed(wanted);
            eprintln!("sk-bench edge: {failed} {label} requests failed, e.g. {failure}");
        }
        ensure!(
            report.count(wanted) > 0,
            "no {label} request got the expected answer"
        );
        Ok(report)
    }

    /// One purchase before the measurements, so a wrong URL or key fails with its reason.
    async fn probe(&self, url: &str, expect: Outcome) -> anyhow::Result<()> {
        let answer = self.buy(url, 0).await;
        if answer.outcome != expect {
            let why = answer.detail.map(|d| format!(" ({d})")).unwrap_or_default();
            bail!(
                "the first purchase at {url} answered `{}`, not `{}`{why}",
                answer.outcome.name(),
                expect.name()
            );
        }
        Ok(())
    }

    async fn get(&self, url: &str) -> Answer {
        answer_of(self.http.get(url).send().await).await.0
    }

    /// Buys one unit as shopper number `call` (rotating through the minted tokens).
    async fn buy(&self, url: &str, call: u64) -> Answer {
        let index = usize::try_from(call).unwrap_or(0) % self.tokens.len().max(1);
        let Some(token) = self.tokens.get(index) else {
            return Answer::failed(Outcome::Transport, "no tokens");
        };
        let sent = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&json!({"quantity": 1}))
            .send()
            .await;
        answer_of(sent).await.0
    }
}

/// One token per shopper `edge-0` … `edge-<users-1>`, minted with the deployment's key.
fn mint_tokens(args: &Args) -> anyhow::Result<Vec<String>> {
    let secret = std::env::var(&args.jwt_secret_env)
        .with_context(|| format!("set {} to the services' JWT secret", args.jwt_secret_env))?;
    let settings = JwtSettings {
        kid: args.jwt_kid.clone(),
        secret: SecretString::from(secret),
        previous_keys: Vec::new(),
        default_ttl_secs: 3_600,
        max_ttl_secs: 86_400,
    };
    let keys = JwtKeys::new(&settings).context("the JWT key was refused")?;
    (0..args.users.max(1))
        .map(|n| {
            let user = UserId::parse(&format!("edge-{n}")).context("user id")?;
            keys.mint(&user, Role::Shopper, None)
                .context("cannot mint a token")
        })
        .collect()
}
