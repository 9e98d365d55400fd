//! `sk-bench ceiling`: the same-run HTTP ceiling of a deployment — `GET /healthz` on the
//! gateway, which answers without any upstream — at the pace the other commands use, so their
//! figures can be quoted as ratios of what this machine's HTTP stack does at all.
//! Talks to: the gateway.

use std::process::ExitCode;
use std::sync::Arc;

use crate::bench_cli::load_client;
use crate::load::answer_of;
use crate::load_args::{Measured, TimedArgs};

/// Arguments of `ceiling`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    gateway: String,
    #[command(flatten)]
    timed: TimedArgs,
}

/// Runs the ceiling measurement.
pub fn main(args: Args) -> ExitCode {
    args.timed.main("ceiling", run(&args))
}

/// Loads `GET /healthz` for the run length.
///
/// # Errors
/// When the client cannot be built or the engine fails.
pub async fn run(args: &Args) -> anyhow::Result<Measured> {
    let http = load_client(args.timed.timeout_ms())?;
    let url: Arc<str> = format!("{}/healthz", args.gateway.trim_end_matches('/')).into();
    args.timed
        .measure("ceiling", move |_| {
            let (http, url) = (http.clone(), Arc::clone(&url));
            async move { answer_of(http.get(&*url).send().await).await.0 }
        })
        .await
}
