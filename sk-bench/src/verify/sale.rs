//! What a load run saw, as `verify` takes it: the activity and every purchase the shoppers were
//! told succeeded, read from a `flash` run's JSON report (`"activity_id"` and
//! `"confirmed": [{"order_id","user_id","quantity"}]`). Parsed by hand with `serde_json::Value`,
//! naming the entry at fault when the file is not what it should be.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use serde_json::{Value, json};

/// One purchase the run was told succeeded (200 with an order id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The order id from the 200 answer.
    pub order_id: String,
    /// The shopper (the JWT `sub` the purchase was made with).
    pub user_id: String,
    /// Units in the answer.
    pub quantity: u32,
}

impl Confirmed {
    /// Reads `{"order_id","user_id","quantity"}`.
    ///
    /// # Errors
    /// When a field is missing or of the wrong type.
    pub fn from_json(entry: &Value) -> anyhow::Result<Self> {
        let text = |field: &str| {
            entry[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("{field:?} is not a string"))
        };
        let quantity = entry["quantity"]
            .as_u64()
            .and_then(|q| u32::try_from(q).ok())
            .ok_or_else(|| anyhow!("\"quantity\" is not a count of units"))?;
        Ok(Self {
            order_id: text("order_id")?,
            user_id: text("user_id")?,
            quantity,
        })
    }

    /// The entry as a run report writes it.
    pub fn to_json(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "user_id": self.user_id,
            "quantity": self.quantity,
        })
    }
}

/// What the load run saw: the activity and every confirmed purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// The activity sold.
    pub activity_id: u64,
    /// Every confirmed purchase; `None` when verifying an activity without a run file (then
    /// the checks that need them are skipped).
    pub confirmed: Option<Vec<Confirmed>>,
}

impl Sale {
    /// Reads a flash run's JSON report: top-level `"activity_id"` (number) and
    /// `"confirmed": [{"order_id","user_id","quantity"}]`.
    ///
    /// # Errors
    /// When the file cannot be read or is not such a report.
    pub fn from_run_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the run file {}", path.display()))?;
        let report: Value = serde_json::from_str(&text)
            .with_context(|| format!("the run file {} is not JSON", path.display()))?;
        Self::from_json(&report)
            .with_context(|| format!("the run file {} is not a flash report", path.display()))
    }

    /// Reads a run report already parsed.
    ///
    /// # Errors
    /// When `"activity_id"` or `"confirmed"` is missing or malformed.
    pub fn from_json(report: &Value) -> anyhow::Result<Self> {
        let activity_id = report["activity_id"]
            .as_u64()
            .ok_or_else(|| anyhow!("\"activity_id\" is not a number"))?;
        let entries = report["confirmed"]
            .as_array()
            .ok_or_else(|| anyhow!("\"confirmed\" is not a list"))?;
        let confirmed = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                Confirmed::from_json(entry).with_context(|| format!("confirmed[{i}]: {entry}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            activity_id,
            confirmed: Some(confirmed),
        })
    }

    /// Just the activity, with no run to compare against.
    pub const fn activity(activity_id: u64) -> Self {
        Self {
            activity_id,
            confirmed: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_report_is_read_and_round_trips() {
        let bought = Confirmed {
            order_id: "0193e0c4-0000-7000-8000-000000000001".into(),
            user_id: "u-1".into(),
            quantity: 1,
        };
        let report = json!({"activity_id": 7, "other": "ignored", "confirmed": [bought.to_json()]});
        let sale = Sale::from_json(&report).unwrap();
        assert_eq!(sale.activity_id, 7);
        assert_eq!(sale.confirmed, Some(vec![bought]));
    }

    #[test]
    fn a_malformed_report_names_what_is_wrong() {
        for (report, says) in [
            (json!({"confirmed": []}), "activity_id"),
            (json!({"activity_id": 7}), "confirmed"),
            (
                json!({"activity_id": 7, "confirmed": [{"order_id": "x", "user_id": "u", "quantity": -1}]}),
                "confirmed[0]",
            ),
        ] {
            let error = format!("{:#}", Sale::from_json(&report).unwrap_err());
            assert!(error.contains(says), "{error}");
        }
    }
}
