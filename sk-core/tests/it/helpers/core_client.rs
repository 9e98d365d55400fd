//! A signed client for sk-core's internal API, standing in for sk-app.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sk_common::signing::{CallStamp, NONCE_HEADER, Nonce, RequestSigner, SignedParts};
use sk_common::testing::TestServer;

use super::INTERNAL_SECRET;

/// How a test signs a request.
#[derive(Debug, Clone)]
pub enum Signature {
    /// Correctly: the shared secret, the current time and a fresh nonce.
    Valid,
    /// Correctly, with exactly this stamp: the same call sent again is a replay; calls alike
    /// but for their nonces are two genuine calls.
    Stamped(CallStamp),
    /// With another secret.
    WrongSecret,
    /// Correctly, but with a timestamp this far in the past.
    AgedMs(u64),
    /// Correctly, but sent without its nonce.
    NoNonce,
    /// Correctly, but sent with another well-formed nonce than the one signed.
    TamperedNonce(Nonce),
    /// Correctly, but with a nonce header that is not 32 lowercase hex digits.
    MalformedNonce,
    /// Not at all.
    None,
}

impl Signature {
    /// The signature headers of a request with `parts`.
    fn headers(&self, parts: SignedParts<'_>) -> Vec<(&'static str, String)> {
        let now = CallStamp::now();
        let (secret, stamp) = match self {
            Self::None => return Vec::new(),
            Self::Stamped(stamp) => (INTERNAL_SECRET, *stamp),
            Self::WrongSecret => ("another-secret-another-secret-000000", now),
            Self::AgedMs(age) => {
                let timestamp_ms = now.timestamp_ms - age;
                (
                    INTERNAL_SECRET,
                    CallStamp {
                        timestamp_ms,
                        ..now
                    },
                )
            }
            Self::Valid | Self::NoNonce | Self::TamperedNonce(_) | Self::MalformedNonce => {
                (INTERNAL_SECRET, now)
            }
        };
        let signer = RequestSigner::new(SecretString::from(secret));
        let mut headers = signer.headers(parts, stamp).to_vec();
        let nonce = headers.iter().position(|(name, _)| *name == NONCE_HEADER);
        match (self, nonce) {
            (Self::NoNonce, Some(at)) => {
                headers.remove(at);
            }
            (Self::TamperedNonce(other), Some(at)) => headers[at].1 = other.to_string(),
            (Self::MalformedNonce, Some(at)) => headers[at].1 = "not-a-nonce".to_owned(),
            _ => {}
        }
        headers
    }
}

/// One sk-core instance, started in-process.
#[derive(Debug)]
pub struct Core {
    pub server: TestServer,
}

impl Core {
    /// Sends `body` (raw bytes) to `path`, signed as asked; returns status and JSON body.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        signature: Signature,
    ) -> (StatusCode, Value) {
        let mut request = self
            .server
            .client
            .request(method.clone(), self.server.url(path))
            .header("content-type", "application/json");
        let parts = SignedParts {
            method: method.as_str(),
            path_and_query: path,
            body: &body,
        };
        for (name, value) in signature.headers(parts) {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A correctly signed JSON call.
    pub async fn call(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(body).unwrap()
        };
        self.send_raw(method, path, bytes, Signature::Valid).await
    }

    pub async fn reserve(&self, activity: u64, user: &str, quantity: u32) -> (StatusCode, Value) {
        let body = json!({"user_id": user, "quantity": quantity});
        let path = format!("/internal/v1/activities/{activity}/reserve");
        self.call(Method::POST, &path, &body).await
    }

    pub async fn reserve_once(&self, activity: u64, user: &str, key: &str) -> (StatusCode, Value) {
        let body = json!({"user_id": user, "quantity": 1, "idempotency_key": key});
        let path = format!("/internal/v1/activities/{activity}/reserve");
        self.call(Method::POST, &path, &body).await
    }

    pub async fn pay(&self, order: &str, user: &str, token: &str) -> (StatusCode, Value) {
        let body = json!({"user_id": user, "token": token});
        let path = format!("/internal/v1/orders/{order}/pay");
        self.call(Method::POST, &path, &body).await
    }

    pub async fn cancel(&self, order: &str, user: &str) -> (StatusCode, Value) {
        let path = format!("/internal/v1/orders/{order}/cancel");
        self.call(Method::POST, &path, &json!({"user_id": user}))
            .await
    }

    pub async fn order(&self, order: &str, user: &str) -> (StatusCode, Value) {
        let path = format!("/internal/v1/orders/{order}?user_id={user}");
        self.call(Method::GET, &path, &Value::Null).await
    }
}
