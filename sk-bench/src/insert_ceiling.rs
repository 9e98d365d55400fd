//! `sk-bench insert-ceiling`: the ledger's ceiling in the same run as a sale — the sale's
//! number of order rows written straight into a fresh, migrated database as 500-row
//! multi-row upserts (one transaction each, one connection), with none of the relay, Kafka or
//! the consumer in the way. `scripts/bench-sale` quotes the sale's drain against it.
//! Talks to: MySQL (a database of its own, dropped afterwards).

use std::process::ExitCode;

use serde_json::json;

use crate::bench_cli::run_command;
use crate::drain::{ceiling, fixture};
use crate::load_args::OutputArgs;

/// Arguments of `insert-ceiling`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Order rows to write.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    rows: usize,
    /// Rows per multi-row upsert (one transaction each).
    #[arg(long, default_value_t = 500, value_name = "N")]
    rows_per_tx: usize,
    /// The MySQL server (no database: a fresh one is made and dropped).
    #[arg(
        long,
        default_value = "mysql://root@127.0.0.1:3306",
        value_name = "URL"
    )]
    mysql_url: String,
    #[command(flatten)]
    output: OutputArgs,
}

/// Writes the rows and prints rows/s.
pub fn main(args: Args) -> ExitCode {
    run_command("insert-ceiling", 1, async move {
        let events = fixture::reserved_events(args.rows.max(1))?;
        let database = fixture::unique("sk_bench_ceiling");
        let pool = fixture::migrated_database(&fixture::mysql_settings(&args.mysql_url, &database))
            .await?;
        let took = ceiling::insert_all(&pool, &events, args.rows_per_tx).await;
        fixture::drop_database(pool, &database).await;
        let seconds = took?.as_secs_f64();
        let rows_per_sec = events.len() as f64 / seconds.max(1e-6);
        println!(
            "insert ceiling: {} rows in {seconds:.2} s, {rows_per_sec:.0} rows/s ({}-row upserts)",
            events.len(),
            args.rows_per_tx
        );
        let json = json!({"rows": events.len(), "seconds": seconds, "rows_per_sec": rows_per_sec});
        args.output.write(&json, &[])
    })
}
