//! The rest of the purchase pipeline next to sk-admin: an sk-core on the same Redis prefix and
//! an order-consumer writing the same database, so sales reach the ledger for real.

use secrecy::SecretString;
use serde_json::{Value, json};
use sk_common::signing::{CallStamp, RequestSigner, SignedParts};
use sk_common::testing::{
    TestServer, Vars, kafka_brokers, load_settings, redis_url, unique, unique_topics,
};

const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";

#[derive(Debug)]
pub struct Pipeline {
    pub core: TestServer,
    pub consumer: TestServer,
}

impl Pipeline {
    /// Starts sk-core on `prefix` and an order-consumer into `mysql_url`, on topics of their own.
    pub async fn start(prefix: &str, mysql_url: &str) -> Self {
        let (orders, dlq) = unique_topics().await;
        let kafka: Vars = vec![
            ("SK_KAFKA__BROKERS", kafka_brokers()),
            ("SK_KAFKA__ORDERS_TOPIC", orders),
            ("SK_KAFKA__DLQ_TOPIC", dlq),
        ];
        let mut core_vars = kafka.clone();
        core_vars.extend([
            ("SK_REDIS__URL", redis_url()),
            ("SK_REDIS__KEY_PREFIX", prefix.to_owned()),
            ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.to_owned()),
            (
                "SK_SECURITY__PURCHASE_TOKEN_SECRET",
                "test-purchase-token-secret-0123456789".to_owned(),
            ),
        ]);
        let mut consumer_vars = kafka;
        consumer_vars.extend([
            ("SK_MYSQL__URL", mysql_url.to_owned()),
            ("SK_CONSUMER__GROUP_ID", unique("sk-test-group")),
        ]);
        let core: sk_core::Settings = load_settings(&core_vars);
        let consumer: order_consumer::Settings = load_settings(&consumer_vars);
        Self {
            core: TestServer::spawn(core, sk_core::run).await,
            consumer: TestServer::spawn(consumer, order_consumer::run).await,
        }
    }

    /// A signed reserve call, as sk-app makes it.
    pub async fn reserve(&self, activity: u64, user: &str, quantity: u32) -> (u16, Value) {
        let path = format!("/internal/v1/activities/{activity}/reserve");
        self.signed(&path, &json!({"user_id": user, "quantity": quantity}))
            .await
    }

    /// A signed cancel call.
    pub async fn cancel(&self, order: &str, user: &str) -> (u16, Value) {
        let path = format!("/internal/v1/orders/{order}/cancel");
        self.signed(&path, &json!({"user_id": user})).await
    }

    async fn signed(&self, path: &str, body: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        let signer = RequestSigner::new(SecretString::from(INTERNAL_SECRET));
        let parts = SignedParts {
            method: "POST",
            path_and_query: path,
            body: &body,
        };
        let mut request = self
            .core
            .client
            .post(self.core.url(path))
            .header("content-type", "application/json");
        for (name, value) in signer.headers(parts, CallStamp::now()) {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn stop(self) {
        self.consumer.stop().await.unwrap();
        self.core.stop().await.unwrap();
    }
}
