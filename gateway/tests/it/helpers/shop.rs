//! The whole edge in one test: a real sk-core (own Redis key prefix, Kafka topics, secrets),
//! several sk-app instances sharing that prefix, and the gateway in front of them.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sk_common::domain::{ActivityId, Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::stock::Inventory;
use sk_common::testing::{
    TestServer, Vars, closed_port, core_vars, load_settings, redis_url, unique,
};

use super::{Answer, send, spawn_gateway};

const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

#[derive(Debug)]
pub struct EdgeShop {
    pub gateway: TestServer,
    /// Held so the services live as long as the shop.
    _apps: Vec<TestServer>,
    _core: TestServer,
    pub prefix: String,
    keys: JwtKeys,
}

impl EdgeShop {
    /// sk-core, `apps` sk-app instances and the gateway (client limits out of the way).
    pub async fn start(apps: usize) -> Self {
        let prefix = unique("skt");
        let core = spawn_core(&prefix).await;
        let core_url = format!("http://{}", core.addr);
        let mut instances = Vec::new();
        for _ in 0..apps {
            instances.push(spawn_app(&prefix, &core_url).await);
        }
        let upstreams: Vec<String> = instances
            .iter()
            .map(|a| format!("http://{}", a.addr))
            .collect();
        let gateway = spawn_gateway(&vec![
            ("SK_UPSTREAMS__APP", upstreams.join(",")),
            ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
            ("SK_LIMITS__EXEMPT", "127.0.0.1".into()),
        ])
        .await;
        let settings: sk_app::Settings = load_settings(&app_vars(&prefix, &core_url));
        Self {
            gateway,
            _apps: instances,
            _core: core,
            prefix,
            keys: JwtKeys::new(&settings.jwt).unwrap(),
        }
    }

    /// A shopper's token for `user`.
    pub fn shopper(&self, user: &str) -> String {
        self.keys
            .mint(&UserId::parse(user).unwrap(), Role::Shopper, None)
            .unwrap()
    }

    /// Opens a sale of `total_stock` units, one a second ago, for an hour.
    pub async fn open_activity(&self, id: u64, total_stock: u32, per_user_limit: u32) {
        let spec = sk_common::testing::open_activity(total_stock, per_user_limit);
        let client = redis::Client::open(redis_url()).unwrap();
        let mut redis = client.get_multiplexed_async_connection().await.unwrap();
        Inventory::new(&self.prefix)
            .put_activity(&mut redis, ActivityId::new(id).unwrap(), &spec)
            .await
            .unwrap();
    }

    /// A request through the gateway, with `token` as bearer if given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self
            .gateway
            .client
            .request(method, self.gateway.url(path))
            .timeout(Duration::from_secs(20));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Buys `quantity` of `activity` through the gateway.
    pub async fn buy(&self, token: &str, activity: u64, quantity: u64) -> Answer {
        let path = format!("/api/v1/activities/{activity}/purchase");
        let request = self.request(Method::POST, &path, Some(token));
        send(request.json(&json!({ "quantity": quantity }))).await
    }

    /// GET an order through the gateway.
    pub async fn order(&self, token: &str, order: &str) -> Answer {
        let path = format!("/api/v1/orders/{order}");
        send(self.request(Method::GET, &path, Some(token))).await
    }

    /// Pays an order with a purchase token through the gateway.
    pub async fn pay(&self, token: &str, order: &str, purchase_token: &Value) -> Answer {
        let path = format!("/api/v1/orders/{order}/pay");
        let request = self.request(Method::POST, &path, Some(token));
        send(request.json(&json!({ "token": purchase_token }))).await
    }
}

fn app_vars(prefix: &str, core_url: &str) -> Vars {
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_REDIS__KEY_PREFIX", prefix.to_owned()),
        ("SK_CORE__URL", core_url.to_owned()),
        ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into()),
        ("SK_JWT__SECRET", JWT_SECRET.into()),
    ]
}

async fn spawn_app(prefix: &str, core_url: &str) -> TestServer {
    let settings: sk_app::Settings = load_settings(&app_vars(prefix, core_url));
    TestServer::spawn(settings, sk_app::run).await
}

async fn spawn_core(prefix: &str) -> TestServer {
    let settings: sk_core::Settings = load_settings(&core_vars(prefix, INTERNAL_SECRET).await);
    TestServer::spawn(settings, sk_core::run).await
}
