//! `sk-bench browse`: what shoppers do before a sale opens — a mix of `GET /api/v1/time`
//! (countdowns), the activity list and an activity's detail — through the gateway. None of
//! these need a token.
//! Talks to: the gateway.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::bench_cli::load_client;
use crate::load::answer_of;
use crate::load_args::{Measured, TimedArgs};

/// Arguments of `browse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    gateway: String,
    /// The activity whose detail is read (default: the first of the list).
    #[arg(long, value_name = "ID")]
    activity: Option<u64>,
    /// Weight of `GET /api/v1/activities?limit=20` in the mix.
    #[arg(long, default_value_t = 1, value_name = "N")]
    list_weight: u64,
    /// Weight of `GET /api/v1/activities/{id}` in the mix.
    #[arg(long, default_value_t = 3, value_name = "N")]
    detail_weight: u64,
    /// Weight of `GET /api/v1/time` in the mix.
    #[arg(long, default_value_t = 1, value_name = "N")]
    time_weight: u64,
    #[command(flatten)]
    timed: TimedArgs,
}

/// Runs the browsing mix.
pub fn main(args: Args) -> ExitCode {
    args.timed.main("browse", run(&args))
}

/// Loads the mix for the run length; call `i` takes the `i mod total weight`-th path of the
/// weighted list, so the mix holds exactly over any whole number of rounds.
///
/// # Errors
/// When no activity can be found for the detail requests or the engine fails.
pub async fn run(args: &Args) -> anyhow::Result<Measured> {
    let http = load_client(args.timed.timeout_ms())?;
    let base = args.gateway.trim_end_matches('/');
    let activity = match args.activity {
        Some(id) => id,
        None => first_activity(&http, base).await?,
    };
    let mut paths: Vec<String> = Vec::new();
    let routes = [
        (args.list_weight, "/api/v1/activities?limit=20".to_owned()),
        (args.detail_weight, format!("/api/v1/activities/{activity}")),
        (args.time_weight, "/api/v1/time".to_owned()),
    ];
    for (weight, path) in routes {
        paths.extend(std::iter::repeat_n(
            format!("{base}{path}"),
            usize::try_from(weight)?,
        ));
    }
    anyhow::ensure!(!paths.is_empty(), "every weight is 0: nothing to browse");
    let paths: Arc<[String]> = paths.into();
    args.timed
        .measure("browse", move |call| {
            let (http, paths) = (http.clone(), Arc::clone(&paths));
            async move {
                let index = usize::try_from(call).unwrap_or_default() % paths.len();
                answer_of(http.get(&paths[index]).send().await).await.0
            }
        })
        .await
}

async fn first_activity(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let list: serde_json::Value = http
        .get(format!("{base}/api/v1/activities?limit=1"))
        .send()
        .await
        .context("the gateway cannot be reached")?
        .json()
        .await
        .context("the activity list is not JSON")?;
    list["items"][0]["id"]
        .as_u64()
        .context("no activity to browse: create one, or pass --activity")
}
