//! One test's shop: an sk-core of its own (Redis key prefix, Kafka topics, test secret) behind
//! a forwarder that counts the calls reaching it, and one or more sk-app instances on the same
//! Redis key prefix pointing at it (or at a dead or hanging sk-core), with a typed method per
//! endpoint.
//!
//! More instances of the same shop: [`Shop::spawn_app`] (same prefix, sk-core and settings).

use std::time::Duration;

use reqwest::RequestBuilder;
use serde_json::{Value, json};
use sk_common::domain::{ActivityId, Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::stock::{ActivitySpec, Inventory};
use sk_common::testing::{
    TestServer, Vars, closed_port, core_vars, eventually, load_settings, redis_url, unique,
};

use super::CoreCounter;
use super::settings;

/// The secret sk-app and sk-core share in these tests (not the dev default: no warning).
pub const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

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
    /// Counts the calls that reach sk-core (with [`Shop::start`]).
    pub counter: Option<CoreCounter>,
    pub prefix: String,
    vars: Vars,
    keys: JwtKeys,
}

impl Shop {
    /// sk-core and sk-app, both running, sharing the test secret.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`Shop::start`], with `extra` sk-app settings.
    pub async fn start_with(extra: &[(&'static str, String)]) -> Self {
        let prefix = unique("skt");
        let core = spawn_core(&prefix).await;
        let counter = CoreCounter::start(core.addr).await;
        let url = format!("http://{}", counter.addr());
        let mut shop = Self::launch(prefix, url, extra).await;
        shop.core = Some(core);
        shop.counter = Some(counter);
        shop
    }

    /// sk-app alone, its `[core] url` at `url`, with `extra` settings on top.
    pub async fn with_core_url(url: String, extra: &[(&'static str, String)]) -> Self {
        Self::launch(unique("skt"), url, extra).await
    }

    async fn launch(prefix: String, core_url: String, extra: &[(&'static str, String)]) -> Self {
        let mut vars = app_vars(&prefix, core_url);
        vars.extend(extra.iter().cloned());
        let keys = JwtKeys::new(&settings(&vars).jwt).unwrap();
        let app = spawn_app(&vars).await;
        Self {
            app,
            core: None,
            counter: None,
            prefix,
            vars,
            keys,
        }
    }

    /// Another sk-app instance of this shop (same Redis prefix, sk-core and settings), ready.
    pub async fn spawn_app(&self) -> TestServer {
        spawn_app(&self.vars).await
    }

    /// Calls that reached sk-core so far (0 without a counter).
    pub fn core_calls(&self) -> usize {
        self.counter.as_ref().map_or(0, CoreCounter::calls)
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
        self.put_activity(id, &spec).await;
    }

    /// Writes a sale as sk-admin would (sk-app reads it on first use), without announcing it.
    pub async fn put_activity(&self, id: u64, spec: &ActivitySpec) {
        Inventory::new(&self.prefix)
            .put_activity(&mut self.redis().await, ActivityId::new(id).unwrap(), spec)
            .await
            .unwrap();
    }

    /// A connection to the shop's Redis.
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(redis_url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
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

    /// Buys one unit of `activity` as the holder of `token`, from `client` (sent in
    /// `X-Forwarded-For`; sk-app trusts its loopback peer) on `app`.
    pub async fn buy_from(
        &self,
        app: &TestServer,
        token: &str,
        activity: u64,
        client: &str,
    ) -> Answer {
        let path = format!("/api/v1/activities/{activity}/purchase");
        let request = app
            .client
            .post(app.url(&path))
            .bearer_auth(token)
            .header("x-forwarded-for", client)
            .json(&json!({"quantity": 1}));
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

/// Sends `request`; its status, `Retry-After` and JSON body.
pub async fn answer(request: RequestBuilder) -> Answer {
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

/// Starts sk-app with `vars` and waits until it has loaded its state from Redis.
/// Starts sk-app with `vars` and waits until it is ready.
pub async fn spawn_app(vars: &Vars) -> TestServer {
    let app = TestServer::spawn(settings(vars), sk_app::run).await;
    eventually("sk-app to be ready", || async {
        app.get_json("/readyz").await.0 == 200
    })
    .await;
    app
}

fn app_vars(prefix: &str, core_url: String) -> Vars {
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_REDIS__KEY_PREFIX", prefix.to_owned()),
        ("SK_CORE__URL", core_url),
        ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into()),
        ("SK_JWT__SECRET", JWT_SECRET.into()),
    ]
}

async fn spawn_core(prefix: &str) -> TestServer {
    let settings: sk_core::Settings = load_settings(&core_vars(prefix, INTERNAL_SECRET).await);
    TestServer::spawn(settings, sk_core::run).await
}
