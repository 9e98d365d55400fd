//! How a call ended, read off the public HTTP contract: a status plus the `{"code"}` of the
//! error body. The load engine counts and times each outcome separately, because a fast
//! `sold_out` and a slow `ok` are different stories.

use reqwest::StatusCode;
use serde_json::Value;

/// How one call ended, by the public HTTP contract's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// 409 `sold_out`: the stock is gone.
    SoldOut,
    /// 409 `limit_exceeded`: the user already holds their limit.
    LimitExceeded,
    /// 429 `rate_limited`: the gateway's per-client limit.
    RateLimited,
    /// 429 `try_again`: admission shed the call.
    TryAgain,
    /// 503, whatever the code: a dependency is down or the service is draining.
    Unavailable,
    /// Any other 4xx: the call itself was wrong.
    Refused,
    /// Any other 5xx or an unexpected status.
    ServerError,
    /// No answer: connect error, timeout, unreadable body.
    Transport,
}

impl Outcome {
    /// Every outcome, in the order of tables and JSON.
    pub const ALL: [Self; 9] = [
        Self::Ok,
        Self::SoldOut,
        Self::LimitExceeded,
        Self::RateLimited,
        Self::TryAgain,
        Self::Unavailable,
        Self::Refused,
        Self::ServerError,
        Self::Transport,
    ];

    /// The snake_case name used in tables and JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::SoldOut => "sold_out",
            Self::LimitExceeded => "limit_exceeded",
            Self::RateLimited => "rate_limited",
            Self::TryAgain => "try_again",
            Self::Unavailable => "unavailable",
            Self::Refused => "refused",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
        }
    }

    /// Classifies an answer: 2xx → `Ok`; 409 `sold_out` → `SoldOut`; 409 `limit_exceeded` →
    /// `LimitExceeded`; 429 `rate_limited` → `RateLimited`; 429 `try_again` → `TryAgain`;
    /// 503 (any code) → `Unavailable`; other 4xx → `Refused`; anything else → `ServerError`.
    #[must_use]
    pub fn of_answer(status: StatusCode, code: &str) -> Self {
        match (status, code) {
            (s, _) if s.is_success() => Self::Ok,
            (StatusCode::CONFLICT, "sold_out") => Self::SoldOut,
            (StatusCode::CONFLICT, "limit_exceeded") => Self::LimitExceeded,
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited") => Self::RateLimited,
            (StatusCode::TOO_MANY_REQUESTS, "try_again") => Self::TryAgain,
            (StatusCode::SERVICE_UNAVAILABLE, _) => Self::Unavailable,
            (s, _) if s.is_client_error() => Self::Refused,
            _ => Self::ServerError,
        }
    }

    /// Whether this outcome means something went wrong (not an answer the contract expects
    /// under load), so its first description is worth showing.
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::Transport | Self::ServerError | Self::Refused | Self::Unavailable
        )
    }

    /// Whether this outcome is a refusal: the system answered with a 4xx, declining the call.
    /// The component benchmarks count refusals apart from failures (a refusal is a valid,
    /// cheaper answer; a failure is no answer or a broken one).
    #[must_use]
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Self::SoldOut
                | Self::LimitExceeded
                | Self::RateLimited
                | Self::TryAgain
                | Self::Refused
        )
    }

    /// Whether the progress bar counts this outcome as an error: the system, not the contract,
    /// failed the call.
    pub(super) fn is_error(self) -> bool {
        matches!(
            self,
            Self::Transport | Self::ServerError | Self::Unavailable
        )
    }

    /// The position of this outcome in [`Outcome::ALL`], for per-outcome arrays.
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// What one call returns to the engine: its outcome and, for failures, a description (the
/// engine keeps the first description per outcome to show under the table).
#[derive(Debug, Clone)]
pub struct Answer {
    /// How the call ended.
    pub outcome: Outcome,
    /// What went wrong, for failures.
    pub detail: Option<String>,
}

impl Answer {
    /// An answer with no description.
    #[must_use]
    pub fn of(outcome: Outcome) -> Self {
        Self {
            outcome,
            detail: None,
        }
    }

