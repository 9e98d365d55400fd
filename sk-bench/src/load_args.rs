//! The command-line flags every load command shares: how hard to load (open loop at a rate or
//! closed loop at a concurrency), how long each call may take, and where the figures go.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::bench_cli::{load_client, run_command};
use crate::cpu_usage::{CoresUsed, Snapshot, Watched, parse_watched};
use crate::load::{self, Answer, Pace, Plan, Report, Until, write_latency_svg};
use crate::sale_api::SaleApi;

/// How hard to load.
#[derive(Debug, Clone, clap::Args)]
pub struct PaceArgs {
    /// Open loop: calls started per second whatever the answers' speed. Each call's latency
    /// counts from its scheduled time, so a stalling server shows in every call that waited.
    /// Without `--rate` or `--concurrency`: flash runs open loop at 2,000/s, the timed commands
    /// closed loop ×64.
    #[arg(long, value_name = "PER_SEC", conflicts_with = "concurrency")]
    rate: Option<f64>,
    /// Closed loop instead: this many calls in flight, each started when the last answered.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Open loop: most calls in flight at once (further ones wait, and the wait counts in their
    /// latency).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_in_flight: usize,
    /// Time allowed per call, in milliseconds; a slower call counts as a transport error.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    timeout_ms: u64,
    /// Threads generating load (1 leaves the other cores to the services; 0 = one per core).
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
}

impl PaceArgs {
    /// The pace asked for, or `default` when neither `--rate` nor `--concurrency` was given.
    #[must_use]
    pub fn pace(&self, default: Pace) -> Pace {
        match (self.rate, self.concurrency) {
            (Some(per_sec), _) => Pace::Open {
                per_sec: per_sec.max(0.001),
                max_in_flight: self.max_in_flight.max(1),
            },
            (None, Some(concurrency)) => Pace::Closed {
                concurrency: concurrency.max(1),
            },
            (None, None) => default,
        }
    }

    /// The per-call timeout.
    #[must_use]
    pub const fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }

    /// Threads of the load generator's runtime.
    #[must_use]
    pub const fn threads(&self) -> usize {
        self.threads
    }
}

/// Where the figures go besides the table on stdout.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Also write the figures as JSON to this file (for CI and dashboards).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also draw the latency-by-percentile curves as an SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// No live progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
    /// A process whose CPU use during the measured load to report, as `name=pid`; repeat it
    /// (`--watch sk-core=1234 --watch redis=567`). sk-bench itself, the rest of the machine
    /// and idle are added, in cores.
    #[arg(long = "watch", value_parser = parse_watched, value_name = "NAME=PID")]
    pub watched: Vec<Watched>,
}

impl OutputArgs {
    /// Runs `load` and measures the cores each watched process used meanwhile (`None` when
    /// nothing is watched or `/proc` is missing). Prints the figures when there are any.
    pub async fn watching<T>(&self, load: impl Future<Output = T>) -> (T, Option<CoresUsed>) {
        let start = (!self.watched.is_empty())
            .then(|| Snapshot::take(&self.watched))
            .flatten();
        let outcome = load.await;
        let cpu = start
            .zip(Snapshot::take(&self.watched))
            .map(|(start, end)| end.cores_since(&start));
        if let Some(cpu) = &cpu {
            println!("  cpu cores: {cpu}");
        }
        (outcome, cpu)
    }

    /// Writes `json` to `--json` and the reports' latency plot to `--plot`, when asked.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write(&self, json: &serde_json::Value, reports: &[&Report]) -> anyhow::Result<()> {
        if let Some(path) = &self.json {
            let text = serde_json::to_string_pretty(json)?;
            std::fs::write(path, text + "\n")
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        }
        if let Some(path) = &self.plot {
            write_latency_svg(reports, path)?;
        }
        Ok(())
    }
}

