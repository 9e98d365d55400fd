//! The shared `main` of every service binary: arguments → settings (exit 64 when invalid) →
//! runtime → telemetry → listener → `run(settings, listener, shutdown)` → exit code.

use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::settings::{self, EnvSource, ServiceSettings};
use crate::{shutdown, telemetry};

// Every binary that links sk-common allocates through mimalloc: on the request paths glibc's
// malloc and free took about 15 % of the gateway's and sk-app's CPU (perf, sold-out load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for invalid configuration (`EX_USAGE`).
pub const EXIT_BAD_CONFIG: u8 = 64;
/// Exit code when the listen address cannot be bound (`EX_UNAVAILABLE`).
pub const EXIT_CANNOT_LISTEN: u8 = 69;

/// Command line shared by the services.
#[derive(Debug, Parser)]
#[command(version, about = None)]
pub struct ServiceArgs {
    /// TOML settings file: overrides the embedded defaults; `SK_…` variables override it.
    // Global, so a binary with subcommands takes it on either side of the subcommand.
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Load and validate the settings, then exit (0 when valid, 64 when not).
    #[arg(long)]
    pub check_config: bool,
}

/// Runs a service to completion and turns the outcome into the process exit code.
pub fn main<S, F, Fut, E>(service: &'static str, run: F) -> ExitCode
where
    S: ServiceSettings,
    F: FnOnce(S, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    main_with_args(service, ServiceArgs::parse(), run)
}

/// [`main`] with arguments the binary parsed itself (one that also has subcommands).
pub fn main_with_args<S, F, Fut, E>(service: &'static str, args: ServiceArgs, run: F) -> ExitCode
where
    S: ServiceSettings,
    F: FnOnce(S, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let settings = match load_settings::<S>(service, args.config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if args.check_config {
        eprintln!("{service}: settings are valid");
        return ExitCode::SUCCESS;
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(start(service, settings, run)),
        Err(e) => {
            eprintln!("{service}: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads `S` the way the service does (defaults → `config` file → `SK_` environment); when
/// that fails, prints why to stderr and returns exit code 64.
///
/// # Errors
/// The exit code to end the process with.
pub fn load_settings<S: ServiceSettings>(
    service: &str,
    config: Option<&Path>,
) -> Result<S, ExitCode> {
    settings::load::<S>(config, EnvSource::Process).map_err(|e| {
        eprintln!("{service}: {e}");
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

async fn start<S, F, Fut, E>(service: &'static str, settings: S, run: F) -> ExitCode
where
    S: ServiceSettings,
    F: FnOnce(S, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let _telemetry = match telemetry::init(service, settings.log()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{service}: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let addr = settings.http().listen;
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen");
            return ExitCode::from(EXIT_CANNOT_LISTEN);
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!(%addr, service, "listening"),
        Err(e) => tracing::warn!(error = %e, "listening on an unknown address"),
    }
    let shutdown = shutdown::on_signals();
    match run(settings, listener, shutdown).await {
        Ok(()) => {
            tracing::info!(service, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(service, error = %e, "stopped with an error");
            ExitCode::FAILURE
        }
    }
}
