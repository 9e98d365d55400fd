//! A signed client for sk-core's internal API, standing in for sk-app.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sk_common::signing::{RequestSigner, SIGNATURE_HEADER, SignedParts, TIMESTAMP_HEADER};
use sk_common::testing::TestServer;
use sk_common::time::now_ms;

use super::INTERNAL_SECRET;

/// How a test signs a request.
#[derive(Debug, Clone)]
pub enum Signature {
    /// Correctly, with the shared secret and the current time.
    Valid,
    /// With another secret.
    WrongSecret,
    /// Correctly, but with a timestamp this far in the past.
    AgedMs(u64),
    /// Not at all.
    None,
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
        let (secret, timestamp) = match signature {
            Signature::Valid => (INTERNAL_SECRET, now_ms()),
            Signature::WrongSecret => ("another-secret-another-secret-000000", now_ms()),
            Signature::AgedMs(age) => (INTERNAL_SECRET, now_ms() - age),
            Signature::None => ("", 0),
        };
        if !secret.is_empty() {
            let signer = RequestSigner::new(SecretString::from(secret));
            let parts = SignedParts {
                method: method.as_str(),
                path_and_query: path,
                body: &body,
            };
            request = request
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, signer.sign(parts, timestamp));
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
