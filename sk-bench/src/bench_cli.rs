//! What the reserve benchmarks share at the command-line edge: their own Tokio runtime (so the
//! number of load-generating threads is a flag, not whatever `main` picked), turning an error
//! chain into a message and an exit code, and the `--concurrency` list parser.

use std::future::Future;
use std::process::ExitCode;

/// Runs `command` on a runtime with `threads` workers (0 = one per core, like the services;
/// 1 = a current-thread runtime, which keeps the load generator on one core) and reports its
/// error, if any, as `sk-bench <name>: …` with every cause.
pub fn run_command<F>(name: &str, threads: usize, command: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let runtime = match threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        0 => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    };
    let result = match runtime {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => Err(anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sk-bench {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The load generators' HTTP client: keep-alive pool, no proxy, no Nagle delay, and
/// `timeout_ms` per call (a slower call counts as failed).
///
/// # Errors
/// When the client cannot be built.
pub fn load_client(timeout_ms: u64) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot build the HTTP client"))
}

/// Parses a comma-separated list of positive concurrencies (`1,16,64`).
///
/// # Errors
/// When an item is not a positive integer.
pub fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a positive integer")),
    }
}
