//! The verdict of `verify`: the figures it saw, one result per invariant with its breaches,
//! printed for a person (at most [`SHOWN`] breaches per invariant) or as JSON for scripts.

use std::time::Duration;

use serde_json::{Value, json};

/// Breaches printed under one invariant before the rest are counted.
pub const SHOWN: usize = 10;

/// The result of one invariant of DESIGN §6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invariant {
    /// Its number in DESIGN §6.
    pub number: u8,
    /// A short name.
    pub name: &'static str,
    /// One message per breach (empty when it holds).
    pub breaches: Vec<String>,
}

impl Invariant {
    /// Whether it holds.
    pub fn passed(&self) -> bool {
        self.breaches.is_empty()
    }
}

/// What `verify` saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// The activity.
    pub activity_id: u64,
    /// Units on sale (catalog).
    pub total_stock: i64,
    /// Most units per shopper (catalog).
    pub per_user_limit: i64,
    /// Units left according to Redis.
    pub remaining: i64,
    /// Units taken according to Redis (`total − remaining`).
    pub redis_taken: i64,
    /// Orders in Redis's `orders` hash.
    pub redis_orders: usize,
    /// Order rows of the activity in MySQL.
    pub mysql_orders: usize,
    /// Units of reserved rows in MySQL.
    pub units_reserved: i64,
    /// Units of paid rows in MySQL.
    pub units_paid: i64,
    /// Units of cancelled rows in MySQL.
    pub units_cancelled: i64,
    /// Purchases the run was told succeeded (`None` without a run file).
    pub confirmed: Option<usize>,
    /// The pipeline drained before the checks.
    pub drained: bool,
    /// How long the wait for the drain took.
    pub waited: Duration,
    /// The admin reconciliation's difference (Redis sold units − ledger units).
    pub reconciliation_difference: i64,
    /// The admin reconciliation's outbox backlog.
    pub reconciliation_backlog: i64,
}

/// The end-to-end consistency verdict on one sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What was seen.
    pub figures: Figures,
    /// Invariants 1–5, in order.
    pub invariants: Vec<Invariant>,
}

