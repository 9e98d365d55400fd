//! sk-bench: the SRE load tool and consistency verifier.
//!
//! The SRE's commands talk to a deployment as its clients do, through the gateway: `flash`
//! runs a whole sale (open or closed loop, see [`load`]), `verify` checks it end to end against
//! the invariants of DESIGN §6 (reading MySQL and Redis too), `soldout` and `browse` load the
//! rejection and browsing paths, and `ceiling` measures the same-run HTTP ceiling they are
//! quoted against (`scripts/bench-sale` runs them all for BENCHMARKS.md). `wait-ready` waits
//! until services answer `/readyz` (the demo and deployment scripts use it).
//!
//! The component benchmarks measure one part each against its own ceiling: `edge` the gateway
//! and sk-app against the gateway's `/healthz` (`scripts/bench-edge`); `reserve`,
//! `reserve-ceiling` and `redis-clients` sk-core's reserve path against redis-benchmark running
//! the same Lua script (`scripts/bench-reserve`); `drain` order-consumer against a raw batched
//! insert (`scripts/bench-drain`).
//! Talks to: the services' HTTP endpoints; `verify` also reads MySQL and Redis; the component
//! benchmarks Redis, Kafka and MySQL directly.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its report is its output"
)]

mod bench_activity;
mod bench_cli;
mod browse;
mod ceiling;
mod cpu_usage;
mod drain;
mod edge;
mod error;
pub mod flash;
mod insert_ceiling;
pub mod load;
mod load_args;
mod redis_clients;
mod reserve;
mod reserve_ceiling;
pub mod sale_api;
mod soldout;
pub mod verify;
mod wait_ready;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::{Error, Result};

/// Load-test and verify a flash-sale deployment.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole flash sale through the gateway: create it, mint a token per shopper, fire
    /// their purchases open loop (a rate) or closed loop (a concurrency), pay, cancel or
    /// abandon the orders, and sell the returned units in a second wave.
    Flash(flash::Args),
    /// Check a sale end to end against DESIGN §6 invariants 1–5, from the admin API and
    /// direct reads of MySQL and Redis, after the pipeline drained; exit 1 on any breach.
    Verify(verify::Args),
    /// Hammer a sold-out sale through the gateway (the rejection path).
    Soldout(soldout::Args),
    /// A browsing mix through the gateway: server time, the activity list, activity detail.
    Browse(browse::Args),
    /// The same-run HTTP ceiling: the gateway's own `/healthz`, to quote the others against.
    Ceiling(ceiling::Args),
    /// The same-run ledger ceiling: N order rows written straight into a fresh database as
    /// batched multi-row upserts, to quote a sale's drain against.
    InsertCeiling(insert_ceiling::Args),
    /// Wait until every given service answers 200 on `/readyz`, printing each one's state.
    WaitReady(wait_ready::Args),
    /// Measure how fast order-consumer drains a backlog of order events into MySQL, against
    /// a raw batched insert of the same rows (needs the local stack and a release build).
    Drain(drain::Args),
    /// Closed-loop signed reserve calls against a running sk-core, per concurrency: requests/s
    /// and latency percentiles (creates its own activity in sk-core's Redis).
    Reserve(reserve::Args),
    /// The same-run ceiling of the reserve path: redis-benchmark running sk-core's reserve
    /// Lua script by EVALSHA, plain and pipelined (needs redis-benchmark from redis-tools).
    ReserveCeiling(reserve_ceiling::Args),
    /// The reserve script through one shared multiplexed Redis connection (as sk-core does)
    /// against a bb8 connection pool, per concurrency: calls/s and latency percentiles.
    RedisClients(redis_clients::Args),
    /// The edge in one run: the gateway's `/healthz` ceiling, purchases direct to sk-app and
    /// through the gateway, and sold-out rejections through the gateway (with the sk-core and
    /// Redis work they caused).
    Edge(edge::Args),
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
        Command::Drain(args) => runtime.block_on(drain::run(args)),
        // These build their own runtime: the number of load threads is one of their flags.
        Command::Reserve(args) => reserve::main(args),
        Command::ReserveCeiling(args) => reserve_ceiling::main(args),
        Command::RedisClients(args) => redis_clients::main(args),
        Command::Edge(args) => edge::main(args),
        Command::Flash(args) => flash::main(args),
        Command::Verify(args) => verify::main(args),
        Command::Soldout(args) => soldout::main(args),
        Command::Browse(args) => browse::main(args),
        Command::Ceiling(args) => ceiling::main(args),
        Command::InsertCeiling(args) => insert_ceiling::main(args),
    }
}
