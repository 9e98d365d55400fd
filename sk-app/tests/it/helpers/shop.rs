//! One test's shop: an sk-core of its own (Redis key prefix, Kafka topics, test secret) and an
//! sk-app pointing at it (or at a dead or hanging sk-core), with a typed method per endpoint.

use std::time::Duration;

use reqwest::RequestBuilder;
use serde_json::{Value, json};
use sk_common::domain::{ActivityId, Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::stock::Inventory;
use sk_common::testing::{
    TestServer, Vars, closed_port, kafka_brokers, load_settings, redis_url, unique, unique_topics,
};

use super::settings;

/// The secret sk-app and sk-core share in these tests (not the dev default: no warning).
pub const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

/// An answer: status, `Retry-After` if any, JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Shop {
    pub app: TestServer,
    pub core: Option<TestServer>,
    pub prefix: String,
    keys: JwtKeys,
}

impl Shop {
    /// sk-core and sk-app, both running, sharing the test secret.
    pub async fn start() -> Self {
        let prefix = unique("skt");
        let core = spawn_core(&prefix).await;
        let url = format!("http://{}", core.addr);
        let mut shop = Self::with_core_url(url, &[]).await;
        shop.prefix = prefix;
        shop.core = Some(core);
        shop
    }

    /// sk-app alone, its `[core] url` at `url`, with `extra` settings on top.
    pub async fn with_core_url(url: String, extra: &[(&'static str, String)]) -> Self {
        let mut vars = app_vars(url);
        vars.extend(extra.iter().cloned());
        let settings = settings(&vars);
        let keys = JwtKeys::new(&settings.jwt).unwrap();
        Self {
            app: TestServer::spawn(settings, sk_app::run).await,
            core: None,
            prefix: unique("skt"),
            keys,
        }
    }

    /// sk-app whose sk-core is a closed port.
    pub async fn core_down() -> Self {
        Self::with_core_url(format!("http://{}", closed_port()), &[]).await
    }

    /// A valid token for `user`, as sk-admin would mint it.
    pub fn token(&self, user: &str, role: Role) -> String {
        let user = UserId::parse(user).unwrap();
        self.keys.mint(&user, role, None).unwrap()
    }

    /// A shopper's token.
    pub fn shopper(&self, user: &str) -> String {
        self.token(user, Role::Shopper)
    }

    /// Opens a sale of `total_stock` units in this shop's Redis, one a second ago, for an hour.
    pub async fn open_activity(&self, id: u64, total_stock: u32, per_user_limit: u32) {
        let spec = sk_common::testing::open_activity(total_stock, per_user_limit);
        let client = redis::Client::open(redis_url()).unwrap();
        let mut redis = client.get_multiplexed_async_connection().await.unwrap();
        Inventory::new(&self.prefix)
            .put_activity(&mut redis, ActivityId::new(id).unwrap(), &spec)
            .await
            .unwrap();
    }

    /// POST /api/v1/activities/{id}/purchase with `body`.
    pub async fn purchase(
        &self,
        token: Option<&str>,
        activity: u64,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let path = format!("/api/v1/activities/{activity}/purchase");
        let mut request = self
            .request(reqwest::Method::POST, &path, token)
            .json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        answer(request).await
    }

    /// Buys `quantity` of `activity` as the holder of `token`.
    pub async fn buy(&self, token: &str, activity: u64, quantity: u32) -> Answer {
        let body = json!({ "quantity": quantity });
        self.purchase(Some(token), activity, body, None).await
    }

    /// GET /api/v1/orders/{order}.
    pub async fn order(&self, token: &str, order: &str) -> Answer {
        let path = format!("/api/v1/orders/{order}");
        answer(self.request(reqwest::Method::GET, &path, Some(token))).await
    }

    /// POST /api/v1/orders/{order}/pay.
    pub async fn pay(&self, token: &str, order: &str, purchase_token: &str) -> Answer {
        let path = format!("/api/v1/orders/{order}/pay");
        let request = self.request(reqwest::Method::POST, &path, Some(token));
        answer(request.json(&json!({ "token": purchase_token }))).await
    }

    /// POST /api/v1/orders/{order}/cancel.
    pub async fn cancel(&self, token: &str, order: &str) -> Answer {
        let path = format!("/api/v1/orders/{order}/cancel");
        answer(self.request(reqwest::Method::POST, &path, Some(token))).await
    }

    fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self
            .app
            .client
            .request(method, self.app.url(path))
            .timeout(Duration::from_secs(20));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

async fn answer(request: RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

fn app_vars(core_url: String) -> Vars {
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_CORE__URL", core_url),
        ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into()),
        ("SK_JWT__SECRET", JWT_SECRET.into()),
    ]
}

async fn spawn_core(prefix: &str) -> TestServer {
    let (orders, dlq) = unique_topics().await;
    let vars: Vars = vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_REDIS__KEY_PREFIX", prefix.to_owned()),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
        ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into()),
        (
            "SK_SECURITY__PURCHASE_TOKEN_SECRET",
            "test-purchase-token-secret-0123456789".into(),
        ),
    ];
    let settings: sk_core::Settings = load_settings(&vars);
    TestServer::spawn(settings, sk_core::run).await
}
