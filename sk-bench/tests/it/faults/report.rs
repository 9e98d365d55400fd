//! `reports/faults.md`, rewritten by every run of the suite: each fault, when it was injected,
//! how the sale stood then, the sale's outcome and `verify`'s verdict.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use sk_bench::verify::Verdict;
use sk_common::time::{now_ms, rfc3339_from_ms};

use super::fault::{Fault, Injection};
use super::{CONCURRENCY, SHOPPER_PATIENCE_SECS, SHOPPERS, STOCK};

/// Breaches listed per fault (a broken invariant may breach for thousands of orders).
const BREACHES_SHOWN: usize = 10;

/// One fault's line of the report.
#[derive(Debug)]
pub struct Row {
    fault: Fault,
    injection: Injection,
    /// Wave-1 purchase outcomes: `ok`, `sold_out` and everything else.
    bought: u64,
    sold_out: u64,
    other: u64,
    /// Every purchase confirmed to a shopper, over both waves.
    confirmed: u64,
    mysql_orders: usize,
    units_held: i64,
    breaches: Vec<String>,
    /// Payments and cancellations that never succeeded, and the first one's answer: an
    /// order a shopper could not settle breaks the contract even when verify passes.
    settle_failed: u64,
    first_settle_failure: Option<String>,
}

impl Row {
    /// The row of `fault`, from the flash report's JSON and verify's verdict.
    pub fn new(fault: Fault, injection: Injection, flash: &Value, verdict: &Verdict) -> Self {
        let outcomes = &flash["waves"][0]["outcomes"];
        let count = |name: &str| outcomes[name]["count"].as_u64().unwrap_or(0);
        let attempts = flash["waves"][0]["attempts"].as_u64().unwrap_or(0);
        let (bought, sold_out) = (count("ok"), count("sold_out"));
        let figures = &verdict.figures;
        Self {
            fault,
            injection,
            bought,
            sold_out,
            other: attempts.saturating_sub(bought + sold_out),
            confirmed: flash["counts"]["ok"].as_u64().unwrap_or(0),
            mysql_orders: figures.mysql_orders,
            units_held: figures.units_reserved + figures.units_paid,
            breaches: verdict.breaches(),
            settle_failed: flash["settlement"]["failed"].as_u64().unwrap_or(0),
            first_settle_failure: flash["settlement"]["first_failure"]
                .as_str()
                .map(str::to_owned),
        }
    }

    /// Whether verify passed and every shopper could settle their order.
    fn passed(&self) -> bool {
        self.breaches.is_empty() && self.settle_failed == 0
    }

    /// The fault and its breaches, when verify did not pass.
    pub fn failure(&self) -> Option<String> {
        if self.passed() {
            return None;
        }
        let mut lines: Vec<String> =
            self.breaches[..self.breaches.len().min(BREACHES_SHOWN)].to_vec();
        if self.settle_failed > 0 {
            lines.push(format!(
                "{} payments or cancellations never succeeded; the first: {}",
                self.settle_failed,
                self.first_settle_failure.as_deref().unwrap_or("?")
            ));
        }
        Some(format!(
            "{} ({} breaches, {} failed settlements):\n  {}",
            self.fault.name(),
            self.breaches.len(),
            self.settle_failed,
            lines.join("\n  ")
        ))
    }

    /// One line for the test's output.
    pub fn summary(&self) -> String {
        format!(
            "fault \"{}\" injected at {} ({} units sold): {} confirmed, {} MySQL orders, verify {}",
            self.fault.name(),
            self.injection.at,
            self.injection.progress.sold,
            self.confirmed,
            self.mysql_orders,
            self.verdict(),
        )
    }

    /// Verify's verdict and the settlements, in words (emphasis is the reader's).
    fn verdict(&self) -> String {
        match (self.breaches.len(), self.settle_failed) {
            (0, 0) => "passed".to_owned(),
            (0, failed) => format!("passed, but {failed} settlements FAILED"),
            (breaches, _) => format!("FAILED ({breaches} breaches)"),
        }
    }

