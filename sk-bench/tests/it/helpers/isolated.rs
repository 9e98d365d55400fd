//! What one test's platform has to itself, whether its services run in-process
//! ([`super::Platform`]) or as processes ([`super::Cluster`]): a MySQL database, a Redis key
//! prefix, fresh Kafka topics and a consumer group, and the secrets its services share. They
//! live on the local stack's stores, or on stores a fault test runs itself ([`super::Stores`]).

use sk_common::testing::{
    Vars, kafka_brokers, mysql_server_url, redis_url, unique, unique_topics_on,
};

const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
const PURCHASE_TOKEN_SECRET: &str = "test-purchase-token-secret-0123456789";
const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

#[derive(Debug, Clone)]
pub struct Isolated {
    /// The database sk-admin and order-consumer share (`mysql://…/sk_test_…`).
    pub mysql_url: String,
    /// The Redis server.
    pub redis_url: String,
    /// The Redis key prefix of sk-core, sk-app and sk-admin.
    pub prefix: String,
    /// The order and dead-letter topics (created: tansu does not auto-create).
    pub kafka: Vars,
    /// order-consumer's consumer group.
    pub group_id: String,
}

impl Isolated {
    /// Fresh names on the local stack's stores, and the topics created.
    pub async fn new() -> Self {
        Self::on(&redis_url(), &mysql_server_url(), &kafka_brokers()).await
    }

    /// Fresh names on the given Redis, MySQL server (a URL without a database) and brokers,
    /// and the topics created.
    pub async fn on(redis_url: &str, mysql_server_url: &str, brokers: &str) -> Self {
        let (orders, dlq) = unique_topics_on(brokers).await;
        Self {
            mysql_url: format!("{mysql_server_url}/{}", unique("sk_test")),
            redis_url: redis_url.to_owned(),
            prefix: unique("skt"),
            kafka: vec![
                ("SK_KAFKA__BROKERS", brokers.to_owned()),
                ("SK_KAFKA__ORDERS_TOPIC", orders),
                ("SK_KAFKA__DLQ_TOPIC", dlq),
            ],
            group_id: unique("sk-test-group"),
        }
    }

    /// The local Redis under the platform's prefix.
    pub fn redis(&self) -> Vars {
        vec![
            ("SK_REDIS__URL", self.redis_url.clone()),
            ("SK_REDIS__KEY_PREFIX", self.prefix.clone()),
        ]
    }

    /// The platform's database.
    pub fn mysql(&self) -> Vars {
        vec![("SK_MYSQL__URL", self.mysql_url.clone())]
    }

    /// The internal request-signing secret (sk-app, sk-core).
    pub fn internal_secret() -> Vars {
        vec![("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into())]
    }

    /// The purchase-token secret (sk-core).
    pub fn purchase_token_secret() -> Vars {
        vec![(
            "SK_SECURITY__PURCHASE_TOKEN_SECRET",
            PURCHASE_TOKEN_SECRET.into(),
        )]
    }

    /// The JWT key (sk-app verifies, sk-admin mints and verifies).
    pub fn jwt_secret() -> Vars {
        vec![("SK_JWT__SECRET", JWT_SECRET.into())]
    }
}
