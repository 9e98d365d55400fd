//! The admin API's own verdict for `verify`: `GET {admin}/admin/v1/activities/{id}/reconciliation`
//! (sk-admin compares Redis's sold units with the ledger; see `sk-admin/src/catalog/reconcile.rs`),
//! called with an admin bearer token through the gateway or on sk-admin directly.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;

use super::Target;

/// How long one admin call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// What the reconciliation endpoint reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// `redis_sold_units − ledger_units` (0 when they agree).
    pub difference: i64,
    /// Outbox entries not yet relayed.
    pub outbox_backlog: i64,
    /// sk-admin's own judgement: no backlog and no difference.
    pub consistent: bool,
}

impl Reconciliation {
    /// Whether sk-admin found Redis and the ledger in agreement, with nothing left to relay.
    pub const fn agrees(&self) -> bool {
        self.consistent && self.difference == 0 && self.outbox_backlog == 0
    }

    /// Reads the endpoint's JSON answer.
    ///
    /// # Errors
    /// When a field is missing or of the wrong type.
    pub fn from_json(body: &Value) -> anyhow::Result<Self> {
        let number = |field: &str| {
            body[field]
                .as_i64()
                .ok_or_else(|| anyhow!("the reconciliation has no number {field:?}: {body}"))
        };
        Ok(Self {
            difference: number("difference")?,
            outbox_backlog: number("outbox_backlog")?,
            consistent: body["consistent"].as_bool().ok_or_else(|| {
                anyhow!("the reconciliation has no boolean \"consistent\": {body}")
            })?,
        })
    }
}

/// Asks the admin API to reconcile `activity_id` now.
///
/// # Errors
/// When the call fails or answers anything but 200 with a reconciliation.
pub async fn reconcile(target: &Target, activity_id: u64) -> anyhow::Result<Reconciliation> {
    let url = format!(
        "{}/admin/v1/activities/{activity_id}/reconciliation",
        target.admin_url.trim_end_matches('/')
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(&url)
        .bearer_auth(&target.admin_token)
        .send()
        .await
        .with_context(|| format!("GET {url} failed"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("GET {url}: cannot read the answer"))?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {body}");
    }
    let json: Value = serde_json::from_str(&body)
        .with_context(|| format!("GET {url} answered something other than JSON: {body}"))?;
    Reconciliation::from_json(&json)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_answer_is_read_and_a_partial_one_refused() {
        let body = json!({"difference": 2, "outbox_backlog": 0, "consistent": false});
        assert_eq!(
            Reconciliation::from_json(&body).unwrap(),
            Reconciliation {
                difference: 2,
                outbox_backlog: 0,
                consistent: false
            }
        );
        assert!(Reconciliation::from_json(&json!({"difference": 0})).is_err());
    }
}
