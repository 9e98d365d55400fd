//! The `sk-admin` command line. Without a subcommand it is the service, with the options every
//! service has (`--config PATH`, `--check-config`). `sk-admin token --role admin --sub ops
//! [--ttl-secs N]` prints a JWT signed with the configured `[jwt]` key, the settings loaded
//! exactly as the service loads them (defaults → `--config` → `SK_` environment): stdout gets
//! the token alone, so `TOKEN=$(sk-admin token …)` works.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use sk_common::domain::{Role, UserId};
use sk_common::jwt::{JwtKeys, MintError};
use sk_common::service::{self, EXIT_BAD_CONFIG, ServiceArgs};

use crate::Settings;

const SERVICE: &str = "sk-admin";

/// The sk-admin service (admin API, sale scheduler) and its token tool.
#[derive(Debug, Parser)]
#[command(name = "sk-admin", version)]
pub struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a JWT signed with the configured key.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// What the token may do: shopper or admin.
    #[arg(long)]
    role: Role,
    /// Who the token speaks for (its `sub`).
    #[arg(long)]
    sub: UserId,
    /// Seconds it lives (default jwt.default_ttl_secs, at most jwt.max_ttl_secs).
    #[arg(long, value_name = "N")]
    ttl_secs: Option<u64>,
}

/// Parses the command line, does what it asks and returns the process exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => service::main_with_args(SERVICE, cli.service, crate::run),
        Some(Command::Token(args)) => {
            if cli.service.check_config {
                Cli::command()
                    .error(
                        ErrorKind::ArgumentConflict,
                        "--check-config does not go with a subcommand",
                    )
                    .exit();
            }
            print_token(&cli.service, &args)
        }
    }
}

fn print_token(service_args: &ServiceArgs, args: &TokenArgs) -> ExitCode {
    let settings: Settings = match service::load_settings(SERVICE, service_args.config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let token = match mint(&settings, args) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("{SERVICE}: {e}");
            return match e {
                crate::Error::Mint(MintError::InvalidTtl { .. }) => ExitCode::from(EXIT_BAD_CONFIG),
                _ => ExitCode::FAILURE,
            };
        }
    };
    match writeln!(std::io::stdout().lock(), "{token}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{SERVICE}: cannot write the token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn mint(settings: &Settings, args: &TokenArgs) -> crate::Result<String> {
    let keys = JwtKeys::new(&settings.jwt)?;
    let ttl = args.ttl_secs.map(Duration::from_secs);
    Ok(keys.mint(&args.sub, args.role, ttl)?)
}
