//! What one test's platform has to itself, whether its services run in-process
//! ([`super::Platform`]) or as processes ([`super::Cluster`]): a MySQL database, a Redis key
//! prefix, fresh Kafka topics and a consumer group, and the secrets its services share.

use sk_common::testing::{Vars, kafka_brokers, redis_url, unique, unique_mysql_url, unique_topics};

const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
const PURCHASE_TOKEN_SECRET: &str = "test-purchase-token-secret-0123456789";
const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

#[derive(Debug, Clone)]
pub struct Isolated {
    /// The database sk-admin and order-consumer share (`mysql://…/sk_test_…`).
    pub mysql_url: String,
    /// The Redis key prefix of sk-core, sk-app and sk-admin.
    pub prefix: String,
    /// The order and dead-letter topics (created: tansu does not auto-create).
    pub kafka: Vars,
    /// order-consumer's consumer group.
    pub group_id: String,
}

impl Isolated {
    /// Fresh names, and the topics created.
    pub async fn new() -> Self {
        let (orders, dlq) = unique_topics().await;
        Self {
            mysql_url: unique_mysql_url(),
            prefix: unique("skt"),
            kafka: vec![
                ("SK_KAFKA__BROKERS", kafka_brokers()),
                ("SK_KAFKA__ORDERS_TOPIC", orders),
                ("SK_KAFKA__DLQ_TOPIC", dlq),
            ],
            group_id: unique("sk-test-group"),
        }
    }

    /// The local Redis under the platform's prefix.
    pub fn redis(&self) -> Vars {
        vec![
            ("SK_REDIS__URL", redis_url()),
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