/// Reads a secret (a token) from the environment variable `name`: never from the command
/// line, where `ps` would show it.
///
/// # Errors
/// When the variable is unset or empty.
pub fn secret_from_env(name: &str, what: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => anyhow::bail!("set {name} to {what}"),
    }
}

/// How long a timed run loads.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RunLength {
    /// Measured seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    seconds: u64,
    /// Seconds of unmeasured load first (connections open, caches fill).
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    warmup_secs: u64,
}

impl RunLength {
    /// The measured time.
    #[must_use]
    pub const fn measured(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }

    /// The warm-up.
    #[must_use]
    pub const fn warmup(&self) -> Duration {
        Duration::from_secs(self.warmup_secs)
    }
}

/// What the timed commands (`soldout`, `browse`, `ceiling`) share: how long, how hard, and
/// where the figures go.
#[derive(Debug, Clone, clap::Args)]
pub struct TimedArgs {
    #[command(flatten)]
    length: RunLength,
    /// How hard to load (default: closed loop ×64).
    #[command(flatten)]
    pace: PaceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl TimedArgs {
    /// The per-call timeout.
    #[must_use]
    pub const fn timeout_ms(&self) -> u64 {
        self.pace.timeout_ms()
    }

    /// The load plan of a run labelled `label`.
    #[must_use]
    fn plan(&self, label: &str) -> Plan {
        Plan {
            label: label.to_owned(),
            pace: self.pace.pace(DEFAULT_CLOSED),
            until: Until::Elapsed(self.length.measured()),
            warmup: self.length.warmup(),
            progress: !self.output.no_progress,
        }
    }

    /// Runs the measured load of the run labelled `label` (see [`load::run`]), with the CPU
    /// the `--watch`ed processes used meanwhile (set-up before it is not counted).
    ///
    /// # Errors
    /// When the engine fails.
    pub async fn measure<F, Fut>(&self, label: &str, call: F) -> anyhow::Result<Measured>
    where
        F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Answer> + Send + 'static,
    {
        let (report, cpu) = self
            .output
            .watching(load::run(&self.plan(label), call))
            .await;
        Ok((report?, cpu))
    }

    /// Runs the command `name`: `command` on a runtime of `--threads`; prints the table and
    /// writes `--json` and `--plot`.
    pub fn main(
        &self,
        name: &str,
        command: impl Future<Output = anyhow::Result<Measured>>,
    ) -> ExitCode {
        run_command(name, self.pace.threads(), async move {
            let (report, cpu) = command.await?;
            report.print();
            let mut json = report.to_json();
            json["cpu"] = cpu.map_or(serde_json::Value::Null, |cpu| cpu.to_json());
            self.output.write(&json, &[&report])
        })
    }
}

/// A timed run's figures and the cores each watched process used.
pub type Measured = (Report, Option<CoresUsed>);

/// The deployment a command creates sales in: its gateway, and an admin token.
#[derive(Debug, Clone, clap::Args)]
pub struct DeploymentArgs {
    /// Base URL of the gateway (the public and admin APIs).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    gateway: String,
    /// Name of the environment variable holding an admin JWT (`sk-admin token --role admin`).
    #[arg(long, default_value = "SK_ADMIN_TOKEN", value_name = "NAME")]
    admin_token_env: String,
}

impl DeploymentArgs {
    /// The admin token, from the environment.
    ///
    /// # Errors
    /// When the variable is unset or empty.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        secret_from_env(&self.admin_token_env, "an admin JWT")
    }

    /// A client of the deployment with `admin_token` and `timeout_ms` per call.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn api(&self, admin_token: String, timeout_ms: u64) -> anyhow::Result<SaleApi> {
        Ok(SaleApi::new(
            load_client(timeout_ms)?,
            &self.gateway,
            admin_token,
        ))
    }
}

/// Default pace of the timed commands: closed loop with 64 calls in flight, the concurrency
/// the ceiling is measured at.
pub const DEFAULT_CLOSED: Pace = Pace::Closed { concurrency: 64 };
