//! `sk-bench ceiling`: the same-run HTTP ceiling of a deployment — `GET /healthz` on the
//! gateway, which answers without any upstream — at the pace the other commands use, so their
//! figures can be quoted as ratios of what this machine's HTTP stack does at all.
//! Talks to: the gateway.

use std::process::ExitCode;
use std::sync::Arc;

use crate::bench_cli::{load_client, run_command};
use crate::load::{self, Plan, Report, Until, answer_of};
use crate::load_args::{DEFAULT_CLOSED, OutputArgs, PaceArgs, RunLength};

/// Arguments of `ceiling`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    gateway: String,
    #[command(flatten)]
    length: RunLength,
    /// How hard to load (default: closed loop ×64).
    #[command(flatten)]
    pace: PaceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs the ceiling measurement.
pub fn main(args: Args) -> ExitCode {
    run_command("ceiling", args.pace.threads(), async move {
        let (report, cpu) = args.output.watching(run(&args)).await;
        let report = report?;
        report.print();
        let mut json = report.to_json();
        json["cpu"] = cpu.map_or(serde_json::Value::Null, |cpu| cpu.to_json());
        args.output.write(&json, &[&report])
    })
}

/// Loads `GET /healthz` for the run length.
///
/// # Errors
/// When the client cannot be built or the engine fails.
pub async fn run(args: &Args) -> anyhow::Result<Report> {
    let http = load_client(args.pace.timeout_ms())?;
    let url: Arc<str> = format!("{}/healthz", args.gateway.trim_end_matches('/')).into();
    let plan = Plan {
        label: "ceiling".into(),
        pace: args.pace.pace(DEFAULT_CLOSED),
        until: Until::Elapsed(args.length.measured()),
        warmup: args.length.warmup(),
        progress: !args.output.no_progress,
    };
    load::run(&plan, move |_| {
        let (http, url) = (http.clone(), Arc::clone(&url));
        async move { answer_of(http.get(&*url).send().await).await.0 }
    })
    .await
}
