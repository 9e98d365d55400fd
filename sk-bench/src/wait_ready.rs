//! `sk-bench wait-ready`: poll `/readyz` of several services until all answer 200.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// Arguments of `wait-ready`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services to wait for, as `name=http://host:port` or a bare base URL.
    #[arg(required = true, value_name = "SERVICE")]
    services: Vec<String>,
    /// Give up after this many seconds (exit status 1).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    timeout_secs: u64,
    /// Pause between polls, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    interval_ms: u64,
}

struct Target {
    name: String,
    readyz: String,
    last: String,
    ready: bool,
}

impl Target {
    fn parse(spec: &str) -> Self {
        let (name, base) = spec.split_once('=').unwrap_or((spec, spec));
        Self {
            name: name.to_owned(),
            readyz: format!("{}/readyz", base.trim_end_matches('/')),
            last: "no answer yet".to_owned(),
            ready: false,
        }
    }
}

/// Runs the command; 0 when every service became ready in time.
pub async fn run(args: Args) -> ExitCode {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("sk-bench: cannot build an HTTP client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut targets: Vec<Target> = args.services.iter().map(|s| Target::parse(s)).collect();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        for target in targets.iter_mut().filter(|t| !t.ready) {
            poll(&client, target).await;
            if target.ready {
                println!("ready      {:<16} {}", target.name, target.readyz);
            }
        }
        if targets.iter().all(|t| t.ready) {
            return ExitCode::SUCCESS;
        }
        if Instant::now() >= deadline {
            for target in targets.iter().filter(|t| !t.ready) {
                println!(
                    "NOT READY  {:<16} {}: {}",
                    target.name, target.readyz, target.last
                );
            }
            return ExitCode::FAILURE;
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
}

async fn poll(client: &reqwest::Client, target: &mut Target) {
    match client.get(&target.readyz).send().await {
        Ok(response) if response.status() == StatusCode::OK => target.ready = true,
        Ok(response) => {
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let reason = body["message"].as_str().unwrap_or("no reason given");
            target.last = format!("{status}: {reason}");
        }
        Err(e) => target.last = e.to_string(),
    }
}