    fn table_line(&self) -> String {
        let i = &self.injection;
        format!(
            "| {} | {} | {} | {} of {STOCK} units sold, {} order rows in MySQL | {:.1} s | {} / {} / {} | {} | {} ({} units held) | {} | **{}** |",
            self.fault.name(),
            i.victims.join(", "),
            i.at,
            i.progress.sold,
            i.progress.persisted,
            i.recovered_in.as_secs_f64(),
            self.bought,
            self.sold_out,
            self.other,
            self.confirmed,
            self.mysql_orders,
            self.units_held,
            self.settle_failed,
            self.verdict(),
        )
    }
}

/// A fault's sale that did not reach a verdict, and why.
#[derive(Debug)]
pub struct Aborted {
    fault: Fault,
    why: String,
}

impl Aborted {
    /// From the panic that ended the fault's sale.
    pub fn new(fault: Fault, panic: &(dyn std::any::Any + Send)) -> Self {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned());
        // The first line says what; the rest is the log tail the panic carried.
        let why = why.lines().take(3).collect::<Vec<_>>().join(" / ");
        Self { fault, why }
    }

    /// The fault and why it reached no verdict.
    pub fn describe(&self) -> String {
        format!("{}: no verdict: {}", self.fault.name(), self.why)
    }

    fn table_line(&self) -> String {
        format!(
            "| {} | | | | | | | | | **NO VERDICT**: {} |",
            self.fault.name(),
            self.why.replace('|', "\\|")
        )
    }
}

/// One fault's result: verify's verdict, or why the sale never got one.
pub type Outcome = Result<Row, Aborted>;

/// Writes the report to `reports/faults.md` at the workspace's root.
pub fn write(outcomes: &[Outcome]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/faults.md");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(&path, render(outcomes))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn render(outcomes: &[Outcome]) -> String {
    let mut md = format!(
        "# Fault injection\n\n\
         Written by the fault suite (`sk-bench/tests/it/faults.rs`, test \
         `faults::no_fault_oversells_loses_or_doubles_an_order`), which the README's test \
         command (`scripts/test`) runs, as does `scripts/test-faults` alone; this run \
         finished at {}.\n\n\
         **Platform.** The workspace's binaries as separate processes on loopback: a gateway, \
         2 sk-app, 2 sk-core, sk-admin and 2 order-consumer (debug builds). Under them, stores \
         of the suite's own, killed and restarted with their data: Redis with AOF \
         `appendfsync always`, MariaDB with `innodb_flush_log_at_trx_commit=1`, and tansu \
         0.6.0 on sqlite storage (orders topic with 4 partitions).\n\n\
         **Each sale.** {SHOPPERS} shoppers and {STOCK} units, one unit per shopper, bought \
         through the gateway, {CONCURRENCY} at a time (closed loop). 70 % of buyers pay, 10 % abandon \
         (their orders expire after 15 s), the rest cancel. A shopper whose answer was lost (no answer, \
         5xx, 429) retries with the same `Idempotency-Key` for up to {SHOPPER_PATIENCE_SECS} s, \
         as a careful app does.\n\n\
         **Each fault.** On a platform and stores of its own, started afresh. Injected once a quarter of the stock has sold (and, mid-drain, once \
         order rows are streaming into MySQL): `kill -9` of the victims, 2 s down, restart on \
         the same port and data, then every service ready again. After the sale, \
         `sk-bench verify` checks DESIGN §6 invariants 1–5: nothing oversold, every success \
         exactly one order row, no order nobody was told about, per-user limits held, the \
         ledger equal to Redis once drained, returned units returned once. And every payment \
         and cancellation a shopper asked for must have succeeded in the end.\n\n\
         | fault | killed | injected at (UTC) | sale then | back in | wave 1: ok / sold_out / other | confirmed | MySQL orders | failed settlements | verify |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        rfc3339_from_ms(now_ms())
    );
    for outcome in outcomes {
        md.push_str(&match outcome {
            Ok(row) => row.table_line(),
            Err(aborted) => aborted.table_line(),
        });
        md.push('\n');
    }
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok().and_then(Row::failure))
        .collect();
    if !failures.is_empty() {
        md.push_str("\n## Breaches\n\n");
        for failure in failures {
            let _ = writeln!(md, "```\n{failure}\n```\n");
        }
    }
    md
}
