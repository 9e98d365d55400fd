//! The client of sk-core's internal API (see sk-core's `api` module): one keep-alive pool,
//! a timeout on every call, and every request signed with the shared internal secret, with a
//! nonce of its own (sk-core serves each nonce once, refusing replays).
//!
//! sk-core's 2xx bodies are returned to the caller; its 4xx answers become
//! [`Error::Refused`] (passed on to the shopper unchanged); no answer in time, a 5xx or an
//! answer we cannot read become [`Error::CoreUnavailable`].
//!
//! Every call passes a circuit breaker first: after `core.breaker.failure_threshold`
//! unavailable answers in a row it opens, and calls fail at once with
//! [`Error::CoreCircuitOpen`] (503 + `Retry-After`) without reaching sk-core, until probe calls
//! find sk-core answering again. Any 2xx or 4xx answer counts as a success.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use reqwest::{Method, Url};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sk_common::breaker::Breaker;
use sk_common::domain::{ActivityId, IdempotencyKey, OrderId, Quantity, UserId};
use sk_common::http::{ErrorBody, X_REQUEST_ID, current_request_id};
use sk_common::signing::{CallStamp, RequestSigner, SignedParts};
use sk_common::trace::TRACEPARENT;

use crate::error::retry_after_secs;
use crate::settings::CoreSettings;
use crate::{Error, Result};

/// How long an idle pooled connection is kept for the next call.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Calls sk-core. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct CoreClient {
    http: reqwest::Client,
    base: Url,
    signer: RequestSigner,
    breaker: Breaker,
}

/// The reserve call's body.
#[derive(Debug, Serialize)]
pub struct ReserveCall<'a> {
    /// The verified token's `sub`, never anything the shopper sent in a body.
    pub user_id: &'a UserId,
    /// Units wanted.
    pub quantity: Quantity,
    /// The shopper's `Idempotency-Key`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<&'a IdempotencyKey>,
}

impl CoreClient {
    /// A client for the sk-core at `settings.url`, signing with `secret`.
    ///
    /// # Errors
    /// [`Error::CoreUnavailable`] if the URL or the HTTP client cannot be built (settings are
    /// validated before, so this does not happen in practice).
    pub fn new(settings: &CoreSettings, secret: SecretString) -> Result<Self> {
        let base = Url::parse(&settings.url).map_err(|e| unavailable("core.url", e))?;
        let http = reqwest::Client::builder()
            // Internal traffic never goes through an HTTP proxy from the environment.
            .no_proxy()
            .timeout(settings.timeout())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| unavailable("http client", e))?;
        Ok(Self {
            http,
            base,
            signer: RequestSigner::new(secret),
            breaker: Breaker::new(settings.breaker),
        })
    }

    /// The breaker in front of sk-core (a handle sharing its state), for its gauge.
    #[must_use]
    pub fn breaker(&self) -> Breaker {
        self.breaker.clone()
    }

    /// Reserves for `call.user_id`; sk-core's reserve answer.
    ///
    /// # Errors
    /// [`Error::Refused`] with sk-core's 4xx, otherwise [`Error::CoreUnavailable`].
    pub async fn reserve<T: DeserializeOwned>(
        &self,
        activity: ActivityId,
        call: &ReserveCall<'_>,
    ) -> Result<T> {
        let path = format!("/internal/v1/activities/{activity}/reserve");
        self.post(&path, call).await
    }

    /// Pays `order` with its purchase `token`.
    ///
    /// # Errors
    /// As [`Self::reserve`].
    pub async fn pay<T: DeserializeOwned>(
        &self,
        order: OrderId,
        user: &UserId,
        token: &str,
    ) -> Result<T> {
        let path = format!("/internal/v1/orders/{order}/pay");
        let body = serde_json::json!({ "user_id": user, "token": token });
        self.post(&path, &body).await
    }

    /// Cancels `order`, returning its units.
    ///
    /// # Errors
    /// As [`Self::reserve`].
    pub async fn cancel<T: DeserializeOwned>(&self, order: OrderId, user: &UserId) -> Result<T> {
        let path = format!("/internal/v1/orders/{order}/cancel");
        let body = serde_json::json!({ "user_id": user });
        self.post(&path, &body).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| unavailable("encoding a call", e))?;
        self.send(Method::POST, self.url(path)?, body).await
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| unavailable("building a URL", e))
    }

    /// One call through the breaker: refused at once while it is open; a failed call counts
    /// against sk-core, any answer it gave counts for it.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
    ) -> Result<T> {
        let permit = self
            .breaker
            .try_acquire()
            .map_err(|open| Error::CoreCircuitOpen {
                retry_after_secs: retry_after_secs(open.retry_after),
            })?;
        let answer = self.call(method, url, body).await;
        match &answer {
            Err(Error::CoreUnavailable(_)) => permit.failure(),
            _ => permit.success(),
        }
        answer
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
    ) -> Result<T> {
        // A stamp of its own for every call (a retry is a new call): sk-core serves each nonce
        // once, so two calls alike in every other part within one millisecond both go through.
        let signature = self.signer.headers(
            SignedParts {
                method: method.as_str(),
                path_and_query: &path_and_query(&url),
                body: &body,
            },
            CallStamp::now(),
        );
        let mut request = self.http.request(method, url);
        for (name, value) in signature {
            request = request.header(name, value);
        }
        // Not signed: they only tie sk-core's spans and logs to this request.
        if let Some(parent) = sk_common::trace::current() {
            request = request.header(TRACEPARENT, parent.to_string());
        }
        if let Some(id) = current_request_id() {
            request = request.header(X_REQUEST_ID, id);
        }
        if !body.is_empty() {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| unavailable("call", e))?;
        read_answer(response).await
    }
}

/// What the signature covers: the path and query exactly as sent (percent-encoded).
fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

async fn read_answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let retry_after_secs = retry_after(response.headers());
    let bytes = response
        .bytes()
        .await
        .map_err(|e| unavailable("reading an answer", e))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| unavailable("decoding an answer", e));
    }
    // A 401 from sk-core means our signature was refused: a secret or clock mismatch between
    // the services, which the shopper can do nothing about (a `replayed_request` would mean a
    // call was delivered twice: each call we make has a nonce of its own).
    if status.is_client_error()
        && status != StatusCode::UNAUTHORIZED
        && let Ok(body) = serde_json::from_slice::<ErrorBody>(&bytes)
    {
        return Err(Error::Refused {
            status,
            body,
            retry_after_secs,
        });
    }
    Err(unavailable("answer", format!("status {status}")))
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Logs why sk-core could not be used (the shopper only learns "try again shortly").
fn unavailable(what: &str, cause: impl std::fmt::Display) -> Error {
    tracing::warn!(%cause, "sk-core {what} failed");
    Error::CoreUnavailable(format!("{what}: {cause}"))
}
