//! The whole platform in-process, as sk-bench meets it in a deployment: sk-admin and an
//! order-consumer on a MySQL database of the test's own, sk-core and sk-app on a Redis key
//! prefix of its own with fresh Kafka topics, and the gateway in front of sk-app and sk-admin.
//! Every service runs through its library `run` on `127.0.0.1:0`.

use reqwest::StatusCode;
use serde_json::Value;
use sk_common::domain::{Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::testing::{TestServer, Vars, eventually, load_settings, redis_url};

use sk_bench::verify::Target;

use super::Isolated;

#[derive(Debug)]
pub struct Platform {
    pub gateway: TestServer,
    /// sk-admin, sk-app, sk-core and order-consumer: held so they live as long as the platform.
    services: [TestServer; 4],
    /// The database sk-admin and order-consumer share (`mysql://…/sk_test_…`).
    pub mysql_url: String,
    /// The Redis key prefix of sk-core, sk-app and sk-admin.
    pub prefix: String,
    keys: JwtKeys,
}

impl Platform {
    /// Starts every service and waits until each one is ready.
    pub async fn start() -> Self {
        Self::start_with(Vec::new(), Vec::new()).await
    }

    /// Like [`Platform::start`], with settings of the test's own on top of the platform's:
    /// `app` for sk-app, `gateway` for the gateway.
    pub async fn start_with(app: Vars, gateway: Vars) -> Self {
        let isolated = Isolated::new().await;
        let redis = isolated.redis();

        // sk-admin first: it migrates the schema the consumer writes into.
        let admin_vars = [redis.clone(), Isolated::jwt_secret(), isolated.mysql()].concat();
        let admin: sk_admin::Settings = load_settings(&admin_vars);
        let admin = TestServer::spawn(admin, sk_admin::run).await;
        wait_ready(&admin, "sk-admin").await;

        let core: sk_core::Settings = load_settings(
            &[
                isolated.kafka.clone(),
                redis.clone(),
                Isolated::internal_secret(),
                Isolated::purchase_token_secret(),
            ]
            .concat(),
        );
        let core = TestServer::spawn(core, sk_core::run).await;
        let consumer_vars: Vars = [
            isolated.kafka.clone(),
            isolated.mysql(),
            vec![("SK_CONSUMER__GROUP_ID", isolated.group_id.clone())],
        ]
        .concat();
        let consumer: order_consumer::Settings = load_settings(&consumer_vars);
        let consumer = TestServer::spawn(consumer, order_consumer::run).await;

        let app_vars = [
            redis,
            Isolated::internal_secret(),
            Isolated::jwt_secret(),
            isolated.mysql(),
            vec![("SK_CORE__URL", format!("http://{}", core.addr))],
            app,
        ]
        .concat();
        let app_settings: sk_app::Settings = load_settings(&app_vars);
        let keys = JwtKeys::new(&app_settings.jwt).unwrap();
        let app = TestServer::spawn(app_settings, sk_app::run).await;

        let gateway_vars: Vars = [
            vec![
                ("SK_UPSTREAMS__APP", format!("http://{}", app.addr)),
                ("SK_UPSTREAMS__ADMIN", format!("http://{}", admin.addr)),
                // sk-bench runs on loopback: exempt it from the per-client limit, as the demo does.
                ("SK_LIMITS__EXEMPT", "127.0.0.1".into()),
            ],
            gateway,
        ]
        .concat();
        let gateway: gateway::Settings = load_settings(&gateway_vars);
        let gateway = TestServer::spawn(gateway, gateway::run).await;
        for (server, name) in [
            (&core, "sk-core"),
            (&consumer, "order-consumer"),
            (&app, "sk-app"),
            (&gateway, "gateway"),
        ] {
            wait_ready(server, name).await;
        }
        Self {
            gateway,
            services: [admin, app, core, consumer],
            mysql_url: isolated.mysql_url,
            prefix: isolated.prefix,
            keys,
        }
    }

    /// A token for `sub` as `role`, signed with the platform's key.
    pub fn token(&self, sub: &str, role: Role) -> String {
        self.keys
            .mint(&UserId::parse(sub).unwrap(), role, None)
            .unwrap()
    }

    /// Every service with its name, the gateway first.
    pub fn servers(&self) -> [(&'static str, &TestServer); 5] {
        let [admin, app, core, consumer] = &self.services;
        [
            ("gateway", &self.gateway),
            ("sk-admin", admin),
            ("sk-app", app),
            ("sk-core", core),
            ("order-consumer", consumer),
        ]
    }

    /// `POST path` through the gateway with `token` and a JSON `body`: the status and the JSON
    /// answer (`null` when there is none).
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .gateway
            .client
            .post(format!("{}{path}", self.gateway_url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The gateway's base URL.
    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    /// Where `verify` finds this platform: the admin API through the gateway, and the
    /// platform's MySQL database and Redis prefix.
    pub fn target(&self) -> Target {
        Target {
            admin_url: self.gateway_url(),
            admin_token: self.token("ops", Role::Admin),
            mysql_url: self.mysql_url.clone(),
            redis_url: redis_url(),
            key_prefix: self.prefix.clone(),
        }
    }
}

async fn wait_ready(server: &TestServer, name: &str) {
    eventually(&format!("{name} to be ready"), || async {
        server.get_json("/readyz").await.0 == StatusCode::OK
    })
    .await;
}
