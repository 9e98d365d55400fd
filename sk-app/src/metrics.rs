//! sk-app's metrics (its rows of `METRICS.md`): purchase admissions by outcome and the state
//! of the breaker toward sk-core, with their help texts and the series that exist from
//! start-up.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use sk_common::breaker::Breaker;
use sk_common::shutdown::CancellationToken;

use crate::Error;

/// Counter by `outcome`: purchase attempts admitted by the cheap checks or refused, by reason.
pub const PURCHASE_ADMISSIONS: &str = "sk_app_purchase_admissions_total";
/// Gauge: the breaker toward sk-core (0 closed, 1 half-open, 2 open).
pub const CORE_BREAKER_STATE: &str = "sk_app_core_breaker_state";

/// How often the breaker gauge is refreshed: it must move soon after the breaker does, and be
/// set again before the recorder's idle timeout drops it.
const BREAKER_REFRESH: Duration = Duration::from_secs(1);

/// Every `outcome` of [`PURCHASE_ADMISSIONS`].
const ADMISSION_OUTCOMES: [&str; 10] = [
    "admitted",
    "blacklisted",
    "not_found",
    "not_started",
    "ended",
    "sold_out",
    "rate_limited",
    "in_flight",
    "try_again",
    "unavailable",
];

/// Describes sk-app's metrics and registers its fixed series at zero.
pub fn register() {
    sk_common::http::install_metrics_recorder();
    describe_counter!(
        PURCHASE_ADMISSIONS,
        "Purchase attempts by sk-app's admission checks: admitted (sent on to sk-core) or the reason refused (try_again = the activity's buy_rate draw, unavailable = activity state unreadable)"
    );
    describe_gauge!(
        CORE_BREAKER_STATE,
        "State of sk-app's circuit breaker toward sk-core (0 closed, 1 half-open, 2 open)"
    );
    for outcome in ADMISSION_OUTCOMES {
        counter!(PURCHASE_ADMISSIONS, "outcome" => outcome).increment(0);
    }
}

/// Counts one admission decision: admitted, or the check that refused.
pub fn count_admission<T>(decision: &Result<T, Error>) {
    let outcome = match decision {
        Ok(_) => "admitted",
        Err(Error::Blacklisted) => "blacklisted",
        Err(Error::ActivityNotFound) => "not_found",
        Err(Error::NotStarted) => "not_started",
        Err(Error::Ended) => "ended",
        Err(Error::SoldOut) => "sold_out",
        Err(Error::RateLimited { .. }) => "rate_limited",
        Err(Error::PurchaseInFlight) => "in_flight",
        Err(Error::NotAdmitted) => "try_again",
        Err(_) => "unavailable",
    };
    counter!(PURCHASE_ADMISSIONS, "outcome" => outcome).increment(1);
}

/// Mirrors `breaker`'s state into its gauge until `shutdown`.
///
/// # Errors
/// Never; the signature fits [`sk_common::shutdown::Tasks::spawn`].
pub async fn mirror_breaker(breaker: Breaker, shutdown: CancellationToken) -> crate::Result<()> {
    let state = gauge!(CORE_BREAKER_STATE);
    state.set(breaker.state().as_gauge());
    sk_common::shutdown::every(BREAKER_REFRESH, shutdown, || {
        state.set(breaker.state().as_gauge());
    })
    .await;
    Ok(())
}
