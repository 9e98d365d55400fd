//! sk-bench: the SRE load tool and consistency verifier.
//!
//! Today it offers `wait-ready`, which the demo and deployment scripts use to wait until
//! services answer `/readyz`. The load and verification subcommands (`flash`, `soldout`,
//! `browse`, `verify`, `ceiling`) arrive with the sk-bench issue.
//! Talks to: the services' HTTP endpoints only.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its report is its output"
)]

mod wait_ready;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Load-test and verify a flash-sale deployment.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Wait until every given service answers 200 on `/readyz`, printing each one's state.
    WaitReady(wait_ready::Args),
}

/// Parses the command line, runs the subcommand and returns the exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sk-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::WaitReady(args) => runtime.block_on(wait_ready::run(args)),
    }
}