    /// An answer described by `detail`.
    #[must_use]
    pub fn failed(outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            outcome,
            detail: Some(detail.into()),
        }
    }
}

/// The longest body excerpt kept in a failure's description.
const DETAIL_BODY_CHARS: usize = 200;

/// Reads a sent call's response fully (so the connection returns to the keep-alive pool),
/// parses its body as JSON if it is JSON and classifies it by status and `code`. Returns the
/// answer and the parsed body (`None` when not JSON), so callers can read e.g. `order_id`.
/// A send or body-read error is [`Outcome::Transport`] with the error and its causes.
pub async fn answer_of(sent: Result<reqwest::Response, reqwest::Error>) -> (Answer, Option<Value>) {
    let response = match sent {
        Ok(response) => response,
        Err(e) => return (transport(e), None),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return (transport(e), None),
    };
    let json = serde_json::from_slice::<Value>(&body).ok();
    let code = json
        .as_ref()
        .and_then(|body| body.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let outcome = Outcome::of_answer(status, code);
    // Descriptions cost an allocation, so only the outcomes shown under the table get one.
    let answer = if outcome.is_failure() {
        Answer::failed(outcome, describe(status, &body))
    } else {
        Answer::of(outcome)
    };
    (answer, json)
}

fn transport(e: reqwest::Error) -> Answer {
    // anyhow's alternate form walks the source chain: reqwest's own text hides the cause.
    Answer::failed(Outcome::Transport, format!("{:#}", anyhow::Error::new(e)))
}

fn describe(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.trim().chars().take(DETAIL_BODY_CHARS).collect();
    format!("HTTP {status}: {excerpt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, code: &str) -> Outcome {
        Outcome::of_answer(StatusCode::from_u16(status).unwrap(), code)
    }

    #[test]
    fn answers_are_sorted_by_status_and_code() {
        assert_eq!(classify(200, ""), Outcome::Ok);
        assert_eq!(classify(201, "sold_out"), Outcome::Ok);
        assert_eq!(classify(409, "sold_out"), Outcome::SoldOut);
        assert_eq!(classify(409, "limit_exceeded"), Outcome::LimitExceeded);
        assert_eq!(classify(409, "conflict"), Outcome::Refused);
        assert_eq!(classify(429, "rate_limited"), Outcome::RateLimited);
        assert_eq!(classify(429, "try_again"), Outcome::TryAgain);
        assert_eq!(classify(429, ""), Outcome::Refused);
        assert_eq!(classify(503, "try_again"), Outcome::Unavailable);
        assert_eq!(classify(400, "invalid"), Outcome::Refused);
        assert_eq!(classify(404, ""), Outcome::Refused);
        assert_eq!(classify(500, "internal"), Outcome::ServerError);
        assert_eq!(classify(502, ""), Outcome::ServerError);
        assert_eq!(classify(302, ""), Outcome::ServerError);
    }

    #[test]
    fn all_lists_each_outcome_at_its_index() {
        for (i, outcome) in Outcome::ALL.iter().enumerate() {
            assert_eq!(outcome.index(), i);
        }
        let names: Vec<_> = Outcome::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(
            names,
            [
                "ok",
                "sold_out",
                "limit_exceeded",
                "rate_limited",
                "try_again",
                "unavailable",
                "refused",
                "server_error",
                "transport"
            ]
        );
    }

    #[test]
    fn refusals_are_the_4xx_outcomes() {
        let refusals: Vec<_> = Outcome::ALL
            .into_iter()
            .filter(|o| o.is_refusal())
            .map(Outcome::name)
            .collect();
        assert_eq!(
            refusals,
            [
                "sold_out",
                "limit_exceeded",
                "rate_limited",
                "try_again",
                "refused"
            ]
        );
    }

    #[test]
    fn a_description_keeps_status_and_a_bounded_excerpt() {
        let long = "x".repeat(1000);
        let detail = describe(StatusCode::INTERNAL_SERVER_ERROR, long.as_bytes());
        assert!(detail.starts_with("HTTP 500 Internal Server Error: x"));
        assert!(detail.len() < 300);
    }
}