impl Verdict {
    /// Whether every invariant holds.
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(Invariant::passed)
    }

    /// All breach messages, each prefixed with its invariant (`invariant 2: …`).
    pub fn breaches(&self) -> Vec<String> {
        self.invariants
            .iter()
            .flat_map(|inv| {
                inv.breaches
                    .iter()
                    .map(move |b| format!("invariant {}: {b}", inv.number))
            })
            .collect()
    }

    /// Prints the figures, one line per invariant with its breaches indented under it, and
    /// the verdict.
    pub fn print(&self) {
        for line in self.lines() {
            println!("{line}");
        }
    }

    /// What [`Self::print`] prints.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.figure_lines();
        for inv in &self.invariants {
            let mark = if inv.passed() { "PASS" } else { "FAIL" };
            lines.push(format!("{mark}  {} {}", inv.number, inv.name));
            lines.extend(
                inv.breaches
                    .iter()
                    .take(SHOWN)
                    .map(|b| format!("      {b}")),
            );
            if inv.breaches.len() > SHOWN {
                lines.push(format!("      … and {} more", inv.breaches.len() - SHOWN));
            }
        }
        let count = self.breaches().len();
        lines.push(if count == 0 {
            "verdict: PASS".to_owned()
        } else {
            format!("verdict: FAIL ({count} breaches)")
        });
        lines
    }

    fn figure_lines(&self) -> Vec<String> {
        let f = &self.figures;
        let confirmed = f.confirmed.map_or_else(
            || "no run file".to_owned(),
            |n| format!("{n} confirmed purchases"),
        );
        let drain = if f.drained { "drained" } else { "NOT drained" };
        vec![
            format!(
                "activity {}: total_stock {}, per_user_limit {}",
                f.activity_id, f.total_stock, f.per_user_limit
            ),
            format!(
                "redis:  remaining {}, units taken {}, {} orders",
                f.remaining, f.redis_taken, f.redis_orders
            ),
            format!(
                "mysql:  {} orders; units reserved {}, paid {}, cancelled {}",
                f.mysql_orders, f.units_reserved, f.units_paid, f.units_cancelled
            ),
            format!("run:    {confirmed}"),
            format!("drain:  {drain} after {:.1} s", f.waited.as_secs_f64()),
            format!(
                "admin reconciliation: difference {}, outbox backlog {}",
                f.reconciliation_difference, f.reconciliation_backlog
            ),
        ]
    }

    /// The verdict as JSON: `passed`, `breach_count`, `figures` and `invariants`
    /// (`number`, `name`, `passed`, `breaches`).
    pub fn to_json(&self) -> Value {
        let f = &self.figures;
        let invariants: Vec<Value> = self
            .invariants
            .iter()
            .map(|inv| {
                json!({
                    "number": inv.number,
                    "name": inv.name,
                    "passed": inv.passed(),
                    "breaches": inv.breaches,
                })
            })
            .collect();
        json!({
            "activity_id": f.activity_id,
            "passed": self.passed(),
            "breach_count": self.breaches().len(),
            "figures": {
                "total_stock": f.total_stock,
                "per_user_limit": f.per_user_limit,
                "remaining": f.remaining,
                "redis_taken_units": f.redis_taken,
                "redis_orders": f.redis_orders,
                "mysql_orders": f.mysql_orders,
                "mysql_units": {
                    "reserved": f.units_reserved,
                    "paid": f.units_paid,
                    "cancelled": f.units_cancelled,
                },
                "confirmed": f.confirmed,
                "drained": f.drained,
                "drain_wait_ms": u64::try_from(f.waited.as_millis()).unwrap_or(u64::MAX),
                "reconciliation": {
                    "difference": f.reconciliation_difference,
                    "outbox_backlog": f.reconciliation_backlog,
                },
            },
            "invariants": invariants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(breaches: usize) -> Verdict {
        Verdict {
            figures: Figures {
                activity_id: 7,
                total_stock: 20,
                per_user_limit: 1,
                remaining: 4,
                redis_taken: 16,
                redis_orders: 20,
                mysql_orders: 20,
                units_reserved: 8,
                units_paid: 8,
                units_cancelled: 4,
                confirmed: Some(20),
                drained: true,
                waited: Duration::from_millis(1500),
                reconciliation_difference: 0,
                reconciliation_backlog: 0,
            },
            invariants: vec![
                Invariant {
                    number: 1,
                    name: "not oversold",
                    breaches: Vec::new(),
                },
                Invariant {
                    number: 2,
                    name: "one order row per success",
                    breaches: (0..breaches)
                        .map(|i| format!("order o{i} is lost"))
                        .collect(),
                },
            ],
        }
    }

    #[test]
    fn a_clean_verdict_passes_and_says_so() {
        let clean = verdict(0);
        assert!(clean.passed());
        assert!(clean.breaches().is_empty());
        let lines = clean.lines();
        assert_eq!(lines.last().unwrap(), "verdict: PASS");
        assert!(lines.contains(&"PASS  2 one order row per success".to_owned()));
        assert_eq!(clean.to_json()["figures"]["drain_wait_ms"], 1500);
    }

    #[test]
    fn breaches_are_listed_under_their_invariant_and_cut_after_ten() {
        let failed = verdict(12);
        assert!(!failed.passed());
        assert_eq!(failed.breaches()[0], "invariant 2: order o0 is lost");
        let lines = failed.lines();
        assert!(lines.contains(&"FAIL  2 one order row per success".to_owned()));
        assert!(lines.contains(&"      order o9 is lost".to_owned()));
        assert!(!lines.contains(&"      order o10 is lost".to_owned()));
        assert!(lines.contains(&"      … and 2 more".to_owned()));
        assert_eq!(lines.last().unwrap(), "verdict: FAIL (12 breaches)");
        let json = failed.to_json();
        assert_eq!(
            (json["passed"].clone(), json["breach_count"].clone()),
            (false.into(), 12.into())
        );
        assert_eq!(
            json["invariants"][1]["breaches"].as_array().unwrap().len(),
            12
        );
    }
}
