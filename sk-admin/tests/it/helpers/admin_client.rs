//! sk-admin started in-process with a database and Redis prefix of its own, and a client for
//! its admin API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sk_common::testing::{TestServer, eventually, load_settings, unique};

use super::base_vars;

#[derive(Debug)]
pub struct Admin {
    pub server: TestServer,
    pub mysql_url: String,
    pub prefix: String,
    pub bearer: Option<String>,
}

impl Admin {
    /// Starts sk-admin and waits until its schema is migrated.
    pub async fn start() -> Self {
        Self::start_with(&unique("skt"), &[]).await
    }

    /// Starts sk-admin on Redis key prefix `prefix` with `extra` settings.
    pub async fn start_with(prefix: &str, extra: &[(&'static str, String)]) -> Self {
        let prefix = prefix.to_owned();
        let mut vars = base_vars().await;
        vars.push(("SK_REDIS__KEY_PREFIX", prefix.clone()));
        vars.extend(extra.iter().cloned());
        let mysql_url = vars
            .iter()
            .rev()
            .find(|(k, _)| *k == "SK_MYSQL__URL")
            .map(|(_, v)| v.clone())
            .unwrap();
        let settings: sk_admin::Settings = load_settings(&vars);
        let server = TestServer::spawn(settings, sk_admin::run).await;
        let admin = Self {
            server,
            mysql_url,
            prefix,
            bearer: Some(crate::helpers::admin_token()),
        };
        eventually("sk-admin to be ready", || async {
            admin.server.get_json("/readyz").await.0 == StatusCode::OK
        })
        .await;
        admin
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.server.client.request(method, self.server.url(path));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A product priced 12.50.
    pub async fn product(&self) -> u64 {
        let body = json!({"name": "Phone", "description": "A phone", "price_cents": 1250});
        let (status, product) = self.post("/admin/v1/products", body).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        product["id"].as_u64().unwrap()
    }

    /// Creates an activity from `body` and returns it (asserting 201).
    pub async fn activity(&self, body: Value) -> Value {
        let (status, activity) = self.post("/admin/v1/activities", body).await;
        assert_eq!(status, StatusCode::CREATED, "{activity}");
        activity
    }

    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(sk_common::testing::redis_url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

/// A valid activity body for `product_id` running from `start_ms` to `end_ms`.
pub fn activity_body(product_id: u64, start_ms: u64, end_ms: u64) -> Value {
    json!({
        "product_id": product_id,
        "name": "Launch sale",
        "start_at": sk_common::time::rfc3339_from_ms(start_ms),
        "end_at": sk_common::time::rfc3339_from_ms(end_ms),
        "total_stock": 100,
        "per_user_limit": 2,
    })
}
